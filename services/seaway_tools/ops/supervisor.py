"""The processes of ``seaway up``: start, stop and restart each one, know its state, capture its output.

A process's state is ``starting`` (not answering yet), ``ready`` (its readiness URL answers 200),
``failing`` (it answered, but not 200: ``detail`` names the failing readiness checks), ``exited`` (it ended
by itself: ``exit_code``), or ``stopped`` (stopped on request). A process that exits does not stop the others.
An entry with a ``check`` (a Redis given in ``REDIS_URL``) is not a process of ours: only its state is shown.

Start, stop and restart asked for by the view (another thread) are queued with :meth:`Supervisor.request` and
carried out by :meth:`Supervisor.run_requests` in the thread that started the processes: Linux's
parent-death signal (which stops every child if ``seaway up`` dies) fires when the *thread* that forked a
child ends, so children must not be started from a short-lived request thread.

A service's stdout and stderr go through pipes: each line is written to the same stream of this terminal, as
before, and handed to ``on_line`` (the ops view's log store). Without ``on_line`` the service writes to the
terminal directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

STOP_TIMEOUT = 15.0
PROBE_TIMEOUT = 1.0

LineSink = Callable[[str, str], None]
"""``on_line(process name, line)``."""


@dataclass
class Managed:
    """One process ``seaway up`` runs: how to start it, where it answers, and what became of it."""

    name: str
    command: list[str]
    env: dict[str, str]
    url: str
    ready_path: str
    kind: str = "service"
    log: IO[bytes] | None = None  # the emulator's log file; services' output is captured or inherited
    process: subprocess.Popen | None = None
    state: str = "stopped"
    detail: str = ""
    exit_code: int | None = None
    started_at: float = 0.0
    starts: int = 0
    ever_ready: bool = False
    stop_requested: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    readers: list[threading.Thread] = field(default_factory=list)  # copying its output, while it runs
    check: Callable[[], tuple[str, str]] | None = None  # not a process of ours (Redis): how to know its state

    def view(self) -> dict[str, Any]:
        running = self.process is not None and self.process.poll() is None
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "state": self.state,
            "detail": self.detail,
            "exit_code": self.exit_code,
            "pid": self.process.pid if running else None,
            "uptime_seconds": round(time.monotonic() - self.started_at, 1) if running else None,
            "restarts": max(self.starts - 1, 0),
        }


class Supervisor:
    """Every process of one ``seaway up``, in start order."""

    def __init__(self, on_line: LineSink | None = None) -> None:
        self.processes: dict[str, Managed] = {}
        self._on_line = on_line
        self._terminal = threading.Lock()
        self._requests: queue.Queue[tuple[str, str]] = queue.Queue()

    def add(self, managed: Managed) -> Managed:
        self.processes[managed.name] = managed
        return managed

    def start(self, name: str) -> Managed:
        managed = self.processes[name]
        with managed.lock:
            if managed.process is not None and managed.process.poll() is None:
                return managed
            capture = self._on_line is not None and managed.log is None
            managed.process = subprocess.Popen(
                managed.command,
                env=managed.env,
                start_new_session=True,
                preexec_fn=die_with_parent,
                stdout=subprocess.PIPE if capture else managed.log,
                stderr=subprocess.PIPE if capture else (subprocess.STDOUT if managed.log else None),
            )
            managed.state, managed.detail, managed.exit_code = "starting", "", None
            managed.started_at, managed.ever_ready, managed.stop_requested = time.monotonic(), False, False
            managed.starts += 1
            managed.readers = []
            if capture:
                for source, terminal in ((managed.process.stdout, sys.stdout), (managed.process.stderr, sys.stderr)):
                    reader = threading.Thread(
                        target=self._copy_output, args=(managed.name, source, terminal), daemon=True
                    )
                    reader.start()
                    managed.readers.append(reader)
        return managed

    def stop(self, name: str) -> Managed:
        managed = self.processes[name]
        with managed.lock:
            managed.stop_requested = True
            terminate([managed.process] if managed.process else [])
            managed.state, managed.detail = "stopped", ""
        return managed

    def restart(self, name: str) -> Managed:
        self.stop(name)
        return self.start(name)

    def output_copied(self, name: str, timeout: float = 2.0) -> None:
        """Wait until what an exited process wrote has reached the terminal (before a line about its exit)."""
        for reader in self.processes[name].readers:
            reader.join(timeout)

    def request(self, action: str, name: str) -> None:
        """Ask for ``start``, ``stop`` or ``restart`` of ``name``, done by the next :meth:`run_requests`."""
        managed = self.processes.get(name)
        if action not in ("start", "stop", "restart") or managed is None or managed.kind != "service":
            raise KeyError(f"{action} {name}")
        self._requests.put((action, name))

    def run_requests(self) -> None:
        while True:
            try:
                action, name = self._requests.get_nowait()
            except queue.Empty:
                return
            getattr(self, action)(name)

    def stop_all(self) -> None:
        """SIGTERM every service at once and wait for them; the emulator only after them, as its clients
        may still be finishing work against it."""
        services = [m for m in reversed(self.processes.values()) if m.kind != "emulator"]
        for group in (services, [m for m in self.processes.values() if m.kind == "emulator"]):
            for managed in group:
                managed.stop_requested = True
            terminate([m.process for m in group if m.process is not None])

    def exited(self) -> list[Managed]:
        """Processes that ended by themselves since the last call (each reported once)."""
        found = []
        for managed in self.processes.values():
            process = managed.process
            if process is None or managed.stop_requested or managed.state == "exited":
                continue
            if process.poll() is not None:
                managed.state, managed.exit_code, managed.detail = "exited", process.returncode, ""
                found.append(managed)
        return found

    def probe(self) -> None:
        """Ask every running process's readiness URL how it is, and record its state."""
        for managed in list(self.processes.values()):
            if managed.check is not None:
                managed.state, managed.detail = managed.check()
                continue
            process = managed.process
            if process is None or process.poll() is not None or managed.stop_requested:
                continue
            state, detail = _readiness(managed.url + managed.ready_path)
            if state == "starting" and managed.ever_ready:
                state, detail = "failing", "not answering"
            managed.ever_ready = managed.ever_ready or state == "ready"
            if process.poll() is None and not managed.stop_requested:
                managed.state, managed.detail = state, detail

    def _copy_output(self, name: str, stream: IO[bytes], terminal: IO[str]) -> None:
        """Each line of one of ``name``'s streams to the same stream of this terminal, and to ``on_line``."""
        assert self._on_line is not None
        for raw in iter(stream.readline, b""):
            with self._terminal:
                terminal.buffer.write(raw)
                terminal.buffer.flush()
            self._on_line(name, raw.decode("utf-8", "replace"))
        stream.close()


def _readiness(url: str) -> tuple[str, str]:
    """``ready``, ``failing`` with the failing checks named, or ``starting`` when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as answer:
            return ("ready", "") if answer.status == 200 else ("failing", f"status {answer.status}")
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read() or b"{}")
        except ValueError:
            body = {}
        checks = body.get("checks") if isinstance(body, dict) else None
        failing = sorted(name for name, result in (checks or {}).items() if result != "ok")
        detail = ", ".join(failing) if failing else (body.get("detail") if isinstance(body, dict) else "")
        return "failing", detail or f"status {error.code}"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return "starting", ""


def redis_state(url: str) -> tuple[str, str]:
    """A Redis the services use (``REDIS_URL``) but ``seaway up`` did not start: ``ready`` when it answers PING."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT).ping()
    except redis.RedisError as error:
        return "failing", f"PING: {error}"[:200]
    return "ready", ""


def terminate(processes: list[subprocess.Popen]) -> None:
    """SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL each one's whole process group."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def die_with_parent() -> None:
    """In the child (``preexec_fn``): get SIGTERM if its parent (``seaway up``, the bench) dies, so no process
    is ever orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
