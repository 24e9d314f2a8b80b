"""``seaway up``: the whole application on this machine, with an embedded AWS emulator.

Starts the moto server on loopback, creates the AWS resources the services declare, starts each service
under gunicorn with the same configuration module as in a container, waits until every ``/readyz``
answers 200, prints where everything is, and on Ctrl-C or SIGTERM stops it all gracefully. If a port is
taken or a service does not start, it says so in one line and stops whatever it had started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from seaway.service import Service, url_env
from seaway_tools import resources

EMULATOR_PORT = 4566
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class UpError(RuntimeError):
    """Start-up failed; the message is the one line to show."""


@dataclass
class Stack:
    """The processes ``seaway up`` started, in start order."""

    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: Mapping[str, str], log=None) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            env=dict(env),
            start_new_session=True,
            preexec_fn=_die_with_parent,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
        )
        self.processes[name] = process
        return process

    def stop(self) -> None:
        """SIGTERM everything (services first, the emulator last), then SIGKILL what is left."""
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM if ``seaway up`` itself dies, so no process is ever orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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


def wait_until(url: str, process: subprocess.Popen, name: str, timeout: float = START_TIMEOUT) -> None:
    """Poll ``url`` until it answers 200; fail fast if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UpError(f"{name} exited with status {process.returncode} while starting (see its log above)")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise UpError(f"{name} was not ready at {url} within {timeout:.0f} s")


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


def up(
    services: list[Service], *, host: str = "127.0.0.1", port_offset: int = 0, emulator_port: int = EMULATOR_PORT
) -> int:
    """Run ``services`` until interrupted. Returns the exit status."""
    ports = {service.name: service.port + port_offset for service in services}
    missing = sorted({c for s in services for c in s.calls} - set(ports))
    if missing:
        print(f"seaway: the chosen services also call {', '.join(missing)}; start those too", file=sys.stderr)
        return 2
    stack = Stack()
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
    try:
        check_ports_free(host, {"the AWS emulator": emulator_port} | ports)
        emulator_log = open(os.path.join(tempfile.gettempdir(), "seaway-emulator.log"), "ab")  # noqa: SIM115
        moto = stack.start(
            "emulator",
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(emulator_port)],
            base,
            log=emulator_log,
        )
        wait_until(f"{emulator}/moto-api/", moto, "the AWS emulator")
        os.environ.update(
            {k: base[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        )
        environments = resources.create(services)
        for service in services:
            env = service_env(service, base, host, ports, environments[service.name])
            stack.start(
                service.name, [sys.executable, "-m", "gunicorn", "--config", "python:seaway.gunicorn_conf"], env
            )
        for service in services:
            wait_until(f"http://{host}:{ports[service.name]}/readyz", stack.processes[service.name], service.name)
            if stopping:
                break
        if not stopping:
            _print_table(services, ports, host, emulator, emulator_log.name)
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    raise UpError(f"{name} exited with status {process.returncode}; stopping everything")
            time.sleep(0.3)
        print("seaway: stopping", file=sys.stderr)
        return 0
    except UpError as error:
        print(f"seaway: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


def _print_table(
    services: list[Service], ports: Mapping[str, int], host: str, emulator: str, emulator_log: str
) -> None:
    rows = [(s.name, f"http://{host}:{ports[s.name]}", s.description) for s in services]
    rows.append(("aws emulator", emulator, f"moto server (DynamoDB, SNS, SQS, S3, CloudWatch); log: {emulator_log}"))
    width = max(len(name) for name, _, _ in rows)
    lines = ["", "Seaway is up. Ctrl-C stops everything.", ""]
    lines += [f"  {name:<{width}}  {url:<24}  {what}" for name, url, what in rows]
    print("\n".join(lines) + "\n", flush=True)
