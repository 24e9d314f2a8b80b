"""Every alert shipped, evaluated by Prometheus's own rule engine: `promtool test rules` and `promtool check rules`.

The rule groups come from where they ship: k8s/observability/prometheusrule.yaml, and the PrometheusRule the
library chart renders per service (the `rendered` fixture of tests/charts, every matrix cell). Each is written
as a plain Prometheus rule file into a temporary folder beside the unit tests of tests/fidelity/rules/*.yaml,
which name them:

- ``observability.rules.yaml``: the SLO recording rules and burn-rate alerts of k8s/observability;
- ``chart-<service>.rules.yaml``: the chart's rules of each service, as the "sidecar-monitoring" cell renders
  them (release sf, namespace storefront).

The unit-test copies carry no annotations (their wording is not what a test checks; `promtool check rules`
still parses them in the shipped form), so a test states the labels an alert fires with. Every alert must
have at least one test where it fires and one where it stays quiet. promtool (Debian package `prometheus`)
missing: a failure under CI (CI=true), a skip with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.charts.rendering import CELLS, SERVICES
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
RULE_TESTS = Path(__file__).resolve().parent / "rules"
OBSERVABILITY = ROOT / "k8s" / "observability" / "prometheusrule.yaml"
CHART_CELL = "sidecar-monitoring"


def find_promtool() -> str | None:
    return shutil.which("promtool") or next((p for p in ("/usr/bin/promtool",) if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="session")
def promtool() -> str:
    path = find_promtool()
    if path is None:
        unavailable("promtool not found: install the Debian package prometheus (apt-get install prometheus)")
    return path


def run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def observability_groups() -> list[dict]:
    return yaml.safe_load(OBSERVABILITY.read_text())["spec"]["groups"]


def prometheus_rules(objects: list[dict]) -> dict[str, list[dict]]:
    """The groups of each PrometheusRule among rendered objects, by the rule's name."""
    return {o["metadata"]["name"]: o["spec"]["groups"] for o in objects if o["kind"] == "PrometheusRule"}


def without_annotations(groups: list[dict]) -> list[dict]:
    return [
        group | {"rules": [{k: v for k, v in rule.items() if k != "annotations"} for rule in group["rules"]]}
        for group in groups
    ]


def write_rule_file(path: Path, groups: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False, width=200))
    return path


def alert_names(groups: list[dict]) -> set[str]:
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS.glob("*.test.yaml"))


@pytest.fixture(scope="module")
def unit_test_folder(rendered, tmp_path_factory) -> Path:
    """The rule files the unit tests name, beside copies of the unit tests."""
    folder = tmp_path_factory.mktemp("promtool")
    write_rule_file(folder / "observability.rules.yaml", without_annotations(observability_groups()))
    charts = prometheus_rules(rendered[CHART_CELL])
    assert set(charts) == set(SERVICES), f"[{CHART_CELL}] PrometheusRules: {sorted(charts)}"
    for service, groups in charts.items():
        write_rule_file(folder / f"chart-{service}.rules.yaml", without_annotations(groups))
    for test in rule_test_files():
        shutil.copy(test, folder / test.name)
    return folder


@pytest.mark.parametrize("test_file", [p.name for p in rule_test_files()])
def test_promtool_unit_tests_pass(promtool, unit_test_folder, test_file):
    result = run(promtool, "test", "rules", test_file, cwd=unit_test_folder)
    assert result.returncode == 0, f"promtool test rules {test_file}:\n{result.stdout}\n{result.stderr}"


def test_promtool_checks_the_observability_rule(promtool, tmp_path):
    path = write_rule_file(tmp_path / "observability.rules.yaml", observability_groups())
    result = run(promtool, "check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("cell", CELLS)
def test_promtool_checks_every_rendered_prometheus_rule(promtool, rendered, cell, tmp_path):
    rules = prometheus_rules(rendered[cell])
    for name, groups in rules.items():
        path = write_rule_file(tmp_path / f"{name}.rules.yaml", groups)
        result = run(promtool, "check", "rules", str(path), cwd=tmp_path)
        assert result.returncode == 0, f"[{cell}] PrometheusRule {name}:\n{result.stdout}{result.stderr}"


def alerts_with_cases() -> tuple[set[str], set[str]]:
    """(alerts some unit test expects to fire, alerts some unit test expects to stay quiet)."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in rule_test_files():
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    return firing, quiet


def test_every_alert_shipped_has_a_firing_and_a_quiet_promtool_test(rendered):
    shipped = {"k8s/observability": alert_names(observability_groups())}
    for cell in CELLS:
        for name, groups in prometheus_rules(rendered[cell]).items():
            shipped[f"chart [{cell}] {name}"] = alert_names(groups)
    firing, quiet = alerts_with_cases()
    assert shipped["k8s/observability"] and any(shipped[k] for k in shipped if k.startswith("chart"))
    missing = {
        where: sorted((alerts - firing) | (alerts - quiet))
        for where, alerts in shipped.items()
        if (alerts - firing) or (alerts - quiet)
    }
    assert not missing, f"alerts without a firing and a quiet case in tests/fidelity/rules: {missing}"


def test_the_chart_rules_query_only_metrics_the_kit_exposes(rendered):
    from tests.integration.test_dashboards import kit_sample_names, metric_names

    for cell in CELLS:
        for name, groups in prometheus_rules(rendered[cell]).items():
            for rule in (r for group in groups for r in group["rules"]):
                unknown = metric_names(rule["expr"]) - kit_sample_names()
                assert not unknown, f"[{cell}] {name} {rule.get('alert')}: {unknown}"


def test_the_rule_tests_use_only_rule_files_this_module_writes():
    known = {"observability.rules.yaml", *(f"chart-{service}.rules.yaml" for service in SERVICES)}
    for path in rule_test_files():
        files = set(yaml.safe_load(path.read_text())["rule_files"])
        assert files and files <= known, f"{path.name}: {files - known}"
