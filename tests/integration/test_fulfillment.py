"""The fulfillment worker under real gunicorn: poison messages, and SIGTERM in the middle of a message."""

from __future__ import annotations

import json
import signal
import uuid

from tests.conftest import aws_client, sign_in, storefront_env
from tests.processes import wait_for


def dead_letters(server, queue_url: str) -> list[str]:
    """The bodies in the dead-letter queue of ``queue_url`` (left visible for the next look)."""
    sqs = aws_client(server, "sqs")
    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    dlq = sqs.get_queue_url(QueueName=json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[-1])[
        "QueueUrl"
    ]
    bodies = []
    while True:
        batch = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        new = [m["Body"] for m in batch if m["Body"] not in bodies]
        if not new:
            return bodies
        bodies += new


def in_flight(server, queue_url: str) -> int:
    attributes = aws_client(server, "sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def event(data: dict, version: int = 1) -> str:
    return json.dumps(
        {
            "id": uuid.uuid4().hex,
            "type": "order.placed",
            "version": version,
            "time": "2026-01-01T00:00:00Z",
            "data": data,
        }
    )


def test_poison_messages_end_in_the_dead_letter_queue_and_the_worker_keeps_going(storefront, moto):
    topic = storefront.aws_env["ORDER_EVENTS_TOPIC_ARN"]
    marker = uuid.uuid4().hex
    poison = [
        f"not an event {marker}",  # unparseable
        event({"order_id": f"o-{marker}"}, version=99),  # a version this worker does not read
        event({"order_id": f"o-missing-{marker}"}),  # orders answers 404 each time: the handler keeps failing
    ]
    sns = aws_client(moto, "sns")
    for body in poison:
        sns.publish(TopicArn=topic, Message=body)

    queue = storefront.aws_env["FULFILLMENT_QUEUE_URL"]
    wait_for(lambda: set(poison) <= set(dead_letters(moto, queue)), timeout=30, message="the poison in the DLQ")

    customer = storefront.sign_in()
    placed = storefront.gateway.post(
        "/api/orders", json={"items": [{"product_id": "burr-grinder", "quantity": 1}]}, headers=customer
    )
    assert placed.status_code == 201
    order_id = placed.json()["id"]
    wait_for(
        lambda: storefront.gateway.get(f"/api/orders/{order_id}", headers=customer).json()["status"] == "fulfilled",
        timeout=20,
        message="an order after the poison to be fulfilled",
    )
    assert storefront.fulfillment.running
    outcomes = storefront.fulfillment.scrape()
    dead_lettered = sum(
        value
        for (name, labels), value in outcomes.items()
        if name == "seaway_events_total" and ("outcome", "dead_lettered") in labels
    )
    assert dead_lettered >= len(poison)


def test_sigterm_while_a_message_is_handled_loses_nothing(private_moto, start_service):
    one_worker = {"WORKERS": "1"}
    envs, aws_env = storefront_env(
        private_moto,
        names=("catalog", "orders", "fulfillment"),
        catalog=one_worker,
        orders=one_worker,
        # The handler takes far longer than the worker may wait when stopping: it must give the message back.
        fulfillment=one_worker | {"HANDLER_DELAY_SECONDS": "60", "CONSUMER_STOP_SECONDS": "0.5"},
    )
    start_service("catalog", envs["catalog"])
    orders = start_service("orders", envs["orders"])
    worker = start_service("fulfillment", envs["fulfillment"])
    customer = sign_in(aws_env)
    placed = orders.post("/orders", json={"items": [{"product_id": "travel-mug", "quantity": 2}]}, headers=customer)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    wait_for(
        lambda: any("fulfilling order" in line and order_id in line for line in worker.output().splitlines()),
        timeout=20,
        message="the worker to start on the order",
    )

    worker.signal(signal.SIGTERM)
    assert worker.process.wait(timeout=30) == 0
    assert "message released" in worker.output()
    assert orders.get(f"/orders/{order_id}", headers=customer).json()["status"] == "placed"  # it never finished

    replacement = start_service("fulfillment", envs["fulfillment"] | {"HANDLER_DELAY_SECONDS": "0"})
    done = wait_for(
        lambda: (
            (order := orders.get(f"/orders/{order_id}", headers=customer).json())["status"] == "fulfilled" and order
        ),
        timeout=30,
        message="the order to be fulfilled by the next worker",
    )
    key = f"receipts/{order_id}.json"
    assert done["receipt"] == f"s3://{aws_env['RECEIPTS_BUCKET']}/{key}"
    receipt = json.loads(
        aws_client(private_moto, "s3").get_object(Bucket=aws_env["RECEIPTS_BUCKET"], Key=key)["Body"].read()
    )
    assert receipt["order_id"] == order_id
    queue = aws_env["FULFILLMENT_QUEUE_URL"]
    wait_for(lambda: in_flight(private_moto, queue) == 0, timeout=20, message="the message to be deleted")
    assert dead_letters(private_moto, queue) == []
    processed = [line for line in replacement.output().splitlines() if "event processed" in line]
    assert len(processed) == 1 and f"order-placed-{order_id}" in processed[0]


def test_the_first_readiness_check_finds_its_aws_clients_built(moto, monkeypatch):
    # Building a client loads its service's model; with a queue to drain, the consumer (started by create_app)
    # would compete with that for the GIL and the AWS endpoint, and readiness came seconds late.
    import boto3

    from seaway import aws
    from storefront.fulfillment.app import create_app

    envs, _ = storefront_env(moto, names=("fulfillment",))
    for key, value in (moto.aws_env() | envs["fulfillment"] | {"CONSUME_EVENTS": "false"}).items():
        monkeypatch.setenv(key, value)
    aws._client.cache_clear()
    app = create_app()
    built: list[str] = []
    client = boto3.session.Session.client
    monkeypatch.setattr(
        boto3.session.Session, "client", lambda self, name, **kw: built.append(name) or client(self, name, **kw)
    )

    answer = app.test_client().get("/readyz")

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["checks"] == {"queue": "ok", "bucket": "ok", "dynamodb": "ok"}
    assert built == []
