"""The supervisor of ``seaway up`` over real child processes: output captured line by line, an exit reported
with its last lines while the others keep running, a restart asked for from another thread."""

from __future__ import annotations

import sys
import threading

from seaway_tools.ops.logs import LogStore
from seaway_tools.ops.supervisor import Managed, Supervisor, redis_state
from tests.processes import free_port, wait_for

# A process that answers HTTP (its readiness URL) and says so as a JSON line.
SERVING = (
    "import http.server, json\n"
    "server = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)\n"
    "print(json.dumps({{'level': 'INFO', 'message': 'listening'}}), flush=True)\n"
    "server.serve_forever()\n"
)
# A process that says a few lines and exits by itself.
FAILING = "import sys\nfor n in range(30):\n    print(f'line {n}')\nsys.exit(3)\n"


def managed(name: str, code: str, port: int) -> Managed:
    return Managed(name, [sys.executable, "-c", code], {}, url=f"http://127.0.0.1:{port}", ready_path="/")


def test_a_process_that_exits_is_reported_once_with_its_last_lines_and_the_others_keep_running():
    logs = LogStore()
    supervisor = Supervisor(on_line=logs.add)
    port = free_port()
    supervisor.add(managed("catalog", SERVING.format(port=port), port))
    supervisor.add(managed("orders", FAILING, free_port()))
    try:
        for name in ("catalog", "orders"):
            supervisor.start(name)

        def catalog_ready() -> bool:
            supervisor.probe()
            return supervisor.processes["catalog"].state == "ready"

        wait_for(catalog_ready, message="catalog ready")
        exited = wait_for(supervisor.exited, message="orders to exit")
        assert [(m.name, m.state, m.exit_code) for m in exited] == [("orders", "exited", 3)]
        assert supervisor.exited() == []  # reported once
        wait_for(lambda: logs.last("orders", 3) == ["line 27", "line 28", "line 29"], message="orders' output")
        assert logs.query(service="catalog")[0].message == "listening"
        assert supervisor.processes["catalog"].process.poll() is None
        assert supervisor.processes["orders"].view()["state"] == "exited"

        first = supervisor.processes["catalog"].process.pid
        asker = threading.Thread(target=supervisor.request, args=("restart", "catalog"))
        asker.start()
        asker.join()
        assert supervisor.processes["catalog"].process.pid == first  # nothing happens in the asking thread
        supervisor.run_requests()
        assert supervisor.processes["catalog"].process.pid != first
        wait_for(catalog_ready, message="catalog ready again")
        assert supervisor.processes["catalog"].view()["restarts"] == 1
        supervisor.stop("catalog")
        assert supervisor.processes["catalog"].state == "stopped"
        assert supervisor.exited() == []  # a stop asked for is not an exit
    finally:
        supervisor.stop_all()


# A process whose readiness URL answers 503 naming its checks, as the kit's /readyz does.
NOT_READY = (
    "import http.server, json\n"
    "class Handler(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        checks = {{'dynamodb': 'failed: EndpointConnectionError', 'redis': 'ok'}}\n"
    "        body = json.dumps({{'status': 503, 'detail': 'not ready: dynamodb', 'checks': checks}}).encode()\n"
    "        self.send_response(503)\n"
    "        self.send_header('Content-Type', 'application/problem+json')\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "http.server.HTTPServer(('127.0.0.1', {port}), Handler).serve_forever()\n"
)


def test_a_process_that_answers_but_is_not_ready_is_failing_with_the_failing_checks_named():
    supervisor = Supervisor(on_line=LogStore().add)
    port = free_port()
    supervisor.add(managed("orders", NOT_READY.format(port=port), port))
    try:
        supervisor.start("orders")

        def probed() -> str:
            supervisor.probe()
            return supervisor.processes["orders"].state

        wait_for(lambda: probed() != "starting", message="an answer")
        assert supervisor.processes["orders"].state == "failing"
        assert supervisor.processes["orders"].detail == "dynamodb"
    finally:
        supervisor.stop_all()


def test_a_redis_given_in_redis_url_is_shown_ready_while_it_answers_ping(redis_server):
    supervisor = Supervisor()
    for name, url in (("redis", redis_server.url), ("gone", f"redis://127.0.0.1:{free_port()}/0")):
        supervisor.add(
            Managed(name, [], {}, url=url, ready_path="", kind="redis", check=lambda url=url: redis_state(url))
        )
    supervisor.probe()
    assert supervisor.processes["redis"].view()["state"] == "ready"
    assert supervisor.processes["gone"].state == "failing"
    assert supervisor.processes["gone"].detail.startswith("PING: ")
    supervisor.stop_all()  # nothing of ours to stop
    assert supervisor.exited() == []
