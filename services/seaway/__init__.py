"""seaway: the platform kit every Seaway service is built on.

``seaway.create_app(name)`` wires configuration, JSON logs, problem+json errors, health and drain;
see ``../shared/ARCHITECTURE.md`` for the whole design.
"""

from seaway.app import create_app
from seaway.errors import Problem
from seaway.health import add_check
from seaway.openapi import json_body

__all__ = ["Problem", "add_check", "create_app", "json_body"]
