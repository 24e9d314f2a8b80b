"""Traces: the OpenTelemetry SDK, started in each gunicorn worker after the fork.

:func:`start` runs in gunicorn's ``post_fork`` hook (:mod:`seaway.gunicorn_conf`), never in the master:
the exporter's thread and connections do not survive a fork. It sets, for this worker:

- a ``TracerProvider`` whose resource has ``service.name`` from ``OTEL_SERVICE_NAME`` (or the service's
  name) and whose sampler follows ``OTEL_TRACES_SAMPLER`` (default: parent-based, always on);
- a ``BatchSpanProcessor`` with the OTLP/HTTP protobuf exporter, configured only by the standard
  ``OTEL_EXPORTER_OTLP_*`` and ``OTEL_BSP_*`` variables. No exporter at all when neither
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` nor ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, or when
  ``OTEL_TRACES_EXPORTER=none``: spans still give every log line its trace and span ids;
- propagators: ``OTEL_PROPAGATORS`` when set, else X-Ray, W3C trace context and baggage, in that order,
  so an ``X-Amzn-Trace-Id`` from an ALB or an X-Ray-instrumented caller becomes the parent, and a W3C
  ``traceparent`` wins when both are present (a composite's later propagators override earlier ones);
- instrumentation of ``requests`` (trace context into every call to another service) and botocore (a
  span per AWS call; for SNS and SQS it adds its trace-context attributes next to the ones
  :mod:`seaway.events` sets, and leaves them alone when a message has too many attributes already).

Flask is instrumented per app by :func:`instrument_app` (``create_app`` calls it), without ``/livez``,
``/readyz`` and ``/metrics``. Spans still buffered are flushed when the worker exits (the provider's
shutdown is a :mod:`seaway.lifecycle` hook); a SIGKILLed worker loses them.
"""

from __future__ import annotations

import logging
import os

from flask import Flask
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from seaway import lifecycle

log = logging.getLogger("seaway.tracing")

EXCLUDED_URLS = r"/livez(\?|$),/readyz(\?|$),/metrics(\?|$)"
"""Never traced: probes and scrapes would be most of the spans and tell nothing."""

# The worker's provider; None until start() ran in this process.
_provider: TracerProvider | None = None


def exporter_configured(environ: os._Environ | dict[str, str] | None = None) -> bool:
    """Whether the standard OTEL_* variables ask for an OTLP trace exporter."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    wanted = [name.strip() for name in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    if "otlp" not in wanted:
        return False
    return bool(environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def start(service: str) -> TracerProvider:
    """Set up tracing in this process (a gunicorn worker after the fork); returns the provider."""
    global _provider
    if _provider is not None:
        return _provider
    if not os.environ.get("OTEL_PROPAGATORS"):
        propagate.set_global_textmap(
            CompositePropagator([AwsXRayPropagator(), TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        )
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter_configured():
        # Imported here: the exporter pulls in protobuf and an HTTP session only where it is used.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    BotocoreInstrumentor().instrument(tracer_provider=provider)
    lifecycle.on_shutdown(_flush)
    _provider = provider
    return provider


def instrument_app(app: Flask) -> None:
    """A server span per request (not for probes and scrapes), parented by the incoming trace context."""
    excluded = os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or EXCLUDED_URLS
    FlaskInstrumentor().instrument_app(app, tracer_provider=_provider, excluded_urls=excluded)


def _flush() -> None:
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)
        _provider.shutdown()
