"""The public REST API under ``/api``: products from the catalog, orders from orders.

Each handler checks its input, makes one call through the kit's client and relays the answer. A peer that
is down costs only the routes that need it: with the catalog down, product routes fail fast (503 from its
circuit breaker) while order lookups still work, and the other way round.
"""

from __future__ import annotations

import re
import uuid

import requests
from flask import Blueprint, Response, request

from seaway import Problem, json_body
from seaway.client import ServiceClient
from storefront.gateway.ratelimit import RateLimiter, retry_after

MAX_PAGE = 100
_PRODUCT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ORDER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CUSTOMER_ID = _ORDER_ID
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Headers of a peer's answer worth passing on to our client.
_RELAYED_HEADERS = ("Retry-After", "Idempotent-Replayed")


def blueprint(catalog: ServiceClient, orders: ServiceClient, limiter: RateLimiter) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.before_request
    def rate_limit():
        wait = limiter.take(client_address())
        if wait > 0:
            raise Problem(
                429,
                "Too Many Requests",
                "slow down: this client has used up its request budget",
                headers={"Retry-After": retry_after(wait)},
            )

    @api.get("/products")
    def list_products():
        """A page of products; follow ``next_cursor``."""
        params = {"limit": _limit(request.args.get("limit", "20"))}
        if request.args.get("cursor"):
            params["cursor"] = request.args["cursor"]
        return relay(catalog.get("/products", params=params))

    @api.get("/products/<product_id>")
    def get_product(product_id: str):
        """One product."""
        if not _PRODUCT_ID.match(product_id):
            raise Problem(404, "Not Found", f"no product {product_id!r}")
        return relay(catalog.get(f"/products/{product_id}"))

    @api.post("/orders")
    def place_order():
        """Place an order. The Idempotency-Key is passed on, or made here, so our own retries are safe."""
        body = json_body("OrderRequest")
        key = request.headers.get("Idempotency-Key")
        if key is None:
            key = uuid.uuid4().hex
        elif not _IDEMPOTENCY_KEY.fullmatch(key):  # an empty key is a client's mistake, as in orders
            raise Problem(400, "Bad Request", "Idempotency-Key must be 1 to 128 letters, digits or ._:-")
        answer = orders.post("/orders", json=body, headers={"Idempotency-Key": key}, idempotent=True)
        response = relay(answer)
        response.headers["Idempotency-Key"] = key
        if answer.status_code in (200, 201):
            response.headers["Location"] = f"/api/orders/{answer.json()['id']}"
        return response

    @api.get("/orders/<order_id>")
    def get_order(order_id: str):
        """One order, with its status."""
        if not _ORDER_ID.match(order_id):
            raise Problem(404, "Not Found", f"no order {order_id!r}")
        return relay(orders.get(f"/orders/{order_id}"))

    @api.get("/customers/<customer_id>/orders")
    def customer_orders(customer_id: str):
        """A customer's orders, newest first."""
        if not _CUSTOMER_ID.match(customer_id):
            raise Problem(404, "Not Found", f"no customer {customer_id!r}")
        limit = _limit(request.args.get("limit", "20"))
        return relay(orders.get(f"/customers/{customer_id}/orders", params={"limit": limit}))

    return api


def client_address() -> str:
    """Who the rate limit counts against: the client's address, as the kit resolves it through the trusted
    proxies (TRUSTED_PROXY_HOPS), so a client cannot pick its own bucket with X-Forwarded-For."""
    return (request.remote_addr or "unknown")[:64]


def relay(answer: requests.Response) -> Response:
    """A peer's answer as ours. Its 4xx stand; its 503 and 504 stand (they say "later"); other 5xx are 502."""
    status = answer.status_code
    if status >= 500 and status not in (503, 504):
        raise Problem(502, "Bad Gateway", f"a service behind the gateway answered {status}")
    content_type = answer.headers.get("Content-Type", "application/json")
    response = Response(answer.content, status=status, content_type=content_type)
    for name in _RELAYED_HEADERS:
        if name in answer.headers:
            response.headers[name] = answer.headers[name]
    return response


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise Problem(400, "Bad Request", f"limit must be an integer from 1 to {MAX_PAGE}")
    return int(raw)
