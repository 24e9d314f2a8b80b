"""The ops view's stores: logs parsed from the kit's JSON lines, traces grouped from OTLP spans; both bounded."""

from __future__ import annotations

import json
import logging
import tracemalloc

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from seaway.logs import JsonFormatter
from seaway_tools.ops.logs import LogStore
from seaway_tools.ops.traces import Span, TraceStore, spans_of


def kit_line(message: str, level: int = logging.INFO, **extra) -> str:
    """A line exactly as a Seaway service writes it (the kit's formatter)."""
    record = logging.LogRecord("storefront.orders", level, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return JsonFormatter("orders").format(record) + "\n"


def test_a_kit_log_line_is_parsed_into_columns_and_the_rest_of_its_fields():
    store = LogStore()
    line = store.add("orders", kit_line("order placed", order_id="o-1", trace_id="ab" * 16, span_id="cd" * 8))
    assert (line.service, line.level, line.message) == ("orders", "INFO", "order placed")
    assert line.trace_id == "ab" * 16 and line.span_id == "cd" * 8
    assert line.fields == {"logger": "storefront.orders", "order_id": "o-1"}
    assert line.time.endswith("Z")


def test_a_line_that_is_not_json_is_kept_as_text_without_a_level():
    line = LogStore().add("catalog", "[2026-11-29 10:00:00] [1] [INFO] Starting gunicorn 23.0.0\n")
    assert (line.level, line.message, line.fields) == (
        "",
        "[2026-11-29 10:00:00] [1] [INFO] Starting gunicorn 23.0.0",
        {},
    )
    assert LogStore().add("catalog", '{"not closed').message == '{"not closed'


def test_logs_filter_by_service_minimum_level_text_trace_and_sequence():
    store = LogStore()
    trace = "12" * 16
    store.add("orders", kit_line("order placed", trace_id=trace))
    store.add("catalog", kit_line("cache miss", logging.DEBUG, trace_id=trace))
    store.add("catalog", kit_line("slow table", logging.WARNING, table="products"))
    store.add("fulfillment", kit_line("receipt failed", logging.ERROR, trace_id=trace))

    def messages(**filters) -> list[str]:
        return [line.message for line in store.query(**filters)]

    assert messages(service="catalog") == ["cache miss", "slow table"]
    assert messages(level="warning") == ["slow table", "receipt failed"]
    assert messages(trace_id=trace) == ["order placed", "cache miss", "receipt failed"]
    assert messages(text="PRODUCTS") == ["slow table"]  # other fields are searched too, without case
    assert messages(after=2) == ["slow table", "receipt failed"]
    assert store.last("catalog", 1) == ["slow table"]


def test_the_log_store_keeps_its_limit_and_its_memory_stays_flat_past_it():
    store = LogStore(limit=2_000)
    line = kit_line("x" * 300, request_id="r" * 32, trace_id="ab" * 16, span_id="cd" * 8)

    def fill(count: int) -> None:
        for _ in range(count):
            store.add("orders", line)

    tracemalloc.start()
    try:
        fill(store.limit)
        at_limit = tracemalloc.get_traced_memory()[0]
        fill(store.limit * 5)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(store) == store.limit
    assert store.query(limit=1)[0].seq == store.limit * 6  # the newest line is kept, the oldest went first
    assert after < at_limit * 1.1, (at_limit, after)
    oversized = store.add("orders", "y" * 100_000)
    assert len(oversized.message) == 4_000


def span(trace: int, number: int, parent: int | None = None, service: str = "orders", kind: str = "server") -> Span:
    return Span(
        trace_id=f"{trace:032x}",
        span_id=f"{number:016x}",
        parent_span_id=f"{parent:016x}" if parent is not None else "",
        service=service,
        name=f"span {number}",
        kind=kind,
        start_ns=1_000_000 * number,
        end_ns=1_000_000 * number + 500_000,
        error=False,
        attributes={"http.route": "/orders", "padding": "p" * 100},
    )


def test_a_trace_is_summarised_by_its_root_services_duration_and_error():
    store = TraceStore()
    store.add([span(1, 2, 1, "orders"), span(1, 1, None, "gateway"), span(1, 3, 2, "catalog", "client")])
    store.add([span(2, 10, None, "catalog", "client")])  # a readiness check's AWS call: background
    (summary,) = store.summaries()
    assert summary["trace_id"] == f"{1:032x}"
    assert summary["root"] == "gateway: span 1"
    assert summary["services"] == ["gateway", "orders", "catalog"]
    assert (summary["spans"], summary["duration_ms"], summary["error"]) == (3, 2.5, False)
    assert [s["trace_id"] for s in store.summaries(background=True)] == [f"{2:032x}", f"{1:032x}"]
    assert [s.span_id for s in store.trace(f"{1:032x}")] == [f"{n:016x}" for n in (1, 2, 3)]


def test_the_trace_store_drops_whole_oldest_traces_past_its_limit_and_its_memory_stays_flat():
    store = TraceStore(limit=3_000)

    def fill(first_trace: int, traces: int) -> None:
        for trace in range(first_trace, first_trace + traces):
            store.add([span(trace, n, n - 1 if n else None) for n in range(10)])

    tracemalloc.start()
    try:
        fill(0, 300)
        at_limit = tracemalloc.get_traced_memory()[0]
        fill(300, 1_500)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert store.span_count == 3_000 and len(store) == 300
    assert store.trace(f"{0:032x}") == []  # the oldest went whole
    assert len(store.trace(f"{1_799:032x}")) == 10
    assert store.dropped == 15_000
    assert after < at_limit * 1.1, (at_limit, after)


def test_one_trace_cannot_take_more_than_its_share():
    store = TraceStore(limit=100, per_trace=10)
    store.add([span(1, n, 0) for n in range(1, 51)])
    assert len(store.trace(f"{1:032x}")) == 10 and store.dropped == 40


def test_spans_are_read_from_an_otlp_export_with_their_service():
    export = ExportTraceServiceRequest()
    resource_spans = export.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "fulfillment"
    proto = resource_spans.scope_spans.add().spans.add()
    proto.trace_id, proto.span_id = bytes.fromhex("ab" * 16), bytes.fromhex("cd" * 8)
    proto.parent_span_id = bytes.fromhex("ef" * 8)
    proto.name, proto.kind = "fulfillment process", 5
    proto.start_time_unix_nano, proto.end_time_unix_nano = 10, 20
    proto.status.code = 2
    for key, setter in (("messaging.system", "aws_sqs"), ("retry", 3)):
        item = proto.attributes.add()
        item.key = key
        if isinstance(setter, int):
            item.value.int_value = setter
        else:
            item.value.string_value = setter
    (decoded,) = spans_of(ExportTraceServiceRequest.FromString(export.SerializeToString()))
    assert decoded == Span(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        parent_span_id="ef" * 8,
        service="fulfillment",
        name="fulfillment process",
        kind="consumer",
        start_ns=10,
        end_ns=20,
        error=True,
        attributes={"messaging.system": "aws_sqs", "retry": "3"},
    )
    assert json.loads(json.dumps(decoded.as_dict()))["kind"] == "consumer"
