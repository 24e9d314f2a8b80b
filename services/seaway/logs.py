"""JSON logs: one object per line on stdout, with service, level, request id and trace context.

Keys: ``time`` (UTC, milliseconds), ``level``, ``service``, ``logger``, ``message``, ``request_id``,
``trace_id`` and ``span_id`` while a span is current, ``error`` for exceptions, and any ``extra=`` fields
(access logs add ``method``, ``route``, ``path``, ``status``, ``duration_ms``). ``kubectl seaway logs``
reads exactly these keys.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import Any

from flask import g, has_request_context
from gunicorn.glogging import Logger as _GunicornLogger
from opentelemetry import trace

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# One encoder for every line: json.dumps(..., default=str) builds a new one per call.
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; never raises on odd values (they become strings)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_text(record.created),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return _ENCODER.encode(entry)


_second: tuple[int, str] = (-1, "")  # the last second formatted, shared by a process's threads


def _utc_text(created: float) -> str:
    """``2026-11-29T09:24:28.123Z``; the part up to the second is made once a second, not once a line."""
    global _second
    whole = int(created)
    second, text = _second
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)
    return f"{text}.{int((created - whole) * 1000):03d}Z"


def configure(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON lines. Safe to call more than once.

    A line carries no thread, process or source location, so records do not gather them (the logging
    HOWTO's "Optimization"): on a request path that logs a line per request, that was a tenth of the line's
    cost.
    """
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup: funcName and lineno are not logged
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore and urllib3 are chatty at INFO; their warnings still come through.
    for noisy in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger without its access log: the kit writes its own access line (:mod:`seaway.app`), and
    gunicorn, seeing a ``logconfig_dict``, would otherwise build its access-log atoms for every request
    only for the ``gunicorn.access`` logger to drop them (about 15 us of a worker's time per request)."""

    def _compute_access_log_enabled(self) -> bool:
        return False


def gunicorn_logconfig(service: str, level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: the master's and workers' own messages as the same JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "gunicorn.error": {"handlers": ["stdout"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
