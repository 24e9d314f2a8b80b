"""Traces: the OpenTelemetry SDK, started in each gunicorn worker after the fork.

:func:`start` runs in gunicorn's ``post_fork`` hook (:mod:`seaway.gunicorn_conf`), never in the master:
the exporter's thread and connections do not survive a fork. It sets, for this worker:

- a ``TracerProvider`` whose resource has ``service.name`` from ``OTEL_SERVICE_NAME`` (or the service's
  name) and whose sampler follows ``OTEL_TRACES_SAMPLER`` (default: parent-based, always on);
- a ``BatchSpanProcessor`` with the OTLP/HTTP protobuf exporter (its encoding the kit's own, three times
  faster: :mod:`seaway.otlp`), configured only by the standard
  ``OTEL_EXPORTER_OTLP_*`` and ``OTEL_BSP_*`` variables. No exporter at all when neither
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` nor ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, or when
  ``OTEL_TRACES_EXPORTER=none``: spans still give every log line its trace and span ids;
- propagators: ``OTEL_PROPAGATORS`` when set, else X-Ray, W3C trace context and baggage, in that order,
  so an ``X-Amzn-Trace-Id`` from an ALB or an X-Ray-instrumented caller becomes the parent, and a W3C
  ``traceparent`` wins when both are present (a composite's later propagators override earlier ones); a
  request's incoming context (its parent and its ``baggage``) is current while it is handled;
- instrumentation of ``requests`` (trace context into every call to another service) and botocore (a
  span per AWS call; for SNS and SQS it adds its trace-context attributes next to the ones
  :mod:`seaway.events` sets, and leaves them alone when a message has too many attributes already).

Each request gets a server span from :func:`start_server_span` (the kit's middleware, :mod:`seaway.middleware`,
calls it), without ``/livez``, ``/readyz`` and ``/metrics``: the kit's own rather than
opentelemetry-instrumentation-flask, which cost about 200 us of CPU per request (it computes the full
URL three times, collects and sets every attribute twice, and attaches a second context for SQL
comments); the span is named ``<METHOD> <route template>`` and carries the stable HTTP semantic
convention attributes. Spans still buffered are flushed when the worker exits (the provider's
shutdown is a :mod:`seaway.lifecycle` hook); a SIGKILLed worker loses them.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.wsgi import wsgi_getter
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
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
    _set_propagators(os.environ.get("OTEL_PROPAGATORS") or _DEFAULT_PROPAGATORS)
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    resource = Resource.create(attributes)
    provider = TracerProvider(resource=_HashedOnce(resource.attributes, resource.schema_url))
    if exporter_configured():
        # Imported here: the exporter pulls in protobuf and an HTTP session only where it is used.
        from seaway.otlp import SpanExporter

        provider.add_span_processor(BatchSpanProcessor(SpanExporter()))
    trace.set_tracer_provider(provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    BotocoreInstrumentor().instrument(tracer_provider=provider)
    lifecycle.on_shutdown(_flush)
    _provider = provider
    return provider


_DEFAULT_PROPAGATORS = "xray,tracecontext,baggage"
# The propagators the kit builds itself, by their OTEL_PROPAGATORS names, and the request headers (as WSGI environ
# keys) each one's extract() reads: a request with none of them has no incoming context to extract.
_KNOWN_PROPAGATORS = {
    "xray": (AwsXRayPropagator, ("HTTP_X_AMZN_TRACE_ID",)),
    "tracecontext": (TraceContextTextMapPropagator, ("HTTP_TRACEPARENT",)),
    "baggage": (W3CBaggagePropagator, ("HTTP_BAGGAGE",)),
}
_ROOT = context.Context()  # the context extract() gives a request without trace headers: no parent, no baggage
# The propagator start() set and the environ keys it reads; (None, ()) when OTEL_PROPAGATORS names another one.
_incoming: tuple[object, tuple[str, ...]] = (None, ())


def _set_propagators(names: str) -> None:
    """The global propagator for ``names`` (``OTEL_PROPAGATORS``'s syntax). When each name is one the kit knows,
    the kit builds it and remembers which headers it reads, so that :func:`start_server_span` skips extracting
    from a request that carries none of them (most of them: only a service's callers send trace headers);
    any other name leaves the one the OpenTelemetry API built from the variable."""
    global _incoming
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if not wanted or any(name not in _KNOWN_PROPAGATORS for name in wanted):
        _incoming = (None, ())
        return
    composite = CompositePropagator([_KNOWN_PROPAGATORS[name][0]() for name in wanted])
    propagate.set_global_textmap(composite)
    _incoming = (composite, tuple(key for name in wanted for key in _KNOWN_PROPAGATORS[name][1]))


def _parent_context(environ: dict[str, Any]) -> context.Context:
    """The incoming trace context of the request ``environ`` describes, as the global propagator extracts it."""
    textmap, keys = _incoming
    if textmap is propagate.get_global_textmap() and not any(key in environ for key in keys):
        return _ROOT
    return propagate.extract(environ, getter=wsgi_getter)


class _HashedOnce(Resource):
    """The SDK's resource, its hash computed once: the OTLP exporter groups the spans of every export by
    resource, hashing each span's resource, and the SDK computes that hash from a JSON dump of the
    attributes every time (about 8 us per exported span). The attributes are immutable, so is the hash."""

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            self._hash = super().__hash__()
            return self._hash


_excluded: re.Pattern | None = None  # from OTEL_PYTHON_FLASK_EXCLUDED_URLS, read on the first request
_tracer: trace.Tracer | None = None  # first used after the worker's provider is set


def start_server_span(environ: dict[str, Any]) -> tuple[trace.Span, object] | None:
    """The server span of the request ``environ`` describes, parented by its incoming trace context and current
    from now on (the token detaches it again); None for probes and scrapes (:data:`EXCLUDED_URLS`)."""
    global _excluded, _tracer
    if _excluded is None:
        patterns = os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or EXCLUDED_URLS
        _excluded = re.compile("|".join(p.strip() for p in patterns.split(",")))
    path = environ.get("PATH_INFO", "")
    if _excluded.search(path):
        return None
    method = environ.get("REQUEST_METHOD", "")
    attributes = {"http.request.method": method, "url.path": path, "url.scheme": environ.get("wsgi.url_scheme")}
    if environ.get("QUERY_STRING"):
        attributes["url.query"] = environ["QUERY_STRING"]
    if environ.get("REMOTE_ADDR"):
        attributes["client.address"] = environ["REMOTE_ADDR"]
    if environ.get("HTTP_USER_AGENT"):
        attributes["user_agent.original"] = environ["HTTP_USER_AGENT"]
    if _tracer is None:
        _tracer = trace.get_tracer(__name__, tracer_provider=_provider)
    parent = _parent_context(environ)
    span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    # Current from now on: the span in the incoming context, so the caller's baggage goes on with the request.
    return span, context.attach(trace.set_span_in_context(span, parent))


def response_started(span: trace.Span, method: str, route: str | None, status: int) -> None:
    """The request's response begins: its span is named after the route template (the semantic conventions'
    ``<METHOD> <route>``) and gets the status; 5xx is an error."""
    if span.is_recording():
        if route is not None:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))


def end_server_span(span: trace.Span, token: object, error: BaseException | None = None) -> None:
    """The request is handled (``error``: what escaped the app): the span ends and is no longer current."""
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()
    context.detach(token)


def _flush() -> None:
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)
        _provider.shutdown()
