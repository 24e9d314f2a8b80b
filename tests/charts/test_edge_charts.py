"""The edge in the shipped values: the gateway's rate limit in Redis on kind and on EKS (ElastiCache over TLS),
so it holds across its workers and pods; each sidecar cuts slow request headers and idle streams."""

from __future__ import annotations

import pytest

from seaway.config import KitSettings
from tests.charts.rendering import MESH_AMBIENT, MESH_SIDECAR
from tests.manifests import documents


def config_map(objects: list[dict], service: str) -> dict:
    return next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == service)


@pytest.mark.parametrize(("cell", "scheme"), [("kind", "redis://"), ("eks", "rediss://"), ("eks-ambient", "rediss://")])
def test_the_gateway_keeps_its_rate_limit_in_redis_in_the_shipped_values(rendered, cell, scheme):
    data = config_map(rendered[cell], "gateway")["data"]
    assert data["REDIS_URL"].startswith(scheme), data
    assert data["REDIS_URL"] == config_map(rendered[cell], "catalog")["data"]["REDIS_URL"]


@pytest.mark.parametrize("cell", ["kind", "eks", "sidecar"])
def test_every_sidecar_cuts_slow_request_headers_and_idle_streams(rendered, cell):
    filters = {o["metadata"]["name"]: o for o in rendered[cell] if o["kind"] == "EnvoyFilter"}
    deployments = {o["metadata"]["name"] for o in rendered[cell] if o["kind"] == "Deployment"}
    assert set(filters) == {f"{name}-timeouts" for name in deployments}


def test_the_inbound_sidecar_cuts_slow_request_headers_and_idle_streams(template):
    result = template("gateway", sets=MESH_SIDECAR)
    assert result.returncode == 0, result.stderr
    (envoy_filter,) = [o for o in documents(result.stdout) if o["kind"] == "EnvoyFilter"]

    assert envoy_filter["spec"]["workloadSelector"]["labels"]["app.kubernetes.io/name"] == "gateway"
    (patch,) = envoy_filter["spec"]["configPatches"]
    assert patch["applyTo"] == "NETWORK_FILTER" and patch["match"]["context"] == "SIDECAR_INBOUND"
    listener_filter = patch["match"]["listener"]["filterChain"]["filter"]["name"]
    assert listener_filter == "envoy.filters.network.http_connection_manager"
    config = patch["patch"]["value"]["typed_config"]
    assert config["@type"].endswith("http_connection_manager.v3.HttpConnectionManager")
    assert config["request_headers_timeout"] == "10s" and config["stream_idle_timeout"] == "60s"
    # The same deadline as the app's own, for `seaway up` where no proxy stands in front.
    assert KitSettings.__dataclass_fields__["header_timeout_seconds"].default == 10


def test_ambient_mode_renders_no_envoy_filter_which_waypoints_do_not_support(template):
    result = template("gateway", sets=MESH_AMBIENT)
    assert result.returncode == 0, result.stderr
    assert not [o for o in documents(result.stdout) if o["kind"] == "EnvoyFilter"]
