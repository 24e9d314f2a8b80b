"""Liveness, readiness and drain.

- ``/livez``: the process answers; nothing else is checked, so a dependency outage never restarts pods.
- ``/readyz``: runs the checks the service registered (its table, its Redis), caches the result briefly
  so probes cannot hammer dependencies, and answers 503 naming the failing check.
- drain: after SIGTERM the gunicorn master creates a ``draining`` file in the runtime folder
  (see :mod:`seaway.gunicorn_conf`); from then on ``/readyz`` answers 503 while requests are still
  served, until the drain period ends.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Flask, current_app

from seaway.errors import problem_response

log = logging.getLogger("seaway.health")

RUNTIME_DIR_ENV = "SEAWAY_RUNTIME_DIR"
"""A folder the gunicorn master makes before forking, shared by its workers (see seaway.gunicorn_conf)."""

Check = Callable[[], None]
"""A readiness check: returns when the dependency answers, raises when it does not."""

# Set the first time this process's readiness checks all pass (in a gunicorn worker: after the fork).
_found_ready = threading.Event()


def wait_until_ready(timeout: float) -> bool:
    """Wait until this process has once been found ready (every check passed), at most ``timeout`` seconds;
    whether it was. A queue consumer begins after it (:class:`seaway.events.Consumer`)."""
    return _found_ready.wait(timeout)


def draining() -> bool:
    """True once the gunicorn master has started draining this process group."""
    folder = os.environ.get(RUNTIME_DIR_ENV)
    return bool(folder) and os.path.exists(os.path.join(folder, "draining"))


def start_draining() -> None:
    """Called in the gunicorn master on SIGTERM: every worker's readiness fails from now on."""
    with open(os.path.join(os.environ[RUNTIME_DIR_ENV], "draining"), "w"):
        pass


@dataclass
class Readiness:
    """The registered checks of one app and the last result, shared by a worker's threads."""

    cache_seconds: float
    checks: dict[str, Check] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _checked_at: float = float("-inf")
    _results: dict[str, str] = field(default_factory=dict)

    def results(self) -> dict[str, str]:
        """Each check's name and ``"ok"`` or the reason it failed; run at most once per cache period."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self.cache_seconds:
                self._results = {name: _run(name, check) for name, check in self.checks.items()}
                self._checked_at = time.monotonic()
                if all(result == "ok" for result in self._results.values()):
                    _found_ready.set()
            return dict(self._results)


def _run(name: str, check: Check) -> str:
    try:
        check()
    except Exception as error:  # any failure of a dependency means "not ready"; the reason is reported
        log.warning("readiness check failed", extra={"check": name, "reason": str(error)})
        return f"failed: {type(error).__name__}: {error}"[:300]
    return "ok"


def add_check(app: Flask, name: str, check: Check) -> None:
    """Register a readiness check on the app: ``add_check(app, "dynamodb", store.ping)``."""
    app.extensions["seaway.readiness"].checks[name] = check


def install(app: Flask, cache_seconds: float) -> None:
    app.extensions["seaway.readiness"] = Readiness(cache_seconds)
    app.register_blueprint(_blueprint)


_blueprint = Blueprint("seaway_health", __name__)


@_blueprint.get("/livez")
def livez():
    """The process is alive and serving."""
    return {"status": "alive"}


@_blueprint.get("/readyz")
def readyz():
    """Ready when not draining and every registered check passes; otherwise 503 naming why."""
    if draining():
        return problem_response(503, "Service Unavailable", "draining: shutting down", checks={})
    results = current_app.extensions["seaway.readiness"].results()
    failing = sorted(name for name, result in results.items() if result != "ok")
    if failing:
        return problem_response(503, "Service Unavailable", f"not ready: {', '.join(failing)}", checks=results)
    return {"status": "ready", "checks": results}
