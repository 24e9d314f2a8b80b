"""Recent traces: the spans the services export, grouped by trace id, in a bounded store.

Bounded: at most :data:`MAX_SPANS` spans in all (when a new span would pass the limit, the traces first seen
longest ago are dropped whole), at most :data:`MAX_SPANS_PER_TRACE` spans in one trace (later ones are
counted, not kept), at most :data:`MAX_ATTRIBUTES` attributes a span, each value cut at
:data:`MAX_VALUE_CHARS` characters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

MAX_SPANS = 20_000
MAX_SPANS_PER_TRACE = 1_000
MAX_ATTRIBUTES = 32
MAX_VALUE_CHARS = 256

# OTLP's Span.SpanKind and Status.StatusCode numbers, as names.
_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS_ERROR = 2


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    service: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    error: bool
    attributes: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "service": self.service,
            "name": self.name,
            "kind": self.kind,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "error": self.error,
            "attributes": self.attributes,
        }


def spans_of(export) -> list[Span]:
    """The spans of an ``ExportTraceServiceRequest`` (opentelemetry-proto), each with its service's name."""
    spans = []
    for resource_spans in export.resource_spans:
        service = next(
            (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), "unknown"
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        service=service,
                        name=span.name[:MAX_VALUE_CHARS],
                        kind=_KINDS.get(span.kind, "unspecified"),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        error=span.status.code == _STATUS_ERROR,
                        attributes={
                            a.key[:MAX_VALUE_CHARS]: _value(a.value) for a in list(span.attributes)[:MAX_ATTRIBUTES]
                        },
                    )
                )
    return spans


def _value(value) -> str:
    """An OTLP AnyValue as short text."""
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))[:MAX_VALUE_CHARS]


@dataclass
class TraceStore:
    """The most recent traces, at most ``limit`` spans in all; safe to use from several threads."""

    limit: int = MAX_SPANS
    per_trace: int = MAX_SPANS_PER_TRACE
    dropped: int = 0
    _traces: OrderedDict[str, list[Span]] = field(default_factory=OrderedDict)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spans: list[Span]) -> None:
        with self._lock:
            for span in spans:
                trace = self._traces.get(span.trace_id)
                if trace is None:
                    trace = self._traces[span.trace_id] = []
                if len(trace) >= self.per_trace:
                    self.dropped += 1
                    continue
                trace.append(span)
                self._count += 1
                while self._count > self.limit:
                    _, oldest = self._traces.popitem(last=False)
                    self._count -= len(oldest)
                    self.dropped += len(oldest)

    @property
    def span_count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return len(self._traces)

    def summaries(
        self, *, service: str = "", errors_only: bool = False, background: bool = False, limit: int = 200
    ) -> list[dict[str, Any]]:
        """The newest traces first: root span, start, duration, services, span count, error.

        Background traces (no server or consumer span: a readiness check's or a consumer's poll's AWS calls)
        are left out unless ``background``: most traces of an idle application are those.
        """
        with self._lock:
            traces = [list(spans) for spans in reversed(self._traces.values())]
        found = []
        for spans in traces:
            summary = _summary(spans)
            if service and service not in summary["services"]:
                continue
            if errors_only and not summary["error"]:
                continue
            if summary["background"] and not background:
                continue
            found.append(summary)
            if len(found) >= limit:
                break
        return found

    def trace(self, trace_id: str) -> list[Span]:
        """The spans of one trace, by start time (empty when it is unknown or was dropped)."""
        with self._lock:
            spans = list(self._traces.get(trace_id, ()))
        return sorted(spans, key=lambda span: span.start_ns)


def _summary(spans: list[Span]) -> dict[str, Any]:
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if span.parent_span_id not in ids]
    root = min(roots or spans, key=lambda span: span.start_ns)
    start = min(span.start_ns for span in spans)
    end = max(span.end_ns for span in spans)
    services = []
    for span in sorted(spans, key=lambda span: span.start_ns):
        if span.service not in services:
            services.append(span.service)
    return {
        "trace_id": root.trace_id,
        "root": f"{root.service}: {root.name}",
        "start_ns": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "services": services,
        "spans": len(spans),
        "error": any(span.error for span in spans),
        "background": not any(span.kind in ("server", "consumer") for span in spans),
    }
