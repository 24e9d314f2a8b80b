"""``create_app``: one call gives a service health, errors, logs, request ids and configuration."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, request
from flask.wrappers import Response
from werkzeug.middleware.proxy_fix import ProxyFix

from seaway import chaos, config, deadline, errors, health, logs, openapi

access_log = logging.getLogger("seaway.access")

# A caller's request id is kept only if it is short and plain, so it cannot inject into logs or headers.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def create_app(name: str, *, openapi_document: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app of service ``name`` with everything the kit wires in.

    Reads :class:`seaway.config.KitSettings` from the environment (raising ConfigError on bad values),
    configures JSON logs, problem+json errors, ``/livez`` and ``/readyz``, request ids, access logs, the
    request-size limit and, when given, ``/openapi.json``.
    """
    kit = config.load(config.KitSettings)
    logs.configure(name, kit.log_level)
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = kit.max_request_bytes
    if kit.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=kit.trusted_proxy_hops)  # request.remote_addr = the client
    app.extensions["seaway.settings"] = kit
    # Imported here: ``import seaway`` must not import prometheus_client (see seaway.metrics).
    from seaway import metrics, tracing

    metrics.install(app, kit.worker_threads)  # first: its timing covers every other hook
    tracing.instrument_app(app)
    errors.install(app)
    health.install(app, kit.readiness_cache_seconds)
    if openapi_document is not None:
        openapi.install(app, openapi_document)
    app.before_request(_start_request)
    deadline.install(app)  # after the request id: a 504 for a spent deadline quotes it
    app.after_request(_finish_request)
    if kit.chaos_enabled:
        chaos.install(app)
    return app


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    if "request_id" not in g:  # the request failed before _start_request ran
        _start_request()
    response.headers["X-Request-ID"] = g.request_id
    duration_ms = round((time.perf_counter() - g.started) * 1000, 2)
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    access_log.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule else None,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response
