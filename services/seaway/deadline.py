"""Deadline propagation: a caller's remaining time budget travels with every call.

The budget is carried in Envoy's ``x-envoy-expected-rq-timeout-ms`` header, so a timeout the mesh sets on a
route (Istio's VirtualService ``timeout``) and the one Seaway's client sends mean the same thing. The kit
reads it as a request begins (:func:`read`, in :mod:`seaway.middleware`): a request whose budget is
already spent gets 504 problem+json at once, without doing work nobody waits for; otherwise the deadline is
kept for the request, and :mod:`seaway.client` bounds every outbound call by what is left of it.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response, has_request_context, request

from seaway import request_id
from seaway.errors import problem_response

HEADER = "x-envoy-expected-rq-timeout-ms"
_HEADER_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
_ENVIRON_KEY = "seaway.deadline"


def read(environ: dict[str, Any]) -> Response | None:
    """As the request ``environ`` describes begins: keep its deadline; a 504 to answer if it is spent."""
    raw = environ.get(_HEADER_KEY)
    if raw is None or not (raw := raw.strip()).isdigit():  # absent or not a plain number: no deadline
        return None
    budget_ms = int(raw)
    if budget_ms <= 0:
        return problem_response(
            504,
            "Gateway Timeout",
            "the caller's deadline has already passed",
            request_id=environ.get(request_id.ENVIRON_KEY),
        )
    environ[_ENVIRON_KEY] = time.monotonic() + budget_ms / 1000
    return None


def remaining() -> float | None:
    """Seconds left before the current request's deadline (negative once passed); None without one."""
    if not has_request_context():
        return None
    deadline = request.environ.get(_ENVIRON_KEY)
    return None if deadline is None else deadline - time.monotonic()


def header_value(seconds: float) -> str:
    """The header's value for a budget of ``seconds`` (whole milliseconds, at least 1)."""
    return str(max(1, int(seconds * 1000)))
