"""The NetworkPolicy and the AuthorizationPolicy of each service admit exactly its declared callers."""

from __future__ import annotations

import pytest

from seaway.service import callers_of, discover
from tests.charts.rendering import NAMESPACE, SERVICES

MESH_CELLS = ("sidecar-monitoring", "ambient-monitoring-keda", "eks", "kind-ambient")
INGRESS_NAMESPACES = {"istio-ingress", "istio-system"}
# kube-prometheus-stack's Prometheus everywhere; on EKS also the ADOT collector.
SCRAPER_NAMESPACES = {"monitoring", "opentelemetry"}


def declared_callers(service: str) -> set[str]:
    return set(callers_of(service, discover()))


def find(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def network_policy_callers(policy: dict, service: str) -> set[str]:
    """Who each ingress rule admits, as caller names; infrastructure peers are recognised and left out."""
    callers = set()
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            pods = peer.get("podSelector", {}).get("matchLabels", {})
            namespaces = peer.get("namespaceSelector")
            if "ipBlock" in peer:
                assert peer["ipBlock"]["cidr"] == "169.254.7.127/32", peer  # ambient's kubelet probes
            elif namespaces and namespaces.get("matchExpressions"):
                (expression,) = namespaces["matchExpressions"]
                assert set(expression["values"]) == INGRESS_NAMESPACES and pods, peer
                callers.add("ingress")
            elif namespaces:
                assert namespaces["matchLabels"]["kubernetes.io/metadata.name"] in SCRAPER_NAMESPACES, peer
            elif pods.get("app.kubernetes.io/component") == "test":
                assert pods == {"app.kubernetes.io/name": f"{service}-test", "app.kubernetes.io/component": "test"}
            elif "gateway.networking.k8s.io/gateway-name" in pods:
                assert rule["ports"] == [{"port": 15008, "protocol": "TCP"}]  # the waypoint, HBONE only
            else:
                assert set(pods) == {"app.kubernetes.io/name"}, peer
                callers.add(pods["app.kubernetes.io/name"])
    return callers


def principal_name(principal: str) -> str:
    trust_domain, _, namespace, _, account = principal.split("/")
    assert trust_domain == "cluster.local"
    if namespace in INGRESS_NAMESPACES and account == "istio-ingressgateway":
        return "ingress"
    assert namespace == NAMESPACE, principal
    return account


def authorization_callers(policy: dict, service: str) -> set[str]:
    callers = set()
    for rule in policy["spec"]["rules"]:
        principals = {p for source in rule["from"] for p in source["source"]["principals"]}
        if "to" in rule:  # only the helm test pod, which runs as the service itself, and only GET /readyz
            assert {principal_name(p) for p in principals} == {service}
            assert rule["to"] == [{"operation": {"methods": ["GET"], "paths": ["/readyz"]}}]
        else:
            callers |= {principal_name(p) for p in principals}
    return callers


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("cell", ("defaults", "monitoring-no-mesh", *MESH_CELLS))
def test_network_policy_admits_exactly_the_declared_callers(rendered, cell: str, service: str) -> None:
    policy = find(rendered[cell], "NetworkPolicy", service)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert network_policy_callers(policy, service) == declared_callers(service)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("cell", MESH_CELLS)
def test_authorization_policy_admits_exactly_the_declared_callers(rendered, cell: str, service: str) -> None:
    policy = find(rendered[cell], "AuthorizationPolicy", service)
    assert policy["spec"]["action"] == "ALLOW"
    assert authorization_callers(policy, service) == declared_callers(service)


@pytest.mark.parametrize("service", SERVICES)
def test_ambient_policies_attach_to_the_waypoint_and_lock_the_pods_to_it(rendered, service: str) -> None:
    objects = rendered["ambient-monitoring-keda"]
    l7 = find(objects, "AuthorizationPolicy", service)
    assert l7["spec"]["targetRefs"] == [{"group": "", "kind": "Service", "name": service}]
    assert find(objects, "Service", service)["metadata"]["labels"]["istio.io/use-waypoint"] == "waypoint"
    ztunnel = find(objects, "AuthorizationPolicy", f"{service}-ztunnel")
    allowed = {p for rule in ztunnel["spec"]["rules"] for s in rule["from"] for p in s["source"]["principals"]}
    assert allowed == {f"cluster.local/ns/{NAMESPACE}/sa/waypoint", "cluster.local/ns/monitoring/sa/prometheus"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_scraper_of_the_eks_values_may_reach_the_metrics(rendered, service: str) -> None:
    # The ADOT collector scrapes from its own namespace: the NetworkPolicy must admit it beside Prometheus,
    # on the sidecar's merged-metrics port.
    policy = find(rendered["eks"], "NetworkPolicy", service)
    scrapers = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: rule["ports"]
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
        if "matchLabels" in peer.get("namespaceSelector", {})
    }
    assert scrapers == {ns: [{"port": 15020, "protocol": "TCP"}] for ns in SCRAPER_NAMESPACES}


@pytest.mark.parametrize("cell", MESH_CELLS)
def test_only_fulfillment_may_use_the_internal_paths_of_orders(rendered, cell: str) -> None:
    policy = find(rendered[cell], "AuthorizationPolicy", "orders-restricted-paths")
    assert policy["spec"]["action"] == "DENY"
    (rule,) = policy["spec"]["rules"]
    (source,) = rule["from"]
    assert {principal_name(p) for p in source["source"]["notPrincipals"]} == {"fulfillment"}
    assert rule["to"] == [{"operation": {"paths": ["/internal/*"]}}]
    assert {"fulfillment"} <= declared_callers("orders")


def test_a_restricted_path_for_a_service_that_is_not_a_caller_is_refused(template) -> None:
    result = template(
        "orders",
        sets=(
            "global.mesh.enabled=true",
            "restrictedPaths[0].paths[0]=/internal/*",
            "restrictedPaths[0].callers[0]=catalog",
        ),
    )
    assert result.returncode != 0
    assert 'restrictedPaths: "catalog" is not in callers' in result.stderr
