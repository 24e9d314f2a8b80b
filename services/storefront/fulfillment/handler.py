"""What fulfilling an order means: a receipt in S3, then the order marked fulfilled in orders."""

from __future__ import annotations

import logging
import re
import time

from seaway.client import ServiceClient
from seaway.events import Event
from storefront.fulfillment.receipts import ReceiptWriter

log = logging.getLogger("storefront.fulfillment")

ORDER_PLACED = "order.placed"
_ORDER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class UnusableEvent(ValueError):
    """An order.placed event this worker cannot fulfil (unknown version, missing fields)."""


class OrderUpdateFailed(RuntimeError):
    pass


class Fulfiller:
    def __init__(self, receipts: ReceiptWriter, orders: ServiceClient, delay_seconds: float = 0.0) -> None:
        self.receipts = receipts
        self.orders = orders
        self.delay_seconds = delay_seconds

    def handle(self, event: Event) -> None:
        """Handle one event; raising makes the queue deliver it again (and dead-letter it in the end)."""
        if event.type != ORDER_PLACED:
            log.info("event ignored", extra={"event_type": event.type, "event_id": event.id})
            return
        if event.version != 1:
            raise UnusableEvent(f"{ORDER_PLACED} version {event.version} is not supported")
        order_id = event.data.get("order_id")
        if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
            raise UnusableEvent("order_id is missing or malformed")
        log.info("fulfilling order", extra={"order_id": order_id, "event_id": event.id})
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        receipt = self.receipts.write(order_id, {**event.data, "event_id": event.id, "placed_at": event.time})
        answer = self.orders.put(f"/internal/orders/{order_id}/fulfillment", json={"receipt": receipt})
        if answer.status_code != 200:
            raise OrderUpdateFailed(f"orders answered {answer.status_code} for {order_id}")
        log.info("order fulfilled", extra={"order_id": order_id, "receipt": receipt})
