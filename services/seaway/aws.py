"""boto3 clients, made in one place.

boto3 already honours ``AWS_ENDPOINT_URL`` (the emulator locally and on kind), ``AWS_REGION`` and the
EKS Pod Identity credential variables; this module adds timeouts and botocore's ``standard`` retry mode,
and caches one client per process (clients are thread-safe and are first made after gunicorn forks).

Every client of a process comes from one boto3 session: a session keeps the service models and endpoint data
it has loaded, so the second and later clients cost milliseconds instead of the 45-185 ms a fresh session
spends loading them again (measured at a service's start, where three readiness clients were made). A session
is not thread-safe, so clients are made one at a time; using them is safe from any thread.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Requests on a caller's behalf: a few retries with backoff, bounded by short timeouts.
_DEFAULT = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
# Readiness checks: one attempt, answer fast; a probe repeats anyway.
_PROBE = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "max_attempts": 1})


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(name: str, *, probe: bool = False) -> Any:
    """A boto3 client for ``name`` ("dynamodb", "sns", ...); ``probe=True`` for readiness checks."""
    return _client(name, probe, region(), os.environ.get("AWS_ENDPOINT_URL"), os.getpid())


_making = threading.Lock()


@cache
def _session(pid: int) -> boto3.session.Session:
    # The pid is the key so a forked child makes its own (a session's connection pools are not shared).
    return boto3.session.Session()


@cache
def _client(name: str, probe: bool, region_name: str, endpoint: str | None, pid: int) -> Any:
    # The endpoint and pid are part of the key so a changed environment or a forked child gets its own.
    with _making:
        return _session(pid).client(name, region_name=region_name, config=_PROBE if probe else _DEFAULT)
