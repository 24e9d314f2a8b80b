"""The orders service's HTTP API.

- ``POST /orders``: place an order (prices from the catalog), idempotent through ``Idempotency-Key``;
- ``GET /orders/<id>``; ``GET /customers/<id>/orders``: a customer's orders, newest first;
- ``PUT /internal/orders/<id>/fulfillment``: fulfillment reports an order fulfilled (idempotent). The
  gateway never routes ``/internal``; on a cluster the mesh's authorization policy limits it to fulfillment.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, url_for

from seaway import Problem, events, json_body, params
from seaway.client import ServiceClient
from storefront.orders.store import IdempotencyConflict, OrderNotFound, OrderStore, now_iso, public

ORDER_PLACED = "order.placed"


def blueprint(store: OrderStore, catalog: ServiceClient, topic_arn: str) -> Blueprint:
    orders = Blueprint("orders", __name__)

    def publish(order: dict[str, Any]) -> None:
        """Publish ``order.placed``. The event id is the order's, so consumers recognise a second publication."""
        data = {key: order[key] for key in ("customer_id", "items", "total_cents", "currency")}
        event = events.Event.new(ORDER_PLACED, {"order_id": order["id"], **data}, id=f"order-placed-{order['id']}")
        events.publish(topic_arn, event)

    def ensure_published(order: dict[str, Any]) -> None:
        """Publish the event of a stored order unless that was done; a replay publishes it if that failed before."""
        if order.get("published"):
            return
        publish(order)
        store.mark_published(order["id"])

    @orders.post("/orders")
    def place_order():
        """Place an order; the same Idempotency-Key and body give back the same order, never a second one."""
        body = json_body("OrderCreate")
        key = params().get("Idempotency-Key")
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        order_id = _order_id(key)
        if key is not None:
            existing = store.find(order_id)
            if existing is not None:
                return replay(existing, fingerprint)
        items, total, currency = _priced(catalog, body["items"])
        now = now_iso()
        order = {
            "id": order_id,
            "customer_id": body["customer_id"],
            "items": items,
            "total_cents": total,
            "currency": currency,
            "status": "placed",
            "created_at": now,
            "updated_at": now,
            "request_fingerprint": fingerprint,
            "published": False,
        }
        try:
            stored, created = store.place(order)
        except IdempotencyConflict:
            raise _reused_key() from None
        if not created:
            return replay(stored, fingerprint)
        try:
            publish(stored)
        except (BotoCoreError, ClientError):
            # The client hears 503: take the order back, so that none stays without its event when the client
            # gives up (a retry with the same key places it again). Should that fail too, the order stays
            # unpublished and a replay publishes it.
            store.withdraw_unpublished(order_id)
            raise
        store.mark_published(order_id)
        return public(stored), 201, {"Location": url_for(".get_order", order_id=order_id)}

    def replay(order: dict[str, Any], fingerprint: str):
        if order.get("request_fingerprint") != fingerprint:
            raise _reused_key()
        ensure_published(order)
        return (
            public(order),
            200,
            {"Idempotent-Replayed": "true", "Location": url_for(".get_order", order_id=order["id"])},
        )

    @orders.get("/orders/<order_id>")
    def get_order(order_id: str):
        """One order."""
        return public(_found(store.get, order_id))

    @orders.get("/customers/<customer_id>/orders")
    def customer_orders(customer_id: str):
        """The customer's orders, newest first."""
        return {"items": [public(order) for order in store.for_customer(customer_id, params()["limit"])]}

    @orders.put("/internal/orders/<order_id>/fulfillment")
    def order_fulfilled(order_id: str):
        """Fulfillment reports the order fulfilled, with its receipt; repeating it changes nothing."""
        body = json_body("Fulfillment")
        return public(_found(store.fulfil, order_id, body["receipt"]))

    return orders


def _order_id(key: str | None) -> str:
    """From the idempotency key when there is one (so one key can only ever name one order)."""
    if key is None:
        return "o-" + uuid.uuid4().hex[:24]
    return "o-" + hashlib.sha256(f"idempotency-key:{key}".encode()).hexdigest()[:24]


def _priced(catalog: ServiceClient, wanted: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, str]:
    """Each line with the catalog's current name and price; the total and the currency."""
    if len({item["product_id"] for item in wanted}) != len(wanted):
        raise Problem(422, "Unprocessable Content", "name each product once, with its quantity")
    lines, currencies = [], set()
    for item in wanted:
        answer = catalog.get(f"/products/{item['product_id']}")
        if answer.status_code == 404:
            raise Problem(
                422, "Unprocessable Content", f"no product {item['product_id']!r}", product_id=item["product_id"]
            )
        if answer.status_code in (503, 504):  # "later", not "broken": callers may retry
            raise Problem(
                503,
                "Service Unavailable",
                f"the catalog answered {answer.status_code}; try again",
                peer_service="catalog",
                headers={"Retry-After": answer.headers.get("Retry-After", "1")},
            )
        if answer.status_code != 200:
            raise Problem(502, "Bad Gateway", f"the catalog answered {answer.status_code}", peer_service="catalog")
        product = answer.json()
        quantity = int(item["quantity"])  # 2.0 is an integer to JSON Schema; DynamoDB refuses floats
        currencies.add(product["currency"])
        lines.append(
            {
                "product_id": product["id"],
                "name": product["name"],
                "quantity": quantity,
                "unit_price_cents": product["price_cents"],
                "line_total_cents": product["price_cents"] * quantity,
            }
        )
    if len(currencies) != 1:
        raise Problem(422, "Unprocessable Content", "all products of an order must have the same currency")
    return lines, sum(line["line_total_cents"] for line in lines), currencies.pop()


def _reused_key() -> Problem:
    return Problem(422, "Unprocessable Content", "this Idempotency-Key was used for a different request")


def _found(operation, order_id: str, *args):
    try:
        return operation(order_id, *args)
    except OrderNotFound:
        raise Problem(404, "Not Found", f"no order {order_id!r}") from None
