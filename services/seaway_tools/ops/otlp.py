"""The OTLP/HTTP trace receiver of ``seaway up``: the services' exporters post protobuf here, on loopback.

``seaway up`` points each service at it through ``OTEL_EXPORTER_OTLP_ENDPOINT`` (unless the user set an
endpoint of their own); every export is decoded with opentelemetry-proto and its spans go to the
:class:`~seaway_tools.ops.traces.TraceStore`. A separate port from the page's: the services do not know the
page's token, and this endpoint only accepts spans.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from seaway_tools.ops.traces import TraceStore, spans_of

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Larger exports are refused (413): the exporter's batches are far smaller."""


class OtlpReceiver:
    """``POST /v1/traces`` (``application/x-protobuf``) on ``127.0.0.1:<port>`` into ``store``."""

    def __init__(self, store: TraceStore, port: int = 0) -> None:
        self.store = store
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(store))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-otlp", daemon=True)

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(store: TraceStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/v1/traces":
                return self._answer(HTTPStatus.NOT_FOUND)
            if self.headers.get("Content-Type") != "application/x-protobuf":
                return self._answer(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            if length > MAX_BODY_BYTES:
                return self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            try:
                export = ExportTraceServiceRequest.FromString(self.rfile.read(length))
            except DecodeError:
                return self._answer(HTTPStatus.BAD_REQUEST)
            store.add(spans_of(export))
            self._answer(HTTPStatus.OK, ExportTraceServiceResponse().SerializeToString())

        def _answer(self, status: HTTPStatus, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # the services export every second: no access line for each

    return Handler
