"""The orders service's declaration: orders in DynamoDB, order events to SNS."""

from seaway.service import RestrictedPaths, Service, Table, Topic

SERVICE = Service(
    name="orders",
    description="Orders (DynamoDB, idempotent writes), order events to SNS",
    app="storefront.orders.app:create_app()",
    settings="storefront.orders.settings:Settings",
    port=8082,
    calls=("catalog",),
    callers=("gateway", "fulfillment"),
    # Only fulfillment may report an order fulfilled (the gateway never routes /internal, and may not call it).
    restricted_paths=(RestrictedPaths(paths=("/internal/*",), callers=("fulfillment",)),),
    resources=(
        Table("orders", hash_key="id", indexes=(("by-customer", "customer_id", "created_at"),)),
        Topic("order-events"),
    ),
)
