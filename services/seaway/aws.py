"""boto3 clients, made in one place.

boto3 already honours ``AWS_ENDPOINT_URL`` (the emulator locally and on kind), ``AWS_REGION`` and the
EKS Pod Identity credential variables; this module adds timeouts and botocore's ``standard`` retry mode,
and caches one client per process (clients are thread-safe and are first made after gunicorn forks).
"""

from __future__ import annotations

import os
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


@cache
def _client(name: str, probe: bool, region_name: str, endpoint: str | None, pid: int) -> Any:
    # The endpoint and pid are part of the key so a changed environment or a forked child gets its own.
    return boto3.session.Session().client(name, region_name=region_name, config=_PROBE if probe else _DEFAULT)
