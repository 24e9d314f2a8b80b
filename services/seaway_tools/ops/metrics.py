"""Live metrics for the view: scrape each service's ``/metrics`` every few seconds and keep a few minutes.

From the kit's metrics (:mod:`seaway.metrics`) a scrape keeps only what the view draws, per service:

- per route and method, from ``http_server_request_duration_seconds``: the request count, the 5xx count and
  the cumulative buckets (summed over status codes), for request rate, error ratio and p50/p99 latency;
- ``seaway_events_total`` by queue, event type and outcome (the consumer's outcomes);
- ``http_client_request_duration_seconds`` counts by peer service (the call rates on the topology's edges).

Bounded: :data:`HISTORY` scrapes a service (every :data:`SCRAPE_SECONDS` seconds: six minutes), and the
series are the routes a service has (the kit labels by route template). A scrape is one GET of the text a
Prometheus server would read; the services do nothing more for the view than for it.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

SCRAPE_SECONDS = 5.0
HISTORY = 72
WINDOW_SECONDS = 60.0
"""The table's figures are over the last minute."""


@dataclass(frozen=True)
class RouteCounts:
    count: float
    errors: float
    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count), ascending, +Inf last


@dataclass(frozen=True)
class Scrape:
    time: float
    routes: dict[str, RouteCounts]  # "METHOD route"
    events: dict[str, float]  # "queue event_type outcome"
    calls: dict[str, float]  # peer service -> calls made


def parse(text: str, at: float) -> Scrape:
    """The parts of one ``/metrics`` text the view uses."""
    routes: dict[str, dict[str, Any]] = {}
    events: dict[str, float] = {}
    calls: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "http_server_request_duration_seconds":
            for sample in family.samples:
                labels = sample.labels
                key = f"{labels.get('http_request_method', '')} {labels.get('http_route', '')}"
                route = routes.setdefault(key, {"count": 0.0, "errors": 0.0, "buckets": {}})
                if sample.name.endswith("_count"):
                    route["count"] += sample.value
                    if labels.get("http_response_status_code", "").startswith("5"):
                        route["errors"] += sample.value
                elif sample.name.endswith("_bucket"):
                    bound = float(labels["le"])
                    route["buckets"][bound] = route["buckets"].get(bound, 0.0) + sample.value
        elif family.name == "seaway_events":
            for sample in family.samples:
                if sample.name == "seaway_events_total":
                    labels = sample.labels
                    events[f"{labels['queue']} {labels['event_type']} {labels['outcome']}"] = sample.value
        elif family.name == "http_client_request_duration_seconds":
            for sample in family.samples:
                if sample.name.endswith("_count"):
                    peer = sample.labels.get("peer_service", "")
                    calls[peer] = calls.get(peer, 0.0) + sample.value
    return Scrape(
        at,
        {
            key: RouteCounts(route["count"], route["errors"], tuple(sorted(route["buckets"].items())))
            for key, route in routes.items()
        },
        events,
        calls,
    )


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile`` over cumulative ``buckets``: linear within the bucket it falls in."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def _between(before: RouteCounts | None, after: RouteCounts, seconds: float) -> dict[str, Any] | None:
    """Rate, error ratio and p50/p99 of the requests between two scrapes; None across a restart."""
    base = before or RouteCounts(0.0, 0.0, ())
    requests = after.count - base.count
    if requests < 0 or seconds <= 0:
        return None
    earlier = dict(base.buckets)
    deltas = [(bound, count - earlier.get(bound, 0.0)) for bound, count in after.buckets]
    return {
        "rate": requests / seconds,
        "error_ratio": (after.errors - base.errors) / requests if requests else None,
        "p50": quantile(0.5, deltas) if requests else None,
        "p99": quantile(0.99, deltas) if requests else None,
    }


def _increase(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Per-second increase of each counter between two scrapes (a counter that went back: a restart)."""
    return {key: max(value - before.get(key, 0.0), 0.0) / seconds for key, value in after.items()} if seconds else {}


@dataclass
class MetricsStore:
    """The last ``history`` scrapes of each service."""

    history: int = HISTORY
    _scrapes: dict[str, deque[Scrape]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, service: str, scrape: Scrape) -> None:
        with self._lock:
            self._scrapes.setdefault(service, deque(maxlen=self.history)).append(scrape)

    def summary(self, window: float = WINDOW_SECONDS) -> dict[str, Any]:
        """Per service: each route's series (one point a scrape) and its last-minute figures; the events'
        totals and rates; the call rates to each peer over the last minute."""
        with self._lock:
            scrapes = {service: list(history) for service, history in self._scrapes.items()}
        answer = {}
        for service, history in scrapes.items():
            if not history:
                continue
            latest = history[-1]
            earlier = next((s for s in history if s.time >= latest.time - window), history[0])
            if earlier is latest and len(history) > 1:
                earlier = history[-2]
            span = latest.time - earlier.time
            routes = {}
            for key, counts in sorted(latest.routes.items()):
                series = []
                for before, after in itertools.pairwise(history):
                    if key in after.routes:
                        point = _between(before.routes.get(key), after.routes[key], after.time - before.time)
                        if point is not None:
                            series.append({"time": after.time, **point})
                routes[key] = {"series": series, "last": _between(earlier.routes.get(key), counts, span)}
            event_rates = _increase(earlier.events, latest.events, span)
            answer[service] = {
                "scraped_at": latest.time,
                "routes": routes,
                "events": {
                    key: {"total": value, "rate": event_rates.get(key, 0.0)}
                    for key, value in sorted(latest.events.items())
                },
                "calls": _increase(earlier.calls, latest.calls, span),
            }
        return answer


@dataclass
class Scraper:
    """A thread that scrapes ``targets()`` (service name -> base URL of the ones running) into ``store``."""

    store: MetricsStore
    targets: Callable[[], dict[str, str]]
    interval: float = SCRAPE_SECONDS
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Scraper:
        threading.Thread(target=self._run, name="ops-scraper", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()

    def scrape_once(self) -> None:
        for service, url in self.targets().items():
            try:
                with urllib.request.urlopen(url + "/metrics", timeout=2) as answer:
                    text = answer.read().decode("utf-8", "replace")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                continue
            try:
                self.store.add(service, parse(text, time.time()))
            except ValueError:
                continue  # not the Prometheus text format: nothing to keep from it

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.scrape_once()
            self._stopping.wait(self.interval)
