"""The public REST API under ``/api``: products from the catalog, orders from orders.

Each handler makes one call through the kit's client and relays the answer; the kit has checked the input
against the OpenAPI document (ids, limits, the Idempotency-Key) before the handler runs. A peer that
is down costs only the routes that need it: with the catalog down, product routes fail fast (503 from its
circuit breaker) while order lookups still work, and the other way round.
"""

from __future__ import annotations

import uuid

import requests
from flask import Blueprint, Response, request

from seaway import Problem, json_body, params
from seaway.client import ServiceClient
from storefront.gateway.ratelimit import RateLimiter, retry_after

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
        query = {"limit": params()["limit"]}
        if params().get("cursor"):
            query["cursor"] = params()["cursor"]
        return relay(catalog.get("/products", params=query))

    @api.get("/products/<product_id>")
    def get_product(product_id: str):
        """One product."""
        return relay(catalog.get(f"/products/{product_id}"))

    @api.post("/orders")
    def place_order():
        """Place an order. The Idempotency-Key is passed on, or made here, so our own retries are safe."""
        body = json_body("OrderRequest")
        key = params().get("Idempotency-Key") or uuid.uuid4().hex
        answer = orders.post("/orders", json=body, headers={"Idempotency-Key": key}, idempotent=True)
        response = relay(answer)
        response.headers["Idempotency-Key"] = key
        if answer.status_code in (200, 201):
            response.headers["Location"] = f"/api/orders/{answer.json()['id']}"
        return response

    @api.get("/orders/<order_id>")
    def get_order(order_id: str):
        """One order, with its status."""
        return relay(orders.get(f"/orders/{order_id}"))

    @api.get("/customers/<customer_id>/orders")
    def customer_orders(customer_id: str):
        """A customer's orders, newest first."""
        return relay(orders.get(f"/customers/{customer_id}/orders", params={"limit": params()["limit"]}))

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
