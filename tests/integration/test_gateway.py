"""The gateway under real gunicorn: rate limits, the web page, and degrading instead of cascading when a
service behind it is down."""

from __future__ import annotations

import uuid

import redis
import requests

from tests.conftest import GENEROUS_RATE_LIMIT, storefront_env
from tests.processes import free_port, wait_for

PROBLEM = "application/problem+json"
BREAKER = ("seaway_circuit_breaker_state", (("peer_service", "catalog"),))


def gateway_env(storefront, **changes) -> dict[str, str]:
    """A gateway of its own in front of the shared storefront's services."""
    return {
        "CATALOG_URL": storefront.catalog.url,
        "ORDERS_URL": storefront.orders.url,
        **storefront.auth_env,
        **GENEROUS_RATE_LIMIT,
        **changes,
    }


def calls_to_catalog(gateway) -> float:
    """Calls the gateway's client actually sent to the catalog, over both workers."""
    return sum(
        value
        for (name, labels), value in gateway.scrape().items()
        if name == "http_client_request_duration_seconds_count" and ("peer_service", "catalog") in labels
    )


def test_the_rate_limit_holds_per_client_across_workers_through_redis(storefront, redis_server, start_service):
    env = gateway_env(
        storefront,
        REDIS_URL=redis_server.url,
        RATE_LIMIT_BURST="3",
        RATE_LIMIT_PER_SECOND="0.01",
        TRUSTED_PROXY_HOPS="2",
    )
    gateway = start_service("gateway", env)
    client = f"203.0.113.{uuid.uuid4().int % 250}"
    headers = {"X-Forwarded-For": f"{client}, 10.0.0.1"}
    # A new connection each time, so the two workers share the requests between them.
    answers = [
        requests.get(f"{gateway.url}/api/products/espresso-beans", headers=headers, timeout=10) for _ in range(6)
    ]
    assert [answer.status_code for answer in answers] == [200] * 3 + [429] * 3
    limited = answers[-1]
    assert limited.headers["Content-Type"] == PROBLEM
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["status"] == 429
    assert redis.Redis.from_url(redis_server.url).exists(f"gateway:ratelimit:{client}")
    # Another client has its own bucket; the page and the probes are not limited.
    assert gateway.get("/api/products", headers={"X-Forwarded-For": "198.51.100.9"}).status_code == 200
    assert gateway.get("/", headers=headers).status_code == 200
    assert gateway.get("/readyz", headers=headers).status_code == 200


def test_without_trusted_proxies_a_client_cannot_pick_its_bucket_with_x_forwarded_for(
    storefront, redis_server, start_service
):
    env = gateway_env(storefront, REDIS_URL=redis_server.url, RATE_LIMIT_BURST="2", RATE_LIMIT_PER_SECOND="0.01")
    redis.Redis.from_url(redis_server.url).delete("gateway:ratelimit:127.0.0.1")
    gateway = start_service("gateway", env)
    spoofed = [
        requests.get(f"{gateway.url}/api/products", headers={"X-Forwarded-For": f"198.51.100.{n}"}, timeout=10)
        for n in range(4)
    ]
    assert [answer.status_code for answer in spoofed] == [200, 200, 429, 429]


def test_the_web_page_and_its_assets_are_served(storefront):
    page = storefront.gateway.get("/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<script src="/assets/app.js">' in page.text
    # Its scripts may talk to this origin and, to sign in, to the user pool (here the emulator) only.
    emulator = storefront.aws_env["AWS_ENDPOINT_URL"]
    assert f"connect-src 'self' {emulator};" in page.headers["Content-Security-Policy"]
    assert storefront.gateway.get("/api/sign-in").json() == {
        "endpoint": f"{emulator}/",
        "region": "us-east-1",
        "client_id": storefront.aws_env["AUTH_CLIENT_IDS"],
    }
    script = storefront.gateway.get("/assets/app.js")
    assert script.status_code == 200 and "/api/orders" in script.text
    assert storefront.gateway.get("/assets/style.css").status_code == 200
    assert storefront.gateway.get("/assets/nothing.js").status_code == 404


def test_with_the_catalog_down_products_fail_fast_orders_still_work_and_it_recovers(storefront, moto, start_service):
    envs, _ = storefront_env(moto, names=("catalog",))
    catalog = start_service("catalog", envs["catalog"])
    env = gateway_env(storefront, BREAKER_FAILURE_THRESHOLD="2", BREAKER_RESET_SECONDS="2")
    gateway = start_service("gateway", env | {"CATALOG_URL": catalog.url})
    assert gateway.get("/api/products").status_code == 200
    customer = storefront.sign_in()
    order = storefront.gateway.post(
        "/api/orders", json={"items": [{"product_id": "travel-mug", "quantity": 1}]}, headers=customer
    ).json()

    catalog.stop()

    def failing_fast() -> list[requests.Response] | None:
        """A batch of product calls all refused by open breakers, none of them sent to the catalog."""
        before = calls_to_catalog(gateway)
        answers = [gateway.get("/api/products/espresso-beans") for _ in range(6)]
        if not all(answer.status_code == 503 and answer.json().get("circuit") == "open" for answer in answers):
            return None
        metrics = gateway.scrape()
        return answers if calls_to_catalog(gateway) == before and metrics.get(BREAKER) == 2 else None

    answers = wait_for(failing_fast, timeout=30, message="open circuit breakers to the catalog")
    problem = answers[0]
    assert problem.headers["Content-Type"] == PROBLEM and int(problem.headers["Retry-After"]) >= 1
    assert problem.json()["peer_service"] == "catalog"
    # Orders do not need the catalog to be read.
    looked_up = gateway.get(f"/api/orders/{order['id']}", headers=customer)
    assert looked_up.status_code == 200 and looked_up.json()["id"] == order["id"]
    assert gateway.get("/api/me/orders", headers=customer).status_code == 200

    start_service("catalog", envs["catalog"])  # a new catalog on the same port
    wait_for(lambda: gateway.get("/api/products").status_code == 200, timeout=30, message="the gateway to recover")
    wait_for(
        lambda: gateway.get("/api/products").status_code == 200 and gateway.scrape().get(BREAKER) == 0,
        timeout=30,
        message="every worker's breaker to close",
    )


def test_with_orders_down_browsing_still_works(storefront, start_service):
    gateway = start_service("gateway", gateway_env(storefront, ORDERS_URL=f"http://127.0.0.1:{free_port()}"))
    assert gateway.get("/api/products").status_code == 200
    assert gateway.get("/api/products/espresso-beans").json()["id"] == "espresso-beans"
    customer = storefront.sign_in()
    for answer in (
        gateway.get("/api/orders/o-anything", headers=customer),
        gateway.post("/api/orders", json={"items": [{"product_id": "travel-mug", "quantity": 1}]}, headers=customer),
    ):
        assert answer.status_code == 503
        assert answer.headers["Content-Type"] == PROBLEM
        assert answer.json()["peer_service"] == "orders"


def test_a_callers_deadline_bounds_the_calls_behind_the_gateway(storefront, moto, start_service):
    envs, _ = storefront_env(moto, names=("catalog",))
    catalog = start_service("catalog", envs["catalog"] | {"CHAOS_ENABLED": "true"})
    gateway = start_service("gateway", gateway_env(storefront, CATALOG_URL=catalog.url, CLIENT_TIMEOUT_SECONDS="10"))
    assert requests.put(f"{catalog.url}/chaos", json={"latency_seconds": 1.5}, timeout=5).status_code == 200

    hurried = gateway.get("/api/products", headers={"x-envoy-expected-rq-timeout-ms": "300"})
    assert hurried.status_code == 504, hurried.text
    assert hurried.headers["Content-Type"] == PROBLEM
    assert hurried.json()["peer_service"] == "catalog" and hurried.json()["reason"] == "timeout"
    assert gateway.get("/api/products").status_code == 200  # without a deadline, the slow catalog is waited for

    spent = gateway.get("/api/products", headers={"x-envoy-expected-rq-timeout-ms": "0"})
    assert spent.status_code == 504 and spent.headers["Content-Type"] == PROBLEM
