""".github/workflows: actionlint-clean, and the image matrix is the declared services."""

from __future__ import annotations

import subprocess

from seaway.service import discover
from tests.deploy.conftest import REPO, load_yaml, tool

WORKFLOWS = REPO / ".github" / "workflows"


def test_workflows_pass_actionlint():
    actionlint = tool("actionlint", "run scripts/bootstrap-tools.sh --dev, or put an actionlint binary on PATH")
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    result = subprocess.run([actionlint, *files], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


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
