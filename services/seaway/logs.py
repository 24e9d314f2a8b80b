"""JSON logs: one object per line on stdout, with service, level, request id and trace context.

Keys: ``time`` (UTC, milliseconds), ``level``, ``service``, ``logger``, ``message``, ``request_id``,
``trace_id`` and ``span_id`` while a span is current, ``error`` for exceptions, and any ``extra=`` fields
(access logs add ``method``, ``route``, ``path``, ``status``, ``duration_ms``). ``kubectl seaway logs``
reads exactly these keys.
"""

from __future__ import annotations

import json
import logging
import re
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
# Text JSON keeps as it is between quotes: printable ASCII but the quote and the backslash.
_plain = re.compile(r"[ !#-\[\]-~]*").fullmatch
ACCESS_FIELDS = ("method", "route", "path", "status", "duration_ms")
"""The fields of an access line after the common keys, in this order."""


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; never raises on odd values (they become strings)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._service_json = _ENCODER.encode(service)

    def format(self, record: logging.LogRecord) -> str:
        entry = self._entry(record.created, record.levelname, record.name, record.getMessage())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return _ENCODER.encode(entry)

    def access_line(
        self,
        created: float,
        level: str,
        request_id: str | None,
        method: str,
        route: str | None,
        path: str,
        status: int,
        duration_ms: float,
    ) -> str:
        """The line :meth:`format` makes of an access record (``extra=`` :data:`ACCESS_FIELDS`), from a
        template: only the request's own text (method, route, path) is checked, and the JSON encoder makes the
        line when it holds a quote, a backslash, a control or a non-ASCII character."""
        message = f"{method} {path} {status}"
        if not _plain(f"{message}{route or ''}"):
            entry = self._entry(created, level, _ACCESS.name, message)
            entry.update(zip(ACCESS_FIELDS, (method, route, path, status, duration_ms), strict=True))
            return _ENCODER.encode(entry)
        # A request id is plain (seaway.app keeps a caller's only if it is); trace and span ids are hex.
        ids = "" if request_id is None else f', "request_id": "{request_id}"'
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            ids += f', "trace_id": "{span_context.trace_id:032x}", "span_id": "{span_context.span_id:016x}"'
        route_json = "null" if route is None else f'"{route}"'
        return (
            f'{{"time": "{_utc_text(created)}", "level": "{level}", "service": {self._service_json}, '
            f'"logger": "{_ACCESS.name}", "message": "{message}"{ids}, "method": "{method}", '
            f'"route": {route_json}, "path": "{path}", "status": {status:d}, "duration_ms": {duration_ms!r}}}'
        )

    def _entry(self, created: float, level: str, logger: str, message: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": _utc_text(created),
            "level": level,
            "service": self.service,
            "logger": logger,
            "message": message,
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        return entry


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


_ACCESS = logging.getLogger("seaway.access")
_KIT = logging.getLogger("seaway")
_handler: logging.StreamHandler | None = None  # the one configure() put on the root logger


def access(
    level: int,
    request_id: str | None,
    method: str,
    route: str | None,
    path: str,
    status: int,
    duration_ms: float,
) -> None:
    """Log a request's access line on the ``seaway.access`` logger: message ``<method> <path> <status>``, its
    :data:`ACCESS_FIELDS` as ``extra=``.

    It is written once per request, so while the logging configuration is still the one :func:`configure`
    made (its JSON handler alone on the root, no handler or filter on the way), the line is made from a
    template (:meth:`JsonFormatter.access_line`) and written here as that handler would, without building a
    LogRecord and going through logging's dispatch. Any other configuration (a handler added, a filter,
    pytest's caplog) gets an ordinary record.
    """
    if not _ACCESS.isEnabledFor(level):
        return
    handler = _handler
    if handler is None or not _configured_by_kit(handler, level):
        fields = dict(zip(ACCESS_FIELDS, (method, route, path, status, duration_ms), strict=True))
        _ACCESS.log(level, f"{method} {path} {status}", extra=fields)
        return
    line = handler.formatter.access_line(
        time.time(), logging.getLevelName(level), request_id, method, route, path, status, duration_ms
    )
    handler.acquire()
    try:
        handler.stream.write(line + "\n")
        handler.stream.flush()
    except Exception:  # as StreamHandler.emit: report on stderr, never fail the request
        handler.handleError(_ACCESS.makeRecord(_ACCESS.name, level, "", 0, line, (), None))
    finally:
        handler.release()


def _configured_by_kit(handler: logging.StreamHandler, level: int) -> bool:
    root = logging.getLogger()
    return (
        len(root.handlers) == 1
        and root.handlers[0] is handler
        and level >= handler.level
        and not (handler.filters or root.filters or _KIT.filters or _ACCESS.filters)
        and not (_ACCESS.handlers or _KIT.handlers)
        and _ACCESS.propagate
        and _KIT.propagate
        and isinstance(handler.formatter, JsonFormatter)
    )


def configure(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON lines. Safe to call more than once.

    A line carries no thread, process or source location, so records do not gather them (the logging
    HOWTO's "Optimization"): on a request path that logs a line per request, that was a tenth of the line's
    cost.
    """
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup: funcName and lineno are not logged
    global _handler
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    _handler = handler
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
