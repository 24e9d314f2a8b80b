"""The orders service: orders in DynamoDB priced from the catalog, ``order.placed`` events to SNS."""

from __future__ import annotations

from flask import Flask

import seaway
from seaway import config, openapi
from seaway.client import ServiceClient
from storefront.orders import routes
from storefront.orders.settings import Settings
from storefront.orders.store import OrderStore


def create_app() -> Flask:
    settings = config.load(Settings)
    app = seaway.create_app("orders", openapi_document=openapi.load("storefront.orders"))
    store = OrderStore(settings.orders_table)
    seaway.add_check(app, "dynamodb", store.ping)
    catalog = ServiceClient("catalog", settings, base_url=settings.catalog_url)
    app.register_blueprint(routes.blueprint(store, catalog, settings.order_events_topic_arn))
    return app
