"""The kit's JSON log lines, parsed, filtered and printed for a person: pure functions, no I/O.

The contract (``seaway`` logs): one JSON object per line with ``time`` (ISO 8601 UTC, milliseconds),
``level``, ``service``, ``logger``, ``message``, ``request_id``, ``trace_id`` and ``span_id`` when known;
access logs add ``method``, ``route``, ``path``, ``status``, ``duration_ms``; exceptions add ``error``.
Any other line (a crash before logging started, a library writing to stderr) passes through as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_SHORT_LEVEL = {"WARNING": "WARN", "CRITICAL": "CRIT"}
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_XRAY_TRACE_ID = re.compile(r"1-([0-9a-f]{8})-([0-9a-f]{24})")


@dataclass(frozen=True)
class LogRecord:
    """One line of one pod: its JSON fields when it is a kit line, else just the text."""

    pod: str
    text: str
    service: str = ""
    fields: Mapping[str, Any] | None = field(default=None, compare=False)
    time: datetime | None = None

    @property
    def level(self) -> str | None:
        level = self.fields.get("level") if self.fields else None
        return str(level).upper() if level else None

    @property
    def trace_id(self) -> str | None:
        trace = self.fields.get("trace_id") if self.fields else None
        return str(trace).lower() if trace else None


def parse(text: str, pod: str, *, service: str = "", previous: datetime | None = None) -> LogRecord:
    """A record of one line. A line without its own time takes ``previous`` (the pod's last time) so
    that, sorted by time, a traceback stays with the line before it."""
    text = text.rstrip("\r\n")
    fields = None
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = None
        fields = loaded if isinstance(loaded, dict) else None
    when = _time(fields.get("time")) if fields else None
    return LogRecord(pod=pod, text=text, service=service, fields=fields, time=when or previous)


@dataclass(frozen=True)
class LogFilter:
    """Which records to show: at or above ``min_level``; with ``trace_id`` only that trace's kit lines.

    Lines that are not kit JSON have no level, so a level filter lets them through; a trace filter
    does not (they carry no trace).
    """

    min_level: str | None = None
    trace_id: str | None = None

    def accepts(self, record: LogRecord) -> bool:
        if self.trace_id is not None and record.trace_id != self.trace_id:
            return False
        if self.min_level is not None and record.level in LEVELS:
            return LEVELS[record.level] >= LEVELS[self.min_level]
        return True


def format_record(record: LogRecord) -> str:
    """``12:01:02.345 INFO  catalog  x2x4k  GET /products 200 3.1ms  [req=… trace=…]``; raw text otherwise."""
    fields = record.fields
    if fields is None:
        return record.text
    when = record.time.strftime("%H:%M:%S.%f")[:-3] if record.time else "--:--:--.---"
    level = record.level or "-"
    parts = [
        when,
        f"{_SHORT_LEVEL.get(level, level):<5}",
        f"{fields.get('service') or record.service} ",
        f"{short_pod_name(record.pod)} ",
        _what(fields),
    ]
    ids = [f"{key}={fields[name]}" for key, name in (("req", "request_id"), ("trace", "trace_id")) if fields.get(name)]
    line = " ".join(parts) + (f"  [{' '.join(ids)}]" if ids else "")
    error = fields.get("error")
    if error:
        line += "\n" + "\n".join(f"    {part}" for part in str(error).rstrip().splitlines())
    return line


def short_pod_name(name: str) -> str:
    """The random suffix that tells a Deployment's pods apart: ``catalog-7d9f8b6c5d-x2x4k`` -> ``x2x4k``."""
    parts = name.rsplit("-", 2)
    return parts[-1] if len(parts) == 3 else name


def normalize_trace_id(text: str) -> str:
    """A W3C trace id (32 lowercase hex digits) from one, or from an X-Ray id ``1-5759e988-bd86...``."""
    text = text.strip().lower()
    xray = _XRAY_TRACE_ID.fullmatch(text)
    if xray:
        return xray.group(1) + xray.group(2)
    if not _TRACE_ID.fullmatch(text):
        raise ValueError(f"not a trace id: {text!r} (32 hex digits, or an X-Ray id 1-xxxxxxxx-...)")
    return text


def normalize_level(text: str) -> str:
    """``warn``/``warning`` -> ``WARNING``; ``ValueError`` for anything that is not a level."""
    level = {"WARN": "WARNING", "CRIT": "CRITICAL", "FATAL": "CRITICAL"}.get(text.upper(), text.upper())
    if level not in LEVELS:
        raise ValueError(f"not a level: {text!r} (one of {', '.join(LEVELS)})")
    return level


def _what(fields: Mapping[str, Any]) -> str:
    if fields.get("method") and fields.get("status") is not None:
        duration = fields.get("duration_ms")
        took = f" {float(duration):.1f}ms" if isinstance(duration, int | float) else ""
        return f"{fields['method']} {fields.get('path') or fields.get('route') or ''} {fields['status']}{took}"
    return str(fields.get("message", ""))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
