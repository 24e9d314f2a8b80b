"""The charts for the tests: the real helm binary, the charts built once, every matrix cell rendered once (a plugin
of tests/conftest.py, so the chart tests and the alert tests share one build and one rendering a session).

helm comes from PATH or <repo>/.tools/bin (``make tools``); the CRD schemas are vendored in tests/schemas
(``SEAWAY_SCHEMAS`` points elsewhere). Tests that need helm skip with the reason when it is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from seaway.service import discover
from tests.manifests import KUBE_VERSIONS, documents

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
SERVICES = tuple(discover())  # the declared services, as `make generate` gives each its values
LIBRARY = "seaway-service"
UMBRELLA = "storefront"
NAMESPACE = "storefront"
RELEASE = "sf"

MESH_SIDECAR = ("global.mesh.enabled=true", "global.mesh.mode=sidecar")
MESH_AMBIENT = ("global.mesh.enabled=true", "global.mesh.mode=ambient")
MONITORING = ("global.monitoring.enabled=true",)
KEDA = ("fulfillment.autoscaling.sqs.enabled=true",)


@dataclass(frozen=True)
class Cell:
    """One `helm template` of the umbrella chart: values files and --set flags."""

    files: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()


MATRIX: dict[str, Cell] = {
    "defaults": Cell(),
    "kind": Cell(files=("values-kind.yaml",)),
    "eks": Cell(files=("values-eks.yaml",)),
    "eks-ambient": Cell(files=("values-eks.yaml",), sets=("global.mesh.mode=ambient",)),
    "kind-ambient": Cell(files=("values-kind.yaml",), sets=("global.mesh.mode=ambient",)),
    "sidecar": Cell(sets=MESH_SIDECAR),
    "sidecar-monitoring": Cell(sets=MESH_SIDECAR + MONITORING),
    "ambient": Cell(sets=MESH_AMBIENT),
    "ambient-monitoring-keda": Cell(sets=MESH_AMBIENT + MONITORING + KEDA),
    "monitoring-no-mesh": Cell(sets=MONITORING),
    "keda-no-mesh-alb": Cell(sets=(*KEDA, "ingress.enabled=true")),
}


def find_helm() -> str | None:
    return shutil.which("helm") or next(
        (str(p) for p in [REPO / ".tools" / "bin" / "helm"] if p.is_file() and os.access(p, os.X_OK)), None
    )


@pytest.fixture(scope="session")
def helm() -> str:
    path = find_helm()
    if path is None:
        pytest.skip("helm not found: run make tools")
    return path


def run_helm(helm: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


@pytest.fixture(scope="session")
def built_charts(helm: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of charts/ as a fresh clone has it, with the umbrella's dependencies built the way skaffold's helm
    deployer builds them (`helm dependency build` of the release's chart only), offline, so the work tree stays
    clean. Each service is rendered alone from ``seaway-service`` with its generated values file
    (``storefront/services/<name>.yaml``, what `make generate` writes to install one service alone)."""
    root = tmp_path_factory.mktemp("charts") / "charts"
    shutil.copytree(CHARTS, root, ignore=shutil.ignore_patterns("charts", "Chart.lock", "*.tgz"))
    result = run_helm(helm, "dependency", "build", str(root / UMBRELLA))
    assert result.returncode == 0, f"helm dependency build {UMBRELLA}:\n{result.stderr}"
    return root


def alone_values(charts: Path, service: str, target: str | None = None) -> Path:
    """The generated values file that installs ``service`` alone (and its additions for a target)."""
    return charts / UMBRELLA / "services" / (f"{service}.{target}.yaml" if target else f"{service}.yaml")


@pytest.fixture(scope="session")
def template(helm: str, built_charts: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`helm template` of the umbrella, or of one service alone (``seaway-service`` with that service's values);
    returns the finished process (callers check returncode)."""

    def run(
        chart: str, *, files: tuple[str, ...] = (), sets: tuple[str, ...] = (), extra_files: tuple[Path, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        chart_dir = built_charts / chart
        own: tuple[Path, ...] = ()
        if chart in SERVICES:
            chart_dir, own = built_charts / LIBRARY, (alone_values(built_charts, chart),)
        args = ["template", RELEASE, str(chart_dir), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSIONS[0]]
        for path in (*own, *(chart_dir / name for name in files), *extra_files):
            args += ["--values", str(path)]
        for item in sets:
            args += ["--set", item]
        return run_helm(helm, *args)

    return run


@pytest.fixture(scope="session")
def rendered(template: Callable[..., subprocess.CompletedProcess[str]]) -> Iterator[dict[str, list[dict]]]:
    """Every matrix cell of the umbrella and each service chart alone, rendered once: name -> objects."""
    out: dict[str, list[dict]] = {}
    for name, cell in MATRIX.items():
        result = template(UMBRELLA, files=cell.files, sets=cell.sets)
        assert result.returncode == 0, f"helm template storefront [{name}]:\n{result.stderr}"
        out[name] = documents(result.stdout)
    for service in SERVICES:
        for suffix, sets in (("", ()), ("+sidecar", MESH_SIDECAR + MONITORING), ("+ambient", MESH_AMBIENT)):
            result = template(service, sets=sets)
            assert result.returncode == 0, f"helm template {service}{suffix}:\n{result.stderr}"
            out[f"{service}{suffix}"] = documents(result.stdout)
    yield out


CELLS = (*MATRIX, *(f"{s}{x}" for s in SERVICES for x in ("", "+sidecar", "+ambient")))


def pod_specs(objects: list[dict]) -> Iterator[tuple[str, dict, dict]]:
    """(object name, pod metadata, pod spec) of every Pod and pod template in ``objects``."""
    for obj in objects:
        kind = obj["kind"]
        if kind == "Pod":
            yield f"Pod/{obj['metadata']['name']}", obj["metadata"], obj["spec"]
        elif kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            template = obj["spec"]["template"]
            yield f"{kind}/{obj['metadata']['name']}", template["metadata"], template["spec"]
