"""The local end of ``kubectl seaway smoke``'s port-forward: a loopback port piped to a far end."""

from __future__ import annotations

import socket
import threading

from seaway_tools.kubectl.portforward import relay


def echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(1024):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_each_local_connection_gets_its_own_far_end_and_bytes_flow_both_ways():
    server, port = echo_server()
    opened = []

    def open_remote():
        opened.append(socket.create_connection(("127.0.0.1", port)))
        return opened[-1]

    with server, relay(open_remote) as (host, local_port):
        for word in (b"ping", b"pong"):
            with socket.create_connection((host, local_port), timeout=5) as conn:
                conn.sendall(word)
                assert conn.recv(1024) == word.upper()

    assert len(opened) == 2


def test_a_far_end_that_cannot_be_opened_closes_the_local_connection():
    def open_remote():
        raise ConnectionRefusedError("no pod")

    with (
        relay(open_remote) as (host, local_port),
        socket.create_connection((host, local_port), timeout=5) as conn,
    ):
        assert conn.recv(1024) == b""
