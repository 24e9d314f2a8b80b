"""The public REST API under ``/api``: products from the catalog, orders from orders.

Products are anonymous; orders are the signed-in customer's. The kit has verified the customer's token before an
order handler runs (the operation's ``security`` in openapi.yaml), and the gateway passes that token on to
orders, which verifies it again: orders trusts a token it checked itself, not a header the gateway could be
tricked into setting, and a caller that reached orders some other way gains nothing.

Each handler makes one call through the kit's client and relays the answer; the kit has checked the input
against the OpenAPI document (ids, limits, the Idempotency-Key) before the handler runs. A peer that
is down costs only the routes that need it: with the catalog down, product routes fail fast (503 from its
circuit breaker) while order lookups still work, and the other way round.
"""

from __future__ import annotations

import uuid

import requests
from flask import Blueprint, Response, request

import seaway
from seaway import Problem, json_body, params
from seaway.client import ServiceClient
from storefront.gateway.ratelimit import RateLimiter, retry_after

# Headers of a peer's answer worth passing on to our client.
_RELAYED_HEADERS = ("Retry-After", "Idempotent-Replayed")


def blueprint(
    catalog: ServiceClient, orders: ServiceClient, limiter: RateLimiter, sign_in: dict[str, str]
) -> Blueprint:
    """``sign_in``: where customers get their tokens (served at /api/sign-in for the web page)."""
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
        query = {"limit": params()["limit"]}
        if params().get("cursor"):
            query["cursor"] = params()["cursor"]
        return relay(catalog.get("/products", params=query))

    @api.get("/products/<product_id>")
    def get_product(product_id: str):
        """One product."""
        return relay(catalog.get(f"/products/{product_id}"))

    @api.get("/sign-in")
    def sign_in_settings():
        """Where the web page signs customers in: Cognito's endpoint and the app client."""
        return sign_in

    @api.post("/orders")
    def place_order():
        """Place the customer's order. The Idempotency-Key is passed on, or made here, so our own retries are safe."""
        body = json_body("OrderRequest")
        key = params().get("Idempotency-Key") or uuid.uuid4().hex
        headers = {"Idempotency-Key": key, **seaway.customer().bearer()}
        answer = orders.post("/orders", json=body, headers=headers, idempotent=True)
        response = relay(answer)
        response.headers["Idempotency-Key"] = key
        if answer.status_code in (200, 201):
            response.headers["Location"] = f"/api/orders/{answer.json()['id']}"
        return response

    @api.get("/orders/<order_id>")
    def get_order(order_id: str):
        """One of the customer's orders, with its status (orders answers 404 for another's)."""
        return relay(orders.get(f"/orders/{order_id}", headers=seaway.customer().bearer()))

    @api.get("/me/orders")
    def my_orders():
        """The customer's orders, newest first."""
        return relay(orders.get("/orders", params={"limit": params()["limit"]}, headers=seaway.customer().bearer()))

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
