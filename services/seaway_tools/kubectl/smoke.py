"""Smoke checks of a running storefront through its gateway's REST API, as plain functions of a base URL.

``kubectl seaway smoke`` runs them through a port-forward to a gateway pod; the kind e2e suite and
anyone else can call them with any base URL::

    from seaway_tools.kubectl.smoke import run_smoke
    results = run_smoke("http://127.0.0.1:8080")
    assert all(result.ok for result in results)

Each ``check_*`` function raises :class:`SmokeFailure` (or a ``requests`` error) when its expectation
is not met, and returns what the next check needs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests

REQUEST_TIMEOUT = 10.0
FULFILMENT_TIMEOUT = 30.0


class SmokeFailure(AssertionError):
    """A smoke check whose expectation the storefront did not meet."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    skipped: bool = False

    def __str__(self) -> str:
        mark = "-" if self.skipped else ("✓" if self.ok else "✗")
        timing = "" if self.skipped else f"{self.seconds:6.2f}s"
        return f"{mark} {self.name:<42} {timing:>7}  {self.detail}".rstrip()


def check_ready(base_url: str, *, session: requests.Session | None = None) -> None:
    """``GET /readyz`` answers 200."""
    response = (session or requests).get(_url(base_url, "/readyz"), timeout=REQUEST_TIMEOUT)
    _expect_status(response, 200)


def first_product_id(base_url: str, *, session: requests.Session | None = None) -> str:
    """``GET /api/products`` lists at least one product; returns the first one's id."""
    response = (session or requests).get(_url(base_url, "/api/products"), timeout=REQUEST_TIMEOUT)
    _expect_status(response, 200)
    items = _json(response).get("items")
    if not isinstance(items, list) or not items:
        raise SmokeFailure(f"expected a non-empty 'items' list, got {str(items)[:80]}")
    product_id = items[0].get("id") if isinstance(items[0], dict) else None
    if not product_id:
        raise SmokeFailure("the first product has no 'id'")
    return str(product_id)


def place_order(base_url: str, product_id: str, *, session: requests.Session | None = None) -> str:
    """``POST /api/orders`` (with an ``Idempotency-Key``) answers 201 with the new order's ``id``."""
    response = (session or requests).post(
        _url(base_url, "/api/orders"),
        json={"customer_id": "smoke", "items": [{"product_id": product_id, "quantity": 1}]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=REQUEST_TIMEOUT,
    )
    _expect_status(response, 201)
    order_id = _json(response).get("id")
    if not order_id:
        raise SmokeFailure("the created order has no 'id'")
    return str(order_id)


def wait_until_fulfilled(
    base_url: str,
    order_id: str,
    *,
    timeout: float = FULFILMENT_TIMEOUT,
    poll_seconds: float = 0.5,
    session: requests.Session | None = None,
) -> None:
    """``GET /api/orders/<id>`` until its ``status`` is ``fulfilled``, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = (session or requests).get(_url(base_url, f"/api/orders/{order_id}"), timeout=REQUEST_TIMEOUT)
        _expect_status(response, 200)
        status = _json(response).get("status")
        if status == "fulfilled":
            return
        if time.monotonic() >= deadline:
            raise SmokeFailure(f"status still {status!r} after {timeout:g}s")
        time.sleep(poll_seconds)


def run_smoke(
    base_url: str,
    *,
    timeout: float = FULFILMENT_TIMEOUT,
    report: Callable[[CheckResult], None] = lambda result: None,
) -> list[CheckResult]:
    """Every check in order, each passed to ``report`` as it ends; after a failure the rest are skipped."""
    session = requests.Session()
    found: dict[str, str] = {}

    def ready() -> str:
        check_ready(base_url, session=session)
        return "200"

    def products() -> str:
        found["product"] = first_product_id(base_url, session=session)
        return f"first product {found['product']}"

    def order() -> str:
        found["order"] = place_order(base_url, found["product"], session=session)
        return f"order {found['order']}"

    def fulfilled() -> str:
        wait_until_fulfilled(base_url, found["order"], timeout=timeout, session=session)
        return "fulfilled"

    checks: list[tuple[str, Callable[[], str]]] = [
        ("GET /readyz is 200", ready),
        ("GET /api/products lists products", products),
        ("POST /api/orders creates an order (201)", order),
        (f"the order is fulfilled within {timeout:g}s", fulfilled),
    ]
    results: list[CheckResult] = []
    failed = False
    with session:
        for name, check in checks:
            if failed:
                result = CheckResult(name, ok=False, seconds=0.0, detail="skipped", skipped=True)
            else:
                started = time.monotonic()
                try:
                    detail = check()
                    result = CheckResult(name, ok=True, seconds=time.monotonic() - started, detail=detail)
                except (SmokeFailure, requests.RequestException, ValueError) as error:
                    failed = True
                    result = CheckResult(name, ok=False, seconds=time.monotonic() - started, detail=_why(error))
            results.append(result)
            report(result)
    return results


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _expect_status(response: requests.Response, expected: int) -> None:
    if response.status_code != expected:
        body = " ".join(response.text.split())[:120]
        raise SmokeFailure(f"{response.request.method} {response.url} answered {response.status_code}: {body}")


def _json(response: requests.Response) -> dict:
    body = response.json()
    if not isinstance(body, dict):
        raise SmokeFailure(f"expected a JSON object, got {type(body).__name__}")
    return body


def _why(error: Exception) -> str:
    if isinstance(error, requests.ConnectionError):
        return f"cannot connect: {type(error).__name__}"
    if isinstance(error, requests.Timeout):
        return "no answer in time"
    return " ".join(str(error).split())
