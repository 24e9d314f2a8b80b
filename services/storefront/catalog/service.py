"""The catalog service's declaration: products in DynamoDB, cache-aside through Redis."""

from seaway.service import Service, Table

SERVICE = Service(
    name="catalog",
    description="Products (DynamoDB), cache-aside through Redis",
    app="storefront.catalog.app:create_app()",
    settings="storefront.catalog.settings:Settings",
    port=8081,
    callers=("gateway", "orders"),
    resources=(Table("products", hash_key="id"),),
    redis=True,
    caches=("product",),  # storefront.catalog.cache: Redis when REDIS_URL is set, else in process
    local_env=(("SEED_PRODUCTS", "true"),),
)
