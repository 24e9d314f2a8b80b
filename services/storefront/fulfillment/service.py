"""The fulfillment worker's declaration: consumes order events from SQS, writes receipts to S3."""

from seaway.service import Bucket, Queue, Service

SERVICE = Service(
    name="fulfillment",
    description="SQS worker: order events in, receipts to S3, dead-letter queue",
    app="storefront.fulfillment.app:create_app()",
    port=8083,
    calls=("orders",),
    resources=(
        Queue("fulfillment", topic="order-events", max_receives=3),
        Bucket("receipts"),
    ),
)
