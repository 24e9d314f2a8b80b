"""The catalog under real gunicorn (2 workers), against a moto server and a real redis-server."""

from __future__ import annotations

import json
import signal
import socket
import time
import uuid

import pytest
import redis
import requests

from tests.conftest import create_resources
from tests.processes import Service, answers, wait_for, wait_for_status

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def catalog(moto, redis_server):
    env = create_resources(moto, "catalog") | {"REDIS_URL": redis_server.url}
    service = Service("catalog", env).start()
    yield service
    service.stop()


def new_product(**fields) -> dict:
    return {"id": f"test-{uuid.uuid4().hex[:10]}", "name": "Moka pot", "price_cents": 3500, **fields}


def count_products(service) -> int:
    total, cursor = 0, None
    while True:
        page = service.get("/products", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


def test_create_get_update_and_list_products_over_http(catalog):
    created = catalog.post("/products", json=new_product(description="Stovetop, 6 cups"))
    assert created.status_code == 201
    product = created.json()
    assert created.headers["Location"] == f"/products/{product['id']}"
    assert product["currency"] == "USD" and product["price_cents"] == 3500

    assert catalog.get(f"/products/{product['id']}").json() == product

    updated = catalog.patch(f"/products/{product['id']}", json={"price_cents": 3900})
    assert updated.status_code == 200
    assert updated.json()["price_cents"] == 3900
    assert catalog.get(f"/products/{product['id']}").json()["price_cents"] == 3900


def test_list_pages_through_every_product_with_a_cursor(catalog):
    ids = {catalog.post("/products", json=new_product()).json()["id"] for _ in range(5)}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = catalog.get("/products", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids <= set(seen)
    assert len(seen) == len(set(seen)), "a product appeared on two pages"
    assert pages >= 3


def test_a_read_fills_the_redis_key_and_a_write_removes_it(catalog, redis_server):
    product = catalog.post("/products", json=new_product()).json()
    cache = redis.Redis.from_url(redis_server.url)
    key = f"catalog:product:{product['id']}"
    assert cache.get(key) is None

    catalog.get(f"/products/{product['id']}")
    assert json.loads(cache.get(key)) == product
    assert 0 < cache.ttl(key) <= 60

    catalog.patch(f"/products/{product['id']}", json={"name": "Moka pot, 3 cups"})
    assert cache.get(key) is None
    assert catalog.get(f"/products/{product['id']}").json()["name"] == "Moka pot, 3 cups"


def test_a_cached_product_is_served_from_redis(catalog, redis_server):
    product = catalog.post("/products", json=new_product()).json()
    catalog.get(f"/products/{product['id']}")
    cache = redis.Redis.from_url(redis_server.url)
    key = f"catalog:product:{product['id']}"
    cache.set(key, json.dumps({**product, "name": "from the cache"}), ex=60)
    assert catalog.get(f"/products/{product['id']}").json()["name"] == "from the cache"


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (dict(data="{not json", headers={"Content-Type": "application/json"}), 400),
        (dict(data="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415),
        (dict(json={"name": "Cup", "price_cents": "12"}), 422),
        (dict(json={"name": "Cup", "price_cents": -1}), 422),
        (dict(json={"price_cents": 100}), 422),
        (dict(json={"name": "Cup", "price_cents": 100, "colour": "red"}), 422),
        (dict(json={"id": "Not An Id!", "name": "Cup", "price_cents": 100}), 422),
        (dict(json={"name": "x" * 2_000_000, "price_cents": 1}), 413),
    ],
    ids=[
        "malformed-json",
        "not-json",
        "wrong-type",
        "negative-price",
        "missing-field",
        "unknown-field",
        "bad-id",
        "oversize-body",
    ],
)
def test_bad_input_gets_problem_json_and_writes_nothing(catalog, send, status):
    before = count_products(catalog)
    answer = catalog.post("/products", **send)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == status and problem["title"]
    assert "Traceback" not in answer.text
    assert problem["request_id"] == answer.headers["X-Request-ID"]
    assert count_products(catalog) == before


def test_bad_update_gets_problem_json_and_changes_nothing(catalog):
    product = catalog.post("/products", json=new_product()).json()
    answer = catalog.patch(f"/products/{product['id']}", json={"price_cents": "free"})
    assert answer.status_code == 422
    assert [error["path"] for error in answer.json()["errors"]] == ["/price_cents"]
    assert catalog.patch(f"/products/{product['id']}", json={}).status_code == 422
    assert catalog.get(f"/products/{product['id']}").json() == product


def test_unknown_ids_routes_and_methods_get_problem_json(catalog):
    for answer, status in [
        (catalog.get("/products/no-such-product"), 404),
        (catalog.patch("/products/no-such-product", json={"name": "x"}), 404),
        (catalog.get("/no/such/route"), 404),
        (requests.delete(catalog.url + "/products", timeout=5), 405),
        (catalog.get("/products", params={"limit": "0"}), 400),
        (catalog.get("/products", params={"cursor": "garbage!"}), 400),
    ]:
        assert answer.status_code == status, answer.text
        assert answer.headers["Content-Type"] == PROBLEM


def test_creating_an_existing_id_is_a_conflict(catalog):
    product = new_product()
    assert catalog.post("/products", json=product).status_code == 201
    answer = catalog.post("/products", json={**product, "name": "Other"})
    assert answer.status_code == 409
    assert catalog.get(f"/products/{product['id']}").json()["name"] == "Moka pot"


def test_request_id_is_taken_from_the_caller_or_generated(catalog):
    assert catalog.get("/livez", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = catalog.get("/livez", headers={"X-Request-ID": "bad id\u00e9"}).headers["X-Request-ID"]
    assert generated != "bad id" and len(generated) == 32


def test_logs_are_one_json_object_per_line_with_service_and_request_id(catalog):
    catalog.get("/products/no-such-product", headers={"X-Request-ID": "log-check-1"})
    lines = wait_for(
        lambda: [line for line in catalog.output().splitlines() if "log-check-1" in line], message="the access log line"
    )
    entry = json.loads(lines[0])
    assert entry["service"] == "catalog" and entry["level"] == "INFO"
    assert entry["request_id"] == "log-check-1"
    assert entry["route"] == "/products/<product_id>" and entry["status"] == 404
    for line in catalog.output().splitlines():
        json.loads(line)  # every line the service printed is JSON


def test_readiness_fails_naming_redis_while_it_is_down_and_recovers(moto, private_redis, start_service):
    env = create_resources(moto, "catalog") | {"REDIS_URL": private_redis.url, "READINESS_CACHE_SECONDS": "0.2"}
    catalog = start_service("catalog", env)
    private_redis.stop()
    answer = wait_for_status(f"{catalog.url}/readyz", 503)
    assert answer.headers["Content-Type"] == PROBLEM
    assert answer.json()["checks"]["dynamodb"] == "ok"
    assert answer.json()["checks"]["redis"].startswith("failed")
    assert "redis" in answer.json()["detail"]
    # Reads still work without the cache.
    assert catalog.get("/products").status_code == 200
    private_redis.start()
    wait_for(lambda: answers(f"{catalog.url}/readyz"), message="readiness 200 again")


def test_readiness_fails_naming_dynamodb_while_it_is_down_and_recovers(private_moto, start_service):
    env = create_resources(private_moto, "catalog") | {"READINESS_CACHE_SECONDS": "0.2"}
    catalog = start_service("catalog", env)
    private_moto.stop()
    answer = wait_for_status(f"{catalog.url}/readyz", 503)
    assert answer.json()["checks"]["dynamodb"].startswith("failed")
    assert "dynamodb" in answer.json()["detail"]
    unavailable = catalog.get("/products/anything")
    assert unavailable.status_code == 503 and unavailable.headers["Content-Type"] == PROBLEM
    private_moto.start()
    create_resources(private_moto, "catalog")  # the emulator keeps nothing across a restart
    wait_for(lambda: answers(f"{catalog.url}/readyz"), message="readiness 200 again")


def test_sigterm_during_a_request_lets_it_finish_while_readiness_fails(moto, start_service):
    env = create_resources(moto, "catalog") | {"DRAIN_SECONDS": "2", "GRACEFUL_TIMEOUT": "20"}
    catalog = start_service("catalog", env)
    body = json.dumps(new_product()).encode()
    half = len(body) // 2
    # A slow client: the request is in flight, its body half sent, when SIGTERM arrives.
    with socket.create_connection(("127.0.0.1", catalog.port)) as slow:
        slow.sendall(
            b"POST /products HTTP/1.1\r\nHost: catalog\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:half]
        )
        time.sleep(0.5)  # let a worker pick it up
        catalog.signal(signal.SIGTERM)
        draining = wait_for_status(f"{catalog.url}/readyz", 503)
        assert "draining" in draining.json()["detail"]
        assert catalog.get("/livez").status_code == 200  # new connections are still served
        time.sleep(2.5)  # past the drain period: the workers are now stopping gracefully
        slow.sendall(body[half:])
        slow.settimeout(20)
        answer = slow.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 201"), answer
    assert catalog.process.wait(timeout=30) == 0
    assert not answers(f"{catalog.url}/livez")


def test_bad_configuration_stops_with_one_line_naming_the_variable(moto, start_service):
    env = create_resources(moto, "catalog") | {"WORKERS": "many", "CACHE_TTL_SECONDS": "-5"}
    catalog = start_service("catalog", env, wait=False)
    assert catalog.process.wait(timeout=30) == 2
    output = catalog.output().strip()
    assert (
        output.splitlines() == ["seaway: invalid configuration: WORKERS must be an integer (got 'many')"]
        or "CACHE_TTL_SECONDS" in output
    )
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1
