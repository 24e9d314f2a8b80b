"""Calling another Seaway service over HTTP: ``ServiceClient("catalog").get("/products/p-1")``.

Every call, in this order:

- is bounded in time: by the client's timeout (``CLIENT_TIMEOUT_SECONDS``, for the whole call including
  retries), and, inside a request that arrived with a deadline (:mod:`seaway.deadline`), by what is left of
  it; the budget left travels on as ``x-envoy-expected-rq-timeout-ms``, so the callee stops when we do;
- passes the circuit breaker of its peer (:mod:`seaway.breaker`): while it is open the call fails at once
  with a 503 :class:`CallFailed` instead of waiting on a peer that is known to be down;
- carries the request id (``X-Request-ID``); trace context is added by OpenTelemetry's requests
  instrumentation;
- is retried, when idempotent (GET, HEAD, PUT, DELETE, OPTIONS, or a call marked ``idempotent=True`` such
  as a POST with an ``Idempotency-Key``), after a connection failure or a 502/503/504, with exponential
  backoff and full jitter, within the time budget and a retry budget (retries may add at most
  ``RETRY_BUDGET_RATIO`` of the calls of the last ten seconds, plus a few), so retries cannot multiply load
  when a peer is struggling. With ``MESH_RETRIES=true`` the mesh owns retries and the client makes none;
- is recorded through :func:`seaway.metrics.client_request`, one observation per attempt.

A call that gets an answer returns it, whatever its status (the caller decides what a 404 means); a call
that gets none raises :class:`CallFailed`, a :class:`seaway.Problem` (503 or 504) that a handler may let
through to its own client as problem+json.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from seaway import breaker, config, deadline, request_id
from seaway.config import setting
from seaway.errors import Problem
from seaway.service import url_env

log = logging.getLogger("seaway.client")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Answers that say "not now" rather than "not this": worth another attempt of an idempotent call.
_RETRY_STATUSES = frozenset({502, 503, 504})
_BACKOFF_BASE_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 1.0
_RETRY_WINDOW_SECONDS = 10.0
_RETRY_BUDGET_MINIMUM = 3


@dataclass(frozen=True)
class ClientSettings:
    """How a service calls others. A service's own settings class may extend it (so it is checked at start)."""

    # The whole call, retries included; a deadline that came with the request can only shorten it.
    client_timeout_seconds: float = setting(3.0, minimum=0.01, maximum=300)
    client_connect_timeout_seconds: float = setting(1.0, minimum=0.01, maximum=60)
    client_max_retries: int = setting(2, minimum=0, maximum=10)
    # True when the mesh (Istio VirtualService retries) retries calls: the client then never does.
    mesh_retries: bool = setting(False)
    retry_budget_ratio: float = setting(0.2, minimum=0, maximum=1)
    breaker_failure_threshold: int = setting(5, minimum=1, maximum=1000)
    breaker_reset_seconds: float = setting(5.0, minimum=0.05, maximum=3600)


def _metrics():
    # Imported on first use so that settings classes extending ClientSettings can be loaded by the gunicorn
    # master before the metrics folder exists (see seaway.metrics and seaway.breaker).
    from seaway import metrics

    return metrics


def _record(peer: str, method: str, status: int | str, seconds: float) -> None:
    _metrics().client_request(peer, method, status, seconds)


class CallFailed(Problem):
    """No answer from the peer: unreachable, too slow, out of time, or its circuit is open."""

    def __init__(self, status: int, peer: str, reason: str, detail: str, circuit: str, retry_after: float | None):
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
        title = "Service Unavailable" if status == 503 else "Gateway Timeout"
        super().__init__(status, title, detail, headers=headers, peer_service=peer, reason=reason, circuit=circuit)
        self.peer = peer
        self.reason = reason


class RetryBudget:
    """Retries allowed over a sliding window: ``minimum + ratio * calls``. Thread-safe."""

    def __init__(
        self,
        ratio: float,
        minimum: int = _RETRY_BUDGET_MINIMUM,
        window: float = _RETRY_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio, self.minimum, self.window, self._clock = ratio, minimum, window, clock
        self._calls: deque[float] = deque(maxlen=100_000)
        self._retries: deque[float] = deque(maxlen=100_000)
        self._lock = threading.Lock()

    def record_call(self) -> None:
        with self._lock:
            self._calls.append(self._clock())

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when the window has none left."""
        with self._lock:
            now = self._clock()
            for times in (self._calls, self._retries):
                while times and now - times[0] > self.window:
                    times.popleft()
            if len(self._retries) >= self.minimum + self.ratio * len(self._calls):
                return False
            self._retries.append(now)
            return True


_budgets: dict[tuple[str, int], RetryBudget] = {}
_budgets_lock = threading.Lock()


def _budget_for(peer: str, ratio: float) -> RetryBudget:
    key = (peer, os.getpid())
    with _budgets_lock:
        return _budgets.setdefault(key, RetryBudget(ratio))


class ServiceClient:
    """Calls to one peer service; its base URL comes from ``<PEER>_URL`` unless given. Thread-safe."""

    def __init__(self, peer: str, settings: ClientSettings | None = None, *, base_url: str | None = None) -> None:
        self.peer = peer
        self.settings = settings or config.load(ClientSettings)
        base_url = base_url or os.environ.get(url_env(peer), "")
        if not base_url:
            raise config.ConfigError(f"invalid configuration: {url_env(peer)} is required")
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker.for_peer(
            peer, self.settings.breaker_failure_threshold, self.settings.breaker_reset_seconds
        )
        self.retry_budget = _budget_for(peer, self.settings.retry_budget_ratio)
        self._sessions: dict[int, requests.Session] = {}
        self._sessions_lock = threading.Lock()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """One call, retried when safe; the peer's answer, or :class:`CallFailed` when there is none."""
        method = method.upper()
        budget = self.settings.client_timeout_seconds if timeout is None else timeout
        left_in_request = deadline.remaining()
        if left_in_request is not None:
            budget = min(budget, left_in_request)
        if budget <= 0:
            raise self._failed(504, "deadline", "no time was left for the call")
        give_up_at = time.monotonic() + budget
        retryable = (method in IDEMPOTENT_METHODS if idempotent is None else idempotent) and not (
            self.settings.mesh_retries
        )
        self.retry_budget.record_call()
        url = self.base_url + path
        attempt = 0
        while True:
            if not self.breaker.allow():
                raise self._failed(
                    503,
                    "circuit_open",
                    f"{self.peer} is failing; calls are paused for a moment",
                    retry_after=self.settings.breaker_reset_seconds,
                )
            left = give_up_at - time.monotonic()
            if left <= 0:
                raise self._failed(504, "deadline", f"{self.peer} did not answer in time")
            response, failure = self._attempt(method, url, json, params, headers, left)
            if response is not None and response.status_code not in _RETRY_STATUSES:
                return response
            attempt += 1
            if not self._may_retry(retryable, attempt, give_up_at):
                break
        if response is not None:
            return response
        log.warning("call failed", extra={"peer_service": self.peer, "method": method, "reason": failure})
        if failure == "timeout":
            raise self._failed(504, "timeout", f"{self.peer} did not answer in time")
        raise self._failed(503, "unreachable", f"{self.peer} could not be reached", retry_after=1)

    def _attempt(
        self, method: str, url: str, json: Any, params: Any, headers: dict[str, str] | None, left: float
    ) -> tuple[requests.Response | None, str | None]:
        sent = {**(headers or {}), deadline.HEADER: deadline.header_value(left)}
        current_id = request_id.current()
        if current_id is not None:
            sent.setdefault(request_id.HEADER, current_id)
        started = time.perf_counter()
        try:
            response = self._session().request(
                method,
                url,
                json=json,
                params=params,
                headers=sent,
                timeout=(min(self.settings.client_connect_timeout_seconds, left), left),
            )
        except requests.Timeout:
            failure = "timeout"
        except requests.RequestException:
            failure = "unreachable"
        else:
            _record(self.peer, method, response.status_code, time.perf_counter() - started)
            if response.status_code >= 500:
                self.breaker.failed()
            else:
                self.breaker.succeeded()
            return response, None
        _record(self.peer, method, "error", time.perf_counter() - started)
        self.breaker.failed()
        return None, failure

    def _may_retry(self, retryable: bool, attempt: int, give_up_at: float) -> bool:
        if not retryable or attempt > self.settings.client_max_retries:
            return False
        # Full jitter: anywhere from 0 to the exponential step, so retrying callers spread out.
        pause = random.uniform(0, min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))
        if time.monotonic() + pause >= give_up_at or not self.retry_budget.try_spend():
            return False
        time.sleep(pause)
        _metrics().client_retried(self.peer)
        return True

    def _failed(self, status: int, reason: str, detail: str, retry_after: float | None = None) -> CallFailed:
        _metrics().client_failed(self.peer, reason)
        return CallFailed(status, self.peer, reason, detail, self.breaker.state, retry_after)

    def _session(self) -> requests.Session:
        """One pooled session per process (a forked child never reuses its parent's sockets)."""
        pid = os.getpid()
        with self._sessions_lock:
            session = self._sessions.get(pid)
            if session is None:
                session = requests.Session()
                adapter = HTTPAdapter(pool_connections=2, pool_maxsize=32, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._sessions[pid] = session
            return session
