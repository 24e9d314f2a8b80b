"""``kubectl seaway smoke --gateway-url`` as a process: against the real storefront (services under gunicorn, the
emulator's user pool), and against a small stand-in gateway for the failures a healthy storefront cannot show."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seaway_tools.resources import demo_customers

CHECKS = [
    "GET /readyz is 200",
    "GET /api/products lists products",
    "POST /api/orders without a token is refused",
    f"{demo_customers()[0][0]} signs in (Cognito InitiateAuth)",
    "POST /api/orders creates an order (201)",
    "the order is fulfilled within 30s",
    "GET /api/me/orders lists the order",
]


def marks(stdout: str) -> list[str]:
    """Each check's line up to its time: '✓ GET /readyz is 200'."""
    return [line.split("  ")[0] for line in stdout.splitlines()[1:-1]]


def test_smoke_signs_in_as_a_demo_customer_and_the_order_is_fulfilled(storefront, kubectl_seaway):
    url = storefront.gateway.url

    result = kubectl_seaway("smoke", "--gateway-url", url, timeout=60)

    lines = result.stdout.splitlines()
    assert lines[0] == f"smoke checks against {url}"
    assert marks(result.stdout) == [f"✓ {check}" for check in CHECKS], result.stdout + result.stderr
    assert all(re.search(r" \d+\.\d\ds  ", line) for line in lines[1:-1])  # each with its time
    assert lines[3].endswith("401")  # the gateway's own answer (no mesh here)
    assert lines[-1] == "7/7 checks passed"
    assert result.returncode == 0


def test_smoke_with_a_wrong_password_fails_at_sign_in(storefront, kubectl_seaway):
    result = kubectl_seaway(
        "smoke", "--gateway-url", storefront.gateway.url, env={"SEAWAY_CUSTOMER_PASSWORD": "Not-Her-Password-1"}
    )

    assert marks(result.stdout)[:4] == [f"✓ {c}" for c in CHECKS[:3]] + [f"✗ {CHECKS[3]}"]
    assert result.stdout.splitlines()[4].endswith("NotAuthorizedException: Incorrect username or password.")
    assert marks(result.stdout)[4:] == [f"- {c}" for c in CHECKS[4:]]
    assert result.returncode == 1


def test_smoke_without_a_password_for_the_customer_is_a_usage_error(kubectl_seaway):
    result = kubectl_seaway("smoke", "--gateway-url", "http://127.0.0.1:9", "--customer", "someone-else")

    assert (
        result.stderr.strip()
        == "kubectl-seaway: error: no password for customer someone-else: set SEAWAY_CUSTOMER_PASSWORD"
    )
    assert result.stdout == ""
    assert result.returncode == 2


@dataclass
class StandInGateway:
    """The gateway's REST API as far as the smoke checks use it, with faults real services do not have; customers
    sign in against the emulator's real user pool (``sign_in``: what /api/sign-in answers)."""

    sign_in: dict
    products: list = field(default_factory=lambda: [{"id": "p-1", "name": "Anchor", "price": 1200}])
    open_to_anyone: bool = False  # places orders without a token
    orders: list = field(default_factory=list)

    def answer(self, method: str, path: str, headers, body) -> tuple[int, dict]:
        signed_in = (headers.get("Authorization") or "").startswith("Bearer ey")
        if (method, path) == ("GET", "/readyz"):
            return 200, {"status": "ready"}
        if (method, path) == ("GET", "/api/products"):
            return 200, {"items": self.products}
        if (method, path) == ("GET", "/api/sign-in"):
            return 200, self.sign_in
        if (method, path) == ("POST", "/api/orders") and (signed_in or self.open_to_anyone):
            self.orders.append((dict(headers), body))
            return 201, {"id": "o-42", "status": "pending"}
        if (method, path) == ("GET", "/api/orders/o-42") and signed_in:
            return 200, {"id": "o-42", "status": "pending"}  # never fulfilled
        return (401, {"title": "Unauthorized", "status": 401}) if path.startswith("/api/") else (404, {})


@pytest.fixture
def stand_in(storefront) -> Iterator[tuple[StandInGateway, str]]:
    env = storefront.aws_env
    pool = {"endpoint": env["AWS_ENDPOINT_URL"], "region": env["AWS_REGION"], "client_id": env["AUTH_CLIENT_IDS"]}
    fake = StandInGateway(sign_in=pool)

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


def test_smoke_fails_when_orders_are_placed_without_a_token(stand_in, kubectl_seaway):
    fake, url = stand_in
    fake.open_to_anyone = True

    result = kubectl_seaway("smoke", "--gateway-url", url)

    assert marks(result.stdout)[2] == f"✗ {CHECKS[2]}"
    assert "answered 201" in result.stdout.splitlines()[3]
    assert result.stdout.splitlines()[-1] == "2/7 checks passed"
    assert result.returncode == 1


def test_smoke_fails_and_skips_the_rest_when_there_are_no_products(stand_in, kubectl_seaway):
    fake, url = stand_in
    fake.products = []

    result = kubectl_seaway("smoke", "--gateway-url", url)

    assert marks(result.stdout) == [f"✓ {CHECKS[0]}", f"✗ {CHECKS[1]}", *(f"- {c}" for c in CHECKS[2:])]
    assert result.stdout.splitlines()[2].endswith("expected a non-empty 'items' list, got []")
    assert result.stdout.splitlines()[-1] == "1/7 checks passed"
    assert fake.orders == []
    assert result.returncode == 1


def test_smoke_fails_when_the_order_is_not_fulfilled_in_time(stand_in, kubectl_seaway):
    fake, url = stand_in

    result = kubectl_seaway("smoke", "--gateway-url", url, "--timeout", "0s")

    assert marks(result.stdout)[:5] == [f"✓ {c}" for c in CHECKS[:5]]
    assert result.stdout.splitlines()[6].startswith("✗ the order is fulfilled within 0s")
    assert result.stdout.splitlines()[6].endswith("status still 'pending' after 0s")
    ((headers, body),) = fake.orders  # one order, as the signed-in customer, never naming one in the body
    assert body == {"items": [{"product_id": "p-1", "quantity": 1}]}
    assert headers["Authorization"].startswith("Bearer ") and len(headers["Idempotency-Key"]) == 36
    assert result.returncode == 1


def test_smoke_against_a_gateway_that_is_not_there_fails_the_first_check(closed_port, kubectl_seaway):
    result = kubectl_seaway("smoke", "--gateway-url", f"http://127.0.0.1:{closed_port}")

    assert result.stdout.splitlines()[1].startswith("✗ GET /readyz is 200")
    assert "cannot connect" in result.stdout.splitlines()[1]
    assert result.returncode == 1
