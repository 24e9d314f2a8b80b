"""Event bodies: versioned JSON that round-trips, and messages that are not events are recognised."""

from __future__ import annotations

import json
import uuid

import pytest

from seaway.events import BadEvent, Event


def test_an_event_round_trips_through_json_with_every_field():
    event = Event.new("order.placed", {"order_id": "o-1", "total_cents": 4800}, id="order-placed-o-1")
    assert event.version == 1 and event.time.endswith("Z")
    body = event.to_json()
    assert list(json.loads(body)) == ["id", "type", "version", "time", "data"]
    assert Event.from_json(body) == event
    assert 0 <= event.age_seconds() < 60


def test_events_are_immutable():
    event = Event.new("order.placed", {})
    with pytest.raises(AttributeError):
        event.type = "order.cancelled"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"id": "e-1", "type": "order.placed", "version": 1, "time": "2026-01-01T00:00:00Z"}),
        json.dumps({"id": "e-1", "type": "order.placed", "version": "1", "time": "t", "data": {}}),
        json.dumps({"id": "e-1", "type": "order.placed", "version": True, "time": "t", "data": {}}),
        json.dumps({"id": 7, "type": "order.placed", "version": 1, "time": "t", "data": {}}),
        json.dumps({"id": "e-1", "type": "order.placed", "version": 1, "time": "t", "data": []}),
    ],
    ids=["not-json", "not-an-object", "no-data", "version-string", "version-bool", "id-number", "data-list"],
)
def test_a_body_that_is_not_an_event_is_a_bad_event(body):
    with pytest.raises(BadEvent):
        Event.from_json(body)


def test_a_consumer_stops_without_waiting_out_a_long_poll_on_an_empty_queue(moto):
    from seaway import aws, lifecycle
    from seaway.events import Consumer
    from tests.conftest import aws_environment
    from tests.processes import wait_for

    with aws_environment(moto.aws_env()):
        queue_url = aws.client("sqs").create_queue(QueueName=f"idle-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        consumer = Consumer(
            queue_url, lambda event: None, processed_table=None, wait_seconds=5, stop_seconds=30, ready_wait_seconds=0
        )
        consumer.start()
        try:
            wait_for(lambda: consumer._polling, message="the consumer's long poll")
            consumer.stop()
            # stop() is back while the poll is still open (waiting it out, the thread would have ended first)
            assert consumer._thread.is_alive() and consumer._polling
        finally:
            lifecycle._hooks.remove(consumer.stop)


def test_a_consumer_begins_once_its_worker_has_been_found_ready(moto, monkeypatch):
    import threading
    import time

    from seaway import aws, health, lifecycle
    from seaway.events import Consumer
    from tests.conftest import aws_environment
    from tests.processes import wait_for

    monkeypatch.setattr(health, "_found_ready", threading.Event())  # this process not found ready yet
    handled = []
    with aws_environment(moto.aws_env()):
        queue_url = aws.client("sqs").create_queue(QueueName=f"backlog-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=Event.new("order.placed", {}).to_json())
        consumer = Consumer(queue_url, handled.append, processed_table=None, wait_seconds=1, ready_wait_seconds=60)
        consumer.start()
        try:
            time.sleep(0.5)  # without the wait for readiness, the message is handled well within this
            assert handled == [] and not consumer._polling
            readiness = health.Readiness(cache_seconds=0, checks={"queue": consumer.check})
            assert readiness.results() == {"queue": "ok"}
            wait_for(lambda: handled, message="the queued event handled")
        finally:
            consumer.stop()
            lifecycle._hooks.remove(consumer.stop)


def test_a_handler_runs_in_the_events_trace_context_baggage_included(moto):
    from opentelemetry import baggage, trace

    from seaway import aws, lifecycle
    from seaway.events import Consumer
    from tests.conftest import aws_environment
    from tests.processes import wait_for

    trace_id = uuid.uuid4().hex
    attributes = {
        "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01",
        "baggage": "tenant=acme",
    }
    seen = []

    def handler(event):
        seen.append(
            (format(trace.get_current_span().get_span_context().trace_id, "032x"), baggage.get_baggage("tenant"))
        )

    with aws_environment(moto.aws_env()):
        queue_url = aws.client("sqs").create_queue(QueueName=f"context-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        aws.client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=Event.new("order.placed", {}).to_json(),
            MessageAttributes={key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()},
        )
        consumer = Consumer(queue_url, handler, processed_table=None, wait_seconds=1, ready_wait_seconds=0)
        consumer.start()
        try:
            wait_for(lambda: seen, message="the event handled")
        finally:
            consumer.stop()
            lifecycle._hooks.remove(consumer.stop)
    assert seen == [(trace_id, "acme")]
