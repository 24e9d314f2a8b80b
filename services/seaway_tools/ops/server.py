"""The ops view's HTTP server: the page and its JSON API, on loopback only, behind a random token.

``seaway up`` prints the login URL (``/login?token=...``); opening it sets the token as a cookie
(``HttpOnly``, ``SameSite=Strict``) and leads to the page. Every other request without the cookie (or an
``Authorization: Bearer`` header with the token) gets 401. The server binds 127.0.0.1 whatever ``--host``
the services listen on: it can start and stop processes, so it is never reachable from another machine.

API (JSON): ``GET /api/resources``, ``POST /api/resources/<name>/{start,stop,restart}``,
``GET /api/logs?after=&service=&level=&text=&trace_id=``, ``GET /api/traces?service=&errors=1&background=1``,
``GET /api/traces/<trace id>``, ``GET /api/metrics``, ``GET /api/topology``.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources as package_files
from typing import Any
from urllib.parse import parse_qs, urlsplit

from seaway.service import Service
from seaway_tools.ops.logs import LogStore
from seaway_tools.ops.metrics import MetricsStore
from seaway_tools.ops.supervisor import Supervisor
from seaway_tools.ops.topology import topology
from seaway_tools.ops.traces import TraceStore

COOKIE = "seaway_ops"
LAST_LINES = 20
"""Lines of an exited process shown beside it."""
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# Scripts and styles from this server only (inline style attributes colour the charts); nothing else loads.
_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_ACTION = re.compile(r"^/api/resources/(?P<name>[\w.-]+)/(?P<action>start|stop|restart)$")
_TRACE = re.compile(r"^/api/traces/(?P<trace_id>[0-9a-f]{32})$")


class OpsView:
    """The page's server over the stores and the supervisor of one ``seaway up``."""

    def __init__(
        self,
        services: Iterable[Service],
        supervisor: Supervisor,
        logs: LogStore,
        traces: TraceStore,
        metrics: MetricsStore,
        port: int,
    ) -> None:
        self.services = list(services)
        self.supervisor = supervisor
        self.logs = logs
        self.traces = traces
        self.metrics = metrics
        self.token = secrets.token_urlsafe(24)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-view", daemon=True)

    @property
    def login_url(self) -> str:
        return f"{self.url}/login?token={self.token}"

    def start(self) -> OpsView:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def authorised(self, headers) -> bool:
        offered = ""
        bearer = headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            offered = bearer.removeprefix("Bearer ")
        else:
            try:
                cookie = SimpleCookie(headers.get("Cookie", ""))
            except CookieError:
                cookie = SimpleCookie()
            offered = cookie[COOKIE].value if COOKIE in cookie else ""
        return self.valid(offered)

    def valid(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self.token.encode())

    # --- what the API answers ---------------------------------------------------------------------------

    def resources(self) -> list[dict[str, Any]]:
        found = []
        for managed in self.supervisor.processes.values():
            entry = managed.view()
            entry["last_lines"] = self.logs.last(managed.name, LAST_LINES) if managed.state == "exited" else []
            found.append(entry)
        return found

    def api(self, path: str, query: dict[str, str]) -> Any:
        if path == "/api/resources":
            return self.resources()
        if path == "/api/logs":
            lines = self.logs.query(
                after=_int(query.get("after")),
                service=query.get("service", ""),
                level=query.get("level", ""),
                text=query.get("text", ""),
                trace_id=query.get("trace_id", ""),
                limit=min(_int(query.get("limit"), 500), 2000),
            )
            return {"lines": [line.as_dict() for line in lines], "kept": len(self.logs), "limit": self.logs.limit}
        if path == "/api/traces":
            found = self.traces.summaries(
                service=query.get("service", ""),
                errors_only=bool(query.get("errors")),
                background=bool(query.get("background")),
            )
            return {
                "traces": found,
                "kept_spans": self.traces.span_count,
                "limit": self.traces.limit,
            }
        if match := _TRACE.match(path):
            spans = self.traces.trace(match["trace_id"])
            return {"trace_id": match["trace_id"], "spans": [span.as_dict() for span in spans]} if spans else None
        if path == "/api/metrics":
            return self.metrics.summary()
        if path == "/api/topology":
            return topology(self.services, self.metrics.summary())
        return None


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _handler(view: OpsView) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "seaway-ops"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            if url.path == "/login":
                return self._login(query.get("token", ""))
            if not view.authorised(self.headers):
                return self._problem(HTTPStatus.UNAUTHORIZED, "open the login URL that seaway up printed")
            if url.path in _STATIC:
                name, content_type = _STATIC[url.path]
                body = package_files.files("seaway_tools.ops.static").joinpath(name).read_bytes()
                return self._send(HTTPStatus.OK, body, content_type)
            if not url.path.startswith("/api/"):
                return self._problem(HTTPStatus.NOT_FOUND, f"no page at {url.path}")
            answer = view.api(url.path, query)
            if answer is None:
                return self._problem(HTTPStatus.NOT_FOUND, f"nothing at {url.path} (gone or never seen)")
            self._send(HTTPStatus.OK, json.dumps(answer).encode(), "application/json")

        def do_POST(self) -> None:
            if not view.authorised(self.headers):
                return self._problem(HTTPStatus.UNAUTHORIZED, "open the login URL that seaway up printed")
            match = _ACTION.match(urlsplit(self.path).path)
            if match is None:
                return self._problem(HTTPStatus.NOT_FOUND, "POST /api/resources/<service>/start|stop|restart")
            try:
                view.supervisor.request(match["action"], match["name"])
            except KeyError:
                return self._problem(HTTPStatus.NOT_FOUND, f"no service {match['name']} to {match['action']}")
            body = json.dumps({"accepted": f"{match['action']} {match['name']}"}).encode()
            self._send(HTTPStatus.ACCEPTED, body, "application/json")

        def _login(self, token: str) -> None:
            if not view.valid(token):
                return self._problem(HTTPStatus.UNAUTHORIZED, "this login URL's token is not the current one")
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Set-Cookie", f"{COOKIE}={view.token}; HttpOnly; SameSite=Strict; Path=/")
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _problem(self, status: HTTPStatus, detail: str) -> None:
            body = {"type": "about:blank", "title": status.phrase, "status": status.value, "detail": detail}
            self._send(status, json.dumps(body).encode(), "application/problem+json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", _POLICY)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # the page polls every few seconds: no access line for each

    return Handler
