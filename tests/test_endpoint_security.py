"""`b12kg serve` under hostile clients (issue 18): an answer amplified by rows sharing one
large literal, a client that does not read, with the server's memory measured from
/proc. Every loop is bounded in count and time."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

TIMEOUT = 3.0
CAP = 16 * 1024 * 1024

# A 1 MiB literal built once in a subquery (16 characters doubled 16 times) and joined with
# ?s ?p ?o: every row shares the same literal, so it is computed once and written per row.
BIG = ("{ SELECT ?big WHERE { BIND(\"0123456789abcdef\" AS ?a0) "
       + " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(15))
       + " BIND(CONCAT(?a15, ?a15) AS ?big) } }")


def amplified(rows: int) -> str:
    return f"SELECT ?s ?big WHERE {{ {BIG} ?s ?p ?o }} LIMIT {rows}"


def rss(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}


@pytest.fixture(scope="module")
def server(cohort, start_server):
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the server's memory")
    url = start_server(cohort[0], "--timeout", str(TIMEOUT), "--max-rows", "500", "--max-answer-bytes", str(CAP))
    process = start_server.processes[url]
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.get("/sparql", params={"query": amplified(1)}).status_code == 200  # warm: every import done
    return url, process.pid


def test_amplified_answer_is_refused_and_server_memory_stays_flat(server):
    """200 rows of one 1 MiB literal (a 210 MB answer that raised the server to 515 MB):
    refused by the query process, quickly, with the server's peak memory barely moved."""
    url, pid = server
    before = rss(pid)
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=60) as client:
        for fmt in ("json", "csv", "xml", "tsv"):
            response = client.post("/sparql", data={"query": amplified(200), "format": fmt})
            assert response.status_code == 400 and "answer would be over" in response.text, (fmt, response.text[:200])
        construct = client.post("/sparql", data={"query": f"CONSTRUCT {{ ?s <urn:big> ?big }} WHERE {{ {BIG} ?s ?p ?o }} LIMIT 200"},
                                headers={"Accept": "application/n-triples"})
        assert construct.status_code == 400 and "answer would be over" in construct.text
        small = client.post("/sparql", data={"query": amplified(3), "format": "csv"})
        assert small.status_code == 200 and len(small.content) > 3 * 1024 * 1024
    elapsed = time.monotonic() - started
    after = rss(pid)
    assert elapsed < 6 * TIMEOUT, elapsed
    assert after["VmHWM"] - before["VmRSS"] < 48 * 1024 * 1024, (before, after)


def _raw_request(url: str, query: str, receive_buffer: int = 4096) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((parts.hostname, parts.port))
    body = httpx.QueryParams({"query": query, "format": "csv"}).__str__().encode()
    sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: " + parts.netloc.encode() + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def test_a_client_that_does_not_read_is_cut_off_at_the_deadline(server):
    """The time limit covers writing the answer: a 12 MB answer to a client that reads
    nothing is cut off at the deadline, and the query slots are free again after it."""
    url, pid = server
    before = rss(pid)
    sockets = [_raw_request(url, amplified(12)) for _ in range(5)]  # more than the 4 query slots
    try:
        time.sleep(TIMEOUT + 1.5)
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200
        for sock in sockets:
            sock.settimeout(5)
            received, deadline = 0, time.monotonic() + 20
            while time.monotonic() < deadline:  # drain what the server sent before it closed
                data = sock.recv(1 << 20)
                if not data:
                    break
                received += len(data)
            assert received < 12 * 1024 * 1024, received  # cut off, not completed
    finally:
        for sock in sockets:
            sock.close()
    assert rss(pid)["VmHWM"] - before["VmRSS"] < 48 * 1024 * 1024
