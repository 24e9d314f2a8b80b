"""AWS throttling and an AWS outage under the order path: 503 problem+json while AWS fails, nothing
half-written afterwards (no order without its event, no order twice), and recovery without restarts.

Throttling comes from :class:`ThrottlingAws`, an HTTP proxy in front of the moto server that answers the
chosen AWS services as AWS does when a rate is exceeded; the outage is the moto server stopped, then
started again on the same port with its resources recreated (an emulator forgets everything).
No fulfillment worker runs, so every order event stays in the fulfillment queue for the test to count.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests

from storefront.catalog.seed import PRODUCTS
from tests.conftest import GENEROUS_RATE_LIMIT, STOREFRONT, create_resources, sign_in, storefront_env, subject
from tests.processes import MotoServer, Service, wait_for

PROBLEM = "application/problem+json"
SERVICES = ("catalog", "orders", "gateway")


class ThrottlingAws:
    """Forwards AWS calls to the moto server, or answers those of ``throttled`` services (by SigV4 scope:
    ``dynamodb``, ``sns``...) with the throttling error each protocol uses."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.throttled: set[str] = set()
        self.refused: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                scope = self.headers.get("Authorization", "").split("Credential=", 1)[-1].split("/")
                service = scope[3] if len(scope) > 3 else ""
                if service in proxy.throttled:
                    proxy.refused[service] += 1
                    self._throttle(self.headers.get("Content-Type", ""))
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, headers=headers, data=body, timeout=30
                )
                self._send(answer.status_code, answer.headers.get("Content-Type", "text/xml"), answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def _throttle(self, content_type: str) -> None:
                if "json" in content_type:  # JSON protocols (DynamoDB, SQS)
                    body = {"__type": "ThrottlingException", "message": "Rate of requests exceeds the allowed rate"}
                    self._send(400, "application/x-amz-json-1.0", json.dumps(body).encode())
                else:  # the query protocol (SNS): XML
                    body = (
                        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                        "<Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId></ErrorResponse>"
                    )
                    self._send(400, "text/xml", body.encode())

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ThrottlingAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Shop:
    """Catalog, orders and gateway on ``moto`` (through ``endpoint`` when given), and a look into AWS."""

    def __init__(self, moto: MotoServer, endpoint: str | None = None) -> None:
        self.moto = moto
        common = {"AWS_ENDPOINT_URL": endpoint} if endpoint else {}
        # The kit client's own retries would hide nothing here, but keep calls short so the test is quick.
        envs, self.aws_env = storefront_env(moto, names=SERVICES, common=common, gateway=GENEROUS_RATE_LIMIT)
        self.services = {name: Service(name, envs[name]).start(wait=False) for name in SERVICES}
        for service in self.services.values():
            service.wait_ready()
        self.gateway = self.services["gateway"]
        self.events: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.credentials: dict[str, dict[str, str]] = {}

    def stop(self) -> None:
        for service in reversed(self.services.values()):
            service.stop()

    def client(self, name: str):
        env = self.moto.aws_env()
        return boto3.session.Session().client(
            name,
            endpoint_url=self.moto.url,
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def new_customer(self) -> str:
        """A customer signed in to the pool; its id (the token's subject), by which its orders are found."""
        credentials = sign_in(self.aws_env)
        self.credentials[subject(credentials)] = credentials
        return subject(credentials)

    def place(self, key: str, customer: str) -> requests.Response:
        order = {"items": [{"product_id": "espresso-beans", "quantity": 2}]}
        headers = {"Idempotency-Key": key, **self.credentials[customer]}
        return self.gateway.post("/api/orders", json=order, headers=headers, timeout=30)

    def stored_orders(self, customer: str) -> list[dict]:
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.aws_env["ORDERS_TABLE"])
        items = [item for page in pages for item in page["Items"]]
        return [item for item in items if item["customer_id"]["S"] == customer]

    def order_events(self, customer: str) -> Counter[str]:
        """How many order.placed events each order of ``customer`` has had in the fulfillment queue so far."""
        sqs, url = self.client("sqs"), self.aws_env["FULFILLMENT_QUEUE_URL"]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                data = json.loads(message["Body"])["data"]
                self.events[data["customer_id"]][data["order_id"]] += 1
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return self.events[customer]


def assert_unavailable(answer: requests.Response, statuses: tuple[int, ...] = (503,)) -> None:
    """A "try again later" answer: problem+json, never a 500 or a 502."""
    assert answer.status_code in statuses, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert answer.json()["status"] == answer.status_code


def place_until_accepted(shop: Shop, key: str, customer: str, timeout: float = 30.0) -> requests.Response:
    """What a good client does after a 503: wait as Retry-After says, then send the same request again."""
    deadline = time.monotonic() + timeout
    while True:
        answer = shop.place(key, customer)
        if answer.status_code in (200, 201) or time.monotonic() > deadline:
            return answer
        assert_unavailable(answer, (503, 504))
        time.sleep(min(1.0, float(answer.headers.get("Retry-After", "1"))))


def assert_each_order_once_with_one_event(shop: Shop, customer: str, expected: int | None = None) -> None:
    """Every stored order of ``customer`` has exactly one event, and every event its order.

    Requests the gateway gave up on may still be running in orders: wait until none is half-way.
    """
    wait_for(
        lambda: all(item["published"]["BOOL"] for item in shop.stored_orders(customer)),
        timeout=20,
        message="every stored order published",
    )
    stored = sorted(item["id"]["S"] for item in shop.stored_orders(customer))
    if expected is not None:
        assert len(stored) == expected, stored
    assert shop.order_events(customer) == Counter(stored)


@pytest.fixture
def throttling(private_moto):
    proxy = ThrottlingAws(private_moto.url).start()
    shop = Shop(private_moto, endpoint=proxy.url)
    yield shop, proxy
    shop.stop()
    proxy.stop()


@pytest.mark.parametrize("service", ["sns", "dynamodb"])
def test_while_aws_throttles_orders_fail_with_503_and_leave_nothing_half_written(throttling, service):
    shop, aws = throttling
    customer, keys = shop.new_customer(), [f"throttled-{uuid.uuid4().hex}" for _ in range(3)]
    aws.throttled = {service}
    try:
        # Orders itself answers 503 once botocore's own retries give up; the gateway, whose 3 s budget
        # may run out first while those retries back off, answers 503 or 504: both say "try later".
        order = {"items": [{"product_id": "espresso-beans", "quantity": 2}]}
        headers = {"Idempotency-Key": keys[0], **shop.credentials[customer]}
        assert_unavailable(shop.services["orders"].post("/orders", json=order, headers=headers))
        for key in keys:
            assert_unavailable(shop.place(key, customer), (503, 504))
        assert aws.refused[service] >= len(keys)
    finally:
        aws.throttled = set()
    # Whatever the service wrote while failing, no order stays behind without its event. (An order may have
    # gone through after all: one whose answer came after the gateway's 504, when AWS accepted again.)
    assert_each_order_once_with_one_event(shop, customer)
    # Retried with the same keys once AWS accepts again: one order each, one event each.
    assert {place_until_accepted(shop, key, customer).status_code for key in keys} <= {200, 201}
    replays = [place_until_accepted(shop, key, customer) for key in keys]
    assert [a.status_code for a in replays] == [200] * len(keys), [a.text for a in replays]
    assert_each_order_once_with_one_event(shop, customer, expected=len(keys))


def test_through_an_aws_outage_orders_fail_with_503_and_work_again_without_restarts(private_moto):
    shop = Shop(private_moto)
    try:
        customer = shop.new_customer()
        assert shop.place(f"before-{uuid.uuid4().hex}", customer).status_code == 201
        processes = {name: service.process.pid for name, service in shop.services.items()}

        private_moto.stop()
        keys = [f"outage-{uuid.uuid4().hex}" for _ in range(3)]
        for key in keys:
            assert_unavailable(shop.place(key, customer))
        assert shop.gateway.get("/livez").status_code == 200  # up, only unable to take orders

        private_moto.start()  # the same port; the emulator starts empty, as after losing a region's data
        create_resources(private_moto, *STOREFRONT)
        catalog = shop.services["catalog"]
        for product in PRODUCTS:
            assert catalog.post("/products", json=product).status_code == 201
        wait_for(lambda: shop.services["orders"].get("/readyz").status_code == 200, message="orders ready again")

        # Without restarting anything: once the gateway's breaker lets calls to orders through again.
        answers = [place_until_accepted(shop, key, customer) for key in keys]
        assert [a.status_code for a in answers] == [201] * len(keys), [a.text for a in answers]
        assert [place_until_accepted(shop, key, customer).status_code for key in keys] == [200] * len(keys)
        assert_each_order_once_with_one_event(shop, customer, expected=len(keys))
        assert {name: service.process.pid for name, service in shop.services.items()} == processes
        assert all(service.running for service in shop.services.values())
    finally:
        shop.stop()
