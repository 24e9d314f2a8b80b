"""The gateway: the public REST API (``/api``) and the web page (``/``), in front of catalog and orders."""

from __future__ import annotations

from flask import Flask

import seaway
from seaway import config, openapi
from seaway.client import ServiceClient
from storefront.gateway import page, routes
from storefront.gateway.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from storefront.gateway.settings import Settings


def create_app() -> Flask:
    """Readiness checks nothing downstream on purpose: a peer's outage must not take the edge out of service."""
    settings = config.load(Settings)
    app = seaway.create_app("gateway", openapi_document=openapi.load("storefront.gateway"))
    catalog = ServiceClient("catalog", settings, base_url=settings.catalog_url)
    orders = ServiceClient("orders", settings, base_url=settings.orders_url)
    limiter: RateLimiter
    if settings.redis_url:
        limiter = RedisRateLimiter(settings.redis_url, settings.rate_limit_per_second, settings.rate_limit_burst)
    else:
        limiter = LocalRateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    sign_in = page.sign_in_settings(settings, settings.sign_in_endpoint)
    app.register_blueprint(routes.blueprint(catalog, orders, limiter, sign_in))
    app.register_blueprint(page.blueprint(sign_in["endpoint"]))
    return app
