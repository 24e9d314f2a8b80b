"""Configuration from environment variables, typed and validated at start.

A service describes its settings as a frozen dataclass; :func:`load` reads each field from the
environment variable of the same name in upper case (or ``metadata={"env": ...}``), converts it to the
field's type and checks its bounds. Every problem is collected into one :class:`ConfigError` whose
message fits on one line, so a bad value stops the process with a sentence, not a stack trace.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """One or more environment variables are missing or malformed."""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    env: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field read from the environment, with optional bounds or allowed values."""
    metadata = {"env": env, "minimum": minimum, "maximum": maximum, "choices": choices}
    return dataclasses.field(default=default, metadata=metadata)


def env_name(field: dataclasses.Field) -> str:
    return field.metadata.get("env") or field.name.upper()


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from the environment, or raise ConfigError naming every bad variable."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in dataclasses.fields(cls):
        name = env_name(field)
        raw = environ.get(name)
        if raw is None:
            if field.default is dataclasses.MISSING:
                problems.append(f"{name} is required")
            continue
        try:
            values[field.name] = _convert(raw, hints[field.name], field.metadata)
        except ValueError as error:
            problems.append(f"{name} {error} (got {raw!r})")
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return cls(**values)


def check(*classes: type, environ: Mapping[str, str] | None = None) -> None:
    """Load every settings class; one ConfigError naming every bad variable across them all."""
    problems = []
    for cls in classes:
        try:
            load(cls, environ)
        except ConfigError as error:
            problems.append(str(error).removeprefix("invalid configuration: "))
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))


def _convert(raw: str, kind: Any, rules: Mapping[str, Any]) -> Any:
    optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind)
    if optional:
        if raw.strip() == "":
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError("must be true or false")
        return lowered in _TRUE
    if kind in (int, float):
        try:
            value = kind(raw.strip())
        except ValueError:
            raise ValueError(f"must be {'an integer' if kind is int else 'a number'}") from None
        if rules.get("minimum") is not None and value < rules["minimum"]:
            raise ValueError(f"must be at least {rules['minimum']}")
        if rules.get("maximum") is not None and value > rules["maximum"]:
            raise ValueError(f"must be at most {rules['maximum']}")
        return value
    if kind is str:
        if rules.get("choices") and raw not in rules["choices"]:
            raise ValueError(f"must be one of {', '.join(rules['choices'])}")
        return raw
    raise TypeError(f"unsupported setting type {kind!r}")


@dataclasses.dataclass(frozen=True)
class KitSettings:
    """What every Seaway service reads, whatever it does. Defaults suit a container on EKS."""

    seaway_service: str = setting("")
    port: int = setting(8080, minimum=1, maximum=65535)
    host: str = setting("0.0.0.0")
    # Not WEB_CONCURRENCY: gunicorn parses that itself at import, with a stack trace on a bad value.
    workers: int = setting(2, minimum=1, maximum=64)
    worker_threads: int = setting(4, minimum=1, maximum=256)
    log_level: str = setting("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    # After SIGTERM, readiness fails at once but new requests are still served this long, so load
    # balancers and kube-proxy stop sending before the listener closes.
    drain_seconds: float = setting(5.0, minimum=0, maximum=600)
    # Then in-flight requests get this long to finish before workers are killed.
    graceful_timeout: int = setting(25, minimum=0, maximum=600)
    # Longer than an ALB's 60 s idle timeout, so the load balancer closes idle connections first.
    keepalive_seconds: int = setting(75, minimum=0, maximum=3600)
    worker_timeout: int = setting(30, minimum=1, maximum=3600)
    # A request's headers must arrive within this long (from its first byte; from the connect on a new
    # connection), else 408 and the connection is closed: slow clients cannot hold the workers' threads.
    header_timeout_seconds: float = setting(10.0, minimum=0.1, maximum=600)
    # Recycle a worker after this many requests (0: never), plus up to the jitter, so they do not all restart at once.
    max_requests: int = setting(0, minimum=0)
    max_requests_jitter: int = setting(0, minimum=0)
    max_request_bytes: int = setting(1_048_576, minimum=1)
    readiness_cache_seconds: float = setting(2.0, minimum=0, maximum=60)
    # Proxies in front of the service that append to X-Forwarded-For (ALB, ingress gateway); the client
    # address is taken that many hops from the right, so a client cannot choose its own by sending the header.
    trusted_proxy_hops: int = setting(0, minimum=0, maximum=10)
    # Fault injection at /chaos (seaway.chaos); never on in production.
    chaos_enabled: bool = setting(False)
