"""The incoming trace context of a request (seaway.tracing): what each propagator reads, and the shortcut for a
request that carries none of its headers. The OpenTelemetry API without an SDK gives a request's span the
context of its parent, so the parent a request got is what its span's context says."""

from __future__ import annotations

import pytest
from opentelemetry import baggage, propagate
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
from werkzeug.test import EnvironBuilder

from seaway import tracing

TRACE_ID, PARENT_ID = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
TRACEPARENT = f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01"
X_RAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture(autouse=True)
def global_propagator():
    """Each test sets the propagators it is about; the process's own come back after it."""
    before = propagate.get_global_textmap(), tracing._incoming
    yield
    propagate.set_global_textmap(before[0])
    tracing._incoming = before[1]


def parent_of(headers: dict[str, str]) -> SpanContext:
    """The span context the request with ``headers`` is given as its parent."""
    environ = EnvironBuilder(path="/items", headers=headers).get_environ()
    span, token = tracing.start_server_span(environ)
    tracing.end_server_span(span, token)
    return span.get_span_context()


def test_the_kits_propagators_extract_w3c_x_ray_and_baggage_headers():
    tracing._set_propagators("xray,tracecontext,baggage")
    assert parent_of({"traceparent": TRACEPARENT}).trace_id == TRACE_ID
    assert parent_of({"traceparent": TRACEPARENT}).span_id == PARENT_ID
    assert parent_of({"X-Amzn-Trace-Id": X_RAY}).trace_id == 0x5759E988BD862E3FE1BE46A994272793
    both = parent_of({"X-Amzn-Trace-Id": X_RAY, "traceparent": TRACEPARENT})
    assert both.trace_id == TRACE_ID  # the later propagator wins


def test_a_request_without_trace_headers_is_a_root_even_inside_another_context():
    tracing._set_propagators("xray,tracecontext,baggage")
    outer = NonRecordingSpan(SpanContext(TRACE_ID, PARENT_ID, is_remote=True, trace_flags=TraceFlags(1)))
    from opentelemetry import context

    token = context.attach(set_span_in_context(outer))
    try:
        assert not parent_of({"User-Agent": "curl", "tracestate": "vendor=1"}).is_valid
    finally:
        context.detach(token)


def test_baggage_alone_is_extracted_and_current_during_the_request():
    tracing._set_propagators("tracecontext,baggage")
    environ = EnvironBuilder(path="/items", headers={"baggage": "tenant=acme"}).get_environ()
    span, token = tracing.start_server_span(environ)
    try:
        assert baggage.get_baggage("tenant") == "acme"
    finally:
        tracing.end_server_span(span, token)
    assert baggage.get_baggage("tenant") is None


def test_only_the_configured_propagators_read_their_headers():
    tracing._set_propagators("tracecontext")
    assert not parent_of({"X-Amzn-Trace-Id": X_RAY}).is_valid
    assert parent_of({"traceparent": TRACEPARENT}).trace_id == TRACE_ID


class HeaderPropagator(TextMapPropagator):
    """A propagator the kit does not know: it reads ``x-custom-trace`` (``<trace id>:<span id>``, hex)."""

    def extract(self, carrier, context=None, getter=None):
        values = getter.get(carrier, "x-custom-trace")
        if not values:
            return context
        trace_id, span_id = (int(part, 16) for part in values[0].split(":"))
        span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(1)))
        return set_span_in_context(span, context)

    def inject(self, carrier, context=None, setter=None):
        pass

    @property
    def fields(self):
        return {"x-custom-trace"}


def test_a_propagator_the_kit_does_not_know_is_left_in_place_and_always_asked():
    before = propagate.get_global_textmap()
    tracing._set_propagators("tracecontext,b3")
    assert propagate.get_global_textmap() is before  # the one OpenTelemetry made from OTEL_PROPAGATORS
    propagate.set_global_textmap(HeaderPropagator())
    assert parent_of({"x-custom-trace": f"{TRACE_ID:x}:{PARENT_ID:x}"}).trace_id == TRACE_ID


def test_a_propagator_set_after_the_kits_own_is_asked_too():
    tracing._set_propagators("xray,tracecontext,baggage")
    propagate.set_global_textmap(HeaderPropagator())  # e.g. by an instrumentation, after tracing.start
    assert parent_of({"x-custom-trace": f"{TRACE_ID:x}:{PARENT_ID:x}"}).trace_id == TRACE_ID
