"""The storefront end to end: gateway, catalog, orders and fulfillment under real gunicorn, over real HTTP,
with SNS, SQS, S3, DynamoDB and the Cognito user pool in a moto server. Each test signs in a customer of its own."""

from __future__ import annotations

import json
import secrets
import threading
import uuid

import pytest

from tests.conftest import aws_client, subject
from tests.processes import wait_for

PROBLEM = "application/problem+json"
SERVER, CONSUMER = 2, 5  # OTLP span kinds


def order_request(**changes) -> dict:
    return {"items": [{"product_id": "espresso-beans", "quantity": 2}], **changes}


def customer_orders(storefront, customer: dict[str, str]) -> list[dict]:
    answer = storefront.gateway.get("/api/me/orders", headers=customer)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def fulfilled(storefront, order_id: str, customer: dict[str, str]) -> dict | None:
    order = storefront.gateway.get(f"/api/orders/{order_id}", headers=customer).json()
    return order if order["status"] == "fulfilled" else None


def test_an_order_placed_through_the_gateway_is_fulfilled_with_a_receipt_in_s3(storefront, moto):
    customer = storefront.sign_in()
    body = {"items": [{"product_id": "espresso-beans", "quantity": 2}, {"product_id": "paper-filters", "quantity": 3}]}
    placed = storefront.gateway.post("/api/orders", json=body, headers=customer)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert placed.headers["Location"] == f"/api/orders/{order['id']}"
    assert placed.headers["Idempotency-Key"]  # made by the gateway when the client sends none
    assert order["status"] == "placed" and order["customer_id"] == subject(customer)
    assert order["total_cents"] == 2 * 2400 + 3 * 600 and order["currency"] == "USD"
    assert [line["unit_price_cents"] for line in order["items"]] == [2400, 600]

    done = wait_for(
        lambda: fulfilled(storefront, order["id"], customer), timeout=20, message="the order to be fulfilled"
    )
    bucket = storefront.aws_env["RECEIPTS_BUCKET"]
    assert done["receipt"] == f"s3://{bucket}/receipts/{order['id']}.json"
    receipt = json.loads(
        aws_client(moto, "s3").get_object(Bucket=bucket, Key=f"receipts/{order['id']}.json")["Body"].read()
    )
    assert receipt["order_id"] == order["id"] and receipt["total_cents"] == order["total_cents"]
    processed = aws_client(moto, "dynamodb").get_item(
        TableName=storefront.aws_env["PROCESSED_EVENTS_TABLE"], Key={"id": {"S": receipt["event_id"]}}
    )
    assert processed["Item"]["state"]["S"] == "done"
    assert [listed["id"] for listed in customer_orders(storefront, customer)] == [order["id"]]


def test_the_same_post_with_the_same_idempotency_key_sent_concurrently_creates_one_order(storefront):
    customer = storefront.sign_in()
    key = f"key-{uuid.uuid4().hex}"
    answers, barrier = [], threading.Barrier(8)

    def place() -> None:
        barrier.wait()
        answers.append(
            storefront.gateway.post("/api/orders", json=order_request(), headers={"Idempotency-Key": key, **customer})
        )

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert all(a.headers.get("Idempotent-Replayed") == "true" for a in answers if a.status_code == 200)
    assert len(customer_orders(storefront, customer)) == 1

    again = storefront.gateway.post("/api/orders", json=order_request(), headers={"Idempotency-Key": key, **customer})
    assert again.status_code == 200 and again.json()["id"] == answers[0].json()["id"]
    assert len(customer_orders(storefront, customer)) == 1


def test_the_same_idempotency_key_with_another_body_is_refused_and_creates_nothing(storefront):
    customer = storefront.sign_in()
    key = f"key-{uuid.uuid4().hex}"
    first = storefront.gateway.post("/api/orders", json=order_request(), headers={"Idempotency-Key": key, **customer})
    assert first.status_code == 201
    other = order_request(items=[{"product_id": "travel-mug", "quantity": 1}])
    refused = storefront.gateway.post("/api/orders", json=other, headers={"Idempotency-Key": key, **customer})
    assert refused.status_code == 422 and refused.headers["Content-Type"] == PROBLEM
    assert "Idempotency-Key" in refused.json()["detail"]
    assert len(customer_orders(storefront, customer)) == 1


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (dict(data="{not json", headers={"Content-Type": "application/json"}), 400),
        (dict(data="items=x", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415),
        (dict(json={"items": [{"product_id": "espresso-beans", "quantity": "2"}]}), 422),
        (dict(json={"items": [{"product_id": "espresso-beans", "quantity": -1}]}), 422),
        (dict(json={"items": [{"product_id": "espresso-beans", "quantity": 0}]}), 422),
        (dict(json={"items": []}), 422),
        (dict(json={"items": [{"product_id": "espresso-beans", "quantity": 1}], "coupon": "FREE"}), 422),
        (dict(json={"items": [{"product_id": "no-such-product", "quantity": 1}]}), 422),
        (dict(json={"items": [{"product_id": "Not An Id!", "quantity": 1}]}), 422),
        (dict(json={"items": [{"product_id": "espresso-beans", "quantity": 1}], "pad": "x" * 2_000_000}), 413),
        (
            dict(json={"items": [{"product_id": "espresso-beans", "quantity": 1}]}, headers={"Idempotency-Key": "a b"}),
            400,
        ),
    ],
    ids=[
        "malformed-json",
        "not-json",
        "wrong-type",
        "negative-quantity",
        "zero-quantity",
        "no-items",
        "unknown-field",
        "unknown-product",
        "bad-product-id",
        "oversize-body",
        "bad-idempotency-key",
    ],
)
def test_bad_input_at_the_gateway_gets_problem_json_and_creates_nothing(storefront, send, status):
    customer = storefront.sign_in()
    answer = storefront.gateway.post("/api/orders", **{**send, "headers": {**send.get("headers", {}), **customer}})
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == status and problem["title"]
    assert "Traceback" not in answer.text
    assert customer_orders(storefront, customer) == []


def test_unknown_orders_products_and_routes_are_problem_json(storefront):
    customer = storefront.sign_in()
    for path in ("/api/orders/o-nothing", "/api/products/no-such-product", "/api/products/Bad!Id", "/api/nothing"):
        answer = storefront.gateway.get(path, headers=customer)
        assert answer.status_code == 404, path
        assert answer.headers["Content-Type"] == PROBLEM
    assert storefront.gateway.get("/api/products", params={"limit": "0"}).status_code == 400


def test_one_trace_follows_an_order_from_the_gateway_through_sns_and_sqs_to_fulfillment(storefront, otlp_receiver):
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    customer = storefront.sign_in()
    placed = storefront.gateway.post(
        "/api/orders",
        json=order_request(),
        headers={"traceparent": f"00-{trace_id}-{parent}-01", **customer},
    )
    assert placed.status_code == 201
    wait_for(
        lambda: fulfilled(storefront, placed.json()["id"], customer), timeout=20, message="the order to be fulfilled"
    )

    def consumed() -> list[dict] | None:
        spans = otlp_receiver.trace(trace_id)
        reported = [s for s in spans if s["service"] == "orders" and s["kind"] == SERVER and "PUT" in s["name"]]
        return spans if reported and any(s["kind"] == CONSUMER for s in spans) else None

    spans = wait_for(consumed, timeout=30, message="the consumer's span in the order's trace")
    assert {"gateway", "catalog", "orders", "fulfillment"} <= {span["service"] for span in spans}
    (consumer,) = [span for span in spans if span["kind"] == CONSUMER]
    assert consumer["service"] == "fulfillment" and consumer["name"].endswith(" process")
    publishers = {span["span_id"] for span in spans if span["service"] == "orders"}
    assert consumer["parent_span_id"] in publishers  # continued from the context orders published with
    fulfillment_spans = {span["span_id"]: span for span in spans if span["service"] == "fulfillment"}
    (report,) = [s for s in spans if s["service"] == "orders" and s["kind"] == SERVER and "PUT" in s["name"]]
    assert report["parent_span_id"] in fulfillment_spans  # fulfillment's call to orders, in the same trace
