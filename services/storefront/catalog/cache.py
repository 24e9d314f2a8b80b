"""Cache-aside for single products: Redis when ``REDIS_URL`` is set, a bounded in-process cache otherwise.

Reads fill the cache; writes remove the product's entry after the table is updated. A cache that fails
is treated as a miss (and a failed removal is logged): the table stays the source of truth, and the
entry's TTL bounds how long a missed invalidation can serve stale data.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

import cachetools
import redis

log = logging.getLogger("storefront.catalog.cache")


class ProductCache(Protocol):
    def get(self, product_id: str) -> dict[str, Any] | None: ...
    def put(self, product: dict[str, Any]) -> None: ...
    def forget(self, product_id: str) -> None: ...


def key(product_id: str) -> str:
    """The Redis key of a product: ``catalog:product:<id>``."""
    return f"catalog:product:{product_id}"


class RedisCache:
    def __init__(self, url: str, ttl_seconds: int) -> None:
        self.ttl = ttl_seconds
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def ping(self) -> None:
        """Readiness: Redis answers."""
        self.redis.ping()

    def get(self, product_id: str) -> dict[str, Any] | None:
        try:
            cached = self.redis.get(key(product_id))
        except redis.RedisError as error:
            log.warning("cache read failed", extra={"reason": str(error)})
            return None
        return json.loads(cached) if cached else None

    def put(self, product: dict[str, Any]) -> None:
        try:
            self.redis.set(key(product["id"]), json.dumps(product), ex=self.ttl)
        except redis.RedisError as error:
            log.warning("cache fill failed", extra={"reason": str(error)})

    def forget(self, product_id: str) -> None:
        try:
            self.redis.delete(key(product_id))
        except redis.RedisError as error:
            log.error("cache invalidation failed; entry expires with its TTL", extra={"reason": str(error)})


class LocalCache:
    """Per-worker, bounded in size and age; good enough when each replica may briefly disagree."""

    def __init__(self, size: int, ttl_seconds: int) -> None:
        self._entries: cachetools.TTLCache = cachetools.TTLCache(maxsize=size, ttl=ttl_seconds)
        self._lock = threading.Lock()

    def get(self, product_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._entries.get(product_id)

    def put(self, product: dict[str, Any]) -> None:
        with self._lock:
            self._entries[product["id"]] = product

    def forget(self, product_id: str) -> None:
        with self._lock:
            self._entries.pop(product_id, None)
