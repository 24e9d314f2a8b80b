"""Bad input gets a 4xx problem+json on every service, and nothing is stored: JSON nested 10,000 levels deep
(it made RecursionError, a 500), a 2 MB chunked body (it was cut to the 1 MiB limit and processed), ids with a
trailing newline and ids that are ``..`` (the gateway relayed ``/api/customers/../orders`` as ``/orders``).
Real requests, over real sockets where a client library would tidy the request up, to the shared storefront; the
order routes with a signed-in customer's token, so that it is the input that is refused, not the caller.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests

PROBLEM_JSON = "application/problem+json"
NESTED = b"[" * 10_000 + b"]" * 10_000

# Every operation of every service that takes a body; fulfillment takes none, its kit routes stand in.
BODY_ROUTES = [
    ("gateway", "POST", "/api/orders"),
    ("catalog", "POST", "/products"),
    ("catalog", "PATCH", "/products/espresso-beans"),
    ("orders", "POST", "/orders"),
    ("orders", "PUT", "/internal/orders/some-order/fulfillment"),
    ("fulfillment", "POST", "/livez"),
]


def valid_body(service: str, marker: str) -> dict:
    """A body the route accepts, tagged with ``marker`` where the route would store it (an order is the
    customer's, so it is told apart by the customer who sends it)."""
    order = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}
    return {
        "gateway": order,
        "orders": order,
        "catalog": {"id": marker, "name": "Chunky", "price_cents": 100, "currency": "EUR"},
        "fulfillment": {},
    }[service]


def credentials(storefront, service: str) -> dict[str, str]:
    """A new customer's Authorization header for the services that need one, else nothing."""
    return storefront.sign_in() if service in ("gateway", "orders") else {}


def raw(service, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is (no client-side path normalisation); status, headers, body of the answer."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_problem(answer: requests.Response | tuple, *statuses: int) -> None:
    if isinstance(answer, tuple):
        status, headers, body = answer
    else:
        status, headers, body = answer.status_code, answer.headers, answer.content
    assert status in statuses, (status, body[:300])
    assert headers.get("content-type") == PROBLEM_JSON, headers
    assert json.loads(body)["status"] == status


@pytest.mark.parametrize(("service", "method", "path"), BODY_ROUTES)
def test_json_nested_ten_thousand_levels_is_a_400_problem(storefront, service, method, path):
    answer = requests.request(
        method,
        storefront.services[service].url + path,
        data=NESTED,
        headers={"Content-Type": "application/json", **credentials(storefront, service)},
        timeout=10,
    )
    assert_problem(answer, 400, 405)
    if service != "fulfillment":
        assert answer.status_code == 400


@pytest.mark.parametrize(("service", "method", "path"), BODY_ROUTES)
def test_a_chunked_body_over_the_limit_is_a_413_problem_and_nothing_is_stored(storefront, service, method, path):
    marker = f"chunky-{service}-{method.lower()}"
    # Valid JSON first, then whitespace to 2 MB: the first MiB alone would parse and be processed.
    start = json.dumps(valid_body(service, marker)).encode()
    body = start + b" " * (2_000_000 - len(start))

    def chunks():
        for offset in range(0, len(body), 65536):
            yield body[offset : offset + 65536]

    target = storefront.services[service].url + path
    customer = credentials(storefront, service)
    headers = {"Content-Type": "application/json", **customer}
    answer = requests.request(method, target, data=chunks(), headers=headers, timeout=30)

    assert "Content-Length" not in answer.request.headers and answer.request.headers["Transfer-Encoding"] == "chunked"
    assert_problem(answer, 413, 405)
    if service != "fulfillment":
        assert answer.status_code == 413
    if customer:
        assert storefront.gateway.get("/api/me/orders", headers=customer).json()["items"] == []
    assert storefront.catalog.get(f"/products/{marker}").status_code == 404


def test_a_chunked_body_within_the_limit_is_read_whole(storefront):
    start = json.dumps(valid_body("catalog", "chunked-small")).encode()
    body = start + b" " * 200_000

    answer = requests.post(
        storefront.catalog.url + "/products",
        data=iter([body[:100_000], body[100_000:]]),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 201, answer.text
    assert storefront.catalog.get("/products/chunked-small").json()["name"] == "Chunky"


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [("gateway", "POST", "/api/orders"), ("orders", "POST", "/orders"), ("catalog", "POST", "/products")],
)
def test_an_id_with_a_trailing_newline_in_a_body_is_a_422_and_nothing_is_stored(storefront, service, method, path):
    body = valid_body(service, "ada\n")
    if "items" in body:
        body = {"items": [{"product_id": "espresso-beans\n", "quantity": 1}]}
    customer = credentials(storefront, service)
    answer = requests.request(method, storefront.services[service].url + path, json=body, headers=customer, timeout=10)

    assert_problem(answer, 422)
    if customer:
        assert storefront.gateway.get("/api/me/orders", headers=customer).json()["items"] == []
    assert storefront.catalog.get("/products/ada%0A").status_code == 404


ID_PATHS = [
    ("gateway", "GET", "/api/orders/{}"),
    ("gateway", "GET", "/api/products/{}"),
    ("orders", "GET", "/orders/{}"),
    ("orders", "PUT", "/internal/orders/{}/fulfillment"),
    ("catalog", "GET", "/products/{}"),
    ("catalog", "PATCH", "/products/{}"),
]


@pytest.mark.parametrize(("service", "method", "template"), ID_PATHS)
@pytest.mark.parametrize("bad_id", ["ada%0A", "espresso-beans%0a", "..", "%2e%2e", ".%2E", "..%0A", ".hidden"])
def test_a_path_id_with_a_newline_or_dots_is_a_4xx_problem_never_relayed(storefront, service, method, template, bad_id):
    body = b'{"status": "fulfilled"}' if method in ("PUT", "PATCH") else b""
    authorization = "".join(f"{k}: {v}\r\n" for k, v in credentials(storefront, service).items())
    request = (
        f"{method} {template.format(bad_id)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{authorization}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    status, headers, answer = raw(storefront.services[service], request)

    # 404: no such resource can exist (a bad path parameter is a 404, as the README says); never a 405 or 200
    # from a peer reached at another path.
    assert_problem((status, headers, answer), 404, 400)
