"""Servers the HTTP tests run on loopback: an ASGI app under uvicorn in a thread, and a
small recording HTTP listener (what a FHIR server, or anything else on a port, answers)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveService:
    """An ASGI app served by uvicorn in a thread, on a loopback port, with b12kg's protocol
    (the request-head deadline, `head_seconds`)."""

    def __init__(self, app, head_seconds: float | None = None, sock=None, **options):
        import uvicorn

        from b12kg.serve.runner import HEAD_SECONDS, protocol_class

        self.sock = sock or free_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", http=protocol_class(head_seconds or HEAD_SECONDS), **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


class Listener:
    """An HTTP listener on loopback that records every request (path and headers) and
    answers each with `answer(path) -> (status, body bytes, content type)`."""

    def __init__(self, answer=None):
        self.requests: list[tuple[str, dict[str, str]]] = []
        seen = self.requests
        reply = answer or (lambda path: (200, b"<html>not FHIR</html>", "text/html"))

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                seen.append((self.path, dict(self.headers)))
                status, body, media = reply(self.path)
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def fhir_json(body: dict, status: int = 200) -> tuple[int, bytes, str]:
    return status, json.dumps(body).encode(), "application/fhir+json"


def slowloris(url: str, path: str, connections: int, head_seconds: float, rounds: int = 20) -> tuple[dict[int, float], int | None]:
    """Open `connections` that each send a request line and then one header line every
    0.3 s, never ending the head (at most `rounds` rounds); meanwhile, once the head
    deadline has passed, make one normal GET of `path`. Returns when each connection was
    found closed by the server (seconds from the start) and the normal request's status."""
    import httpx

    port = int(url.rsplit(":", 1)[1])
    attackers = []
    closed: dict[int, float] = {}
    answered = None
    try:
        for _ in range(connections):
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            attackers.append(sock)
        started = time.monotonic()
        for step in range(rounds):
            time.sleep(0.3)
            for index, sock in enumerate(attackers):
                if index not in closed:
                    try:
                        sock.sendall(f"X-Slow-{step}: 1\r\n".encode())
                    except OSError:
                        closed[index] = time.monotonic() - started
            if answered is None and time.monotonic() - started > head_seconds + 0.5:
                answered = httpx.get(f"{url}{path}", timeout=5).status_code
            if len(closed) == len(attackers) and answered is not None:
                break
    finally:
        for sock in attackers:
            sock.close()
    return closed, answered
