"""Customers' tokens in the charts: every service that verifies them gets the pool's AUTH_* environment and, with
the mesh, a RequestAuthentication for the same pool; the mesh refuses a request without a valid token exactly
where the service's OpenAPI document asks for one (evaluated by tests/charts/istio_authz.py, in sidecar and ambient
modes, on kind and EKS); a service with auth.enabled and no issuer does not render."""

from __future__ import annotations

from typing import Any

import pytest

from seaway import openapi
from seaway.service import callers_of, discover
from tests.charts.istio_authz import ALLOWED, DENIED, UNAUTHENTICATED, Request, decide
from tests.charts.rendering import NAMESPACE, SERVICES
from tests.manifests import custom_resource_errors, documents

MESH_CELLS = ("kind", "eks", "kind-ambient", "eks-ambient", "sidecar", "ambient")
KIND_EMULATOR = "http://moto.seaway-system:4566/"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def find(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def env(objects: list[dict], service: str) -> dict[str, str]:
    return find(objects, "ConfigMap", service)["data"]


def operations(service: str) -> list[tuple[str, str, bool]]:
    """(method, a concrete path, secured) of every operation in the service's OpenAPI document."""
    package = discover()[service].app.partition(":")[0].rpartition(".")[0]
    try:
        document: dict[str, Any] = openapi.load(package)
    except FileNotFoundError:
        return []
    found = []
    for template, item in document.get("paths", {}).items():
        path = template.replace("{", "x-").replace("}", "")  # /orders/{order_id} -> /orders/x-order_id
        for method in METHODS:
            if method in item:
                secured = bool(item[method].get("security", document.get("security")))
                found.append((method.upper(), path, secured))
    return found


def verifying() -> set[str]:
    return {name for name in SERVICES if any(secured for _, _, secured in operations(name))}


def principal(caller: str) -> str:
    if caller == "ingress":
        return "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"
    return f"cluster.local/ns/{NAMESPACE}/sa/{caller}"


def token(config: dict[str, str], **claims: str) -> dict[str, str]:
    """The claims of a customer's access token as the service's pool issues it, with ``claims`` changed."""
    client = config["AUTH_CLIENT_IDS"].split(",")[0]
    return {"iss": config["AUTH_ISSUER"], "sub": "ada-0001", "client_id": client, "token_use": "access", **claims}


def test_the_services_that_verify_tokens_are_the_ones_with_secured_operations(rendered) -> None:
    configured = {name for name in SERVICES if "AUTH_ISSUER" in env(rendered["kind"], name)}
    assert configured, "no service verifies customer tokens"
    assert configured == verifying()


@pytest.mark.parametrize("cell", ("defaults", "kind", "eks"))
def test_each_verifying_service_gets_the_pool_of_its_environment(rendered, cell: str) -> None:
    for service in SERVICES:
        config = env(rendered[cell], service)
        if service not in verifying():
            assert not {k for k in config if k.startswith("AUTH_")}, service
            continue
        issuer, keys, clients = config["AUTH_ISSUER"], config["AUTH_JWKS_URL"], config["AUTH_CLIENT_IDS"]
        assert issuer.startswith("https://cognito-idp.") and clients, service
        if cell == "kind":  # the canonical issuer, the emulator's keys
            assert issuer.startswith("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_")
            assert keys == f"{KIND_EMULATOR}{issuer.rpartition('/')[2]}/.well-known/jwks.json"
        else:
            assert keys == f"{issuer}/.well-known/jwks.json"
        if cell == "eks":
            assert issuer.startswith("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_")


@pytest.mark.parametrize("cell", MESH_CELLS)
def test_the_mesh_checks_tokens_of_the_pool_the_service_verifies(rendered, cell: str) -> None:
    objects = rendered[cell]
    ambient = cell.endswith("ambient")
    for service in verifying():
        config = env(objects, service)
        authentication = find(objects, "RequestAuthentication", service)
        (rule,) = authentication["spec"]["jwtRules"]
        assert (rule["issuer"], rule["jwksUri"]) == (config["AUTH_ISSUER"], config["AUTH_JWKS_URL"])
        assert rule["forwardOriginalToken"] is True  # the app verifies it again; the gateway passes it on
        if ambient:
            assert authentication["spec"]["targetRefs"] == [{"group": "", "kind": "Service", "name": service}]
        else:
            selector = find(objects, "Deployment", service)["spec"]["selector"]
            assert authentication["spec"]["selector"] == selector
        mine = [o for o in objects if o["kind"] in ("RequestAuthentication", "AuthorizationPolicy")]
        assert not custom_resource_errors(mine)
    others = {o["metadata"]["name"] for o in objects if o["kind"] == "RequestAuthentication"}
    assert others == verifying()


@pytest.mark.parametrize("cell", MESH_CELLS)
@pytest.mark.parametrize("service", SERVICES)
def test_the_mesh_requires_a_token_exactly_where_the_openapi_document_does(rendered, cell: str, service: str) -> None:
    objects = rendered[cell]
    config = env(objects, service)
    callers = [principal(c) for c in callers_of(service, discover())]

    def answers(method: str, path: str, claims: dict[str, str]) -> set[int]:
        return {
            decide(objects, service, Request(method, path, caller, claims), waypoint=cell.endswith("ambient"))
            for caller in callers
        }

    for method, path, secured in operations(service):
        where = f"{service} {method} {path}"
        if not secured:
            assert ALLOWED in answers(method, path, {}), f"{where}: refused without a token"
            continue
        assert answers(method, path, {}) == {DENIED}, f"{where}: reaches the app without a token"
        assert ALLOWED in answers(method, path, token(config)), f"{where}: refused with a valid token"
        assert answers(method, path, token(config, client_id="another-app")) == {DENIED}, where
        other_pool = token(config, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")
        assert answers(method, path, other_pool) == {UNAUTHENTICATED}, where
    # The chart's helm test pod reads readiness as the service itself, never with a token.
    itself = Request("GET", "/readyz", principal(service))
    assert decide(objects, service, itself, waypoint=cell.endswith("ambient")) == ALLOWED


def test_a_service_that_verifies_tokens_needs_the_pools_issuer(template) -> None:
    service = sorted(verifying())[0]
    result = template(service, sets=("global.mesh.enabled=true", "auth.enabled=true", "global.auth.issuer="))
    assert result.returncode != 0
    assert f"global.auth.issuer is required: {service} has auth.enabled" in result.stderr


def test_a_service_that_verifies_tokens_needs_an_app_client(template) -> None:
    service = sorted(verifying())[0]
    result = template(service, sets=("auth.enabled=true", "global.auth.clientIds=null"))
    assert result.returncode != 0
    assert f"global.auth.clientIds is required: {service} has auth.enabled" in result.stderr


def test_a_service_that_does_not_verify_tokens_renders_no_token_policy(template) -> None:
    service = sorted(set(SERVICES) - verifying())[0]
    result = template(service, sets=("global.mesh.enabled=true", "global.auth.issuer="))
    assert result.returncode == 0, result.stderr
    kinds = {(o["kind"], o["metadata"]["name"]) for o in documents(result.stdout)}
    assert not {k for k in kinds if k[0] == "RequestAuthentication" or k[1].endswith("-require-token")}


def test_required_paths_take_istio_path_syntax_only(template) -> None:
    service = sorted(verifying())[0]
    result = template(service, sets=("auth.requiredPaths[0].paths[0]=/api/orders/{order_id}",))
    assert result.returncode != 0
    assert "requiredPaths" in result.stderr
