"""Prometheus metrics of every Seaway service, named after the OpenTelemetry semantic conventions.

The names and labels are a contract: dashboards and alerts in ``k8s/observability/`` depend on them.

- ``http_server_request_duration_seconds{http_route, http_request_method, http_response_status_code}``: every request
  to a route of the service, recorded by the kit (:func:`in_flight`, :func:`request_handled`); ``http_route``
  is the route template (``/products/<product_id>``), :data:`UNMATCHED_ROUTE` when no route matched (so unknown paths
  add no series), and the method is ``_OTHER`` when it is not a standard HTTP method. The kit's own ``/livez``,
  ``/readyz`` and ``/metrics`` are not counted. Each route's ``500`` series exists at 0 from a worker's first request
  (its first scrape included): see :func:`initialise_series`.
- ``http_server_active_requests{http_request_method}``: requests in flight (summed over live workers)
- ``seaway_worker_threads``: request threads of the live workers, the capacity in-flight requests use up
- ``http_client_request_duration_seconds{peer_service, http_request_method, http_response_status_code}``
- ``seaway_client_retries_total{peer_service}``: attempts the client repeated
- ``seaway_client_failures_total{peer_service, reason}``: calls that got no usable answer, with reason
  ``circuit_open`` and ``deadline`` (failed fast, never sent) or ``timeout`` and ``unreachable``
- ``seaway_events_published_total{topic, event_type}``
- ``seaway_events_total{queue, event_type, outcome}`` with outcome processed, failed, dead_lettered, duplicate
- ``seaway_event_age_seconds{queue, event_type}``: from publication to processing
- ``seaway_cache_requests_total{cache, result}`` with result hit or miss
- ``seaway_circuit_breaker_state{peer_service}``: 0 closed, 1 half-open, 2 open
- ``seaway_cloudwatch_flushes_total``, ``seaway_cloudwatch_put_calls_total{outcome}``,
  ``seaway_cloudwatch_datums_total``, ``seaway_cloudwatch_dropped_total``: the pod's CloudWatch publisher
  (:mod:`seaway.cloudwatch`), one per pod in the gunicorn master

Services record through the functions below, never by making metrics of their own.

Several gunicorn workers: prometheus_client's multiprocess mode. Each process writes its values to
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` (served by any worker) merges them
all, so a scrape sees the whole pod whichever worker answers. A worker's request metrics (the duration histogram and
the in-flight gauge, written for every request) are kept in memory and written every :data:`WRITE_SECONDS`
(:class:`_RequestMetrics`); the others are written at once. The variable must be set before
prometheus_client is first imported (it picks its value class at import): the charts set it, and
:mod:`seaway.gunicorn_conf` makes a private folder when it is absent; ``import seaway`` therefore never
imports this module. The folder is emptied when the master starts (before it imports this module) and a dead
worker's live gauges are dropped (:func:`worker_died`); its counters stay, so totals never go backwards.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections.abc import Collection
from typing import Any

from flask import Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from seaway import lifecycle

log = logging.getLogger("seaway.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"
"""The ``http_route`` of every request that matched no route (404s of unknown paths, 405s)."""
LATENCY_OBJECTIVE_SECONDS = 0.25
"""The latency objective's threshold: a bucket bound, so "faster than it" is exact in every backend."""

# Few buckets: every series lives in every worker's file in multiprocess mode.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_AGE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})

SERVER_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests.",
    ["http_route", "http_request_method", "http_response_status_code"],
    buckets=_LATENCY_BUCKETS,
)
SERVER_ACTIVE = Gauge(
    "http_server_active_requests",
    "HTTP server requests in flight.",
    ["http_request_method"],
    multiprocess_mode="livesum",
)
WORKER_THREADS = Gauge(
    "seaway_worker_threads",
    "Request threads of the live gunicorn workers.",
    multiprocess_mode="livesum",
)
CLIENT_DURATION = Histogram(
    "http_client_request_duration_seconds",
    "Duration of HTTP calls to other services.",
    ["peer_service", "http_request_method", "http_response_status_code"],
    buckets=_LATENCY_BUCKETS,
)
CLIENT_RETRIES = Counter("seaway_client_retries", "Attempts repeated by the service client.", ["peer_service"])
CLIENT_FAILURES = Counter(
    "seaway_client_failures",
    "Calls to other services that got no usable answer, by reason.",
    ["peer_service", "reason"],
)
EVENTS_PUBLISHED = Counter("seaway_events_published", "Events published.", ["topic", "event_type"])
EVENTS = Counter("seaway_events", "Events handled, by outcome.", ["queue", "event_type", "outcome"])
EVENT_AGE = Histogram(
    "seaway_event_age_seconds",
    "Time from an event's publication to its processing.",
    ["queue", "event_type"],
    buckets=_AGE_BUCKETS,
)
CACHE_REQUESTS = Counter("seaway_cache_requests", "Cache lookups, by result.", ["cache", "result"])
BREAKER_STATE = Gauge(
    "seaway_circuit_breaker_state",
    "Circuit breaker state per downstream service: 0 closed, 1 half-open, 2 open.",
    ["peer_service"],
    multiprocess_mode="livemax",
)
CLOUDWATCH_FLUSHES = Counter("seaway_cloudwatch_flushes", "Intervals the CloudWatch publisher had data to send.")
CLOUDWATCH_PUT_CALLS = Counter(
    "seaway_cloudwatch_put_calls", "PutMetricData calls made by the CloudWatch publisher.", ["outcome"]
)
CLOUDWATCH_DATUMS = Counter("seaway_cloudwatch_datums", "Metric data entries accepted by CloudWatch.")
CLOUDWATCH_DROPPED = Counter(
    "seaway_cloudwatch_dropped", "Metric data entries dropped because the publisher's buffer was full."
)

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def client_request(peer_service: str, method: str, status: int | str, seconds: float) -> None:
    """An outbound HTTP call finished (status ``"error"`` when no response came back)."""
    CLIENT_DURATION.labels(peer_service, method, str(status)).observe(seconds)


def client_retried(peer_service: str) -> None:
    CLIENT_RETRIES.labels(peer_service).inc()


def client_failed(peer_service: str, reason: str) -> None:
    """A call ended without an answer to use: circuit_open, deadline, timeout or unreachable."""
    CLIENT_FAILURES.labels(peer_service, reason).inc()


def event_published(topic: str, event_type: str) -> None:
    EVENTS_PUBLISHED.labels(topic, event_type).inc()


def event_handled(queue: str, event_type: str, outcome: str, age_seconds: float | None = None) -> None:
    """An event left a handler: ``processed``, ``failed``, ``dead_lettered`` or ``duplicate``."""
    EVENTS.labels(queue, event_type, outcome).inc()
    if age_seconds is not None and outcome == "processed":
        EVENT_AGE.labels(queue, event_type).observe(max(age_seconds, 0.0))


def cache_lookup(cache: str, hit: bool) -> None:
    CACHE_REQUESTS.labels(cache, "hit" if hit else "miss").inc()


def breaker_changed(peer_service: str, state: str) -> None:
    BREAKER_STATE.labels(peer_service).set(BREAKER_STATES[state])


# --- the kit's side: request metrics, /metrics, the multiprocess folder --------------------------------


def install(app: Flask, worker_threads: int) -> None:
    """Serve ``/metrics`` from ``app``; :mod:`seaway.middleware` records each request through :func:`in_flight`
    and :func:`request_handled`.

    ``seaway_worker_threads`` is set here, in every worker, so a scrape that reaches the app always holds it:
    the service-down alert watches for its absence (Istio's merged metrics answer without the app).
    """
    WORKER_THREADS.set(worker_threads)
    app.add_url_rule("/metrics", "seaway_metrics", _scrape, methods=["GET"])


def initialise_series(app: Flask, uncounted: Collection[str]) -> None:
    """Create each route's ``500`` series (every method it accepts but HEAD and OPTIONS) at 0, and the in-flight
    gauge of each of those methods at 0; none for the ``uncounted`` paths (the kit's probes and scrape, whose
    requests are not counted).

    Prometheus loses the first increment of a series that appears with it (``rate`` needs two samples), and
    a ratio over a series that never appeared is empty, not 0: the availability rules need the 5xx series
    before the first error. Routes are known only once the service has added them, after ``create_app``, so
    :mod:`seaway.middleware` calls this on a worker's first request (a scrape counts). One status keeps the cost
    bounded (14 samples a route and method): 500 is what an unhandled error becomes; the rules fall back to 0
    for the rest. In multiprocess mode the zeros go to this worker's file and the merged scrape shows them, from
    the worker's first request on: its in-flight counts are written every :data:`WRITE_SECONDS` only.
    """
    methods: set[str] = set()
    for rule in app.url_map.iter_rules():
        if rule.rule in uncounted or rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) & (_METHODS - {"HEAD", "OPTIONS"})):
            SERVER_DURATION.labels(rule.rule, method, "500")
            methods.add(method)
    for method in sorted(methods):
        SERVER_ACTIVE.labels(method)


# Each label set's child, looked up once per process: ``.labels()`` takes a lock and rebuilds its key from the
# values on every call. Bounded like the series themselves (route templates x methods x statuses).
_durations: dict[tuple[str | None, str, int], Any] = {}

WRITE_SECONDS = 0.25
"""In multiprocess mode, how long a worker keeps its request metrics in memory before writing them to its files
(:class:`_RequestMetrics`)."""


class _RequestMetrics:
    """A worker's request metrics (duration histogram, in-flight gauge) in memory, written to its metric files
    every :data:`WRITE_SECONDS` by a thread of the process, before this process serves a scrape, and when it
    stops (a :mod:`seaway.lifecycle` hook, as gunicorn's ``worker_exit`` runs it).

    In multiprocess mode each observation was four writes to memory-mapped files (the histogram's sum and bucket,
    the gauge up and down), each behind a lock and a pid check: a fifth of the kit's cost per request under
    gunicorn. Kept in memory, a request adds to a few numbers, and a write covers every request of the interval.
    A scrape is at most :data:`WRITE_SECONDS` behind for the other workers' requests (Prometheus scrapes every
    15 to 60 s); a SIGKILLed worker loses at most that much of its counts, as it loses its held access lines.
    The in-flight gauge shows each worker's count at its last write.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._observed: dict[tuple[str | None, str, int], list[float]] = {}  # key -> [sum, count per bucket...]
        self._active: dict[str, int] = {}
        self._writer: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forked)

    def observe(self, key: tuple[str | None, str, int], seconds: float) -> None:
        bucket = 1 + bisect.bisect_left(_BUCKET_BOUNDS, seconds)  # as Histogram.observe: the first bound >= value
        with self._lock:
            counts = self._observed.get(key)
            if counts is None:
                counts = self._observed[key] = [0.0] * (len(_BUCKET_BOUNDS) + 1)
            counts[0] += seconds
            counts[bucket] += 1
        if self._writer is None:
            self.start_writer()

    def add_active(self, method: str, change: int) -> None:
        with self._lock:
            self._active[method] = self._active.get(method, 0) + change

    def write(self) -> None:
        """Write what this process holds to its metric files now."""
        with self._lock:
            observed, self._observed = self._observed, {}
            active = dict(self._active)
        for key, counts in observed.items():
            child = _duration_child(key)
            # prometheus_client has no call for many observations at once: its histogram child's own values.
            child._sum.inc(counts[0])
            for bucket, count in enumerate(counts[1:]):
                if count:
                    child._buckets[bucket].inc(count)
        for method, count in active.items():
            SERVER_ACTIVE.labels(method).set(count)

    def start_writer(self) -> None:
        """Start this process's writer (once)."""
        with self._lock:
            if self._writer is not None:
                return
            self._writer = threading.Thread(target=self._write_every_interval, name="seaway-metrics", daemon=True)
        self._writer.start()
        lifecycle.on_shutdown(self.write)

    def _write_every_interval(self) -> None:
        while True:
            time.sleep(WRITE_SECONDS)
            try:
                self.write()
            except Exception:  # the next interval tries again: a writer that stopped would freeze the metrics
                log.exception("could not write the request metrics")

    def _forked(self) -> None:
        """In a forked child (a gunicorn worker): nothing of the parent's is held here, and no writer came along."""
        self._lock = threading.Lock()
        self._observed, self._active, self._writer = {}, {}, None


class _InFlight:
    """The in-flight count of one method, held in memory (:class:`_RequestMetrics`)."""

    __slots__ = ("method",)

    def __init__(self, method: str) -> None:
        self.method = method

    def inc(self) -> None:
        _held.add_active(self.method, 1)

    def dec(self) -> None:
        _held.add_active(self.method, -1)


_BUCKET_BOUNDS = (*_LATENCY_BUCKETS, float("inf"))
# In multiprocess mode (where writes are costly), the request metrics held in memory; None: written at once.
_held = _RequestMetrics() if os.environ.get(MULTIPROC_ENV) else None
_in_flight: dict[str, Any] = {}


def in_flight(method: str) -> Any:
    """The in-flight gauge of requests with ``method`` (``_OTHER`` when it is not a standard HTTP method): the
    caller increments it as a request begins and decrements it once the request is handled."""
    if method not in _METHODS:
        method = "_OTHER"
    child = _in_flight.get(method)
    if child is None:
        if _held is None:
            child = SERVER_ACTIVE.labels(method)
        else:
            _held.start_writer()
            child = _InFlight(method)
        _in_flight[method] = child
    return child


def request_handled(route: str | None, method: str, status: int, seconds: float) -> None:
    """A request's response is made: its duration by route template (None: it matched no route), method and
    status."""
    if method not in _METHODS:
        method = "_OTHER"
    key = (route, method, status)
    if _held is not None:
        _held.observe(key, seconds)
    else:
        _duration_child(key).observe(seconds)


def _duration_child(key: tuple[str | None, str, int]) -> Any:
    child = _durations.get(key)
    if child is None:
        route, method, status = key
        child = _durations[key] = SERVER_DURATION.labels(route or UNMATCHED_ROUTE, method, str(status))
    return child


def _scrape() -> Response:
    """The whole pod's metrics, merged from every process's files in multiprocess mode (this process's own
    requests written first; the other workers' are at most :data:`WRITE_SECONDS` behind)."""
    if _held is not None:
        _held.write()
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def registry() -> Any:
    """A registry to read this pod's metrics from: all processes' files, or this process alone."""
    if multiprocess_dir() is None:
        return REGISTRY
    merged = CollectorRegistry()
    _multiprocess.MultiProcessCollector(merged)
    return merged


def worker_died(pid: int) -> None:
    """In the gunicorn master after a worker exited: its live gauges no longer count."""
    if multiprocess_dir() is not None:
        _multiprocess.mark_process_dead(pid)
