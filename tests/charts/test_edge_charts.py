"""The edge in the shipped values: the gateway's rate limit in Redis on kind and on EKS (ElastiCache over TLS),
so it holds across its workers and pods."""

from __future__ import annotations

import pytest


def config_map(objects: list[dict], service: str) -> dict:
    return next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == service)


@pytest.mark.parametrize(("cell", "scheme"), [("kind", "redis://"), ("eks", "rediss://"), ("eks-ambient", "rediss://")])
def test_the_gateway_keeps_its_rate_limit_in_redis_in_the_shipped_values(rendered, cell, scheme):
    data = config_map(rendered[cell], "gateway")["data"]
    assert data["REDIS_URL"].startswith(scheme), data
    assert data["REDIS_URL"] == config_map(rendered[cell], "catalog")["data"]["REDIS_URL"]
