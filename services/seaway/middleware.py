"""What the kit does around every request: its id, its deadline, its server span, its metrics and its access line.

One WSGI middleware, outermost (``create_app`` installs it), rather than Flask hooks: Flask dispatches each
hook with a coroutine check and context lookups, and a teardown hook runs for every request, which together
cost more than the kit's own work. Here a request begins (id, deadline, span, in flight) before Flask sees it,
and its response is recorded when the app calls ``start_response``: Flask does that inside the request's
context, so the matched route is known, and before the body is sent, so the duration is the app's.

Probes and scrapes (``/livez``, ``/readyz``, ``/metrics``) get an id and an access line at DEBUG, no span and
no request metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from seaway import deadline, logs, request_id, tracing

QUIET_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


class RequestSignals:
    """The WSGI middleware (see the module's docstring) around ``app``'s ``wsgi_app``."""

    def __init__(self, wsgi_app: Callable, app: Flask) -> None:
        # Imported here: ``import seaway`` must not import prometheus_client (see seaway.metrics).
        from seaway import metrics

        self.wsgi_app, self.app, self.metrics = wsgi_app, app, metrics
        self._series_made = False

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        rid = request_id.assign(environ)
        started = time.perf_counter()
        if not self._series_made:  # the app's routes are all added by its first request
            self._series_made = True
            self.metrics.initialise_series(self.app, QUIET_PATHS)
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        quiet = path in QUIET_PATHS
        span = None if quiet else tracing.start_server_span(environ)
        in_flight = None if quiet else self.metrics.in_flight(method)

        def respond(status: str, headers: list, exc_info: Any = None) -> Callable:
            code = int(status[:3])
            seconds = time.perf_counter() - started
            route = _route(self.app, environ)
            headers.append((request_id.HEADER, rid))
            if not quiet:
                self.metrics.request_handled(route, method, code, seconds)
            if span is not None:
                tracing.response_started(span[0], method, route, code)
            level = logging.DEBUG if quiet else logging.INFO
            logs.access(level, rid, method, route, path, code, round(seconds * 1000, 2))
            return start_response(status, headers, exc_info)

        if in_flight is not None:
            in_flight.inc()
        error = None
        try:
            spent = deadline.read(environ)  # after the id: the 504 for a spent deadline quotes it
            return (self.wsgi_app if spent is None else spent)(environ, respond)
        except BaseException as escaped:  # only where Flask propagates exceptions (testing, debug)
            error = escaped
            raise
        finally:
            if in_flight is not None:
                in_flight.dec()
            if span is not None:
                tracing.end_server_span(*span, error)


def _route(app: Flask, environ: dict[str, Any]) -> str | None:
    """The template of the route the request matched; None when it matched none."""
    current = request._get_current_object() if request else None
    if current is not None and current.environ is environ:  # inside the request's context: Flask routed it
        rule = current.url_rule
        return None if rule is None else rule.rule
    try:  # answered before Flask saw it (a spent deadline)
        rule, _ = app.url_map.bind_to_environ(environ).match(return_rule=True)
    except HTTPException:
        return None
    return rule.rule
