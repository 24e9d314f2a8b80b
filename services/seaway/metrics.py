"""Prometheus metrics of every Seaway service, named after the OpenTelemetry semantic conventions.

The names and labels are a contract: dashboards and alerts in ``k8s/`` depend on them.

- ``http_server_request_duration_seconds{http_route, http_request_method, http_response_status_code}``
- ``http_server_active_requests{http_request_method}``
- ``http_client_request_duration_seconds{peer_service, http_request_method, http_response_status_code}``
- ``seaway_events_published_total{topic, event_type}``
- ``seaway_events_total{queue, event_type, outcome}`` with outcome processed, failed, dead_lettered, duplicate
- ``seaway_event_age_seconds{queue, event_type}``: from publication to processing
- ``seaway_cache_requests_total{cache, result}`` with result hit or miss
- ``seaway_circuit_breaker_state{peer_service}``: 0 closed, 1 half-open, 2 open

Services record through the functions below, never by making metrics of their own.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Few buckets: every series lives in every worker's file in multiprocess mode.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_AGE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

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
CLIENT_DURATION = Histogram(
    "http_client_request_duration_seconds",
    "Duration of HTTP calls to other services.",
    ["peer_service", "http_request_method", "http_response_status_code"],
    buckets=_LATENCY_BUCKETS,
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

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def client_request(peer_service: str, method: str, status: int | str, seconds: float) -> None:
    """An outbound HTTP call finished (status ``"error"`` when no response came back)."""
    CLIENT_DURATION.labels(peer_service, method, str(status)).observe(seconds)


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
