"""The orders service's HTTP API.

- ``POST /orders``: place the customer's order (prices from the catalog), idempotent through ``Idempotency-Key``;
- ``GET /orders/<id>``: one of the customer's orders; ``GET /orders``: the customer's orders, newest first;
- ``PUT /internal/orders/<id>/fulfillment``: fulfillment reports an order fulfilled (idempotent). The
  gateway never routes ``/internal``; on a cluster the mesh's authorization policy limits it to fulfillment.

The customer is always the subject of the token the kit verified (``seaway.customer()``; the gateway passes the
customer's token on), never a value from the body or the path; another customer's order is a 404, exactly as one
that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

from flask import Blueprint, url_for

from seaway import Problem, customer, events, json_body, params
from seaway.client import ServiceClient
from storefront.orders.placing import OrderPlacing
from storefront.orders.store import OrderNotFound, OrderStore, public


def blueprint(store: OrderStore, catalog: ServiceClient, topic_arn: str) -> Blueprint:
    orders = Blueprint("orders", __name__)
    placing = OrderPlacing(store, catalog, lambda event: events.publish(topic_arn, event))

    @orders.post("/orders")
    def place_order():
        """Place an order; the same Idempotency-Key and body give back the same order, never a second one."""
        placed = placing.place(customer().subject, json_body("OrderCreate"), params().get("Idempotency-Key"))
        headers = {"Location": url_for(".get_order", order_id=placed.order["id"])}
        if placed.created:
            return public(placed.order), 201, headers
        return public(placed.order), 200, {"Idempotent-Replayed": "true", **headers}

    @orders.get("/orders")
    def my_orders():
        """The customer's orders, newest first."""
        return {"items": [public(order) for order in store.for_customer(customer().subject, params()["limit"])]}

    @orders.get("/orders/<order_id>")
    def get_order(order_id: str):
        """One of the customer's orders."""
        order = _found(store.get, order_id)
        if order["customer_id"] != customer().subject:
            raise _not_found(order_id)
        return public(order)

    @orders.put("/internal/orders/<order_id>/fulfillment")
    def order_fulfilled(order_id: str):
        """Fulfillment reports the order fulfilled, with its receipt; repeating it changes nothing."""
        body = json_body("Fulfillment")
        return public(_found(store.fulfil, order_id, body["receipt"]))

    return orders


def _found(operation, order_id: str, *args):
    try:
        return operation(order_id, *args)
    except OrderNotFound:
        raise _not_found(order_id) from None


def _not_found(order_id: str) -> Problem:
    return Problem(404, "Not Found", f"no order {order_id!r}")
