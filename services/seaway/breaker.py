"""A circuit breaker per downstream service, per process.

Closed: calls go through; ``failure_threshold`` consecutive failures (no answer, a timeout or a 5xx) open it.
Open: calls fail at once, without reaching the peer, for ``reset_seconds``. Half-open: then a single call
goes through as a probe while the others still fail fast; its success closes the breaker, its failure opens
it for another period. Every change of state is reported through :func:`seaway.metrics.breaker_changed`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("seaway.breaker")

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"


class CircuitBreaker:
    """Thread-safe; share one per peer within a process (see :func:`for_peer`)."""

    def __init__(
        self,
        peer: str,
        failure_threshold: int = 5,
        reset_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.peer = peer
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        _report(peer, CLOSED)

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self._clock() - self._opened_at >= self.reset_seconds:
                return HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """May a call go out now? In half-open state only the first caller gets True (the probe)."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN:
                if self._clock() - self._opened_at < self.reset_seconds:
                    return False
                self._change(HALF_OPEN)
            if self._probing:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._probing = False
            if self._state != CLOSED:
                self._change(CLOSED)

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            self._probing = False
            if self._state == HALF_OPEN or (self._state == CLOSED and self._failures >= self.failure_threshold):
                self._opened_at = self._clock()
                self._change(OPEN)

    def _change(self, state: str) -> None:
        self._state = state
        (log.warning if state == OPEN else log.info)(
            "circuit breaker %s", state, extra={"peer_service": self.peer, "breaker_state": state}
        )
        _report(self.peer, state)


def _report(peer: str, state: str) -> None:
    # Imported here: settings classes import this module in the gunicorn master, before the metrics folder
    # exists, and prometheus_client must not be imported before it (see seaway.metrics).
    from seaway import metrics

    metrics.breaker_changed(peer, state)


# One breaker per peer per process: every client of "catalog" in a worker shares what it learnt.
_breakers: dict[tuple[str, int], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def for_peer(peer: str, failure_threshold: int, reset_seconds: float) -> CircuitBreaker:
    """This process's breaker for ``peer`` (made on first use with these settings)."""
    key = (peer, os.getpid())
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(peer, failure_threshold, reset_seconds)
        return _breakers[key]
