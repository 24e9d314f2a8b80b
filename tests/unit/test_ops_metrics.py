"""The ops view's metrics: rates, error ratios and quantiles from two scrapes of the kit's own metric text."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from seaway.service import discover
from seaway_tools.ops.metrics import MetricsStore, parse, quantile
from seaway_tools.ops.topology import topology

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class KitMetricFamilies:
    """The kit's metric families, under their contract names, in a registry of the test's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["http_route", "http_request_method", "http_response_status_code"]
        self.server = Histogram(
            "http_server_request_duration_seconds", "", labels, buckets=BUCKETS, registry=self.registry
        )
        self.client = Histogram(
            "http_client_request_duration_seconds",
            "",
            ["peer_service", "http_request_method", "http_response_status_code"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.events = Counter("seaway_events", "", ["queue", "event_type", "outcome"], registry=self.registry)

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def test_two_scrapes_give_rate_error_ratio_and_quantiles_per_route():
    service = KitMetricFamilies()
    service.server.labels("/orders", "POST", "201").observe(0.02)
    store = MetricsStore()
    store.add("orders", parse(service.text(), at=100.0))
    for _ in range(90):
        service.server.labels("/orders", "POST", "201").observe(0.03)  # in the (0.025, 0.05] bucket
    for _ in range(10):
        service.server.labels("/orders", "POST", "500").observe(0.7)  # in (0.5, 1.0]
    for _ in range(20):
        service.client.labels("catalog", "GET", "200").observe(0.01)
    service.events.labels("fulfillment", "order.placed", "processed").inc(5)
    store.add("orders", parse(service.text(), at=110.0))

    figures = store.summary()["orders"]
    last = figures["routes"]["POST /orders"]["last"]
    assert last["rate"] == pytest.approx(10.0)
    assert last["error_ratio"] == pytest.approx(0.1)
    assert last["p50"] == pytest.approx(0.025 + 0.025 * 50 / 90)
    assert 0.5 < last["p99"] <= 1.0
    assert [point["rate"] for point in figures["routes"]["POST /orders"]["series"]] == [pytest.approx(10.0)]
    assert figures["calls"] == {"catalog": pytest.approx(2.0)}
    assert figures["events"]["fulfillment order.placed processed"] == {"total": 5.0, "rate": pytest.approx(0.5)}


def test_a_restarted_service_counters_going_back_make_no_negative_rate():
    before, after = KitMetricFamilies(), KitMetricFamilies()
    for _ in range(50):
        before.server.labels("/products", "GET", "200").observe(0.01)
    after.server.labels("/products", "GET", "200").observe(0.01)
    store = MetricsStore()
    store.add("catalog", parse(before.text(), at=0.0))
    store.add("catalog", parse(after.text(), at=5.0))
    assert store.summary()["catalog"]["routes"]["GET /products"]["series"] == []


def test_the_history_of_each_service_is_bounded():
    store = MetricsStore(history=3)
    text = KitMetricFamilies().text()
    for second in range(10):
        store.add("catalog", parse(text, at=float(second)))
    assert len(store._scrapes["catalog"]) == 3


def test_quantile_interpolates_as_prometheus_histogram_quantile():
    buckets = [(0.1, 10.0), (0.2, 30.0), (float("inf"), 40.0)]
    assert quantile(0.25, buckets) == pytest.approx(0.1)
    assert quantile(0.5, buckets) == pytest.approx(0.15)
    assert quantile(0.99, buckets) == pytest.approx(0.2)  # in +Inf: the highest finite bound
    assert quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None


def test_the_topology_follows_the_declarations_with_measured_rates_on_the_edges():
    services = [s for s in discover().values() if s.part_of == "storefront"]
    drawn = topology(services, {"gateway": {"calls": {"orders": 1.5}, "routes": {}, "events": {}}})
    edges = {(e["source"], e["target"]): e for e in drawn["edges"]}
    assert edges[("gateway", "orders")]["rate"] == 1.5
    assert edges[("orders", "catalog")]["rate"] is None  # nothing measured yet
    assert ("topic:order-events", "queue:fulfillment") in edges
    assert ("queue:fulfillment", "fulfillment") in edges
    assert ("fulfillment", "orders") in edges
    assert {"ingress", "gateway", "catalog", "orders", "fulfillment", "table:products"} <= {
        n["id"] for n in drawn["nodes"]
    }
