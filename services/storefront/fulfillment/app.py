"""The fulfillment worker: order.placed events from SQS in, receipts to S3, orders told; no public API."""

from __future__ import annotations

from flask import Flask

import seaway
from seaway import aws, config, events, openapi
from seaway.client import ServiceClient
from storefront.fulfillment.handler import Fulfiller
from storefront.fulfillment.receipts import ReceiptWriter
from storefront.fulfillment.settings import Settings


def create_app() -> Flask:
    """The app (health, metrics) and, in the background of this worker, the queue's consumer."""
    settings = config.load(Settings)
    app = seaway.create_app("fulfillment", openapi_document=openapi.load("storefront.fulfillment"))
    receipts = ReceiptWriter(settings.receipts_bucket)
    orders = ServiceClient("orders", settings, base_url=settings.orders_url)
    consumer = events.Consumer(
        settings.fulfillment_queue_url,
        Fulfiller(receipts, orders, settings.handler_delay_seconds).handle,
        processed_table=settings.processed_events_table,
        wait_seconds=settings.consumer_wait_seconds,
        batch_size=settings.consumer_batch_size,
        visibility_timeout=settings.consumer_visibility_seconds,
        retry_base_seconds=settings.consumer_retry_seconds,
        stop_seconds=settings.consumer_stop_seconds,
    )
    seaway.add_check(app, "queue", consumer.check)
    seaway.add_check(app, "bucket", receipts.ping)
    seaway.add_check(
        app,
        "dynamodb",
        lambda: aws.client("dynamodb", probe=True).describe_table(TableName=settings.processed_events_table),
    )
    # The checks' clients now, before the consumer runs: building one loads its service's model (about 0.1 s
    # of CPU for S3), and the first /readyz built all three while the consumer, with a queue to drain, held
    # the GIL and the AWS endpoint: readiness came up to seconds late. Only their calls are left to it.
    for service in ("sqs", "s3", "dynamodb"):
        aws.client(service, probe=True)
    if settings.consume_events:
        consumer.start()
    return app
