"""The rate limit holds across processes: two gateways (as two pods, each with two workers) sharing one Redis
limit one client as one. Without Redis each worker kept its own bucket, and a client got a burst from each."""

from __future__ import annotations

import requests

from tests.integration.test_edge_worker_exit import gateway_env

BURST = 10


def test_two_gateway_processes_sharing_redis_limit_one_client_as_one(start_service, private_redis):
    # No catalog: an allowed request is a 503, a limited one a 429.
    env = gateway_env(
        REDIS_URL=private_redis.url, RATE_LIMIT_PER_SECOND="0.5", RATE_LIMIT_BURST=str(BURST), CLIENT_MAX_RETRIES="0"
    )
    gateways = [start_service("gateway", env), start_service("gateway", env)]

    statuses = []
    for turn in range(4 * BURST):  # a new connection each time: both processes, all their workers
        answer = requests.get(gateways[turn % 2].url + "/api/products", timeout=10)
        statuses.append(answer.status_code)

    allowed = sum(status != 429 for status in statuses)
    assert BURST <= allowed <= BURST + 2, statuses  # the burst, plus what refills at 0.5/s while the test runs
    assert statuses.count(429) >= 4 * BURST - BURST - 2
    assert {429} < set(statuses)
