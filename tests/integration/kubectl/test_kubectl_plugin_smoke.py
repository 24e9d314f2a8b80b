"""``kubectl seaway smoke --gateway-url`` as a process against a small fake storefront gateway."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class FakeGateway:
    """The storefront gateway's REST API, as far as the smoke checks use it."""

    products: list = field(default_factory=lambda: [{"id": "p-1", "name": "Anchor", "price": 1200}])
    polls_until_fulfilled: int = 2
    orders: list = field(default_factory=list)
    polls: int = 0

    def answer(self, method: str, path: str, headers, body) -> tuple[int, dict]:
        if (method, path) == ("GET", "/readyz"):
            return 200, {"status": "ready"}
        if (method, path) == ("GET", "/api/products"):
            return 200, {"items": self.products}
        if (method, path) == ("POST", "/api/orders"):
            self.orders.append((dict(headers), body))
            return 201, {"id": "o-42", "status": "pending"}
        if (method, path) == ("GET", "/api/orders/o-42"):
            self.polls += 1
            return 200, {"id": "o-42", "status": "fulfilled" if self.polls >= self.polls_until_fulfilled else "pending"}
        return 404, {"title": "Not Found", "status": 404}


@pytest.fixture
def gateway() -> Iterator[tuple[FakeGateway, str]]:
    fake = FakeGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            code, document = fake.answer(self.command, self.path, self.headers, body)
            data = json.dumps(document).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_smoke_passes_every_check_and_places_one_idempotent_order(gateway, kubectl_seaway):
    fake, url = gateway

    result = kubectl_seaway("smoke", "--gateway-url", url)

    lines = result.stdout.splitlines()
    assert lines[0] == f"smoke checks against {url}"
    assert [line.split("  ")[0] for line in lines[1:5]] == [
        "✓ GET /readyz is 200",
        "✓ GET /api/products lists products",
        "✓ POST /api/orders creates an order (201)",
        "✓ the order is fulfilled within 30s",
    ]
    assert all(re.search(r" \d+\.\d\ds  ", line) for line in lines[1:5])  # each with its time
    assert lines[-1] == "4/4 checks passed"
    ((headers, body),) = fake.orders
    assert body == {"customer_id": "smoke", "items": [{"product_id": "p-1", "quantity": 1}]}
    assert len(headers["Idempotency-Key"]) == 36
    assert result.returncode == 0


def test_smoke_fails_and_skips_the_rest_when_there_are_no_products(gateway, kubectl_seaway):
    fake, url = gateway
    fake.products = []

    result = kubectl_seaway("smoke", "--gateway-url", url)

    lines = result.stdout.splitlines()
    assert lines[1].startswith("✓ GET /readyz is 200")
    assert lines[2].startswith("✗ GET /api/products lists products")
    assert lines[2].endswith("expected a non-empty 'items' list, got []")
    assert lines[3].startswith("- POST /api/orders creates an order (201)")
    assert lines[4].startswith("- the order is fulfilled within 30s")
    assert lines[-1] == "1/4 checks passed"
    assert fake.orders == []
    assert result.returncode == 1


def test_smoke_fails_when_the_order_is_not_fulfilled_in_time(gateway, kubectl_seaway):
    fake, url = gateway
    fake.polls_until_fulfilled = 10**6

    result = kubectl_seaway("smoke", "--gateway-url", url, "--timeout", "0s")

    assert result.stdout.splitlines()[4].startswith("✗ the order is fulfilled within 0s")
    assert result.stdout.splitlines()[4].endswith("status still 'pending' after 0s")
    assert result.returncode == 1


def test_smoke_against_a_gateway_that_is_not_there_fails_the_first_check(closed_port, kubectl_seaway):
    result = kubectl_seaway("smoke", "--gateway-url", f"http://127.0.0.1:{closed_port}")

    assert result.stdout.splitlines()[1].startswith("✗ GET /readyz is 200")
    assert "cannot connect" in result.stdout.splitlines()[1]
    assert result.returncode == 1
