"""JSON logs: one object per line on stdout, with service, level, request id and trace context.

Keys: ``time`` (UTC, milliseconds), ``level``, ``service``, ``logger``, ``message``, ``request_id``,
``trace_id`` and ``span_id`` while a span is current, ``error`` for exceptions, and any ``extra=`` fields
(access logs add ``method``, ``route``, ``path``, ``status``, ``duration_ms``). ``kubectl seaway logs``
reads exactly these keys.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger
from opentelemetry import trace

from seaway.request_id import current as current_request_id

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
        # A request id is plain (seaway.request_id keeps a caller's only if it is); trace and span ids are hex.
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
        current_id = current_request_id()
        if current_id is not None:
            entry["request_id"] = current_id
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


ACCESS_WRITE_SECONDS = 0.25
"""How long an access line may wait to be written with the others (:class:`JsonLinesHandler`)."""
_HELD_AT_MOST = 128  # access lines (about 50 kB); a request that finds this many held writes them itself


class JsonLinesHandler(logging.StreamHandler):
    """The kit's handler on the root logger: each record a line on the stream at once, as a StreamHandler; the
    access lines (:meth:`hold`) written together, every :data:`ACCESS_WRITE_SECONDS` by a thread of the process.

    One write per request was the access line's largest cost under gunicorn: a system call for which the
    thread lets go of the GIL, and takes it back from the worker's other threads (about 60 us of CPU per
    request at 2,000 requests a second). Held lines are written before any other record, so the lines keep
    their order, and when the handler is flushed: by logging at the process's exit (a gunicorn worker's
    included, after its ``worker_exit``). A SIGKILLed process loses the lines it held.
    """

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._held: collections.deque[str] = collections.deque()

    def hold(self, line: str) -> None:
        """An access line, written within :data:`ACCESS_WRITE_SECONDS`."""
        self._held.append(line)  # deque: appends from request threads and the writer's pops need no lock
        if _writer is None:
            _start_writer()
        elif len(self._held) >= _HELD_AT_MOST:
            self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:  # logging holds this handler's lock here
            self._write_held()
        except Exception:
            self.handleError(record)
        super().emit(record)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_held()
        except Exception:  # as StreamHandler.emit: report on stderr, never fail the caller
            self.handleError(logging.makeLogRecord({"name": _ACCESS.name, "msg": "writing access lines"}))
        finally:
            self.release()
        super().flush()

    def _write_held(self) -> None:
        held = self._held
        if held and self.stream is not None:
            lines = [held.popleft() for _ in range(len(held))]
            self.stream.write("\n".join(lines) + "\n")


_writer: threading.Thread | None = None  # this process's thread writing held access lines
_writer_lock = threading.Lock()


def _start_writer() -> None:
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = threading.Thread(target=_write_held_lines, name="seaway-access-log", daemon=True)
            _writer.start()


def _write_held_lines() -> None:
    while True:
        time.sleep(ACCESS_WRITE_SECONDS)
        handler = _handler
        if handler is not None and handler._held:
            handler.flush()


def _forget_writer() -> None:
    """In a forked child (a gunicorn worker): the parent's writer thread did not come along."""
    global _writer, _writer_lock
    _writer, _writer_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_writer)


_ACCESS = logging.getLogger("seaway.access")
_KIT = logging.getLogger("seaway")
_handler: JsonLinesHandler | None = None  # the one configure() put on the root logger


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
    template (:meth:`JsonFormatter.access_line`) and handed to that handler, which writes it with the others
    of the last :data:`ACCESS_WRITE_SECONDS` (:class:`JsonLinesHandler`), without building a LogRecord and
    going through logging's dispatch. Any other configuration (a handler added, a filter, pytest's caplog)
    gets an ordinary record.
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
    handler.hold(line)


def _configured_by_kit(handler: JsonLinesHandler, level: int) -> bool:
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
    if _handler is not None:
        _handler.flush()  # what it still holds
    handler = JsonLinesHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    _handler = handler
    root.setLevel(level)
    # botocore and urllib3 are chatty at INFO; their warnings still come through.
    for noisy in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger without its access log: the kit writes its own access line (:mod:`seaway.middleware`), and
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
