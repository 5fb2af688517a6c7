"""`b12kg serve` under hostile clients (issue 18): an answer amplified by rows sharing one
large literal and a client that does not read (the server's memory measured from /proc),
loose HTTP framing, foreign Host names and origins, slowloris, slow queries starving the
named ones. Every loop is bounded in count and time."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from servers import slowloris

TIMEOUT = 3.0
CAP = 16 * 1024 * 1024
HEAD_TIMEOUT = 1.0

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
    url = start_server(cohort[0], "--timeout", str(TIMEOUT), "--max-rows", "500", "--max-answer-bytes", str(CAP),
                       "--head-timeout", str(HEAD_TIMEOUT))
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


# --- framing, Host, Origin (defects 10, 12) ------------------------------------------------------

def _exchange(url: str, raw: bytes, seconds: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes (bounded in time)."""
    parts = urlsplit(url)
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=seconds) as sock:
        sock.sendall(raw)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                return received
            received += data
    raise AssertionError(f"the server did not close the connection: {received[:300]!r}")


FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
ASK = b"query=ASK%7B%7D"


@pytest.mark.parametrize("raw", [
    b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n" + FORM + b"Content-Length: 15\r\nContent-Length: 20\r\n\r\n" + ASK,
    b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n" + FORM + b"Content-Length: +15\r\n\r\n" + ASK,
    b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n" + FORM + b"Content-Length: 1_5\r\n\r\n" + ASK,
    b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n" + FORM + b"Content-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n" + ASK
    + b"\r\n0\r\n\r\n",
    b"GET /queries HTTP/1.1\r\n\r\n",
], ids=["conflicting-lengths", "plus-sign", "underscore", "length-and-chunked", "no-host"])
def test_loose_framing_is_refused_and_the_connection_closed(server, raw):
    answer = _exchange(server[0], raw)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1


def test_a_get_body_is_a_body_not_a_second_request(server):
    second = b"GET /queries HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    raw = (b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
           + str(len(second)).encode() + b"\r\n\r\n" + second)
    parts = urlsplit(server[0])
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=0.2) as sock:
        sock.sendall(raw)
        deadline = time.monotonic() + HEAD_TIMEOUT * 0.8  # listen for a second answer, before the head deadline closes
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            received += data
    assert received.startswith(b"HTTP/1.1 200 ") and received.count(b"HTTP/1.1 ") == 1, received[:300]
    assert b"counts-by-status" not in received  # /queries was never answered


def test_only_loopback_host_names_are_served(server):
    """DNS rebinding: a page on rebind.attacker.example, whose name now points at 127.0.0.1."""
    url = server[0]
    port = urlsplit(url).port
    query = {"query": "SELECT ?a WHERE { ?a a <https://w3id.org/b12kg/model#Assessment> }"}
    for host in ("rebind.attacker.example", f"rebind.attacker.example:{port}", "127.0.0.1.example"):
        response = httpx.get(f"{url}/sparql", params=query, headers={"Host": host}, timeout=30)
        assert response.status_code == 421 and "assessment" not in response.text, host
        assert httpx.get(f"{url}/queries/counts-by-status", headers={"Host": host}, timeout=30).status_code == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert httpx.get(f"{url}/sparql", params=query, headers={"Host": host}, timeout=30).status_code == 200


def test_cross_origin_requests_are_refused_and_same_origin_forms_work(server):
    url = server[0]
    for origin in ("https://evil.example", "null"):
        response = httpx.post(f"{url}/sparql", data={"query": "ASK {}"}, headers={"Origin": origin}, timeout=30)
        assert response.status_code == 403 and "access-control-allow-origin" not in response.headers
        preflight = httpx.options(f"{url}/sparql", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                            "Access-Control-Request-Private-Network": "true"}, timeout=30)
        assert preflight.status_code == 403 and "access-control-allow-private-network" not in preflight.headers
    same = httpx.post(f"{url}/sparql", data={"query": "ASK {}"}, headers={"Origin": url}, timeout=30)  # the page's own form
    assert same.status_code == 200


# --- slowloris, query slots (defects 5, 13) ------------------------------------------------------

def test_slowloris_cannot_hold_the_connection_slots(server):
    """40 connections (over the 32 allowed) each send one header line every 0.3 s and never
    finish their head: each is closed at the head deadline (1 s here, --head-timeout), and
    a normal request is answered while they keep trying."""
    closed, answered = slowloris(server[0], "/queries", 40, HEAD_TIMEOUT)
    assert answered == 200
    assert len(closed) == 40, f"{40 - len(closed)} slow heads still open"
    assert max(closed.values()) < HEAD_TIMEOUT + 2.0, closed


def test_named_queries_keep_their_slots_while_user_queries_are_slow(server):
    """Four slow user queries take every user-query slot; the packaged named queries still answer."""
    import threading

    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(httpx.post(f"{server[0]}/sparql", data={"query": slow},
                                                                          timeout=30).status_code)) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        busy = httpx.post(f"{server[0]}/sparql", data={"query": "ASK {}"}, timeout=30)
        named = httpx.get(f"{server[0]}/queries/counts-by-status", headers={"Accept": "text/csv"}, timeout=30)
    finally:
        for thread in threads:
            thread.join(30)
    assert busy.status_code == 503 and "Retry-After" in busy.headers
    assert named.status_code == 200 and named.text.startswith("status")
    assert statuses == [503] * 4  # each stopped at its time limit
