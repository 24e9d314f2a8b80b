"""``kubectl seaway status`` as a process against a fake API server: what it asks, prints and exits with."""

from __future__ import annotations

import json

import pytest

from tests.integration.kubectl.kubectl_fake_api import NAMESPACE, TOKEN, deployment, hpa, pdb, pod


@pytest.fixture
def storefront(fake_api):
    """catalog healthy with an HPA and PDB; orders with one of two pods crash-looping."""
    fake_api.add("deployments", deployment("catalog"), deployment("orders", ready=1))
    fake_api.add(
        "pods",
        pod("catalog", "aaaaa"),
        pod("catalog", "bbbbb"),
        pod("orders", "ccccc"),
        pod("orders", "ddddd", crash_looping=True),
    )
    fake_api.add("horizontalpodautoscalers", hpa("catalog", current=2, minimum=2, maximum=5))
    fake_api.add("poddisruptionbudgets", pdb("catalog", allowed=1))
    return fake_api


def test_status_lists_each_service_with_a_verdict_and_exits_1_when_one_is_degraded(storefront, kubectl_seaway):
    result = kubectl_seaway("status")

    header, catalog, orders = result.stdout.splitlines()
    assert header.split()[:3] == ["SERVICE", "READY", "UP-TO-DATE"]
    assert catalog.split()[:5] == ["catalog", "2/2", "2", "2", "1.4.2"]
    assert "2 (2-5) cpu 52%/70%" in catalog
    assert "2/2 sidecar" in catalog
    assert catalog.endswith("ok: 2/2 ready")
    assert orders.split()[:2] == ["orders", "1/2"]
    assert orders.endswith("degraded: 1/2 ready, crash-looping")
    assert result.stderr == ""
    assert result.returncode == 1
    # what it asked for: Seaway objects in the context's namespace, with the kubeconfig's token
    asked = {r.path: r.query.get("labelSelector") for r in storefront.requests}
    assert asked == {
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments": "seaway.dev/service",
        f"/api/v1/namespaces/{NAMESPACE}/pods": "seaway.dev/service",
        f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets": "seaway.dev/service",
        f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers": None,
        f"/apis/policy/v1/namespaces/{NAMESPACE}/poddisruptionbudgets": None,
    }
    assert {r.headers["authorization"] for r in storefront.requests} == {f"Bearer {TOKEN}"}
    assert {r.method for r in storefront.requests} == {"GET"}


def test_status_of_healthy_services_exits_0(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog"))
    fake_api.add("pods", pod("catalog", "aaaaa"), pod("catalog", "bbbbb"))

    result = kubectl_seaway("status", "catalog")

    assert result.returncode == 0
    assert result.stdout.splitlines()[1].endswith("ok: 2/2 ready")


def test_status_json_is_machine_readable(storefront, kubectl_seaway):
    result = kubectl_seaway("status", "-o", "json")

    document = json.loads(result.stdout)
    assert document["healthy"] is False
    assert [(s["service"], s["verdict"], s["reasons"]) for s in document["services"]] == [
        ("catalog", "ok", ["2/2 ready"]),
        ("orders", "degraded", ["1/2 ready", "crash-looping"]),
    ]
    assert document["services"][0]["pdb_disruptions_allowed"] == 1
    assert result.returncode == 1


def test_namespace_flag_overrides_the_contexts_namespace(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog", ns="staging"))

    result = kubectl_seaway("status", "-n", "staging", "-o", "wide")

    assert {r.path.split("/namespaces/")[1].split("/")[0] for r in fake_api.requests} == {"staging"}
    assert "DEPLOYMENT" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[1].startswith("catalog")
    assert result.returncode == 0


def test_all_namespaces_lists_every_namespace_through_the_cluster_wide_paths(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog"), deployment("catalog", ns="staging", replicas=0))
    fake_api.add("pods", pod("catalog", "aaaaa"), pod("catalog", "bbbbb"))

    result = kubectl_seaway("status", "-A")

    assert {r.path for r in fake_api.requests} == {
        "/apis/apps/v1/deployments",
        "/api/v1/pods",
        "/apis/apps/v1/replicasets",
        "/apis/autoscaling/v2/horizontalpodautoscalers",
        "/apis/policy/v1/poddisruptionbudgets",
    }
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["NAMESPACE", "SERVICE"],
        ["staging", "catalog"],
        ["storefront", "catalog"],
    ]
    assert result.returncode == 0


def test_an_empty_namespace_says_so_and_exits_0(fake_api, kubectl_seaway):
    result = kubectl_seaway("status")

    assert result.stdout == ""
    assert result.stderr == f"No Seaway services found in namespace {NAMESPACE}.\n"
    assert result.returncode == 0
