"""The peer of the overhead comparison: what a team assembles by hand for the kit's signals, from the usual
libraries, on the same endpoint as :mod:`bench.apps`.

- metrics: prometheus-flask-exporter's ``GunicornPrometheusMetrics`` in prometheus_client's multiprocess mode
  (``PROMETHEUS_MULTIPROC_DIR``), labelled by route template (``group_by="url_rule"``), served by the master
  on ``PEER_METRICS_PORT`` (:mod:`bench.peer_gunicorn`);
- traces: opentelemetry-instrumentation-flask, the SDK started after the fork with the same OTLP/HTTP
  exporter as the kit (``OTEL_*`` variables; every trace sampled unless ``OTEL_TRACES_SAMPLER`` says otherwise);
- logs: one JSON access line per request on stdout through python-json-logger, with the route, status,
  duration and the trace and span ids.
"""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, g, request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics
from pythonjsonlogger.json import JsonFormatter

from bench.apps import bare_app


def start_tracing() -> TracerProvider:
    """In a gunicorn worker after the fork: resource, sampler and exporter from the OTEL_* variables."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def _access_log() -> logging.Logger:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("peer.access")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def peer_app() -> Flask:
    app = bare_app()
    FlaskInstrumentor().instrument_app(app)
    GunicornPrometheusMetrics(app, group_by="url_rule")
    access = _access_log()

    @app.before_request
    def _started() -> None:
        g.peer_started = time.perf_counter()

    @app.after_request
    def _log(response):
        context = trace.get_current_span().get_span_context()
        access.info(
            "request",
            extra={
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.peer_started) * 1000, 3),
                "trace_id": format(context.trace_id, "032x") if context.is_valid else None,
                "span_id": format(context.span_id, "016x") if context.is_valid else None,
            },
        )
        return response

    return app
