"""A token bucket per client: ``rate`` requests a second on average, bursts of up to ``burst``.

With Redis (``REDIS_URL``) the buckets are shared by every worker and every pod, updated atomically by a
small Lua script using Redis's clock; without it each process keeps its own (bounded) buckets. When Redis
fails the request is let through: the limit protects the services, it must not become an outage itself.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

import cachetools
import redis

log = logging.getLogger("storefront.gateway.ratelimit")

_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RateLimiter(Protocol):
    def take(self, client: str) -> float:
        """Take a token for ``client``: 0 when allowed, else the seconds until one is available."""
        ...


class LocalRateLimiter:
    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate, self.burst = rate, burst
        # A full bucket and a forgotten one are the same, so entries may expire once they would be full.
        self._buckets: cachetools.TTLCache = cachetools.TTLCache(max_clients, ttl=burst / rate + 1)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            return wait


class RedisRateLimiter:
    def __init__(self, url: str, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._script = self.redis.register_script(_TAKE)

    def take(self, client: str) -> float:
        try:
            return float(self._script(keys=[f"gateway:ratelimit:{client}"], args=[self.rate, self.burst]))
        except redis.RedisError as error:
            log.warning("rate limit unavailable; request let through", extra={"reason": str(error)})
            return 0.0


def retry_after(wait: float) -> str:
    """The Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
