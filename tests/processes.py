"""Real processes for the tests: the moto server, redis-server and Seaway services under gunicorn.

Each runs on a free port the test picks, is started and stopped by the tests, and writes its output to a
file the test can read when an assertion fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import requests

READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = READY_TIMEOUT, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


def wait_for_status(url: str, status: int, timeout: float = READY_TIMEOUT) -> requests.Response:
    """GET ``url`` until it answers ``status``; that response."""
    found: list[requests.Response] = []

    def matches() -> bool:
        try:
            answer = requests.get(url, timeout=2)
        except requests.RequestException:
            return False
        found[:] = [answer]
        return answer.status_code == status

    wait_for(matches, timeout=timeout, message=f"{url} to answer {status}")
    return found[0]


def answers(url: str, status: int = 200) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == status
    except requests.RequestException:
        return False


class Process:
    """A child process with its output in a log file."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.command = command
        self.env = dict(os.environ if env is None else env)
        self.log_path = Path(tempfile.mkstemp(prefix=f"seaway-test-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class MotoServer(Process):
    """The AWS emulator on loopback; stop() and start() again on the same port to simulate an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)])

    def start(self) -> MotoServer:
        super().start()
        wait_for(lambda: answers(f"{self.url}/moto-api/"), message="the moto server")
        return self

    def aws_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }


class RedisServer(Process):
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        super().__init__(
            "redis", [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        )

    def start(self) -> RedisServer:
        super().start()
        import redis

        client = redis.Redis.from_url(self.url)

        def pings() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(pings, message="redis-server")
        return self


class Service(Process):
    """A Seaway service under real gunicorn with the kit's configuration module."""

    def __init__(self, name: str, env: Mapping[str, str]) -> None:
        self.port = int(env.get("PORT") or free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            "SEAWAY_SERVICE": name,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKERS": "2",
            "DRAIN_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            # As the chart does: a folder of its own for the workers' metric files, known to the test.
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix=f"seaway-test-metrics-{name}-"),
            **env,
        }
        self.metrics_dir = Path(full_env["PROMETHEUS_MULTIPROC_DIR"])
        self.workers = int(full_env["WORKERS"]) if full_env["WORKERS"].isdigit() else None
        super().__init__(name, [sys.executable, "-m", "gunicorn", "--config", "python:seaway.gunicorn_conf"], full_env)

    def start(self, wait: bool = True) -> Service:
        super().start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Until ``/readyz`` answers and every worker has been forked: the first worker can be ready before
        gunicorn forks the next (it waits up to 0.1 s between them), and tests count on all of them."""

        def ready() -> bool:
            if not self.running:
                raise AssertionError(f"{self.name} exited while starting:\n{self.output()[-3000:]}")
            return answers(f"{self.url}/readyz") and (self.workers is None or len(self.worker_pids()) >= self.workers)

        wait_for(ready, message=f"{self.name} to be ready")

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=kwargs.pop("timeout", 10), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=kwargs.pop("timeout", 10), **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return requests.patch(self.url + path, timeout=kwargs.pop("timeout", 10), **kwargs)

    def worker_pids(self) -> set[int]:
        """The gunicorn workers' pids: the master's children."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """``/metrics`` as {(sample name, sorted labels): value}."""
        from prometheus_client.parser import text_string_to_metric_families

        answer = self.get("/metrics")
        assert answer.status_code == 200, answer.text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint in the test process: decodes each protobuf export and keeps its spans."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.spans: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                export = ExportTraceServiceRequest.FromString(body)
                receiver._keep(export)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _keep(self, export) -> None:
        spans = []
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "service": resource.get("service.name"),
                            "name": span.name,
                            "kind": span.kind,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "scope": scope_spans.scope.name,
                            "attributes": {a.key: a.value.string_value or a.value.int_value for a in span.attributes},
                        }
                    )
        with self._lock:
            self.spans += spans

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict[str, str]:
        """What a service needs to export here, in small batches without delay."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}

    def trace(self, trace_id: str) -> list[dict]:
        with self._lock:
            return [span for span in self.spans if span["trace_id"] == trace_id]


class RoundRobinProxy:
    """A Kubernetes Service in miniature: one stable address in front of replicas that come and go.

    Like kube-proxy it balances TCP connections (an established connection stays with its replica), and
    like the endpoints controller it routes new connections only to replicas whose ``/readyz`` answered 200
    at the last probe (every ``probe_seconds``). A replica is added when its pod would appear, removed
    when it has exited; a connection to a replica that refuses it fails, as it would through iptables.
    """

    def __init__(self, port: int, probe_seconds: float = 0.1) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.probe_seconds = probe_seconds
        self.connections: dict[int, int] = {}  # by replica port: connections routed there
        self._replicas: dict[int, bool] = {}  # port -> ready at the last probe
        self._turn = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False, backlog=256)
        self._threads = [
            threading.Thread(target=self._accept, name=f"proxy-{port}", daemon=True),
            threading.Thread(target=self._probe, name=f"proxy-{port}-probe", daemon=True),
        ]

    def start(self) -> RoundRobinProxy:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()

    def add(self, port: int) -> None:
        with self._lock:
            self._replicas.setdefault(port, False)

    def remove(self, port: int) -> None:
        with self._lock:
            self._replicas.pop(port, None)

    def ready_replicas(self) -> list[int]:
        with self._lock:
            return [port for port, ready in self._replicas.items() if ready]

    def _probe(self) -> None:
        while not self._stopping.wait(self.probe_seconds):
            with self._lock:
                ports = list(self._replicas)
            for port in ports:
                ready = answers(f"http://127.0.0.1:{port}/readyz")
                with self._lock:
                    if port in self._replicas:
                        self._replicas[port] = ready

    def _pick(self) -> int | None:
        with self._lock:
            ready = [port for port, up in self._replicas.items() if up]
            if not ready:
                return None
            self._turn += 1
            port = ready[self._turn % len(ready)]
            self.connections[port] = self.connections.get(port, 0) + 1
            return port

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        port = self._pick()
        try:
            if port is None:
                return  # no ready replica: the connection is closed, as with no endpoints
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                for end in (target, source):
                    with contextlib.suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()
        client.close()
        upstream.close()
