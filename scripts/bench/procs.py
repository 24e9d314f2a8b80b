"""Processes for the bench: started the way ``seaway up`` starts them, measured from ``/proc``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seaway_tools.ops.supervisor import die_with_parent, terminate

GUNICORN = [sys.executable, "-m", "gunicorn"]
KIT_CONFIG = ["--config", "python:seaway.gunicorn_conf"]


@dataclass
class Stack:
    """The processes a bench section started, by name, in start order; stopped together at its end."""

    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: Mapping[str, str], log=None) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            env=dict(env),
            start_new_session=True,
            preexec_fn=die_with_parent,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
        )
        self.processes[name] = process
        return process

    def stop(self) -> None:
        """SIGTERM everything (last started first), then SIGKILL what is left, as ``seaway up`` stops."""
        terminate(list(reversed(self.processes.values())))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_of(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_ready(url: str, process: subprocess.Popen, name: str, timeout: float = 60.0) -> float:
    """Poll ``url`` every 20 ms until it answers 200; the seconds it took from now."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode} while starting")
        if status_of(url, timeout=1.0) == 200:
            return time.perf_counter() - began
        time.sleep(0.02)
    raise RuntimeError(f"{name} was not ready at {url} within {timeout:.0f} s")


def start_timed(
    stack: Stack, name: str, command: list[str], env: Mapping[str, str], ready_path: str, port: int, log: Path
) -> float:
    """Start a process in ``stack``; the seconds from the fork until ``ready_path`` answered 200."""
    began = time.perf_counter()
    with log.open("ab") as out:
        process = stack.start(name, command, env, log=out)
    wait_ready(f"http://127.0.0.1:{port}{ready_path}", process, name)
    return time.perf_counter() - began


def stop(stack: Stack, name: str, timeout: float = 30.0) -> None:
    process = stack.processes.pop(name)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's workers, for a master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def tree(pid: int) -> list[int]:
    return [pid, *children(pid)]


def memory_mib(pid: int) -> dict[str, float]:
    """RSS and PSS of one process, in MiB (PSS shares copy-on-write pages fairly between processes)."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key.lower() + "_mib"] = round(int(rest.split()[0]) / 1024, 1)
    return values


def gunicorn_memory(master: int) -> dict:
    """The master's and each worker's memory; the workers' mean; the pod's (master and workers): its PSS is
    what the processes use together, its RSS counts each shared page once per process that maps it."""
    workers = [memory_mib(pid) for pid in children(master)]
    parent = memory_mib(master)
    keys = ("rss_mib", "pss_mib")
    mean = {key: round(sum(w[key] for w in workers) / len(workers), 1) for key in keys}
    pod = {key: round(parent[key] + sum(w[key] for w in workers), 1) for key in keys}
    return {"master": parent, "workers": len(workers), "per_worker": mean, "per_pod": pod, "each_worker": workers}
