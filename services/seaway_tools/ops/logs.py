"""The services' output lines, parsed from the kit's JSON logs (:mod:`seaway.logs`), in a ring buffer.

Bounded: at most :data:`MAX_LINES` lines are kept (the oldest go first) and each line is cut at
:data:`MAX_LINE_CHARS` characters before it is parsed, so a day of ``make run`` holds the same memory as its
first busy minutes. A line that is not a JSON object (gunicorn before its log configuration, a crash) is kept
as its text, with no level.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_LINES = 20_000
MAX_LINE_CHARS = 4_000
_LEVELS = logging.getLevelNamesMapping()  # the kit's lines carry logging's level names
# Fields shown as columns; every other field of a JSON line stays in ``fields``.
_COLUMNS = ("time", "level", "message", "trace_id", "span_id")


@dataclass(frozen=True)
class LogLine:
    seq: int
    service: str
    time: str
    level: str
    message: str
    trace_id: str
    span_id: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "service": self.service,
            "time": self.time,
            "level": self.level,
            "message": self.message,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "fields": self.fields,
        }


def parse(seq: int, service: str, text: str) -> LogLine:
    """One output line of ``service`` as a :class:`LogLine`."""
    text = text.rstrip("\r\n")[:MAX_LINE_CHARS]
    try:
        entry = json.loads(text) if text.startswith("{") else None
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        return LogLine(seq, service, "", "", text, "", "", {})
    values = {key: str(entry.get(key, "")) for key in _COLUMNS}
    rest = {key: value for key, value in entry.items() if key not in _COLUMNS and key not in ("service", "logger")}
    if entry.get("logger"):
        rest = {"logger": entry["logger"], **rest}
    return LogLine(seq, service, **values, fields=rest)


@dataclass
class LogStore:
    """The last ``limit`` lines of every service, safe to use from several threads."""

    limit: int = MAX_LINES
    _lines: deque[LogLine] = field(init=False)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._lines = deque(maxlen=self.limit)

    def add(self, service: str, text: str) -> LogLine:
        with self._lock:
            line = parse(next(self._seq), service, text)
            self._lines.append(line)
        return line

    def __len__(self) -> int:
        return len(self._lines)

    def query(
        self,
        *,
        after: int = 0,
        service: str = "",
        level: str = "",
        text: str = "",
        trace_id: str = "",
        limit: int = 500,
    ) -> list[LogLine]:
        """The newest ``limit`` lines after ``after`` that match every filter given (oldest first).

        ``level`` is a minimum (``WARNING`` shows warnings, errors and criticals); ``text`` is matched without
        case against the message and the other fields.
        """
        with self._lock:
            lines = [line for line in self._lines if line.seq > after]
        wanted_level = _LEVELS.get(level.upper(), 0)
        needle = text.lower()
        found = [
            line
            for line in lines
            if (not service or line.service == service)
            and (not trace_id or line.trace_id == trace_id)
            and (not wanted_level or _LEVELS.get(line.level, 0) >= wanted_level)
            and (not needle or needle in line.message.lower() or needle in json.dumps(line.fields).lower())
        ]
        return found[-limit:]

    def last(self, service: str, count: int) -> list[str]:
        """The last ``count`` messages of ``service``: what a process said before it exited."""
        with self._lock:
            lines = [line.message for line in reversed(self._lines) if line.service == service]
        return lines[:count][::-1]
