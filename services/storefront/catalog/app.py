"""The catalog service: products in DynamoDB with cache-aside through Redis."""

from __future__ import annotations

from flask import Flask

import seaway
from seaway import config, openapi
from storefront.catalog import routes, seed
from storefront.catalog.cache import LocalCache, ProductCache, RedisCache
from storefront.catalog.settings import Settings
from storefront.catalog.store import ProductStore


def create_app() -> Flask:
    settings = config.load(Settings)
    app = seaway.create_app("catalog", openapi_document=openapi.load("storefront.catalog"))
    store = ProductStore(settings.products_table)
    seaway.add_check(app, "dynamodb", store.ping)
    cache: ProductCache
    if settings.redis_url:
        cache = RedisCache(settings.redis_url, settings.cache_ttl_seconds)
        seaway.add_check(app, "redis", cache.ping)
    else:
        cache = LocalCache(settings.local_cache_size, settings.cache_ttl_seconds)
    if settings.seed_products:
        seed.load(store)
    app.register_blueprint(routes.blueprint(store, cache))
    return app
