"""Every object of every matrix cell is valid: Kubernetes kinds for 1.33-1.35, custom resources per their CRD."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.charts.rendering import CELLS, KUBE_VERSIONS, SERVICES, documents
from tests.manifests import custom_resource_errors, kubernetes_errors


def test_kubernetes_validate_knows_the_versions() -> None:
    supported = set(kubernetes_validate.utils.all_versions())
    assert {v for v in KUBE_VERSIONS} <= supported, f"kubernetes-validate {kubernetes_validate.version} lacks some"


@pytest.mark.parametrize("cell", CELLS)
def test_kubernetes_objects_are_valid(rendered: dict[str, list[dict]], cell: str) -> None:
    errors = kubernetes_errors(rendered[cell])
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("cell", CELLS)
def test_custom_resources_match_their_crds(rendered: dict[str, list[dict]], cell: str) -> None:
    errors = custom_resource_errors(rendered[cell])
    assert not errors, "\n".join(errors)


def test_matrix_covers_every_kind(rendered: dict[str, list[dict]]) -> None:
    kinds = {obj["kind"] for objects in rendered.values() for obj in objects}
    expected = {
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
        "VirtualService",
        "HTTPRoute",
        "DestinationRule",
        "AuthorizationPolicy",
        "Pod",
        "PeerAuthentication",
        "Gateway",
        "Ingress",
        "ScaledObject",
        "TriggerAuthentication",
        "EnvoyFilter",
    }
    assert expected <= kinds, f"never rendered: {sorted(expected - kinds)}"


def test_mesh_mode_picks_the_routing_kind(rendered: dict[str, list[dict]]) -> None:
    def kinds(cell: str) -> set[str]:
        return {obj["kind"] for obj in rendered[cell]}

    assert "VirtualService" in kinds("sidecar") and "HTTPRoute" not in kinds("sidecar")
    assert "HTTPRoute" in kinds("ambient")
    assert not any(
        o["kind"] == "VirtualService" and o["metadata"]["name"] != "storefront-entry" for o in rendered["ambient"]
    )
    waypoints = [
        o
        for o in rendered["ambient"]
        if o["apiVersion"].startswith("gateway.networking.k8s.io") and o["kind"] == "Gateway"
    ]
    assert [w["spec"]["gatewayClassName"] for w in waypoints] == ["istio-waypoint"]
    assert not {"VirtualService", "DestinationRule", "AuthorizationPolicy", "PeerAuthentication"} & kinds("defaults")


def test_eks_entry_is_an_internet_facing_alb_to_the_istio_ingress_gateway(rendered: dict[str, list[dict]]) -> None:
    (ingress,) = [o for o in rendered["eks"] if o["kind"] == "Ingress"]
    notes = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert notes["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert notes["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert notes["alb.ingress.kubernetes.io/healthcheck-port"] == "15021"
    assert notes["alb.ingress.kubernetes.io/healthcheck-path"] == "/healthz/ready"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "istio-ingressgateway"
    assert ingress["metadata"]["namespace"] == "istio-ingress"


def test_keda_scales_fulfillment_with_pod_identity(rendered: dict[str, list[dict]]) -> None:
    (scaled,) = [o for o in rendered["eks"] if o["kind"] == "ScaledObject"]
    (auth,) = [o for o in rendered["eks"] if o["kind"] == "TriggerAuthentication"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "fulfillment"
    assert scaled["spec"]["triggers"][0]["type"] == "aws-sqs-queue"
    assert auth["spec"]["podIdentity"]["provider"] == "aws"
    assert not [
        o
        for o in rendered["eks"]
        if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["name"] == "fulfillment"
    ]


def test_strict_mtls_when_the_mesh_is_on(rendered: dict[str, list[dict]]) -> None:
    for cell in ("sidecar", "ambient", "eks", "kind"):
        (peer,) = [o for o in rendered[cell] if o["kind"] == "PeerAuthentication"]
        assert peer["spec"]["mtls"]["mode"] == "STRICT"
        assert peer["metadata"]["namespace"] == "istio-system"


def test_kind_talks_to_the_emulator_and_eks_never_does(rendered: dict[str, list[dict]]) -> None:
    def env(cell: str, service: str) -> dict[str, str]:
        (config,) = [o for o in rendered[cell] if o["kind"] == "ConfigMap" and o["metadata"]["name"] == service]
        return config["data"]

    assert env("kind", "catalog")["AWS_ENDPOINT_URL"].startswith("http://moto.")
    assert env("kind", "catalog")["AWS_ACCESS_KEY_ID"] == "emulator"
    assert env("kind", "catalog")["REDIS_URL"].startswith("redis://")
    assert env("kind", "fulfillment")["FULFILLMENT_QUEUE_URL"].startswith("http://moto.")
    for service in SERVICES:
        assert "AWS_ENDPOINT_URL" not in env("eks", service)
        assert "AWS_ACCESS_KEY_ID" not in env("eks", service)  # Pod Identity, never static keys
        assert env("eks", service)["SEAWAY_CLOUDWATCH"] == "api"
        assert env("eks", service)["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert env("eks", "fulfillment")["FULFILLMENT_QUEUE_URL"].startswith("https://sqs.eu-west-1.amazonaws.com/")


def test_the_kit_client_retries_only_where_the_mesh_does_not(rendered: dict[str, list[dict]]) -> None:
    def retries(cell: str) -> set[str | None]:
        return {
            o["data"].get("MESH_RETRIES")
            for o in rendered[cell]
            if o["kind"] == "ConfigMap" and "SEAWAY_SERVICE" in o["data"]
        }

    # Sidecar mode: the VirtualService retries; ambient: the HTTPRoute at the waypoint.
    assert retries("sidecar") == retries("eks") == retries("ambient") == retries("kind-ambient") == {"true"}
    assert retries("defaults") == retries("monitoring-no-mesh") == {None}


def test_config_change_rolls_the_pods(template) -> None:
    def checksum(*sets: str) -> str:
        result = template("catalog", sets=sets)
        assert result.returncode == 0, result.stderr
        (deployment,) = [o for o in documents(result.stdout) if o["kind"] == "Deployment"]
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum() != checksum("logLevel=DEBUG")


def test_chaos_endpoints_are_off_unless_enabled_and_always_off_on_eks(
    rendered: dict[str, list[dict]], template
) -> None:
    configs = {
        cell: [o["data"] for o in objects if o["kind"] == "ConfigMap" and "SEAWAY_SERVICE" in o.get("data", {})]
        for cell, objects in rendered.items()
    }
    for cell, data in configs.items():
        assert data and all("CHAOS_ENABLED" not in env for env in data), cell
    result = template("catalog", sets=("global.chaos=true",))
    assert result.returncode == 0, result.stderr
    (config,) = [o for o in documents(result.stdout) if o["kind"] == "ConfigMap"]
    assert config["data"]["CHAOS_ENABLED"] == "true"


@pytest.mark.parametrize("account", ("111122223333", "012345678901"))
@pytest.mark.parametrize("chart", ("storefront", "fulfillment"))
def test_an_account_id_set_as_a_number_renders_as_twelve_digits(template, chart: str, account: str) -> None:
    # skaffold's setValueTemplates arrive as `--set`, which types 111122223333 as a number.
    result = template(chart, sets=(f"global.aws.accountId={account}", "global.aws.region=eu-west-1"))
    assert result.returncode == 0, result.stderr
    (config,) = [
        o for o in documents(result.stdout) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "fulfillment"
    ]
    env = config["data"]
    assert env["FULFILLMENT_QUEUE_URL"] == f"https://sqs.eu-west-1.amazonaws.com/{account}/storefront-fulfillment"
    assert env["RECEIPTS_BUCKET"] == f"storefront-receipts-{account}-eu-west-1"
