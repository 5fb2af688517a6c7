"""b12kg publish against a real `oxigraph serve` (PyPI package oxigraph) on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from b12kg.cohort import named
from b12kg.cohort.publish import publish
from b12kg.errors import InputRejected


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def oxigraph_server(tmp_path):
    binary = Path(sys.executable).with_name("oxigraph")
    binary = str(binary) if binary.exists() else shutil.which("oxigraph")
    if binary is None:
        pytest.skip("the oxigraph server is not installed (pip install '.[test]')")
    port = free_port()
    process = subprocess.Popen([binary, "serve", "--location", str(tmp_path / "remote"), "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def remote_select(base: str, query: str) -> list[dict[str, str]]:
    request = urllib.request.Request(f"{base}/query", data=urllib.parse.urlencode({"query": query}).encode(),
                                     headers={"Accept": "application/sparql-results+json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    import json

    data = json.loads(urllib.request.urlopen(request, timeout=60).read())
    return [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]


COUNT_PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def test_publish_copies_every_graph_and_named_queries_agree(cohort, oxigraph_server, b12kg_command):
    local = ox.Store.read_only(str(cohort[0]))
    expected = {r["g"].value: r["n"].value for r in local.query(COUNT_PER_GRAPH)}
    done = subprocess.run([*b12kg_command, "publish", str(cohort[0]), "--to", f"{oxigraph_server}/store"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"published {len(expected)} graphs" in done.stderr
    assert {r["g"]: r["n"] for r in remote_select(oxigraph_server, COUNT_PER_GRAPH)} == expected
    # publishing again replaces, never duplicates
    publish(local, f"{oxigraph_server}/store")
    assert {r["g"]: r["n"] for r in remote_select(oxigraph_server, COUNT_PER_GRAPH)} == expected
    # the named queries give the same answers on the remote server (defaults in the text)
    for name in ("counts-by-status", "counts-by-action", "untreated-deficiency", "awaiting-mma"):
        ours = named.rows(local, name)
        theirs = remote_select(oxigraph_server, named.get(name).text)
        assert theirs == ours, name


def test_publish_refuses_unencrypted_remote_hosts_and_reports_failures(cohort):
    local = ox.Store.read_only(str(cohort[0]))
    with pytest.raises(InputRejected, match="unencrypted"):
        publish(local, "http://192.0.2.1/store")
    with pytest.raises(InputRejected, match="not an http"):
        publish(local, "file:///etc/passwd")
    with pytest.raises(InputRejected, match="cannot reach"):
        publish(local, f"http://127.0.0.1:{free_port()}/store")


@pytest.mark.parametrize(("url", "message"), [
    ("http://admin:s3cret@127.0.0.1:9/store", "no user or password"),
    ("https://admin@fuseki.example/ds/data", "no user or password"),
    ("http://127.0.0.1:9/store?graph=urn:x", "already names a graph"),
    ("http://127.0.0.1:9/store?default", "already names a graph"),
])
def test_publish_refuses_userinfo_and_a_graph_in_the_url(cohort, b12kg_command, url, message):
    """Issue 18, defect 17: userinfo was dropped silently (and printed); a graph= already in
    --to was doubled in every PUT while the run reported success."""
    done = subprocess.run([*b12kg_command, "publish", str(cohort[0]), "--to", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
