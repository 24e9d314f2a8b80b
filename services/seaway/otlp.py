"""OTLP/HTTP span export with spans written straight to the protobuf wire format.

Why: under load, the kit's exporter thread spent about 27 us per span in the official
``encode_spans(spans).SerializePartialToString()``, which builds a protobuf message object for every span,
attribute and value before serializing them. :func:`encode_spans` writes the same
``ExportTraceServiceRequest`` bytes directly: about 8 us per span for the kit's server spans (issue 16, 512
spans with seven attributes each, the resource's hash cached as :mod:`seaway.tracing` caches it).

What is hand-written: the ``Span`` message of the common span only: no events, no links, nothing dropped,
every attribute value a ``str``, ``bool``, ``int`` in the int64 range or ``float``, every string encodable as
UTF-8. Around it, the ``ResourceSpans``/``ScopeSpans`` envelope, grouped by resource then instrumentation
scope in first-seen order, as the official encoder groups them.

What falls back: any other span is encoded by the official per-span function and its bytes embedded as they
are (a message's fields may be concatenated), so every behaviour of the official encoder holds for it: an
attribute it cannot encode (an int out of int64 range, a string with a lone surrogate) is logged and
dropped, and a span name it cannot encode fails the batch. Resources and scopes are encoded once by the
official functions and cached, as are the bytes of (key, string value) attributes; every cache is bounded.

``tests/unit/test_otlp.py`` holds the result equal to the official encoder's, parsed and byte for byte (the
fields are written in field-number order, as upb writes them), over every kind of span the SDK makes.

:class:`SpanExporter` is the official OTLP/HTTP exporter (environment variables, endpoint, headers,
compression, retries, timeout, size limit, its own metrics) with only the encoding replaced. This module
imports it, with protobuf and requests: import this module only where an exporter is configured.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common._internal import _encode_instrumentation_scope, _encode_resource
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import _encode_span as _official_span
from opentelemetry.exporter.otlp.proto.http._common import RequestPayloadTooLargeError, _is_request_too_large
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import SpanKind

# The official exporter's logger: its messages keep their name and whatever configuration applies to it.
_logger = logging.getLogger(OTLPSpanExporter.__module__)

__all__ = ["SpanExporter", "encode_spans"]

# Wire format (https://protobuf.dev/programming-guides/encoding/): a field is a varint tag
# (field number << 3 | wire type) then its value: a varint (type 0), 8 little-endian bytes (type 1), a length
# then that many bytes (type 2: strings, bytes, messages) or 4 little-endian bytes (type 5). A field holding a
# proto3 default (0, "", empty bytes) is left out, except inside a oneof (AnyValue's) and for a message field.
_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# Tags of opentelemetry.proto.trace.v1.Span, by field number.
_TRACE_ID = b"\x0a"  # 1, bytes
_SPAN_ID = b"\x12"  # 2, bytes
_TRACE_STATE = b"\x1a"  # 3, string
_PARENT_SPAN_ID = b"\x22"  # 4, bytes
_NAME = b"\x2a"  # 5, string
_START = b"\x39"  # 7, fixed64
_END = b"\x41"  # 8, fixed64
_ATTRIBUTE = b"\x4a"  # 9, repeated KeyValue
_STATUS = b"\x7a"  # 15, Status (2: message, string; 3: code, enum)
_FLAGS = b"\x85\x01"  # 16, fixed32
# Span.kind (field 6, enum) with its value, for each SDK kind.
_KIND = {
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}
_EMPTY_STATUS = _STATUS + b"\x00"
# Span.flags: SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, with SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK for a remote parent.
_FLAGS_LOCAL = _FLAGS + _FIXED32(0x100)
_FLAGS_REMOTE = _FLAGS + _FIXED32(0x300)

_CACHE_SIZE = 4096
"""Most (key, string value) attributes kept encoded; past it the cache starts over."""
_ENVELOPE_CACHE_SIZE = 64
"""Most resources and scopes kept encoded (a process has a few)."""

_attributes: dict[tuple[str, str], bytes] = {}
_keys: dict[str, bytes] = {}
_resources: dict[Resource, tuple[bytes, bytes]] = {}
_scopes: dict[InstrumentationScope | None, tuple[bytes, bytes]] = {}


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The serialized ``ExportTraceServiceRequest`` of ``spans``: equal to the official
    ``encode_spans(spans).SerializePartialToString()`` once parsed (and it raises where that raises)."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[bytes]]] = {}
    for span in spans:
        scopes = groups.get(span.resource)
        if scopes is None:
            scopes = groups[span.resource] = {}
        scope = span.instrumentation_scope or None
        members = scopes.get(scope)
        if members is None:
            members = scopes[scope] = []
        members.append(_length_delimited(b"\x12", _encode_span(span)))  # ScopeSpans.spans (2)
    out = []
    for resource, scopes in groups.items():
        head, tail = _resource_fields(resource)
        body = [head]
        for scope, members in scopes.items():
            scope_head, scope_tail = _scope_fields(scope)
            body.append(_length_delimited(b"\x12", b"".join([scope_head, *members, scope_tail])))  # scope_spans (2)
        body.append(tail)
        out.append(_length_delimited(b"\x0a", b"".join(body)))  # ExportTraceServiceRequest.resource_spans (1)
    return b"".join(out)


class SpanExporter(OTLPSpanExporter):
    """The official OTLP/HTTP protobuf span exporter, its requests encoded by :func:`encode_spans`.

    Constructed and configured exactly as ``OTLPSpanExporter``; :meth:`export` behaves as its own (the
    shutdown check, the size limit, the exporter's metrics, the result) with the faster encoding.
    """

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE
        with self._metrics.export_operation(len(spans)) as result:
            try:
                body = encode_spans(spans)
            except Exception as error:  # whatever the official encoder raises for a span fails the batch
                _logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            if _is_request_too_large(body, self._max_request_size):
                size, limit = len(body), self._max_request_size
                _logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size %d bytes.", size, limit
                )
                error_text = f"Serialized span request size {size} bytes exceeds max_request_size {limit} bytes."
                result.error = RequestPayloadTooLargeError(error_text)
                return SpanExportResult.FAILURE
            sent = self._client.export(body)
            if not sent.success:
                result.error = sent.error
                if sent.status_code is not None:
                    result.error_attrs = {HTTP_RESPONSE_STATUS_CODE: sent.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


def _encode_span(span: ReadableSpan) -> bytes:
    """The serialized ``Span`` message of ``span``: hand-written for the common span, else the official one."""
    try:
        encoded = _encode_common_span(span)
    except (UnicodeEncodeError, struct.error):  # a lone surrogate, a negative time: the official way decides
        encoded = None
    if encoded is None:
        encoded = _official_span(span).SerializePartialToString()
    return encoded


def _encode_common_span(span: ReadableSpan) -> bytes | None:
    """The ``Span`` message in the official field order, or None for a span this does not encode."""
    if span.events or span.links or span.dropped_attributes or span.dropped_events or span.dropped_links:
        return None
    kind = _KIND.get(span.kind)
    if kind is None:
        return None
    context = span.get_span_context()
    parts = [_TRACE_ID + b"\x10", context.trace_id.to_bytes(16, "big"), _SPAN_ID + b"\x08"]
    parts.append(context.span_id.to_bytes(8, "big"))
    if context.trace_state:  # the official encoder's "key=value,..." is the W3C header
        parts.append(_length_delimited(_TRACE_STATE, context.trace_state.to_header().encode()))
    parent = span.parent
    if parent is not None:
        parts.append(_PARENT_SPAN_ID + b"\x08" + parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_length_delimited(_NAME, span.name.encode()))
    parts.append(kind)
    if span.start_time:
        parts.append(_START + _FIXED64(span.start_time))
    if span.end_time:
        parts.append(_END + _FIXED64(span.end_time))
    for key, value in span.attributes.items():
        attribute = _encode_attribute(key, value)
        if attribute is None:
            return None
        parts.append(attribute)
    status = span.status
    if status is not None:
        code = status.status_code.value
        if code or status.description:
            message = _length_delimited(b"\x12", status.description.encode()) if status.description else b""
            parts.append(_length_delimited(_STATUS, message + (b"\x18" + bytes((code,)) if code else b"")))
        else:
            parts.append(_EMPTY_STATUS)  # an unset status is still a (empty) Status message
    parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
    return b"".join(parts)


def _encode_attribute(key: str, value: object) -> bytes | None:
    """Span.attributes' field for ``key``: ``value`` (a str, bool, int64 or float) as an AnyValue, or None."""
    if type(value) is str:
        encoded = _attributes.get((key, value))
        if encoded is None:
            if len(_attributes) >= _CACHE_SIZE:
                _attributes.clear()
            encoded = _key_value(key, _length_delimited(b"\x0a", value.encode()))
            _attributes[(key, value)] = encoded
        return encoded
    if type(value) is bool:  # AnyValue's fields are a oneof: false, 0 and "" are written too
        return _key_value(key, b"\x10\x01" if value else b"\x10\x00")
    if type(value) is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            return None  # the official encoder logs and drops it: leave that to it
        return _key_value(key, b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF))  # two's complement, 10 bytes if < 0
    if type(value) is float:
        return _key_value(key, b"\x21" + _DOUBLE(value))
    return None


def _key_value(key: str, any_value: bytes) -> bytes:
    """A Span.attributes field: a KeyValue of ``key`` (1) and the AnyValue (2) whose fields are ``any_value``."""
    encoded_key = _keys.get(key)
    if encoded_key is None:
        if len(_keys) >= _CACHE_SIZE:
            _keys.clear()
        encoded_key = _keys[key] = _length_delimited(b"\x0a", key.encode()) if key else b""
    return _length_delimited(_ATTRIBUTE, encoded_key + _length_delimited(b"\x12", any_value))


def _resource_fields(resource: Resource) -> tuple[bytes, bytes]:
    """The ResourceSpans fields before its scope_spans (resource, 1) and after them (schema_url, 3)."""
    fields = _resources.get(resource)
    if fields is None:
        if len(_resources) >= _ENVELOPE_CACHE_SIZE:
            _resources.clear()
        head = _length_delimited(b"\x0a", _encode_resource(resource).SerializePartialToString())
        tail = _length_delimited(b"\x1a", resource.schema_url.encode()) if resource.schema_url else b""
        fields = _resources[resource] = (head, tail)
    return fields


def _scope_fields(scope: InstrumentationScope | None) -> tuple[bytes, bytes]:
    """The ScopeSpans fields before its spans (scope, 1) and after them (schema_url, 3)."""
    fields = _scopes.get(scope)
    if fields is None:
        if len(_scopes) >= _ENVELOPE_CACHE_SIZE:
            _scopes.clear()
        head = _length_delimited(b"\x0a", _encode_instrumentation_scope(scope).SerializePartialToString())
        schema_url = scope.schema_url if scope is not None else None
        tail = _length_delimited(b"\x1a", schema_url.encode()) if schema_url else b""
        fields = _scopes[scope] = (head, tail)
    return fields


def _length_delimited(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): ``tag``, the payload's length, the payload."""
    size = len(payload)
    return tag + (bytes((size,)) if size < 0x80 else _varint(size)) + payload


def _varint(number: int) -> bytes:
    """``number`` (0 <= number < 2**64) as a base-128 varint, low groups first."""
    out = bytearray()
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)
