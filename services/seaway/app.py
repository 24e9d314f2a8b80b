"""``create_app``: one call gives a service health, errors, logs, request ids and configuration."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from seaway import chaos, config, errors, health, logs, openapi
from seaway.middleware import RequestSignals


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
    app.wsgi_app = RequestSignals(app.wsgi_app, app)  # outermost: ids, deadline, span, metrics, access line
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
