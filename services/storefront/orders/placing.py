"""Placing an order: priced by the catalog, stored once per idempotency key, announced as ``order.placed``.

- The order id is derived from the customer and the Idempotency-Key, so one conditional write makes concurrent
  retries of the same request one order; the same key with another body is a 422. A key is the customer's own:
  another customer sending the same key places an order of their own, and learns nothing of the first.
- A replay (same key, same body) returns the first order, and publishes its event if that failed before.
- An order whose event cannot be published is withdrawn before the client hears 503, so none stays behind
  without its event when the client gives up (a retry with the same key places it again).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from seaway import Problem, dynamodb, events
from seaway.client import ServiceClient
from storefront.orders.store import IdempotencyConflict, OrderStore

ORDER_PLACED = "order.placed"


@dataclass(frozen=True)
class Placed:
    order: dict[str, Any]
    created: bool  # False: the first request with this key placed it, and this is its replay


class OrderPlacing:
    def __init__(self, store: OrderStore, catalog: ServiceClient, publish: Callable[[events.Event], None]) -> None:
        self.store = store
        self.catalog = catalog
        self.publish = publish

    def place(self, customer_id: str, request: dict[str, Any], key: str | None) -> Placed:
        """Place ``customer_id``'s order ``request`` (an ``OrderCreate`` body) under the idempotency ``key``, if any."""
        fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        order_id = order_id_for(customer_id, key)
        if key is not None:
            existing = self.store.find(order_id)
            if existing is not None:
                return self._replay(existing, fingerprint)
        items, total, currency = price(self.catalog, request["items"])
        now = dynamodb.now()
        order = {
            "id": order_id,
            "customer_id": customer_id,
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
            stored, created = self.store.place(order)
        except IdempotencyConflict:
            raise _reused_key() from None
        if not created:
            return self._replay(stored, fingerprint)
        try:
            self._announce(stored)
        except (BotoCoreError, ClientError):
            # Should the withdrawal fail too, the order stays unpublished and a replay publishes it.
            self.store.withdraw_unpublished(order_id)
            raise
        self.store.mark_published(order_id)
        return Placed(stored, created=True)

    def _replay(self, order: dict[str, Any], fingerprint: str) -> Placed:
        if order.get("request_fingerprint") != fingerprint:
            raise _reused_key()
        if not order.get("published"):
            self._announce(order)
            self.store.mark_published(order["id"])
        return Placed(order, created=False)

    def _announce(self, order: dict[str, Any]) -> None:
        """Publish ``order.placed``; the event id is the order's, so consumers recognise a second publication."""
        data = {key: order[key] for key in ("customer_id", "items", "total_cents", "currency")}
        self.publish(
            events.Event.new(ORDER_PLACED, {"order_id": order["id"], **data}, id=f"order-placed-{order['id']}")
        )


def order_id_for(customer_id: str, key: str | None) -> str:
    """From the customer and the idempotency key when there is one (so one customer's key can only ever name one
    order, and two customers' keys never the same)."""
    if key is None:
        return "o-" + uuid.uuid4().hex[:24]
    return "o-" + hashlib.sha256(json.dumps(["idempotency-key", customer_id, key]).encode()).hexdigest()[:24]


def price(catalog: ServiceClient, wanted: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, str]:
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
