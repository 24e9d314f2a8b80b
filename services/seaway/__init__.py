"""seaway: the platform kit every Seaway service is built on.

``seaway.create_app(name)`` wires configuration, JSON logs, problem+json errors, health and drain;
``seaway.customer()`` is the verified caller of an operation that declares ``security`` (:mod:`seaway.auth`);
see ``../shared/ARCHITECTURE.md`` for the whole design.

The names below are imported on first use, so tools that only need a corner of the package (the
``kubectl seaway`` plugin, ``seaway up``) start without loading Flask and OpenTelemetry.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "create_app": "seaway.app",
    "Problem": "seaway.errors",
    "add_check": "seaway.health",
    "customer": "seaway.auth",
    "json_body": "seaway.openapi",
    "params": "seaway.openapi",
}

__all__ = ["Problem", "add_check", "create_app", "customer", "json_body", "params"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'seaway' has no attribute {name!r}")
