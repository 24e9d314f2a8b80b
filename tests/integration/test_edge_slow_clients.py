"""Slow clients cannot stall a service: with 16 sockets sending their headers a byte a second (twice the
threads of 2 workers x 4), other clients are still answered, each in under a second, and the server closes
the slow sockets once HEADER_TIMEOUT_SECONDS has passed (408 for a head begun and not finished). Half of them
are new connections, half send their slow head on a kept-alive connection after a first request: the
worker's thread reads what has arrived of such a head without waiting, and hands the rest to its event loop.

Before the kit's worker a gthread thread read each head itself, with no deadline: 8 such sockets made two of
three other requests time out.
"""

from __future__ import annotations

import socket
import threading
import time

import requests

from tests.integration.test_edge_worker_exit import gateway_env

SLOW_SOCKETS = 16
HEADER_TIMEOUT = 5.0


class SlowClient(threading.Thread):
    """Sends a request head a byte a second and records when, and how, the server ended it."""

    HEAD = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"

    def __init__(self, port: int, stop: threading.Event, kept_alive: bool) -> None:
        super().__init__(daemon=True)
        self.port, self.stop, self.kept_alive = port, stop, kept_alive
        self.answer = b""
        self.closed_after: float | None = None  # seconds from the slow head's start to the server's close

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            if self.kept_alive:
                _first_request(conn)
            started = time.monotonic()
            conn.settimeout(1.0)
            for byte in self.HEAD:
                if self.stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                    chunk = conn.recv(4096)  # the server answers or closes: we are done; a timeout: next byte
                except TimeoutError:
                    continue
                except OSError:
                    chunk = b""
                self.answer += chunk
                if not chunk or self.answer:
                    self.closed_after = time.monotonic() - started
                    return


def _first_request(conn: socket.socket) -> None:
    """A whole request and its whole answer on ``conn``, which the server then keeps alive."""
    conn.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        received += conn.recv(4096)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
    while len(body) < length:
        body += conn.recv(4096)


def test_sixteen_slow_header_sockets_leave_other_clients_answered_within_a_second(start_service):
    service = start_service("gateway", gateway_env(HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT)))
    stop = threading.Event()
    slow = [SlowClient(service.port, stop, kept_alive=n % 2 == 1) for n in range(SLOW_SOCKETS)]
    for client in slow:
        client.start()
    try:
        time.sleep(1.5)  # every slow socket connected and sending
        timings = []
        while len(timings) < 10:
            started = time.monotonic()
            answer = requests.get(service.url + "/livez", timeout=5)  # fresh connection each time
            timings.append(time.monotonic() - started)
            assert answer.status_code == 200
            time.sleep(0.1)
        still_slow = sum(client.closed_after is None for client in slow)
    finally:
        for client in slow:
            client.join(timeout=HEADER_TIMEOUT + 10)
        stop.set()

    assert still_slow >= SLOW_SOCKETS // 2, "the slow sockets were cut before the other requests were measured"
    assert max(timings) < 1.0, timings
    closed = [client.closed_after for client in slow]
    assert all(after is not None and after < HEADER_TIMEOUT + 2.5 for after in closed), closed
    assert all(client.answer.startswith(b"HTTP/1.1 408 ") for client in slow), {c.answer[:40] for c in slow}
    assert all(b"application/problem+json" in client.answer for client in slow)
