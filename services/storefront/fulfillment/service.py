"""The fulfillment worker's declaration: consumes order events from SQS, writes receipts to S3."""

from seaway.events import EXPIRY_ATTRIBUTE
from seaway.service import Bucket, Queue, Service, Table

SERVICE = Service(
    name="fulfillment",
    description="SQS worker: order events in, receipts to S3, dead-letter queue",
    app="storefront.fulfillment.app:create_app()",
    settings="storefront.fulfillment.settings:Settings",
    port=8083,
    calls=("orders",),
    resources=(
        Queue("fulfillment", topic="order-events", max_receives=3),
        Bucket("receipts"),
        # Event ids already handled, so a redelivered event is not handled twice (seaway.events.Consumer);
        # DynamoDB's Time to Live removes each entry after the kit's retention.
        Table("processed-events", hash_key="id", ttl_attribute=EXPIRY_ATTRIBUTE),
    ),
)
