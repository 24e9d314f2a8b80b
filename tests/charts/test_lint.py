"""helm lint --strict passes for every chart; values.schema.json rejects misspelt and mistyped values by name."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import yaml

from tests.charts.rendering import LIBRARY, SERVICES, UMBRELLA, alone_values, run_helm


def test_helm_lint_strict_umbrella(helm: str, built_charts: Path) -> None:
    result = run_helm(helm, "lint", "--strict", str(built_charts / UMBRELLA))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", (None, "kind", "eks"))
@pytest.mark.parametrize("service", SERVICES)
def test_helm_lint_strict_each_service_alone(helm: str, built_charts: Path, service: str, target: str | None) -> None:
    # As a user installs one service alone: the chart of a service, its generated values, a target's additions.
    files = [alone_values(built_charts, service)] + ([alone_values(built_charts, service, target)] if target else [])
    values = [arg for path in files for arg in ("--values", str(path))]
    result = run_helm(helm, "lint", "--strict", str(built_charts / LIBRARY), *values)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values_file", ("values-kind.yaml", "values-eks.yaml"))
def test_helm_lint_strict_with_target_values(helm: str, built_charts: Path, values_file: str) -> None:
    chart = built_charts / UMBRELLA
    result = run_helm(helm, "lint", "--strict", str(chart), "--values", str(chart / values_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_umbrella_needs_only_its_own_dependency_build(built_charts: Path) -> None:
    # skaffold's helm deployer runs `helm dependency build` on a release's chartPath only: nothing may be nested.
    (package,) = (built_charts / UMBRELLA / "charts").glob("*.tgz")
    assert package.name.startswith(f"{LIBRARY}-")
    with tarfile.open(package) as archive:
        assert not [m.name for m in archive.getmembers() if m.name.startswith(f"{LIBRARY}/charts/")]
    chart = yaml.safe_load((built_charts / LIBRARY / "Chart.yaml").read_text())
    assert chart["type"] == "application" and not chart.get("dependencies")
    umbrella = yaml.safe_load((built_charts / UMBRELLA / "Chart.yaml").read_text())
    assert {d["name"] for d in umbrella["dependencies"]} == {LIBRARY}
    assert sorted(d["alias"] for d in umbrella["dependencies"]) == sorted(SERVICES)


BAD_VALUES = {
    # file contents -> words the error must contain (helm 3 and helm 4 word their messages differently,
    # but both name the chart and the value)
    "misspelt service key": ("catalog:\n  replicaCont: 3\n", ("catalog", "replicaCont")),
    "misspelt nested key": ("orders:\n  shutdown:\n    drainSecs: 5\n", ("orders", "drainSecs")),
    "misspelt top-level key": ("kedaa:\n  enabled: true\n", ("storefront", "kedaa")),
    "misspelt global key": ("global:\n  mesh:\n    enable: true\n", ("global", "enable")),
    "wrong type": ("catalog:\n  gunicorn:\n    workers: two\n", ("catalog", "workers", "integer")),
    "wrong enum": ("global:\n  mesh:\n    mode: ambiant\n", ("mode", "sidecar", "ambient")),
    "wrong umbrella type": ('ingress:\n  idleTimeoutSeconds: "60"\n', ("storefront", "idleTimeoutSeconds", "integer")),
    "account id too short": ("global:\n  aws:\n    accountId: '12345'\n", ("accountId",)),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_values_are_rejected_naming_the_value(template, tmp_path: Path, case: str) -> None:
    text, words = BAD_VALUES[case]
    values = tmp_path / "bad.yaml"
    values.write_text(text)
    result = template(UMBRELLA, extra_files=(values,))
    assert result.returncode != 0, f"{case}: accepted"
    for word in words:
        assert word in result.stderr, f"{case}: {word!r} not in:\n{result.stderr}"


def test_keda_on_an_undeclared_queue_is_rejected(template) -> None:
    result = template(
        UMBRELLA, sets=("fulfillment.autoscaling.sqs.enabled=true", "fulfillment.autoscaling.sqs.queue=nope")
    )
    assert result.returncode != 0
    assert 'autoscaling.sqs.queue "nope" is not a queue of aws.resources' in result.stderr


def test_a_service_chart_alone_rejects_typos(template, tmp_path: Path) -> None:
    values = tmp_path / "bad.yaml"
    values.write_text("calers: [gateway]\n")
    result = template("catalog", extra_files=(values,))
    assert result.returncode != 0 and "calers" in result.stderr
