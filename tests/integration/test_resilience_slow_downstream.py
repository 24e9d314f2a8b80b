"""A catalog slower than the gateway's timeout (its /chaos latency): the gateway answers every product call
with problem+json within its deadline, never holds its threads longer, and keeps serving order lookups."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import GENEROUS_RATE_LIMIT, start_storefront
from tests.processes import wait_for

GATEWAY_TIMEOUT = 1.0  # seconds, the gateway's CLIENT_TIMEOUT_SECONDS
CATALOG_LATENCY = 8.0  # seconds the catalog now takes for everything
PRODUCT_ROUTE = "/api/products/<product_id>"


@pytest.fixture
def shop(moto, redis_server):
    shop = start_storefront(
        moto,
        redis_url=redis_server.url,
        gateway=GENEROUS_RATE_LIMIT | {"CLIENT_TIMEOUT_SECONDS": str(GATEWAY_TIMEOUT), "BREAKER_RESET_SECONDS": "1"},
        catalog={"CHAOS_ENABLED": "true", "WORKER_THREADS": "16"},  # the slow requests must not starve /chaos
    )
    yield shop
    requests.delete(shop.catalog.url + "/chaos", timeout=10)
    shop.stop()


def handling_seconds(gateway, route: str) -> tuple[float, float]:
    """(requests of ``route`` handled within 2.5 s, all requests of it), from the gateway's own histogram."""
    within = total = 0.0
    for family in text_string_to_metric_families(gateway.get("/metrics").text):
        for sample in family.samples:
            if sample.labels.get("http_route") != route or not sample.name.endswith("_bucket"):
                continue
            if sample.labels["le"] == "2.5":
                within += sample.value
            elif sample.labels["le"] == "+Inf":
                total += sample.value
    return within, total


def test_a_catalog_slower_than_the_deadline_costs_product_calls_only_and_never_holds_gateway_threads(shop):
    gateway = shop.gateway
    customer = shop.sign_in()
    order = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}
    placed = gateway.post("/api/orders", json=order, headers=customer)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert requests.put(shop.catalog.url + "/chaos", json={"latency_seconds": CATALOG_LATENCY}, timeout=5).ok

    product_answers: list[tuple[int, str, float]] = []
    stop = threading.Event()

    def keep_asking_for_products() -> None:
        while not stop.is_set():
            began = time.monotonic()
            answer = requests.get(gateway.url + "/api/products/espresso-beans", timeout=30)
            product_answers.append((answer.status_code, answer.headers["Content-Type"], time.monotonic() - began))

    # Twice as many callers of the slow route as the gateway has request threads (2 workers x 4).
    callers = [threading.Thread(target=keep_asking_for_products, daemon=True) for _ in range(16)]
    for caller in callers:
        caller.start()
    try:
        time.sleep(0.5)  # the slow calls are in flight
        lookups = []
        for _ in range(10):
            began = time.monotonic()
            answer = gateway.get(f"/api/orders/{order_id}", headers=customer, timeout=30)
            lookups.append((answer.status_code, time.monotonic() - began))
            time.sleep(0.2)
        in_flight_meanwhile = sum(caller.is_alive() for caller in callers)
    finally:
        stop.set()
        for caller in callers:
            caller.join(timeout=30)

    assert in_flight_meanwhile == len(callers)
    assert [status for status, _ in lookups] == [200] * 10
    assert max(seconds for _, seconds in lookups) < 2 * GATEWAY_TIMEOUT + 1, lookups
    assert len(product_answers) >= 16
    assert {status for status, _, _ in product_answers} <= {503, 504}
    assert {content_type for _, content_type, _ in product_answers} == {"application/problem+json"}
    # Seen by the callers, queueing for a gateway thread included: far below the catalog's 8 s.
    assert max(seconds for _, _, seconds in product_answers) < 3 * GATEWAY_TIMEOUT + 1
    # Seen by the gateway: no product call held a thread much past its 1 s timeout.
    # (The gateway's workers write their request metrics every quarter second: wait for every answer's.)
    within, total = wait_for(
        lambda: (found := handling_seconds(gateway, PRODUCT_ROUTE))[1] >= len(product_answers) and found,
        timeout=10,
        message="the gateway's histogram to hold every product call",
    )
    assert within == total

    # A caller's own, shorter deadline bounds the call too.
    began = time.monotonic()
    answer = gateway.get("/api/products/espresso-beans", headers={"x-envoy-expected-rq-timeout-ms": "300"})
    assert answer.status_code in (503, 504) and time.monotonic() - began < 1.0

    # And once the catalog is fast again, product calls recover without restarting anything.
    assert requests.delete(shop.catalog.url + "/chaos", timeout=30).status_code == 204
    deadline = time.monotonic() + 30
    while gateway.get("/api/products/espresso-beans").status_code != 200:
        assert time.monotonic() < deadline, "product calls did not recover"
        time.sleep(0.5)


def test_orders_passes_a_catalog_that_says_later_on_as_503_not_502(shop):
    """A catalog answering 503 is "try again later": orders says the same, with Retry-After, and stores nothing."""
    assert requests.put(shop.catalog.url + "/chaos", json={"status": 503}, timeout=5).ok
    customer = shop.sign_in()
    order = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}
    answer = shop.orders.post("/orders", json=order, headers={"Idempotency-Key": "catalog-later-1", **customer})
    assert answer.status_code == 503, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) >= 1
    assert shop.orders.get("/orders", headers=customer).json()["items"] == []
