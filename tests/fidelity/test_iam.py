"""Every AWS call the storefront makes while it really runs is allowed by the role CloudFormation gives it.

The four services run under gunicorn against the moto server, each signing with an identity of its own and
recording its AWS calls (tests/fidelity/recorder). The workload reaches every code path that touches AWS:
readiness checks, catalog seeding and CRUD, orders placed, replayed, read, listed and withdrawn when SNS
fails, fulfillment consuming (with a heartbeat), writing receipts and un-claiming a failing event, and
CloudWatch ``PutMetricData`` from every service. Each recorded call becomes the IAM requests AWS evaluates
for it (tests/fidelity/iam_evaluator.py), and each is evaluated against the committed
k8s/eks/storefront-aws.yaml (which tests/deploy keeps equal to the generator's output) by a real IAM
evaluator: identity policy of the service's role, plus the resource's own policy (bucket, queue, KMS key).

The evaluator is an npm package (tests/fidelity/iam/install.sh installs it): without node or the package the
tests skip locally and fail under CI (``CI`` set), saying what to install.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from seaway.events import Event
from seaway.service import discover, physical_name
from seaway_tools import cloudformation
from tests.conftest import GENEROUS_RATE_LIMIT, STOREFRONT, aws_client, sign_in, storefront_env, unavailable
from tests.fidelity.iam_evaluator import (
    RECORDER,
    Authorization,
    Stack,
    UnmappedOperation,
    authorizations,
    evaluate,
    evaluator_problem,
    read_calls,
)
from tests.integration.test_fulfillment import dead_letters
from tests.integration.test_resilience_aws import ThrottlingAws
from tests.processes import MotoServer, Service, wait_for

TEMPLATE = Path(__file__).resolve().parents[2] / "k8s" / "eks" / "storefront-aws.yaml"
ROLES = {name: cloudformation.logical_id(name, "role") for name in discover()}


@pytest.fixture(scope="module")
def evaluator() -> None:
    problem = evaluator_problem()
    if problem:
        unavailable(f"the IAM fidelity tests need their evaluator: {problem}")


def identity(service: str) -> str:
    """The access key a service signs with here: one identity per service, as one role per service on EKS."""
    return f"fidelity-{service}"


def recording(name: str, log: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(RECORDER), os.environ.get("PYTHONPATH")])),
        "SEAWAY_AWS_CALL_LOG": str(log),
        "AWS_ACCESS_KEY_ID": identity(name),
        "AWS_SECRET_ACCESS_KEY": identity(name),
    }


class Workload:
    """The storefront recording its AWS calls, and the steps that reach each AWS code path."""

    def __init__(self, moto: MotoServer, redis_url: str, log: Path) -> None:
        self.moto, self.log = moto, log
        self.sns_gate = ThrottlingAws(moto.url).start()  # orders reaches SNS through it: SNS can be made to fail
        common = {
            "SEAWAY_CLOUDWATCH": "api",
            "SEAWAY_CLOUDWATCH_INTERVAL_SECONDS": "0.3",
            "READINESS_CACHE_SECONDS": "0",
        }
        envs, self.aws_env = storefront_env(
            moto,
            redis_url=redis_url,
            common=common,
            gateway=GENEROUS_RATE_LIMIT,
            orders={"AWS_ENDPOINT_URL": self.sns_gate.url},
            # A handler slower than a third of the visibility timeout: the heartbeat extends message and claim.
            fulfillment={"CONSUMER_VISIBILITY_SECONDS": "3", "HANDLER_DELAY_SECONDS": "1.5"},
        )
        self.services: dict[str, Service] = {}
        for name in STOREFRONT:
            self.services[name] = Service(name, envs[name] | recording(name, log)).start(wait=False)
        for service in self.services.values():
            service.wait_ready()  # every readiness check, once at least

    def stop(self) -> None:
        for service in reversed(self.services.values()):
            service.stop()
        self.sns_gate.stop()

    def run(self) -> None:
        gateway, catalog, orders = (self.services[n] for n in ("gateway", "catalog", "orders"))
        # catalog: seeded at start (SEED_PRODUCTS); list, read, create, update, create again (conditional put).
        assert gateway.get("/api/products", params={"limit": 2}).status_code == 200
        assert gateway.get("/api/products/espresso-beans").status_code == 200
        product = {"id": f"fidelity-{uuid.uuid4().hex[:8]}", "name": "Scale", "price_cents": 3100}
        assert catalog.post("/products", json=product).status_code == 201
        assert catalog.patch(f"/products/{product['id']}", json={"price_cents": 3000}).status_code == 200
        assert catalog.post("/products", json=product).status_code == 409
        # orders: place, replay, read, list by customer (the by-customer index).
        customer = sign_in(self.aws_env)
        order = {"items": [{"product_id": product["id"], "quantity": 1}]}
        key = {"Idempotency-Key": uuid.uuid4().hex, **customer}
        placed = gateway.post("/api/orders", json=order, headers=key, timeout=30)
        assert placed.status_code == 201, placed.text
        assert gateway.post("/api/orders", json=order, headers=key, timeout=30).status_code == 200
        order_id = placed.json()["id"]
        assert gateway.get("/api/me/orders", headers=customer).status_code == 200
        # fulfillment: consume, heartbeat, receipt, mark done; orders marks it fulfilled.
        wait_for(
            lambda: gateway.get(f"/api/orders/{order_id}", headers=customer).json()["status"] == "fulfilled",
            timeout=60,
            message="the order to be fulfilled",
        )
        # fulfillment: an event whose handler fails (orders knows no such order) is un-claimed each time.
        failing = Event.new("order.placed", {"order_id": f"o-missing-{uuid.uuid4().hex[:8]}"}).to_json()
        aws_client(self.moto, "sns").publish(TopicArn=self.aws_env["ORDER_EVENTS_TOPIC_ARN"], Message=failing)
        queue = self.aws_env["FULFILLMENT_QUEUE_URL"]
        wait_for(lambda: failing in dead_letters(self.moto, queue), timeout=60, message="the failing event in the DLQ")
        # orders: SNS fails, the order is withdrawn (DeleteItem) and the client hears 503.
        self.sns_gate.throttled = {"sns"}
        try:
            withdrawn = orders.post("/orders", json=order, headers=customer, timeout=30)  # no key: a new order
        finally:
            self.sns_gate.throttled = set()
        assert withdrawn.status_code == 503, withdrawn.text
        # CloudWatch api mode: every service's publisher has sent at least once (fulfillment serves no API of
        # its own: a request to an unknown path is a measured request too, route "unmatched").
        for service in self.services.values():
            assert service.get("/fidelity-unmatched").status_code == 404
        for service in self.services.values():
            wait_for(lambda s=service: _put_calls(s) > 0, timeout=30, message=f"{service.name}'s PutMetricData")


def _put_calls(service: Service) -> float:
    try:
        scraped = service.scrape()
    except requests.RequestException:
        return 0.0
    return scraped.get(("seaway_cloudwatch_put_calls_total", (("outcome", "ok"),)), 0.0)


@pytest.fixture(scope="module")
def recorded(evaluator, redis_server, tmp_path_factory) -> Iterator[tuple[list[dict], MotoServer]]:
    """The storefront's recorded AWS calls after the workload, and the emulator they went to."""
    log = tmp_path_factory.mktemp("fidelity") / "aws-calls.jsonl"
    moto = MotoServer().start()
    try:
        workload = Workload(moto, redis_server.url, log)
        try:
            workload.run()
        finally:
            workload.stop()  # before reading: stopping consumers call AWS too (releasing what they hold)
        yield read_calls(log), moto
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def account(recorded) -> str:
    _, moto = recorded
    return aws_client(moto, "sts").get_caller_identity()["Account"]


@pytest.fixture(scope="module")
def stack(recorded, account) -> Stack:
    """The committed template as deployed in the emulator's account and the services' region."""
    _, moto = recorded
    return Stack(yaml.safe_load(TEMPLATE.read_text()), account, moto.aws_env()["AWS_REGION"])


@pytest.fixture(scope="module")
def requests_made(recorded, account, stack) -> set[Authorization]:
    calls, _ = recorded
    return {request for call in calls for request in authorizations(call, account, stack)}


def test_every_aws_call_of_every_service_is_allowed_by_its_generated_role(requests_made, stack):
    verdicts = evaluate(stack, ROLES, sorted(requests_made))
    denied = [str(v) for v in verdicts if not v.allowed]
    distinct = {(r.service, r.action, r.resource) for r in requests_made}
    print(f"\n{len(distinct)} distinct (service, IAM action, resource) evaluated; {len(denied)} denied")
    assert not denied, "denied on EKS by the generated roles:\n" + "\n".join(denied)


def test_the_workload_reaches_every_aws_code_path(requests_made):
    reached = {(r.service, r.action) for r in requests_made}
    expected = {("catalog", f"dynamodb:{a}") for a in ("DescribeTable", "Scan", "GetItem", "PutItem", "UpdateItem")}
    expected |= {
        ("orders", f"dynamodb:{a}")
        for a in ("DescribeTable", "PutItem", "GetItem", "Query", "UpdateItem", "DeleteItem")
    }
    expected |= {("orders", "sns:Publish"), ("orders", "kms:GenerateDataKey"), ("orders", "kms:Decrypt")}
    expected |= {("fulfillment", f"dynamodb:{a}") for a in ("DescribeTable", "PutItem", "UpdateItem", "DeleteItem")}
    expected |= {
        ("fulfillment", f"sqs:{a}")
        for a in ("GetQueueAttributes", "ReceiveMessage", "ChangeMessageVisibility", "DeleteMessage")
    }
    expected |= {("fulfillment", "s3:ListBucket"), ("fulfillment", "s3:PutObject")}
    expected |= {(name, "cloudwatch:PutMetricData") for name in STOREFRONT}
    assert expected <= reached, f"not reached: {sorted(expected - reached)}"
    assert ("orders", "dynamodb:Query") in reached
    assert any(r.resource.endswith("/index/by-customer") for r in requests_made if r.action == "dynamodb:Query")


def test_each_service_calls_aws_with_its_own_identity(recorded):
    calls, _ = recorded
    assert {call["service"] for call in calls} == set(STOREFRONT)
    assert all(call["identity"] == identity(call["service"]) for call in calls)


def test_processed_events_expire_by_the_attribute_the_table_enables(recorded):
    _, moto = recorded
    (table,) = [r for r in discover()["fulfillment"].resources if r.name == "processed-events"]
    dynamodb = aws_client(moto, "dynamodb")
    name = physical_name(discover()["fulfillment"], table)
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": table.ttl_attribute}
    items = dynamodb.scan(TableName=name)["Items"]
    assert items and all("N" in item[table.ttl_attribute] for item in items)
    template = yaml.safe_load(TEMPLATE.read_text())
    properties = template["Resources"][cloudformation.logical_id(table.name, "table")]["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}


# --- what the recorded run cannot show: the key of the encrypted topic, KEDA's role, the mapping itself ------


def _one(stack: Stack, service: str, action: str, resource: str, **context: str) -> str:
    request = Authorization(service, action, resource, tuple(sorted(context.items())), "stated")
    roles = ROLES | {"keda": "KedaOperatorRole"}
    (verdict,) = evaluate(stack, roles, [request])
    return verdict.decision


def test_the_topic_key_serves_its_publisher_through_sns_only(evaluator, stack):
    topic = stack.ref(cloudformation.logical_id("order-events", "topic"))
    key = stack.topic_key(topic)
    assert key and key.startswith("arn:aws:kms:")
    via_sns = {"kms:ViaService": f"sns.{stack.region}.amazonaws.com", "kms:CallerAccount": stack.account}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert _one(stack, "orders", action, key, **via_sns) == "Allowed"
        assert _one(stack, "orders", action, key, **{"kms:CallerAccount": stack.account}) != "Allowed"
        assert _one(stack, "catalog", action, key, **via_sns) != "Allowed"


def test_the_topic_key_policy_lets_sns_deliver_only_for_its_topic(stack):
    topic = stack.ref(cloudformation.logical_id("order-events", "topic"))
    policy = stack.resource_policy(stack.topic_key(topic))
    (sns,) = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "sns.amazonaws.com"}]
    assert sorted(sns["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sns["Condition"]["ArnEquals"] == {"aws:SourceArn": topic}
    assert sns["Condition"]["StringEquals"] == {"aws:SourceAccount": stack.account}


def test_keda_reads_the_depth_of_the_queue_it_scales_on_and_nothing_else(evaluator, stack):
    queue = stack.arn(cloudformation.logical_id("fulfillment", "queue"))
    assert _one(stack, "keda", "sqs:GetQueueAttributes", queue) == "Allowed"
    assert _one(stack, "keda", "sqs:ReceiveMessage", queue) != "Allowed"
    dead_letter = stack.arn(cloudformation.logical_id("fulfillment", "dead-letter-queue"))
    assert _one(stack, "keda", "sqs:GetQueueAttributes", dead_letter) != "Allowed"


def test_operations_authorised_under_another_name_are_mapped_and_unknown_ones_fail_loudly():
    call = {"service": "fulfillment", "region": "us-east-1", "aws_service": "s3", "params": {"Bucket": "b"}}
    (head,) = authorizations(call | {"operation": "HeadBucket"}, "123456789012")
    assert (head.action, head.resource) == ("s3:ListBucket", "arn:aws:s3:::b")
    (read,) = authorizations(call | {"operation": "HeadObject", "params": {"Bucket": "b", "Key": "k"}}, "1")
    assert (read.action, read.resource) == ("s3:GetObject", "arn:aws:s3:::b/k")
    with pytest.raises(UnmappedOperation, match="GetBucketAcl"):
        authorizations(call | {"operation": "GetBucketAcl"}, "123456789012")


def test_the_evaluator_knows_iam_actions_it_refuses_an_operation_name_that_is_not_one(evaluator, stack):
    """Why this evaluator and not moto's IAM layer: moto authorises HeadBucket as "s3:HeadBucket"."""
    bucket = stack.arn(cloudformation.logical_id("receipts", "bucket"))
    assert _one(stack, "fulfillment", "s3:HeadBucket", bucket) == "Error"
