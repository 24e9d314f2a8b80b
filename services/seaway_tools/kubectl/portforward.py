"""A local port that reaches a pod's port through the Kubernetes API, like ``kubectl port-forward``.

:func:`forward` listens on a free loopback port; every connection accepted there gets its own
``kubernetes.stream.portforward`` stream to the pod (one TCP connection per stream is all the
port-forward protocol carries), and bytes are copied both ways by two threads. :func:`relay` is the
transport-neutral half, given any way to open the far end.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from kubernetes.stream import portforward

from seaway_tools.kubectl.cluster import Cluster
from seaway_tools.kubectl.errors import API_FAILURES

_CHUNK = 64 * 1024


@contextmanager
def forward(cluster: Cluster, pod: str, port: int) -> Iterator[str]:
    """Yield ``http://127.0.0.1:<free port>``, forwarded to ``pod:port`` in the cluster's namespace.

    The first stream is opened before yielding, so a refused port-forward (403, unreachable API
    server) is raised here as a plugin error rather than as a dropped connection later.
    """

    def open_stream() -> Any:
        try:
            forwarder = portforward(
                cluster.core.connect_get_namespaced_pod_portforward, pod, cluster.namespace, ports=str(port)
            )
        except API_FAILURES as error:
            raise cluster.failure(error) from None
        return forwarder.socket(port)

    first = [open_stream()]

    def open_remote() -> Any:
        return first.pop() if first else open_stream()

    with relay(open_remote) as (host, local_port):
        yield f"http://{host}:{local_port}"


@contextmanager
def relay(open_remote: Callable[[], Any]) -> Iterator[tuple[str, int]]:
    """Yield ``(host, port)`` of a loopback listener whose connections are piped to ``open_remote()``."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepting = threading.Thread(target=_accept, args=(listener, open_remote), name="relay", daemon=True)
    accepting.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        listener.close()  # ends _accept; piping threads end with their connections


def _accept(listener: socket.socket, open_remote: Callable[[], Any]) -> None:
    while True:
        try:
            local, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_connect, args=(local, open_remote), name="relay-conn", daemon=True).start()


def _connect(local: socket.socket, open_remote: Callable[[], Any]) -> None:
    try:
        remote = open_remote()
    except Exception:  # the client sees its connection close; the reason was reported at start
        local.close()
        return
    threading.Thread(target=_pipe, args=(remote, local), name="relay-in", daemon=True).start()
    _pipe(local, remote)


def _pipe(source: Any, sink: Any) -> None:
    """Copy until either side ends, then close both (HTTP clients do not half-close)."""
    with suppress(OSError):
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    for end in (source, sink):
        with suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)  # wakes the other direction's blocked recv; close alone does not
        with suppress(OSError):
            end.close()
