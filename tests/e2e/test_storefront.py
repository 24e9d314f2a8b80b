"""The storefront on kind, through the mesh: orders are fulfilled, strangers are refused, Prometheus sees all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from seaway.service import discover
from seaway_tools.kubectl.smoke import Customer, first_product_id, run_smoke, sign_in
from seaway_tools.resources import demo_customers
from tests.e2e.conftest import NAMESPACE, Cluster

pytestmark = pytest.mark.e2e

# A demo customer of the emulator's user pool, which the aws-resources Job seeds on kind.
DEMO = Customer(*demo_customers()[0])


def test_an_order_placed_through_the_istio_ingress_is_fulfilled(cluster: Cluster):
    results = run_smoke(cluster.ingress_url, DEMO, timeout=90)
    assert all(result.ok for result in results), "\n".join(map(str, results))


def test_the_mesh_refuses_orders_without_a_valid_token_before_the_gateway_sees_them(cluster: Cluster):
    """The gateway's sidecar (or the waypoint) answers, not the app: 403 from the AuthorizationPolicy without a
    token, 401 from the RequestAuthentication for a token the pool did not sign; the app's own refusals are
    problem+json."""
    orders = f"{cluster.ingress_url}/api/orders"
    body = {"items": [{"product_id": first_product_id(cluster.ingress_url), "quantity": 1}]}
    anonymous = requests.post(orders, json=body, timeout=10)
    assert anonymous.status_code == 403 and "RBAC: access denied" in anonymous.text, anonymous.text

    token = sign_in(cluster.ingress_url, DEMO)
    claims, kid = jwt.decode(token, options={"verify_signature": False}), jwt.get_unverified_header(token)["kid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the same claims, another key
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid})
    refused = requests.post(orders, json=body, headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert refused.status_code == 401, refused.text
    assert not refused.headers.get("Content-Type", "").startswith("application/problem+json"), refused.text


def test_a_pod_outside_the_mesh_cannot_call_orders(cluster: Cluster):
    """STRICT mTLS refuses plaintext, and orders' AuthorizationPolicy admits only its declared callers."""
    namespace = f"outside-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("label", "namespace", namespace, "istio-injection=disabled")
    try:
        result = cluster.kubectl(
            "run", "stranger", "--namespace", namespace, "--restart=Never", "--attach", "--rm", "--quiet",
            "--image=curlimages/curl:8.11.1", "--command", "--",
            "curl", "--silent", "--max-time", "10", "--output", "/dev/null", "--write-out", "%{http_code}",
            f"http://orders.{NAMESPACE}.svc.cluster.local:8080/readyz",
            timeout=240,
            check=False,
        )  # fmt: skip
        status = result.stdout.strip()[-3:]
        assert status != "200", f"a pod outside the mesh reached orders: {result.stdout} {result.stderr}"
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_prometheus_scrapes_every_service(cluster: Cluster):
    wanted = set(discover())
    deadline = time.monotonic() + 180
    up: set[str] = set()
    while True:
        answer = requests.get(
            f"{cluster.prometheus_url}/api/v1/query", params={"query": f'up{{namespace="{NAMESPACE}"}}'}, timeout=10
        )
        answer.raise_for_status()
        up = {
            sample["metric"].get("service", sample["metric"].get("job", ""))
            for sample in answer.json()["data"]["result"]
            if sample["value"][1] == "1"
        }
        if wanted <= up or time.monotonic() > deadline:
            break
        time.sleep(10)
    assert wanted <= up, f"up==1 for {sorted(up)}; missing {sorted(wanted - up)}"


def _kubectl_seaway(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    plugin = shutil.which("kubectl-seaway", path=str(Path(sys.executable).parent)) or "kubectl-seaway"
    return subprocess.run(
        [plugin, *args, "--context", cluster.context, "--namespace", NAMESPACE],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )


def test_kubectl_seaway_status_shows_every_service(cluster: Cluster):
    result = _kubectl_seaway(cluster, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in discover():
        assert name in result.stdout


def test_kubectl_seaway_smoke_passes_against_the_cluster(cluster: Cluster):
    result = _kubectl_seaway(cluster, "smoke", "--timeout", "90s")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_storefront_runs_in_the_data_plane_of_mesh_mode(cluster: Cluster):
    """MESH_MODE (the e2e workflow's matrix) picked the data plane: sidecars, or ztunnel and a waypoint."""
    mode = os.environ.get("MESH_MODE", "sidecar")
    labels = json.loads(cluster.kubectl("get", "namespace", NAMESPACE, "-o", "json").stdout)["metadata"]["labels"]
    pods = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "pods", "-o", "json").stdout)["items"]

    def proxied(pod: dict) -> bool:
        spec = pod["spec"]
        return any(c["name"] == "istio-proxy" for c in spec.get("containers", []) + spec.get("initContainers", []))

    part_of = "app.kubernetes.io/part-of"
    services = [pod for pod in pods if pod["metadata"].get("labels", {}).get(part_of) == "storefront"]
    assert services
    if mode == "ambient":
        assert labels.get("istio.io/dataplane-mode") == "ambient" and "istio-injection" not in labels
        assert not any(proxied(pod) for pod in services)
        cluster.kubectl("-n", "istio-system", "rollout", "status", "daemonset/ztunnel", "--timeout=60s")
        gateways = cluster.kubectl("-n", NAMESPACE, "get", "gateways.gateway.networking.k8s.io", "-o", "json")
        assert [g["metadata"]["name"] for g in json.loads(gateways.stdout)["items"]] == ["waypoint"]
    else:
        assert labels.get("istio-injection") == "enabled"
        assert all(proxied(pod) for pod in services)
