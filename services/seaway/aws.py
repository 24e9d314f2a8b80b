"""boto3 clients, made in one place.

boto3 already honours ``AWS_ENDPOINT_URL`` (the emulator locally and on kind), ``AWS_REGION`` and the
EKS Pod Identity credential variables; this module adds timeouts and botocore's ``standard`` retry mode,
and caches one client per process (clients are thread-safe and are first made after gunicorn forks).

Every client of a process comes from one boto3 session: a session keeps the service models and endpoint data
it has loaded, so the second and later clients cost milliseconds instead of the 45-185 ms a fresh session
spends loading them again (measured at a service's start, where three readiness clients were made). A session
is not thread-safe, so clients are made one at a time; using them is safe from any thread.

In the gunicorn master, :func:`preload` loads the models of the AWS services a service uses before the workers
fork; each worker's session then reads them from that loader, pages shared with the master and the other
workers, instead of parsing its own copy (DynamoDB, SNS, SQS and S3 together: about 15 MiB less per worker).
No client or connection crosses the fork: the clients that loaded the models are dropped, and the workers make
their own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

import boto3
import botocore.session
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


def make_client(name: str, config: Config) -> Any:
    """A client of its own (not cached) for ``name`` with ``config``, from the process's session."""
    with _making:
        return _session(os.getpid()).client(name, region_name=region(), config=config)


_SERVICE_OF_KIND = {"table": "dynamodb", "topic": "sns", "queue": "sqs", "bucket": "s3"}


def services_of(resources: Iterable[Any]) -> list[str]:
    """The AWS services behind a service's declared resources (``seaway.service.Table`` is "dynamodb", ...)."""
    return sorted({_SERVICE_OF_KIND[r.kind] for r in resources if r.kind in _SERVICE_OF_KIND})


def preload(names: Iterable[str]) -> None:
    """In the gunicorn master, before forking: load the models of AWS services ``names`` ("dynamodb", ...),
    for every process forked from this one to share (see the module's description)."""
    global _loader
    session = boto3.session.Session()
    for name in names:
        session.client(name, region_name=region())  # loads what a client needs; the client itself is dropped
    _loader = session._session.get_component("data_loader")


_making = threading.Lock()
_loader: Any = None  # botocore's data loader filled by preload() in the master; None elsewhere


@cache
def _session(pid: int) -> boto3.session.Session:
    # The pid is the key so a forked child makes its own (a session's connection pools are not shared).
    if _loader is None:
        return boto3.session.Session()
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader)  # a cache of parsed JSON files, nothing else
    return boto3.session.Session(botocore_session=core)


@cache
def _client(name: str, probe: bool, region_name: str, endpoint: str | None, pid: int) -> Any:
    # The endpoint and pid are part of the key so a changed environment or a forked child gets its own.
    with _making:
        return _session(pid).client(name, region_name=region_name, config=_PROBE if probe else _DEFAULT)
