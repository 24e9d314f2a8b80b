"""seaway.otlp: its encoding equals the official OTLP encoder's for every kind of span the SDK makes, and its
exporter posts that encoding as the official exporter would."""

from __future__ import annotations

import contextlib
import http.server
import math
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as official_encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from seaway import otlp
from seaway.tracing import _HashedOnce

KINDS = [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]
STATUSES = [
    None,
    Status(StatusCode.OK),
    Status(StatusCode.ERROR),
    Status(StatusCode.ERROR, "boom"),
    Status(StatusCode.ERROR, "é" * 200),
    Status(StatusCode.UNSET),
]
SERVER_ATTRIBUTES = {
    "http.request.method": "GET",
    "url.path": "/hello",
    "url.scheme": "http",
    "client.address": "127.0.0.1",
    "user_agent.original": "wrk",
    "http.response.status_code": 200,
    "http.route": "/hello",
}


class Recorder:
    """A provider whose finished spans are kept; its resource as the kit makes it (hashed once)."""

    def __init__(self, attributes: dict[str, Any] | None = None, schema_url: str = "", **limits: int) -> None:
        resource = Resource.create(attributes or {"service.name": "test"}, schema_url=schema_url or None)
        self.provider = TracerProvider(
            resource=_HashedOnce(resource.attributes, resource.schema_url), span_limits=SpanLimits(**limits)
        )
        self.memory = InMemorySpanExporter()
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("seaway.tests")

    def spans(self) -> tuple[ReadableSpan, ...]:
        spans = self.memory.get_finished_spans()
        self.memory.clear()
        return spans


def assert_encoded_alike(spans: Sequence[ReadableSpan]) -> bytes:
    """The request of ``spans`` is the official one: parsed, and byte for byte (fields in the same order)."""
    official = official_encode_spans(spans).SerializePartialToString()
    ours = otlp.encode_spans(spans)
    assert ExportTraceServiceRequest.FromString(ours) == ExportTraceServiceRequest.FromString(official)
    assert ours == official
    return ours


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def remote_parent(trace_state: TraceState | None = None) -> trace.Context:
    parent = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=trace_state,
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize(
    "status", STATUSES, ids=lambda s: "no status" if s is None else f"{s.status_code.name} {s.description}"
)
def test_kinds_parents_and_statuses(recorder: Recorder, kind: SpanKind, status: Status | None) -> None:
    tracer = recorder.tracer
    with tracer.start_as_current_span("root", kind=kind) as root:  # no parent
        with tracer.start_as_current_span("child", kind=kind) as child:  # a local parent
            if status is not None:
                child.set_status(status)
        if status is not None:
            root.set_status(status)
    for trace_state in (None, TraceState([("vendor", "value"), ("other", "a-b")])):
        context = remote_parent(trace_state)
        with tracer.start_as_current_span(f"{kind.name} remote", context=context, kind=kind) as span:
            if status is not None:
                span.set_status(status)
    spans = recorder.spans()
    assert [span.name for span in spans] == ["child", "root", f"{kind.name} remote", f"{kind.name} remote"]
    assert [span.parent is not None and span.parent.is_remote for span in spans] == [False, False, True, True]
    assert spans[1].parent is None
    assert spans[-1].get_span_context().trace_state.to_header() == "vendor=value,other=a-b"
    assert_encoded_alike(spans)


def test_typical_server_spans(recorder: Recorder) -> None:
    for _ in range(3):
        with recorder.tracer.start_as_current_span("GET /hello", kind=SpanKind.SERVER, attributes=SERVER_ATTRIBUTES):
            pass
    with recorder.tracer.start_as_current_span("with an event") as span:
        span.add_event("event")
    *common, other = recorder.spans()
    assert all(otlp._encode_common_span(span) is not None for span in common)  # hand-written
    assert otlp._encode_common_span(other) is None  # the official encoder's
    assert_encoded_alike([*common, other])


ATTRIBUTE_VALUES: dict[str, Any] = {
    "str": "value",
    "empty str": "",
    "non-ASCII": "ünïcødé ✓ 😀",
    "long str": "x" * 128,
    "longer str": "é" * 10_000,  # a three-byte length
    "lone surrogate": "a\ud800b",  # the official encoder logs and drops it
    "true": True,
    "false": False,
    "zero": 0,
    "one": 1,
    "negative": -1,
    "most negative": -(2**63),
    "largest int64": 2**63 - 1,
    "past int64": 2**63,  # dropped by the official encoder
    "below int64": -(2**63) - 1,
    "past uint64": 2**70,
    "float": 1.5,
    "negative zero": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "str sequence": ("a", "b"),
    "bool sequence": [True, False],
    "int sequence": (1, -2, 2**40),
    "float sequence": (0.5, math.nan),
    "empty sequence": (),
    "bytes": b"\x00\xff",
}


@pytest.mark.parametrize("name", list(ATTRIBUTE_VALUES))
def test_each_attribute_type(recorder: Recorder, name: str) -> None:
    value = ATTRIBUTE_VALUES[name]
    with recorder.tracer.start_as_current_span("span", attributes={"before": "x", name: value, "after": 7}):
        pass
    with recorder.tracer.start_as_current_span("span", attributes={name: value}):
        pass
    assert_encoded_alike(recorder.spans())


def test_all_attributes_in_one_span(recorder: Recorder) -> None:
    with recorder.tracer.start_as_current_span("span", attributes=ATTRIBUTE_VALUES):
        pass
    assert_encoded_alike(recorder.spans())


# Text, one time in ten with a lone surrogate (which UTF-8 cannot encode).
_TEXT = st.builds(lambda text, odd: f"{text[:2]}\ud800{text[2:]}" if odd == 9 else text, st.text(), st.integers(0, 9))
_SCALARS = st.one_of(
    _TEXT,
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
)
_HYPOTHESIS_RECORDER = Recorder()


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    attributes=st.dictionaries(_TEXT.filter(bool), st.one_of(_SCALARS, st.lists(_TEXT).map(tuple)), max_size=8),
    name=_TEXT,
)
def test_any_attributes_and_name(attributes: dict[str, Any], name: str) -> None:
    with _HYPOTHESIS_RECORDER.tracer.start_as_current_span("x", kind=SpanKind.CLIENT, attributes=attributes) as span:
        span.update_name(name)
    spans = _HYPOTHESIS_RECORDER.spans()
    try:
        official_encode_spans(spans)
    except UnicodeEncodeError:  # a name with a lone surrogate: the official encoder fails the batch
        with pytest.raises(UnicodeEncodeError):
            otlp.encode_spans(spans)
    else:
        assert_encoded_alike(spans)


def test_span_name_the_official_encoder_cannot_encode_fails_alike(recorder: Recorder) -> None:
    with recorder.tracer.start_as_current_span("\udc80"):
        pass
    spans = recorder.spans()
    with pytest.raises(UnicodeEncodeError):
        official_encode_spans(spans)
    with pytest.raises(UnicodeEncodeError):
        otlp.encode_spans(spans)


def test_events_links_and_dropped_counts() -> None:
    recorder = Recorder(max_attributes=2, max_events=1, max_links=1, max_event_attributes=1, max_link_attributes=1)
    tracer = recorder.tracer
    with tracer.start_as_current_span("target") as target:
        pass
    links = [Link(target.get_span_context(), {"a": 1, "b": "two"}), Link(target.get_span_context())]
    with tracer.start_as_current_span("linked", links=links, attributes={"a": 1, "b": 2, "c": 3}) as span:
        span.add_event("first", {"x": 1, "y": "z"})
        span.add_event("second")
    with tracer.start_as_current_span("events only") as span:
        span.add_event("only", {"n": 1.5})
    with tracer.start_as_current_span("exception") as span:
        span.record_exception(ValueError("bad"))
    spans = recorder.spans()
    linked = spans[1]
    assert (linked.dropped_attributes, linked.dropped_events, linked.dropped_links) == (1, 1, 1)
    assert_encoded_alike(spans)


def test_two_resources_and_two_scopes_in_one_batch() -> None:
    first = Recorder({"service.name": "first", "deployment.environment": "test"}, "https://opentelemetry.io/schemas/1")
    second = Recorder({"service.name": "second", "count": 3, "ratio": 0.5})
    tracers = [
        first.tracer,
        first.provider.get_tracer("other", "1.2.3", "https://opentelemetry.io/schemas/2", {"scope": "attr"}),
        second.tracer,
        second.provider.get_tracer("other", "1.2.3"),
    ]
    for index in range(12):  # interleaved: grouped by resource then scope, in the order first seen
        with tracers[index * 7 % 4].start_as_current_span(f"span {index}", attributes={"i": index}):
            pass
    spans = sorted([*first.spans(), *second.spans()], key=lambda span: span.name.split()[-1].zfill(3))
    assert len({span.resource for span in spans}) == 2
    request = ExportTraceServiceRequest.FromString(assert_encoded_alike(spans))
    assert [len(resource.scope_spans) for resource in request.resource_spans] == [2, 2]


def test_a_span_without_a_scope(recorder: Recorder) -> None:
    with recorder.tracer.start_as_current_span("span"):
        pass
    (span,) = recorder.spans()
    span._instrumentation_scope = None
    assert_encoded_alike([span])


@pytest.mark.parametrize("count", [0, 1, 600])
def test_batch_sizes(recorder: Recorder, count: int) -> None:
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        attributes = {**SERVER_ATTRIBUTES, "url.path": f"/items/{index}", "http.response.status_code": 200 + index}
        with recorder.tracer.start_as_current_span(f"GET /items/{index}", kind=kind, attributes=attributes):
            pass
    spans = recorder.spans()
    assert len(spans) == count
    encoded = assert_encoded_alike(spans)
    assert (encoded == b"") is (count == 0)


def test_the_attribute_cache_stays_bounded(recorder: Recorder) -> None:
    for index in range(otlp._CACHE_SIZE + 10):
        with recorder.tracer.start_as_current_span("span", attributes={"url.path": f"/items/{index}"}):
            pass
    assert_encoded_alike(recorder.spans())
    assert len(otlp._attributes) <= otlp._CACHE_SIZE


# The exporter, end to end: a real HTTP server on loopback.


class Collector(http.server.ThreadingHTTPServer):
    """Records each POST (path, headers, body) and answers with ``status``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 200
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def server_spans(recorder: Recorder) -> tuple[ReadableSpan, ...]:
    for index in range(5):
        with recorder.tracer.start_as_current_span("GET /hello", kind=SpanKind.SERVER, attributes=SERVER_ATTRIBUTES):
            pass
        with recorder.tracer.start_as_current_span("event", attributes={"i": index}) as span:
            span.add_event("happened")
    return recorder.spans()


def test_the_exporter_posts_the_official_encoding(collector: Collector, server_spans: Sequence[ReadableSpan]) -> None:
    exporter = otlp.SpanExporter(endpoint=collector.url, headers={"x-team": "seaway"}, timeout=5)
    try:
        assert exporter.export(server_spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((path, headers, body),) = collector.requests
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-team"] == "seaway"
    official = official_encode_spans(server_spans).SerializePartialToString()
    assert ExportTraceServiceRequest.FromString(body) == ExportTraceServiceRequest.FromString(official)
    assert body == official


def test_the_exporter_follows_the_standard_variables(
    collector: Collector, server_spans: Sequence[ReadableSpan], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-from-env=yes")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    exporter = otlp.SpanExporter()
    try:
        assert exporter.export(server_spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((_, headers, _),) = collector.requests
    assert headers["x-from-env"] == "yes"
    assert headers["content-encoding"] == "gzip"


def test_a_server_error_is_a_failure(collector: Collector, server_spans: Sequence[ReadableSpan]) -> None:
    collector.status = 500  # not retried by the official client
    exporter = otlp.SpanExporter(endpoint=collector.url, timeout=5)
    assert exporter.export(server_spans) is SpanExportResult.FAILURE
    assert len(collector.requests) == 1


def test_an_unreachable_endpoint_is_a_failure(server_spans: Sequence[ReadableSpan]) -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    # A timeout shorter than the first backoff (about 1 s): no retry after the immediate reconnection.
    exporter = otlp.SpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=0.3)
    assert exporter.export(server_spans) is SpanExportResult.FAILURE


def test_what_the_exporter_refuses_to_send(collector: Collector, server_spans: Sequence[ReadableSpan]) -> None:
    small = otlp.SpanExporter(endpoint=collector.url, max_request_size=100)
    assert small.export(server_spans) is SpanExportResult.FAILURE
    with recorder_spans_named("\ud800") as unencodable:
        assert otlp.SpanExporter(endpoint=collector.url).export(unencodable) is SpanExportResult.FAILURE
    closed = otlp.SpanExporter(endpoint=collector.url)
    closed.shutdown()
    assert closed.export(server_spans) is SpanExportResult.FAILURE
    assert collector.requests == []


@contextlib.contextmanager
def recorder_spans_named(name: str) -> Iterator[tuple[ReadableSpan, ...]]:
    recorder = Recorder()
    with recorder.tracer.start_as_current_span(name):
        pass
    yield recorder.spans()
