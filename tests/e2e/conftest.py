"""The storefront on a real kind cluster: scripts/kind-up.sh, then `skaffold run`, shared by every e2e test.

Skipped, with the reason, where docker, kind or skaffold is missing or the Docker engine does not answer.
``SEAWAY_E2E_CLUSTER`` names an existing kind cluster to use (its add-ons are brought up to date by
kind-up.sh, and it is kept afterwards); without it the tests use the cluster "seaway" and delete it at the end
only if they created it. The ingress and Prometheus are the host ports of k8s/kind/cluster.yaml, unless
``SEAWAY_E2E_INGRESS_URL`` / ``SEAWAY_E2E_PROMETHEUS_URL`` say otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "storefront"
TOOLS = REPO / ".tools" / "bin"


def _which(name: str) -> str | None:
    return shutil.which(name, path=f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}")


def _why_not() -> str | None:
    missing = [name for name in ("docker", "kind", "skaffold", "kubectl", "helm") if _which(name) is None]
    if missing:
        return f"e2e needs {', '.join(missing)} (scripts/bootstrap-tools.sh --dev; Docker from docker.com)"
    try:
        info = subprocess.run([_which("docker"), "info"], capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "e2e needs a Docker engine: docker info timed out"
    if info.returncode != 0:
        return "e2e needs a Docker engine: docker info failed (is Docker running?)"
    return None


def pytest_collection_modifyitems(config, items):
    ours = [item for item in items if "tests/e2e/" in str(item.path).replace(os.sep, "/")]
    reason = _why_not() if ours else None
    for item in ours:
        item.add_marker(pytest.mark.e2e)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class Cluster:
    name: str
    context: str
    ingress_url: str
    prometheus_url: str

    def kubectl(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_which("kubectl"), "--context", self.context, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    existing = os.environ.get("SEAWAY_E2E_CLUSTER")
    name = existing or "seaway"
    env = {**os.environ, "SEAWAY_KIND_CLUSTER": name, "PATH": f"{TOOLS}{os.pathsep}{os.environ['PATH']}"}
    before = subprocess.run([_which("kind"), "get", "clusters"], capture_output=True, text=True).stdout.split()
    created = name not in before
    subprocess.run([str(REPO / "scripts" / "kind-up.sh")], env=env, check=True, timeout=1800)
    context = f"kind-{name}"
    try:
        subprocess.run(
            [_which("skaffold"), "run", "--kube-context", context, "--status-check=true"],
            cwd=REPO,
            env=env,
            check=True,
            timeout=1800,
        )
        yield Cluster(
            name=name,
            context=context,
            ingress_url=os.environ.get("SEAWAY_E2E_INGRESS_URL", "http://127.0.0.1:8080"),
            prometheus_url=os.environ.get("SEAWAY_E2E_PROMETHEUS_URL", "http://127.0.0.1:9090"),
        )
    finally:
        if created and not existing and not os.environ.get("SEAWAY_E2E_KEEP"):
            subprocess.run([_which("kind"), "delete", "cluster", "--name", name], env=env, timeout=300)
