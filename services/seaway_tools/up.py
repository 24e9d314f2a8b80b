"""``seaway up``: the whole application on this machine, with an embedded AWS emulator and an ops view.

Starts the moto server on loopback, creates the AWS resources the services declare, starts each service
under gunicorn with the same configuration module as in a container, waits until every ``/readyz``
answers 200, prints where everything is, and on Ctrl-C or SIGTERM stops it all gracefully (the services
first, the emulator after them). If a port is taken or a service does not start, it says so in one line and
stops whatever it had started. A service that exits later is reported in one line; the others keep running.

Unless ``--no-dashboard``, it also serves the ops view (:mod:`seaway_tools.ops`) on loopback: every
process's state with start, stop and restart, the services' logs, their traces (it receives OTLP and points
the services at itself unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set) and live metrics; the table prints its
login URL.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from seaway.service import Service, url_env
from seaway_tools import resources
from seaway_tools.ops.logs import LogStore
from seaway_tools.ops.metrics import MetricsStore, Scraper
from seaway_tools.ops.otlp import OtlpReceiver
from seaway_tools.ops.server import OpsView
from seaway_tools.ops.supervisor import Managed, Supervisor, redis_state
from seaway_tools.ops.traces import TraceStore

EMULATOR_PORT = 4566
DASHBOARD_PORT = 18888
START_TIMEOUT = 60.0
PROBE_SECONDS = 5.0
"""How often the ops view's states are refreshed from each process's readiness URL (every second while one is
starting): the period of the charts' readinessProbe, so a process sees what it would see on a cluster."""
GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "python:seaway.gunicorn_conf"]


class UpError(RuntimeError):
    """Start-up failed; the message is the one line to show."""


def check_ports_free(host: str, ports: Mapping[str, int]) -> None:
    for owner, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise UpError(
                    f"port {port} for {owner} is already in use; stop what holds it or pass --port-offset"
                ) from None


def wait_until(supervisor: Supervisor, managed: Managed, label: str, timeout: float = START_TIMEOUT) -> None:
    """Poll ``managed``'s readiness URL until it answers 200; fail fast if the process exits first."""
    url = managed.url + managed.ready_path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if managed.process.poll() is not None:
            supervisor.output_copied(managed.name)
            raise UpError(f"{label} exited with status {managed.process.returncode} while starting (see its log above)")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    managed.state = "ready"
                    managed.ever_ready = True
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise UpError(f"{label} was not ready at {url} within {timeout:.0f} s")


def service_env(
    service: Service, base: Mapping[str, str], host: str, ports: Mapping[str, int], resource_env: Mapping[str, str]
) -> dict[str, str]:
    env = {
        **base,
        "SEAWAY_SERVICE": service.name,
        "HOST": host,
        "PORT": str(ports[service.name]),
        "DRAIN_SECONDS": "0",
        "OTEL_SERVICE_NAME": service.name,
        **resource_env,
        **dict(service.local_env),
    }
    for callee in service.calls:
        env[url_env(callee)] = f"http://{host}:{ports[callee]}"
    return env


@dataclass
class Dashboard:
    """The ops view and what feeds it: the log store, the OTLP receiver, the metrics scraper."""

    view: OpsView
    receiver: OtlpReceiver
    scraper: Scraper

    @classmethod
    def start(cls, services: list[Service], supervisor: Supervisor, logs: LogStore, port: int) -> Dashboard:
        traces, metrics = TraceStore(), MetricsStore()
        try:
            view = OpsView(services, supervisor, logs, traces, metrics, port)
        except OSError:
            raise UpError(f"port {port} for the ops view is already in use; pass --dashboard-port") from None
        receiver = OtlpReceiver(traces).start()

        def targets() -> dict[str, str]:
            running = ("ready", "failing")
            return {m.name: m.url for m in supervisor.processes.values() if m.kind == "service" and m.state in running}

        return cls(view.start(), receiver, Scraper(metrics, targets).start())

    def tracing_env(self) -> dict[str, str]:
        """Point the services' exporters here, unless the user named an endpoint of their own."""
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            return {}
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "1000"}

    def stop_receiving(self) -> None:
        self.scraper.stop()

    def stop(self) -> None:
        self.receiver.stop()
        self.view.stop()


def up(
    services: list[Service],
    *,
    host: str = "127.0.0.1",
    port_offset: int = 0,
    emulator_port: int = EMULATOR_PORT,
    dashboard_port: int | None = DASHBOARD_PORT,
) -> int:
    """Run ``services`` until interrupted; ``dashboard_port=None``: no ops view. Returns the exit status."""
    ports = {service.name: service.port + port_offset for service in services}
    missing = sorted({c for s in services for c in s.calls} - set(ports))
    if missing:
        print(f"seaway: the chosen services also call {', '.join(missing)}; start those too", file=sys.stderr)
        return 2
    stopping = False

    def request_stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    emulator = f"http://{host}:{emulator_port}"
    base = {
        **os.environ,
        "AWS_ENDPOINT_URL": emulator,
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "PYTHONUNBUFFERED": "1",
    }
    logs = LogStore() if dashboard_port is not None else None
    supervisor = Supervisor(on_line=logs.add if logs is not None else None)
    dashboard: Dashboard | None = None
    try:
        check_ports_free(host, {"the AWS emulator": emulator_port} | ports)
        if dashboard_port is not None:
            dashboard = Dashboard.start(services, supervisor, logs, dashboard_port)
            base |= dashboard.tracing_env()
        emulator_log = open(os.path.join(tempfile.gettempdir(), "seaway-emulator.log"), "ab")  # noqa: SIM115
        moto = supervisor.add(
            Managed(
                "emulator",
                [sys.executable, "-m", "moto.server", "-H", host, "-p", str(emulator_port)],
                base,
                url=emulator,
                ready_path="/moto-api/",
                kind="emulator",
                log=emulator_log,
            )
        )
        supervisor.start(moto.name)
        wait_until(supervisor, moto, "the AWS emulator")
        os.environ.update(
            {k: base[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        )
        environments = resources.create(services)
        redis_url = base.get("REDIS_URL")
        if redis_url and any(service.redis for service in services):
            supervisor.add(
                Managed(
                    "redis", [], {}, url=redis_url, ready_path="", kind="redis", check=lambda: redis_state(redis_url)
                )
            )
        for service in services:
            env = service_env(service, base, host, ports, environments[service.name])
            url = f"http://{host}:{ports[service.name]}"
            supervisor.start(supervisor.add(Managed(service.name, GUNICORN, env, url=url, ready_path="/readyz")).name)
        for service in services:
            wait_until(supervisor, supervisor.processes[service.name], service.name)
            if stopping:
                break
        if not stopping:
            sign_in = resources.sign_in_lines(services, environments)
            _print_table(services, ports, host, emulator, emulator_log.name, dashboard, sign_in)
        _supervise(supervisor, dashboard is not None, lambda: stopping)
        print("seaway: stopping", file=sys.stderr)
        return 0
    except UpError as error:
        print(f"seaway: {error}", file=sys.stderr)
        return 1
    finally:
        if dashboard is not None:
            dashboard.stop_receiving()
        supervisor.stop_all()
        if dashboard is not None:
            dashboard.stop()


def _supervise(supervisor: Supervisor, probing: bool, stopping) -> None:
    """Until ``stopping()``: report a process that exits (the others keep running), carry out the view's
    start/stop/restart requests, refresh the states the view shows."""
    next_probe = 0.0
    while not stopping():
        supervisor.run_requests()
        for managed in supervisor.exited():
            supervisor.output_copied(managed.name)
            hint = "; restart it from the ops view" if probing else ""
            print(
                f"seaway: {managed.name} exited with status {managed.exit_code}; the others keep running{hint}",
                file=sys.stderr,
                flush=True,
            )
        if probing and time.monotonic() >= next_probe:
            supervisor.probe()
            starting = any(m.state == "starting" for m in supervisor.processes.values())
            next_probe = time.monotonic() + (1.0 if starting else PROBE_SECONDS)
        time.sleep(0.2)


def _print_table(
    services: list[Service],
    ports: Mapping[str, int],
    host: str,
    emulator: str,
    emulator_log: str,
    dashboard: Dashboard | None,
    sign_in: list[str],
) -> None:
    rows = [(s.name, f"http://{host}:{ports[s.name]}", s.description) for s in services]
    emulated = "DynamoDB, SNS, SQS, S3, CloudWatch, Cognito"
    rows.append(("aws emulator", emulator, f"moto server ({emulated}); log: {emulator_log}"))
    width = max(len(name) for name, _, _ in rows)
    lines = ["", "Seaway is up. Ctrl-C stops everything.", ""]
    lines += [f"  {name:<{width}}  {url:<24}  {what}" for name, url, what in rows]
    if dashboard is not None:
        lines += ["", f"  {'ops view':<{width}}  {dashboard.view.login_url}"]
    if sign_in:
        lines += [""] + [f"  {line}" for line in sign_in]
    print("\n".join(lines) + "\n", flush=True)
