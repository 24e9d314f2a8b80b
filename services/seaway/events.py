"""Events between services: publish to SNS, consume from SQS.

An :class:`Event` is a small versioned JSON document (``id``, ``type``, ``version``, ``time``, ``data``).
:func:`publish` sends it to an SNS topic with the W3C trace context in the message attributes. A
:class:`Consumer` reads a queue subscribed to that topic (raw message delivery, so the body is the event and
the attributes arrive as SQS message attributes) in a background thread:

- it begins once its worker has been found ready (:func:`seaway.health.wait_until_ready`), or after
  ``ready_wait_seconds`` without that: a worker restarted with a backlog answered its first readiness checks
  only after the calls of its own consumer, already draining the queue (1 to 3 s to ready instead of 0.8);
- long polling, up to ten messages a call;
- each message is handled in a span that continues the publisher's trace;
- at-least-once delivery made effectively-once with a processed-events table: before the handler runs, the
  event id is claimed with a DynamoDB conditional write (a lease as long as the visibility timeout); a
  redelivered event whose claim says ``done`` is deleted without running the handler again;
- a heartbeat extends the message's visibility (and the claim's lease) while a slow handler runs;
- the message is deleted only after the handler succeeded; a failure makes it visible again after a
  growing delay, and after the queue's ``maxReceiveCount`` receives SQS moves it to the dead-letter queue
  (the queue's redrive policy, which :mod:`seaway_tools.resources` and the AWS templates set);
- on shutdown (:func:`seaway.lifecycle.on_shutdown`, which gunicorn's ``worker_exit`` runs) it stops
  receiving, lets the message in hand finish within ``stop_seconds``, and otherwise releases it (visibility
  0, claim removed) so another worker takes it at once: nothing is lost. A long poll with nothing in hand is
  not waited out (a receive cannot be cut short, and it lasted up to ``wait_seconds``, 10 s by default, at
  every worker's exit): a message that such a last poll still receives, as the worker exits, is delivered again
  after its visibility timeout, as after a crash.

Metrics: :func:`seaway.metrics.event_published` and :func:`seaway.metrics.event_handled`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from seaway import aws, dynamodb, health, lifecycle, metrics

log = logging.getLogger("seaway.events")
_tracer = trace.get_tracer(__name__)

_PROCESSED_RETENTION_SECONDS = 7 * 24 * 3600  # longer than any queue keeps a message (at most 14 days: see TTL)
# The processed-events attribute (epoch seconds) after which the table's Time to Live deletes an entry: the
# table's declaration names it as its ``ttl_attribute`` (storefront.fulfillment.service).
EXPIRY_ATTRIBUTE = "expires_at"


class BadEvent(ValueError):
    """A message body that is not an event this kit can read."""


@dataclass(frozen=True)
class Event:
    """One event. ``version`` is the version of ``data``'s shape for this ``type``."""

    id: str
    type: str
    version: int
    time: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, type: str, data: dict[str, Any], *, version: int = 1, id: str | None = None) -> Event:
        """A new event; give ``id`` when a retry of the same action must publish the same event."""
        return cls(id=id or uuid.uuid4().hex, type=type, version=version, time=dynamodb.now(), data=data)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> Event:
        try:
            fields = json.loads(body)
        except (ValueError, TypeError):
            raise BadEvent("the body is not JSON") from None
        if not isinstance(fields, dict):
            raise BadEvent("the body is not a JSON object")
        kinds = {"id": str, "type": str, "version": int, "time": str, "data": dict}
        for name, kind in kinds.items():
            if not isinstance(fields.get(name), kind) or isinstance(fields.get(name), bool):
                raise BadEvent(f"{name} is missing or not a {kind.__name__}")
        return cls(**{name: fields[name] for name in kinds})

    def age_seconds(self) -> float | None:
        try:
            return (datetime.now(UTC) - datetime.fromisoformat(self.time.replace("Z", "+00:00"))).total_seconds()
        except ValueError:
            return None


def publish(topic_arn: str, event: Event) -> str:
    """Publish ``event`` to SNS with the current trace context in its message attributes; the message id."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    attributes = {key: {"DataType": "String", "StringValue": value} for key, value in carrier.items()}
    attributes["event_type"] = {"DataType": "String", "StringValue": event.type}
    answer = aws.client("sns").publish(TopicArn=topic_arn, Message=event.to_json(), MessageAttributes=attributes)
    metrics.event_published(topic_arn.rsplit(":", 1)[-1], event.type)
    return answer["MessageId"]


Handler = Callable[[Event], None]


@contextmanager
def _current(context: otel_context.Context) -> Iterator[None]:
    """``context`` (a message's trace context) current inside the block: the consumer's span is its child, and
    the publisher's baggage goes on with the event to what its handler calls and publishes."""
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


class Consumer:
    """Consumes one SQS queue in a background thread of this process; see the module's description."""

    def __init__(
        self,
        queue_url: str,
        handler: Handler,
        *,
        processed_table: str | None,
        wait_seconds: int = 10,
        batch_size: int = 10,
        visibility_timeout: int = 30,
        retry_base_seconds: float = 1.0,
        stop_seconds: float = 10.0,
        ready_wait_seconds: float = 2.0,
    ) -> None:
        self.queue_url = queue_url
        self.queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self.handler = handler
        self.processed_table = processed_table
        self.wait_seconds = wait_seconds
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.retry_base_seconds = retry_base_seconds
        self.stop_seconds = stop_seconds
        self.ready_wait_seconds = ready_wait_seconds
        self.max_receives: int | None = None
        self._stopping = threading.Event()
        self._polling = False  # in receive_message: a long poll that cannot be cut short
        self._thread: threading.Thread | None = None
        # Messages received and not yet finished: receipt handle -> event id (None until parsed).
        self._in_hand: dict[str, str | None] = {}
        self._in_hand_lock = threading.Lock()
        # Long polls need a read timeout longer than the poll; the kit's default clients give up sooner.
        self._sqs = aws.make_client(
            "sqs",
            Config(connect_timeout=2, read_timeout=wait_seconds + 10, retries={"mode": "standard", "max_attempts": 3}),
        )

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Consumer:
        """Start the thread and register :meth:`stop` to run when the worker exits."""
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.queue}", daemon=True)
        self._thread.start()
        lifecycle.on_shutdown(self.stop)
        return self

    def check(self) -> None:
        """Readiness: the queue answers and the consuming thread is alive."""
        aws.client("sqs", probe=True).get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        if self._thread is not None and not self._thread.is_alive() and not self._stopping.is_set():
            raise RuntimeError("the consumer thread has stopped")

    def stop(self) -> None:
        """Stop receiving; wait up to ``stop_seconds`` for the message in hand, then release what is left."""
        self._stopping.set()
        deadline = time.monotonic() + self.stop_seconds
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            with self._in_hand_lock:
                idle = self._polling and not self._in_hand
            if idle:
                break
            self._thread.join(0.05)
        with self._in_hand_lock:
            unfinished = dict(self._in_hand)
        for receipt, event_id in unfinished.items():
            self._release(receipt, event_id)
        log.info("consumer stopped", extra={"queue": self.queue, "released": len(unfinished)})

    # --- the loop ----------------------------------------------------------------------------------

    def _run(self) -> None:
        health.wait_until_ready(self.ready_wait_seconds)
        pause = 0.5
        while not self._stopping.is_set():
            try:
                if self.max_receives is None:
                    self.max_receives = self._read_max_receives()
                answer = self._receive()
            except (BotoCoreError, ClientError) as error:
                log.warning("receive failed; retrying", extra={"queue": self.queue, "reason": str(error)})
                self._stopping.wait(pause)
                pause = min(pause * 2, 10.0)
                continue
            pause = 0.5
            messages = answer.get("Messages", [])
            for message in messages:
                if self._stopping.is_set():
                    self._release(message["ReceiptHandle"], None)  # received as we stop: back at once
                    continue
                try:
                    self._handle(message)
                except (BotoCoreError, ClientError) as error:
                    # SQS or DynamoDB failed around the handler: the message comes back after its timeout.
                    log.warning("message bookkeeping failed", extra={"queue": self.queue, "reason": str(error)})
                    self._forget(message["ReceiptHandle"])

    def _receive(self) -> dict[str, Any]:
        with self._in_hand_lock:
            self._polling = True
        try:
            answer = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=self.wait_seconds,
                VisibilityTimeout=self.visibility_timeout,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=["All"],
            )
            with self._in_hand_lock:  # in hand before stop() can see the poll over
                self._in_hand.update({message["ReceiptHandle"]: None for message in answer.get("Messages", [])})
            return answer
        finally:
            with self._in_hand_lock:
                self._polling = False

    def _read_max_receives(self) -> int:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        return int(json.loads(policy)["maxReceiveCount"]) if policy else 0

    def _handle(self, message: dict[str, Any]) -> None:
        receipt = message["ReceiptHandle"]
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        carrier = {
            key: value["StringValue"]
            for key, value in message.get("MessageAttributes", {}).items()
            if value.get("DataType") == "String" and "StringValue" in value
        }
        with (
            _current(propagate.extract(carrier)),
            _tracer.start_as_current_span(
                f"{self.queue} process",
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "aws_sqs",
                    "messaging.destination.name": self.queue,
                    "messaging.operation.type": "process",
                    "messaging.message.id": message.get("MessageId", ""),
                },
            ) as span,
        ):
            try:
                event = Event.from_json(message.get("Body", ""))
            except BadEvent as error:
                span.set_attribute("error.type", "BadEvent")
                log.warning(
                    "unreadable message", extra={"queue": self.queue, "reason": str(error), "receives": receives}
                )
                self._failed(receipt, None, "unknown", receives)
                return
            span.set_attribute("seaway.event.type", event.type)
            span.set_attribute("seaway.event.id", event.id)
            with self._in_hand_lock:
                self._in_hand[receipt] = event.id
            claim = self._claim(event.id)
            if claim == "done":
                self._delete(receipt)
                metrics.event_handled(self.queue, event.type, "duplicate")
                log.info("duplicate event skipped", extra={"queue": self.queue, "event_id": event.id})
                return
            if claim == "busy":
                # Another worker holds it; the message comes back after its visibility timeout.
                self._forget(receipt)
                return
            try:
                with _Heartbeat(self, receipt, event.id):
                    self.handler(event)
            except Exception as error:  # any handler failure: retry later, dead-letter after maxReceiveCount
                span.record_exception(error)
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(error)))
                log.warning(
                    "handler failed",
                    exc_info=error,
                    extra={"queue": self.queue, "event_id": event.id, "event_type": event.type, "receives": receives},
                )
                self._unclaim(event.id)
                self._failed(receipt, event.id, event.type, receives)
                return
            self._mark_done(event.id)
            self._delete(receipt)
            metrics.event_handled(self.queue, event.type, "processed", event.age_seconds())
            log.info("event processed", extra={"queue": self.queue, "event_id": event.id, "event_type": event.type})

    def _failed(self, receipt: str, event_id: str | None, event_type: str, receives: int) -> None:
        final = bool(self.max_receives) and receives >= (self.max_receives or 0)
        metrics.event_handled(self.queue, event_type, "dead_lettered" if final else "failed")
        if final:
            log.error("message goes to the dead-letter queue", extra={"queue": self.queue, "event_id": event_id})
        # Back off before the next attempt; the last one is released at once so SQS dead-letters it promptly.
        delay = 0 if final else min(self.visibility_timeout, int(self.retry_base_seconds * 2 ** (receives - 1)))
        self._sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=delay)
        self._forget(receipt)

    def _delete(self, receipt: str) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
        self._forget(receipt)

    def _forget(self, receipt: str) -> None:
        with self._in_hand_lock:
            self._in_hand.pop(receipt, None)

    def _release(self, receipt: str, event_id: str | None) -> None:
        """Give a message back at once (shutdown): visible again now, its claim removed."""
        try:
            if event_id is not None:
                self._unclaim(event_id)
            self._sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
        except (BotoCoreError, ClientError) as error:
            log.warning("could not release a message; it returns after its timeout", extra={"reason": str(error)})
        self._forget(receipt)
        log.info("message released", extra={"queue": self.queue, "event_id": event_id})

    # --- the processed-events table ---------------------------------------------------------------

    def _claim(self, event_id: str) -> str:
        """``"claimed"`` (ours to handle), ``"done"`` (handled before) or ``"busy"`` (someone holds it)."""
        if not self.processed_table:
            return "claimed"
        dynamodb = aws.client("dynamodb")
        now = int(time.time())
        try:
            dynamodb.put_item(
                TableName=self.processed_table,
                Item={
                    "id": {"S": event_id},
                    "state": {"S": "in_progress"},
                    "lease_until": {"N": str(now + self.visibility_timeout)},
                    EXPIRY_ATTRIBUTE: {"N": str(now + _PROCESSED_RETENTION_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(id) OR (#state = :in_progress AND lease_until < :now)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":in_progress": {"S": "in_progress"}, ":now": {"N": str(now)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            item = dynamodb.get_item(
                TableName=self.processed_table, Key={"id": {"S": event_id}}, ConsistentRead=True
            ).get("Item")
            return "done" if item and item["state"]["S"] == "done" else "busy"
        return "claimed"

    def _extend_claim(self, event_id: str) -> None:
        if self.processed_table:
            aws.client("dynamodb").update_item(
                TableName=self.processed_table,
                Key={"id": {"S": event_id}},
                UpdateExpression="SET lease_until = :until",
                ExpressionAttributeValues={":until": {"N": str(int(time.time()) + self.visibility_timeout)}},
            )

    def _mark_done(self, event_id: str) -> None:
        if self.processed_table:
            aws.client("dynamodb").put_item(
                TableName=self.processed_table,
                Item={
                    "id": {"S": event_id},
                    "state": {"S": "done"},
                    "done_at": {"S": dynamodb.now()},
                    EXPIRY_ATTRIBUTE: {"N": str(int(time.time()) + _PROCESSED_RETENTION_SECONDS)},
                },
            )

    def _unclaim(self, event_id: str) -> None:
        if not self.processed_table:
            return
        dynamodb = aws.client("dynamodb")
        # Fails when already done (a handler finished after all) or already gone: both fine.
        with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.delete_item(
                TableName=self.processed_table,
                Key={"id": {"S": event_id}},
                ConditionExpression="#state = :in_progress",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":in_progress": {"S": "in_progress"}},
            )


class _Heartbeat:
    """While a handler runs: every third of the visibility timeout, extend the message and the claim."""

    def __init__(self, consumer: Consumer, receipt: str, event_id: str) -> None:
        self.consumer, self.receipt, self.event_id = consumer, receipt, event_id
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="consumer-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        consumer = self.consumer
        interval = max(1.0, consumer.visibility_timeout / 3)
        while not self._done.wait(interval):
            with consumer._in_hand_lock:
                if self.receipt not in consumer._in_hand:
                    return  # released on shutdown: extending it again would hide it from other workers
            try:
                consumer._sqs.change_message_visibility(
                    QueueUrl=consumer.queue_url,
                    ReceiptHandle=self.receipt,
                    VisibilityTimeout=consumer.visibility_timeout,
                )
                consumer._extend_claim(self.event_id)
            except (BotoCoreError, ClientError) as error:
                log.warning("visibility extension failed", extra={"queue": consumer.queue, "reason": str(error)})
