"""The catalog's own settings (the kit's are in seaway.config.KitSettings)."""

from dataclasses import dataclass

from seaway.config import setting


@dataclass(frozen=True)
class Settings:
    products_table: str = setting("storefront-products")
    # Redis for the cache when set (ElastiCache on EKS); a bounded in-process cache otherwise.
    redis_url: str | None = setting(None)
    cache_ttl_seconds: int = setting(60, minimum=1, maximum=86_400)
    local_cache_size: int = setting(1024, minimum=1)
    # Load the demo products at start (local mode and kind).
    seed_products: bool = setting(False)
