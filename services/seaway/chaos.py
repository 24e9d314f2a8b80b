"""Opt-in fault injection, for people testing their mesh, timeouts and alerts.

Off unless ``CHAOS_ENABLED=true`` (never set in the EKS values). When on, ``/chaos`` takes faults that
apply to every request of the service except health, metrics and ``/chaos`` itself:

- ``PUT /chaos`` with ``{"latency_seconds": 2}``: every request waits this long first;
- ``{"status": 503, "percent": 50}``: this share of requests answers that status as problem+json;
- ``{"readiness_failing": true}``: ``/readyz`` answers 503 (the ``chaos`` check fails);
- ``GET /chaos`` shows the faults in force; ``DELETE /chaos`` clears them.

All gunicorn workers of the service share the faults through a file in the runtime folder, so one call
affects the whole service, as a person testing it expects.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, request
from jsonschema import Draft202012Validator

from seaway.errors import Problem
from seaway.health import RUNTIME_DIR_ENV, add_check

_EXEMPT = ("/livez", "/readyz", "/metrics", "/chaos")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "latency_seconds": {"type": "number", "minimum": 0, "maximum": 120},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "percent": {"type": "number", "minimum": 0, "maximum": 100},
        "readiness_failing": {"type": "boolean"},
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


@dataclass(frozen=True)
class Faults:
    latency_seconds: float = 0.0
    status: int | None = None
    percent: float = 100.0
    readiness_failing: bool = False


class _Store:
    """The faults in force, in a file shared by the workers (re-read only when it changes)."""

    def __init__(self) -> None:
        folder = os.environ.get(RUNTIME_DIR_ENV) or tempfile.mkdtemp(prefix="seaway-chaos-")
        self.path = os.path.join(folder, "chaos.json")
        self._seen: tuple[float, Faults] = (-1.0, Faults())

    def read(self) -> Faults:
        try:
            changed = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return Faults()
        if changed != self._seen[0]:
            with open(self.path) as file:
                self._seen = (changed, Faults(**json.load(file)))
        return self._seen[1]

    def write(self, faults: Faults) -> None:
        temporary = f"{self.path}.{os.getpid()}"
        with open(temporary, "w") as file:
            json.dump(asdict(faults), file)
        os.replace(temporary, self.path)


def install(app: Flask) -> None:
    """Add ``/chaos`` and the fault hooks to ``app`` (call only when chaos is enabled)."""
    store = _Store()
    app.extensions["seaway.chaos"] = store

    def readiness() -> None:
        if store.read().readiness_failing:
            raise RuntimeError("failing on purpose (chaos)")

    add_check(app, "chaos", readiness)
    app.before_request(_inject)
    app.register_blueprint(_blueprint)


def _inject() -> None:
    if request.path.startswith(_EXEMPT):
        return
    faults: Faults = current_app.extensions["seaway.chaos"].read()
    if faults.latency_seconds:
        time.sleep(faults.latency_seconds)
    if faults.status and random.uniform(0, 100) < faults.percent:
        raise Problem(faults.status, "Injected Fault", "this error was injected through /chaos")


_blueprint = Blueprint("seaway_chaos", __name__)


@_blueprint.get("/chaos")
def show() -> dict[str, Any]:
    """The faults in force."""
    return asdict(current_app.extensions["seaway.chaos"].read())


@_blueprint.put("/chaos")
def set_faults() -> dict[str, Any]:
    """Replace the faults in force."""
    body = request.get_json(silent=True)
    errors = [e.message for e in _VALIDATOR.iter_errors(body)] if body is not None else ["not JSON"]
    if errors:
        raise Problem(422, "Unprocessable Content", "; ".join(errors))
    faults = Faults(**body)
    current_app.extensions["seaway.chaos"].write(faults)
    return asdict(faults)


@_blueprint.delete("/chaos")
def clear() -> tuple[str, int]:
    """Remove every fault."""
    current_app.extensions["seaway.chaos"].write(Faults())
    return "", 204
