"""helm lint --strict passes for every chart; values.schema.json rejects misspelt and mistyped values by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.conftest import LIBRARY, SERVICES, UMBRELLA, run_helm


@pytest.mark.parametrize("chart", (LIBRARY, *SERVICES, UMBRELLA))
def test_helm_lint_strict(helm: str, built_charts: Path, chart: str) -> None:
    result = run_helm(helm, "lint", "--strict", str(built_charts / chart))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values_file", ("values-kind.yaml", "values-eks.yaml"))
def test_helm_lint_strict_with_target_values(helm: str, built_charts: Path, values_file: str) -> None:
    chart = built_charts / UMBRELLA
    result = run_helm(helm, "lint", "--strict", str(chart), "--values", str(chart / values_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependencies_build_offline_from_file_repositories(built_charts: Path) -> None:
    for chart in SERVICES:
        assert list((built_charts / chart / "charts").glob(f"{LIBRARY}-*.tgz")), chart
    assert {p.name.rsplit("-", 1)[0] for p in (built_charts / UMBRELLA / "charts").glob("*.tgz")} == set(SERVICES)


BAD_VALUES = {
    # file contents -> words the error must contain (helm 3 and helm 4 word their messages differently,
    # but both name the chart and the value)
    "misspelt service key": ("catalog:\n  replicaCont: 3\n", ("catalog", "replicaCont")),
    "misspelt nested key": ("orders:\n  shutdown:\n    drainSecs: 5\n", ("orders", "drainSecs")),
    "misspelt top-level key": ("kedaa:\n  enabled: true\n", ("storefront", "kedaa")),
    "misspelt global key": ("global:\n  mesh:\n    enable: true\n", ("global", "enable")),
    "wrong type": ("catalog:\n  gunicorn:\n    workers: two\n", ("catalog", "workers", "integer")),
    "wrong enum": ("global:\n  mesh:\n    mode: ambiant\n", ("mode", "sidecar", "ambient")),
    "wrong umbrella type": ('keda:\n  queueLength: "5"\n', ("storefront", "queueLength", "integer")),
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


def test_keda_and_hpa_together_are_rejected(template) -> None:
    result = template(UMBRELLA, sets=("keda.enabled=true",))
    assert result.returncode != 0
    assert "fulfillment.autoscaling.enabled=false" in result.stderr


def test_a_service_chart_alone_rejects_typos(template, tmp_path: Path) -> None:
    values = tmp_path / "bad.yaml"
    values.write_text("calers: [gateway]\n")
    result = template("catalog", extra_files=(values,))
    assert result.returncode != 0 and "calers" in result.stderr
