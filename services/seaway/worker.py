"""The kit's gunicorn worker: gunicorn's ``gthread`` worker with the edge a service needs without a proxy.

:mod:`seaway.gunicorn_conf` configures it (``worker_class``) for every service, in every mode. It changes
three things and keeps the rest of gthread (threads, keep-alive, graceful stop):

- **Heads are read by the event loop, not by threads.** A connection reaches a thread only once its whole
  request head (request line and headers) has arrived, so a client that sends its headers slowly, or
  nothing at all, holds a small buffer, never one of the worker's few threads. A head that is not complete
  ``HEADER_TIMEOUT_SECONDS`` after its first byte (after the connect, on a new connection) gets 408 and
  the connection is closed; in a cluster Envoy's ``request_headers_timeout`` does the same in front.
- **Accept only with a free thread.** Every worker accepts from one shared listening socket, so when a
  worker stops (SIGTERM, recycling, SIGHUP, a crash) the connections waiting in the accept queue stay for
  the others; with a socket per worker (``SO_REUSEPORT``) they were reset with it. A worker whose threads
  are all busy leaves new connections to another worker, so keep-alive connections spread over the workers
  that can serve them instead of gathering on whichever wins the accept race.
- **gunicorn's own answers** (400, 414, 431, 501, ... for requests that do not parse) are problem+json like
  every other error of the kit, not HTML.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import time
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from seaway import config

PROBLEM_JSON = "application/problem+json"  # as seaway.errors; not imported, it would load Flask in the master

_END_OF_HEAD = b"\r\n\r\n"  # gunicorn's parser ends a head here, and nowhere else
_RECV_BYTES = 65536


def problem_bytes(status: int, title: str, detail: str | None = None) -> bytes:
    """A complete HTTP/1.1 problem+json answer that closes the connection."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail[:200]
    payload = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode("latin-1") + payload


class SeawayWorker(ThreadWorker):
    """gthread, with request heads read by the event loop under a deadline, accept gated on a free thread, and
    problem+json for gunicorn's own errors (see the module's docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Connections whose head is still arriving -> their deadline. Every deadline is "now + the same
        # timeout" when inserted, so the dict's insertion order is deadline order.
        self._heads: dict[TConn, float] = {}
        self._busy = 0  # connections handed to a thread and not yet back
        cfg = self.cfg
        self._header_timeout = config.load(config.KitSettings).header_timeout_seconds
        line, fields, field = cfg.limit_request_line, cfg.limit_request_fields, cfg.limit_request_field_size
        self._head_limit = line + 2 + fields * (field + 2) + 2  # the longest head gunicorn's parser accepts
        # TLS and HTTP/2 prior knowledge begin with bytes gthread must read itself: leave those to it.
        self._own_heads = not cfg.is_ssl and cfg.http2_cleartext in ("off", None)

    # --- accept: one shared socket, taken only with a thread free ------------------------------------------

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self.alive and self._busy < self.cfg.threads)

    def _gate(self) -> None:
        self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def accept(self, listener) -> None:
        if not self._own_heads:
            return super().accept(listener)
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking from here
        self._begin_head(conn)

    def enqueue_req(self, conn: TConn) -> None:
        self._busy += 1
        super().enqueue_req(conn)
        if self._busy >= self.cfg.threads:
            self._gate()

    def finish_request(self, conn: TConn, fs) -> None:
        self._busy -= 1
        super().finish_request(conn, fs)
        self._gate()

    # --- heads: read by the event loop, under a deadline ---------------------------------------------------

    def on_client_socket_readable(self, conn: TConn, client) -> None:
        """A kept-alive connection has the start of its next request: read its head here, not in a thread."""
        if not self._own_heads:
            return super().on_client_socket_readable(conn, client)
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._begin_head(conn)

    def _begin_head(self, conn: TConn) -> None:
        """Read what has arrived; watch the socket, under a deadline, only if the head is not complete yet
        (usually it is: a keep-alive request arrives whole, so the poller is not touched twice more)."""
        conn.seaway_head = bytearray()
        if not self._read_head(conn, conn.sock):
            self._watch_head(conn)

    def _watch_head(self, conn: TConn) -> None:
        self._heads[conn] = time.monotonic() + self._header_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_head, conn))

    def _read_head(self, conn: TConn, client) -> bool:
        """Read from a connection whose head is arriving; True once it is handed on or closed."""
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:  # the client went away
            self._end_head(conn)
            self._close(conn)
            return True
        head = conn.seaway_head
        head += data
        # Once the head is complete (or longer than gunicorn allows, so that its parser answers 414 or 431),
        # a thread takes over with what has been read.
        if head.find(_END_OF_HEAD, max(0, len(head) - len(data) - 3)) >= 0 or len(head) > self._head_limit:
            self._end_head(conn)
            self.enqueue_req(conn)
            return True
        return False

    def _end_head(self, conn: TConn) -> None:
        if self._heads.pop(conn, None) is not None:  # watched: see _begin_head
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def murder_pending(self) -> None:
        """Also close the connections whose head did not arrive in time: 408 if some of it did."""
        super().murder_pending()
        now = time.monotonic()
        expired = []
        for conn, deadline in self._heads.items():
            if deadline > now:
                break
            expired.append(conn)
        for conn in expired:
            self._end_head(conn)
            if conn.seaway_head:
                with contextlib.suppress(OSError):
                    conn.sock.send(problem_bytes(408, "Request Timeout", "the request's headers took too long"))
            self._close(conn)

    def _close(self, conn: TConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn: TConn):
        """In a thread: give the parser the head read so far, then gthread's own handling."""
        head = getattr(conn, "seaway_head", None)
        if head is not None:
            conn.seaway_head = None
            conn.sock.setblocking(True)
            conn.init()
            conn.data_ready = True
            conn.parser.unreader.unread(bytes(head))
        return super().handle(conn)

    # --- gunicorn's own error answers as problem+json ------------------------------------------------------

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn decides the status and logs; the client gets problem+json instead of its HTML page."""
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        status, _, title = captured.status_line().partition(" ")
        code = int(status) if status.isdigit() else 500
        detail = str(exc) if 400 <= code < 500 else "The request failed."
        try:
            util.write_nonblock(client, problem_bytes(code, title or "Error", detail))
        except Exception:  # the client may be gone; gunicorn ignores this too
            self.log.debug("Failed to send error message.")


class _Captured:
    """Stands in for the client's socket while gunicorn writes its HTML answer: only its status line is kept."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def status_line(self) -> str:
        first = self.data.split(b"\r\n", 1)[0].decode("latin-1")
        return first.partition(" ")[2]  # "431 Request Header Fields Too Large"
