"""No request is lost when a gunicorn worker exits: SIGTERM to one worker, recycling after max_requests, and a
reload on SIGHUP, each under wrk's closed-loop load on the gateway (2 workers x 4 threads, 16 connections).

Before the kit's worker (seaway.worker) each worker had its own SO_REUSEPORT listener, and the connections
waiting in a stopping worker's accept queue were reset with it: wrk counted read errors at every exit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading

import pytest

from tests.conftest import GENEROUS_RATE_LIMIT, unavailable
from tests.processes import free_port, wait_for


@pytest.fixture(autouse=True)
def _wrk() -> None:
    if shutil.which("wrk") is None:
        unavailable("wrk not found: install the Debian package wrk")


SECONDS = 5
# Far below what the gateway serves on a loaded 2-core machine (over 1,000 a second), far above what a
# stalled run would reach.
AT_LEAST = 1000


def gateway_env(**extra: str) -> dict[str, str]:
    """The gateway alone: wrk asks for /livez, which needs no peer and no customer (the user pool it names is
    never asked for its keys)."""
    unused = f"http://127.0.0.1:{free_port()}"
    pool = {"AUTH_ISSUER": f"{unused}/unused-pool", "AUTH_JWKS_URL": f"{unused}/jwks.json", "AUTH_CLIENT_IDS": "unused"}
    return {"CATALOG_URL": unused, "ORDERS_URL": unused, **pool, **GENEROUS_RATE_LIMIT, **extra}


def wrk(url: str, seconds: int = SECONDS) -> dict[str, int]:
    """wrk -t2 -c16 on ``url``: requests, socket errors (connect, read, write, timeout) and non-2xx/3xx."""
    result = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    out = result.stdout
    counts = {"requests": int(re.search(r"(\d+) requests in", out).group(1)), "non_2xx": 0, "socket_errors": 0}
    if found := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        counts["socket_errors"] = sum(map(int, found.groups()))
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        counts["non_2xx"] = int(found.group(1))
    counts["output"] = out
    return counts


def under_load(service, action, after: float = 1.5) -> dict[str, int]:
    """wrk on the service while ``action()`` runs ``after`` seconds into the run."""
    timer = threading.Timer(after, action)
    timer.start()
    try:
        return wrk(service.url + "/livez")
    finally:
        timer.join()


def test_a_worker_stopped_by_sigterm_under_load_loses_no_request(start_service):
    gateway = start_service("gateway", gateway_env())
    before = gateway.worker_pids()
    stopped = sorted(before)[0]

    counts = under_load(gateway, lambda: os.kill(stopped, signal.SIGTERM))

    assert counts["socket_errors"] == 0 and counts["non_2xx"] == 0, counts["output"]
    assert counts["requests"] > AT_LEAST, counts["output"]
    assert stopped not in gateway.worker_pids(), "the worker did not exit during the run"
    assert f"Worker exiting (pid: {stopped})" in gateway.output()


def test_workers_recycled_after_max_requests_under_load_lose_no_request(start_service):
    gateway = start_service("gateway", gateway_env(MAX_REQUESTS="1500"))
    before = gateway.worker_pids()

    counts = under_load(gateway, lambda: None)

    assert counts["socket_errors"] == 0 and counts["non_2xx"] == 0, counts["output"]
    assert counts["requests"] > AT_LEAST, counts["output"]
    recycled = gateway.output().count("Autorestarting worker after current request")
    assert recycled >= 1 and not before <= gateway.worker_pids(), "no worker was recycled during the run"


def test_a_reload_on_sighup_under_load_loses_no_request(start_service):
    gateway = start_service("gateway", gateway_env())
    before = gateway.worker_pids()

    counts = under_load(gateway, lambda: gateway.signal(signal.SIGHUP))

    assert counts["socket_errors"] == 0 and counts["non_2xx"] == 0, counts["output"]
    assert counts["requests"] > AT_LEAST, counts["output"]
    wait_for(lambda: len(gateway.worker_pids()) == 2, timeout=30, message="two workers after the reload")
    assert not before & gateway.worker_pids(), "the reload did not replace the workers"
