"""Orders' placing workflow on its own: a store that behaves like the conditional writes of the real one (in
memory), a catalog that answers like the real one, and a publisher that can fail like SNS."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from seaway import Problem
from storefront.orders.placing import ORDER_PLACED, OrderPlacing, order_id_for
from storefront.orders.store import IdempotencyConflict

PRODUCTS = {
    "beans": {"id": "beans", "name": "Beans", "price_cents": 1200, "currency": "EUR"},
    "mug": {"id": "mug", "name": "Mug", "price_cents": 800, "currency": "EUR"},
    "tea": {"id": "tea", "name": "Tea", "price_cents": 500, "currency": "USD"},
}
REQUEST = {
    "items": [{"product_id": "beans", "quantity": 2}, {"product_id": "mug", "quantity": 1}],
}


class Answer:
    def __init__(self, status_code: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status_code, self._body, self.headers = status_code, body, headers or {}

    def json(self) -> Any:
        return self._body


class Catalog:
    def __init__(self) -> None:
        self.down = False

    def get(self, path: str) -> Answer:
        if self.down:
            return Answer(503, headers={"Retry-After": "2"})
        product = PRODUCTS.get(path.rsplit("/", 1)[1])
        return Answer(200, product) if product else Answer(404)


class Store:
    """The OrderStore's contract: a put only where the id is absent, withdraw only while unpublished."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def find(self, order_id: str) -> dict[str, Any] | None:
        return dict(self.items[order_id]) if order_id in self.items else None

    def place(self, order: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        existing = self.items.get(order["id"])
        if existing is None:
            self.items[order["id"]] = dict(order)
            return order, True
        if existing["request_fingerprint"] != order["request_fingerprint"]:
            raise IdempotencyConflict(order["id"])
        return dict(existing), False

    def withdraw_unpublished(self, order_id: str) -> None:
        if not self.items[order_id]["published"]:
            del self.items[order_id]

    def mark_published(self, order_id: str) -> None:
        self.items[order_id]["published"] = True


class Publisher:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.failing = False

    def __call__(self, event) -> None:
        if self.failing:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")
        self.events.append(event)


@pytest.fixture
def parts():
    store, catalog, publisher = Store(), Catalog(), Publisher()
    return OrderPlacing(store, catalog, publisher), store, catalog, publisher


def test_an_order_is_priced_by_the_catalog_stored_and_announced(parts):
    placing, store, _, publisher = parts
    placed = placing.place("ada", REQUEST, key="k1")
    assert placed.created
    assert placed.order["total_cents"] == 2 * 1200 + 800 and placed.order["currency"] == "EUR"
    assert [line["name"] for line in placed.order["items"]] == ["Beans", "Mug"]
    assert store.items[placed.order["id"]]["published"] is True
    (event,) = publisher.events
    assert event.type == ORDER_PLACED and event.data["order_id"] == placed.order["id"]
    assert event.id == f"order-placed-{placed.order['id']}"


def test_the_same_key_and_body_replay_the_first_order_without_a_second_event(parts):
    placing, store, _, publisher = parts
    first = placing.place("ada", REQUEST, key="k1")
    again = placing.place("ada", REQUEST, key="k1")
    assert not again.created and again.order["id"] == first.order["id"]
    assert len(store.items) == 1 and len(publisher.events) == 1


def test_the_same_key_with_another_body_is_a_422(parts):
    placing, *_ = parts
    placing.place("ada", REQUEST, key="k1")
    with pytest.raises(Problem) as raised:
        placing.place("ada", {"items": [{"product_id": "mug", "quantity": 3}]}, key="k1")
    assert raised.value.status == 422


def test_a_key_is_the_customers_own_so_another_customer_with_it_places_another_order(parts):
    placing, store, _, publisher = parts
    ada = placing.place("ada", REQUEST, key="k1")
    grace = placing.place("grace", REQUEST, key="k1")
    assert grace.created and grace.order["id"] != ada.order["id"]
    assert {order["customer_id"] for order in store.items.values()} == {"ada", "grace"}
    assert len(publisher.events) == 2


def test_an_order_whose_event_cannot_be_published_is_withdrawn_and_a_retry_places_it(parts):
    placing, store, _, publisher = parts
    publisher.failing = True
    with pytest.raises(ClientError):
        placing.place("ada", REQUEST, key="k1")
    assert store.items == {}
    publisher.failing = False
    placed = placing.place("ada", REQUEST, key="k1")
    assert placed.created and len(publisher.events) == 1


def test_a_replay_publishes_an_order_left_unpublished(parts):
    placing, store, _, publisher = parts
    order_id = order_id_for("ada", "k1")
    placing.place("ada", REQUEST, key="k1")
    store.items[order_id]["published"] = False  # the publish of the first request failed and so did its withdrawal
    publisher.events.clear()
    placing.place("ada", REQUEST, key="k1")
    assert len(publisher.events) == 1 and store.items[order_id]["published"] is True


def test_without_a_key_every_request_is_a_new_order(parts):
    placing, store, *_ = parts
    placing.place("ada", REQUEST, key=None)
    placing.place("ada", REQUEST, key=None)
    assert len(store.items) == 2


@pytest.mark.parametrize(
    ("items", "status"),
    [
        ([{"product_id": "nope", "quantity": 1}], 422),
        ([{"product_id": "beans", "quantity": 1}, {"product_id": "beans", "quantity": 2}], 422),
        ([{"product_id": "beans", "quantity": 1}, {"product_id": "tea", "quantity": 1}], 422),
    ],
)
def test_orders_the_catalog_cannot_price_are_refused_and_nothing_is_stored(parts, items, status):
    placing, store, _, publisher = parts
    with pytest.raises(Problem) as raised:
        placing.place("ada", {"items": items}, key="k1")
    assert raised.value.status == status
    assert store.items == {} and publisher.events == []


def test_a_catalog_that_says_later_is_a_503_with_its_retry_after(parts):
    placing, store, catalog, _ = parts
    catalog.down = True
    with pytest.raises(Problem) as raised:
        placing.place("ada", REQUEST, key="k1")
    assert raised.value.status == 503 and raised.value.headers["Retry-After"] == "2"
    assert store.items == {}
