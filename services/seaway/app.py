"""``create_app``: one call gives a service health, errors, logs, request ids and configuration."""

from __future__ import annotations

import io
import logging
import random
import re
import time
from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from flask.wrappers import Request, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from seaway import chaos, config, deadline, errors, health, logs, openapi, tracing

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
    app.json = _JSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = kit.max_request_bytes
    app.wsgi_app = _ChunkedBodyLimit(app.wsgi_app, kit.max_request_bytes)
    if kit.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=kit.trusted_proxy_hops)  # request.remote_addr = the client
    app.extensions["seaway.settings"] = kit
    # Imported here: ``import seaway`` must not import prometheus_client (see seaway.metrics).
    from seaway import metrics

    metrics.install(app, kit.worker_threads)
    tracing.instrument_app(app)
    # The kit's per-request work in one hook each (Flask's dispatch of a hook costs a coroutine check and
    # context lookups): registered first, the before hook runs first and the after hook last, so the
    # metrics' timing covers every other hook and the access line has the final response.
    app.before_request(_before_request)
    app.after_request(_after_request)
    app.teardown_request(metrics.request_torn_down)
    errors.install(app)
    health.install(app, kit.readiness_cache_seconds)
    if openapi_document is not None:
        openapi.install(app, openapi_document)
    if kit.chaos_enabled:
        chaos.install(app)
    return app


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a body nested too deeply for the parser (``[`` * 10000) a bad body like any other:
    ``request.get_json()`` answers 400 (``silent=True``: None) instead of letting RecursionError make a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class _ChunkedBodyLimit:
    """A chunked body (no Content-Length) is held to MAX_REQUEST_BYTES as a Content-Length one is.

    Werkzeug stops reading such a body at the limit and gives the app what it read, as if it were the whole
    body. Here it is read first, up to one byte more than the limit, and handed on with its length; a longer
    one is announced with a length over the limit, so that Flask answers 413 just as for a Content-Length.
    """

    def __init__(self, wsgi_app, limit: int) -> None:
        self.wsgi_app, self.limit = wsgi_app, limit

    def __call__(self, environ, start_response):
        if not environ.get("CONTENT_LENGTH") and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(self.limit + 1)
            del environ["HTTP_TRANSFER_ENCODING"]  # Werkzeug ignores a length given with it
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body if len(body) <= self.limit else b"")
        return self.wsgi_app(environ, start_response)


def _before_request() -> Response | None:
    from seaway import metrics  # see create_app

    current, state = request._get_current_object(), g._get_current_object()  # one context lookup each
    metrics.request_started(current, state)
    tracing.name_span(current)
    _start_request(current, state)
    return deadline.read(current, state)  # after the request id: a 504 for a spent deadline quotes it


def _after_request(response: Response) -> Response:
    from seaway import metrics  # see create_app

    current, state = request._get_current_object(), g._get_current_object()
    _finish_request(current, state, response)
    metrics.request_finished(current, state, response)
    return response


def _start_request(current: Request, state: Any) -> None:
    incoming = current.environ.get("HTTP_X_REQUEST_ID", "")
    # 128 random bits as 32 hex digits, like a uuid4's hex; an id to find a request by, not a secret, so the
    # random module's generator (reseeded in every forked worker) rather than a system call per request.
    state.request_id = incoming if _REQUEST_ID.match(incoming) else f"{random.getrandbits(128):032x}"
    state.started = time.perf_counter()


def _finish_request(current: Request, state: Any, response: Response) -> None:
    if "request_id" not in state:  # the request failed before _start_request ran
        _start_request(current, state)
    response.headers["X-Request-ID"] = state.request_id
    path = current.path
    rule = current.url_rule
    logs.access(
        logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
        state.request_id,
        current.method,
        rule.rule if rule is not None else None,
        path,
        response.status_code,
        round((time.perf_counter() - state.started) * 1000, 2),
    )
