"""Each service chart's values agree with the service's Python declaration (the single source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from seaway.service import discover, physical_name, resource_env, url_env
from tests.charts.conftest import CHARTS, SERVICES


def values(service: str) -> dict:
    return yaml.safe_load((CHARTS / service / "values.yaml").read_text())


def test_every_declared_service_has_a_chart() -> None:
    assert set(discover()) == set(SERVICES)
    assert all((CHARTS / name / "Chart.yaml").is_file() for name in discover())


@pytest.mark.parametrize("service", SERVICES)
def test_chart_values_agree_with_the_declaration(service: str) -> None:
    declared = discover()[service]
    chart = values(service)
    assert chart["name"] == declared.name
    assert set(chart["callers"]) == set(declared.callers), "callers"
    assert set(chart["calls"]) == set(declared.calls), "calls"
    assert [(r["kind"], r["name"]) for r in chart["aws"]["resources"]] == [
        (r.kind, r.name) for r in declared.resources
    ], "aws.resources"
    assert chart["redis"]["enabled"] is declared.redis, "redis"
    assert chart["global"]["partOf"] == declared.part_of


@pytest.mark.parametrize("service", SERVICES)
def test_rendered_environment_carries_every_declared_dependency(rendered, service: str) -> None:
    declared = discover()[service]
    (config,) = [o for o in rendered[service] if o["kind"] == "ConfigMap"]
    env = config["data"]
    assert env["SEAWAY_SERVICE"] == service
    assert env["PORT"] == "8080"
    for callee in declared.calls:
        assert env[url_env(callee)] == f"http://{callee}:8080"
    urls = {k for k in env if k.endswith("_URL") and k not in ("REDIS_URL", "AWS_ENDPOINT_URL")}
    resource_urls = {resource_env(r) for r in declared.resources}
    assert urls - resource_urls == {url_env(c) for c in declared.calls}
    for resource in declared.resources:
        assert env[resource_env(resource)].endswith(physical_name(declared, resource)), resource_env(resource)
    assert ("REDIS_URL" in env) is declared.redis


def test_every_service_chart_carries_the_library_schema() -> None:
    library = (CHARTS / "seaway-service" / "values.schema.json").read_text()
    for service in SERVICES:
        copy = CHARTS / service / "values.schema.json"
        assert copy.read_text() == library, f"copy charts/seaway-service/values.schema.json to {copy}"


def test_umbrella_schema_shares_the_global_schema() -> None:
    library = json.loads((CHARTS / "seaway-service" / "values.schema.json").read_text())
    umbrella = json.loads((CHARTS / "storefront" / "values.schema.json").read_text())
    assert umbrella["definitions"]["global"] == library["definitions"]["global"]
    assert umbrella["additionalProperties"] is False


def test_umbrella_and_service_defaults_agree_on_global() -> None:
    umbrella = yaml.safe_load(Path(CHARTS / "storefront" / "values.yaml").read_text())["global"]
    for service in SERVICES:
        assert values(service)["global"] == umbrella, service
