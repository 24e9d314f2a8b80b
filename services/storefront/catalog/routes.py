"""The catalog's HTTP API: ``/products`` (list, create) and ``/products/<id>`` (get, update)."""

from __future__ import annotations

import uuid

from flask import Blueprint, url_for

from seaway import Problem, json_body, metrics, params
from storefront.catalog.cache import ProductCache
from storefront.catalog.store import BadCursor, ProductExists, ProductNotFound, ProductStore


def blueprint(store: ProductStore, cache: ProductCache) -> Blueprint:
    products = Blueprint("products", __name__)

    @products.get("/products")
    def list_products():
        """A page of products; follow ``next_cursor`` for the next one."""
        try:
            items, next_cursor = store.list(params()["limit"], params().get("cursor"))
        except BadCursor:
            raise Problem(400, "Bad Request", "cursor is not one this service gave out") from None
        return {"items": items, "next_cursor": next_cursor}

    @products.get("/products/<product_id>")
    def get_product(product_id: str):
        """One product, from the cache when it is there."""
        product = cache.get(product_id)
        metrics.cache_lookup("product", hit=product is not None)
        if product is None:
            product = _found(store.get, product_id)
            cache.put(product)
        return product

    @products.post("/products")
    def create_product():
        """Create a product; the id is generated unless given."""
        body = json_body("ProductCreate")
        body.setdefault("id", uuid.uuid4().hex[:12])
        body.setdefault("currency", "USD")
        try:
            product = store.create(body)
        except ProductExists:
            raise Problem(409, "Conflict", f"product {body['id']!r} already exists") from None
        cache.forget(product["id"])
        return product, 201, {"Location": url_for(".get_product", product_id=product["id"])}

    @products.patch("/products/<product_id>")
    def update_product(product_id: str):
        """Change some fields of a product."""
        changes = json_body("ProductUpdate")
        product = _found(store.update, product_id, changes)
        cache.forget(product_id)
        return product

    return products


def _found(operation, product_id: str, *args):
    try:
        return operation(product_id, *args)
    except ProductNotFound:
        raise Problem(404, "Not Found", f"no product {product_id!r}") from None
