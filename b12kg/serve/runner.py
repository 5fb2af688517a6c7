"""Running an ASGI app with uvicorn, bounded: one HTTP stack for both services.

uvicorn bounds idle keep-alive time but not how long a client may take to send a
request head: a client sending one header line every few seconds holds a connection
for ever, and a few dozen such clients hold every connection slot (slowloris). The
protocol here, uvicorn's h11 protocol with one addition, gives every request head a
total deadline from the moment the server starts waiting for it (connection made, or
the previous response sent); a head not complete by then gets 408 and the connection
is closed. h11 itself refuses malformed framing (conflicting or non-decimal
Content-Length, a body where none may be) with 400 and closes the connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0
"""Longest a client may take to send a request head (request line and headers)."""

MAX_HEAD_BYTES = 16 * 1024
"""Largest request head (h11 refuses a larger one with 400)."""

_TIMEOUT_408 = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                b"Content-Length: 46\r\n\r\nthe request head was not sent in time: closed\n")


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a total deadline on each request head (`head_seconds`)."""

    head_seconds = HEAD_SECONDS

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_timer = self.loop.call_later(self.head_seconds, self._head_deadline_passed)

    def _cancel_head_deadline(self) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _waiting_for_head(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting_for_head():
            self._cancel_head_deadline()
        elif self._head_timer is None and not self.transport.is_closing():  # a new cycle began inside this data
            self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()
            if not self._waiting_for_head():  # a pipelined head already arrived whole
                self._cancel_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._waiting_for_head():
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing in flight: say why, then close
            self.transport.write(_TIMEOUT_408)
        self.transport.close()


def protocol_class(head_seconds: float = HEAD_SECONDS) -> type[HeadDeadlineProtocol]:
    """The protocol class with its head deadline (uvicorn takes a class, not an instance)."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"head_seconds": float(head_seconds)})


def bind(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(address)
    sock.listen(backlog)
    return sock


def run(app, host: str, port: int, *, max_connections: int, head_seconds: float = HEAD_SECONDS, keep_alive_seconds: float = 5.0,
        verbose: bool = False, on_listening: Callable[[str, int], None] | None = None) -> None:
    """Serve `app` on host:port until SIGINT or SIGTERM; `on_listening(host, port)` is called
    once the socket listens (with the port chosen when `port` is 0)."""
    import uvicorn

    sock = bind(host, port)
    try:
        if on_listening:
            on_listening(*sock.getsockname()[:2])
        config = uvicorn.Config(app, http=protocol_class(head_seconds), limit_concurrency=max_connections,
                                timeout_keep_alive=int(max(1, keep_alive_seconds)), timeout_graceful_shutdown=5,
                                h11_max_incomplete_event_size=MAX_HEAD_BYTES, log_level="info" if verbose else "warning",
                                access_log=verbose, server_header=False, lifespan="on")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
