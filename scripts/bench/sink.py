"""A stand-in OTLP/HTTP collector: accepts trace exports and counts the spans, so the kit's exporter does
its real work (serialise, POST, wait for the answer) during the overhead runs. Like a collector, it keeps the
exporters' connections alive (``http.server`` closes each after one request by default). Spans are counted per
``service.name`` too, so each variant's exports can be told apart."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class TraceSink:
    def __init__(self) -> None:
        self.spans = 0
        self.exports = 0
        self.spans_by_service: dict[str, int] = {}
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept alive, as a collector keeps them

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                export = ExportTraceServiceRequest.FromString(body)
                with sink._lock:
                    for resource in export.resource_spans:
                        count = sum(len(s.spans) for s in resource.scope_spans)
                        name = next(
                            (a.value.string_value for a in resource.resource.attributes if a.key == "service.name"), ""
                        )
                        sink.spans += count
                        sink.spans_by_service[name] = sink.spans_by_service.get(name, 0) + count
                    sink.exports += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="otlp-sink", daemon=True)

    def start(self) -> TraceSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
