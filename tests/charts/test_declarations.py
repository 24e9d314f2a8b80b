"""Each service's chart values are what `make generate` computes from its Python declaration (the single source),
and what the chart renders from them is what the declaration implies."""

from __future__ import annotations

import json

import pytest
import yaml

from seaway.service import discover, physical_name, resource_env, resource_value, sqs_endpoint, url_env
from seaway_tools.generate import charts
from tests.charts.rendering import CHARTS, LIBRARY, SERVICES, UMBRELLA, alone_values


def umbrella_values() -> dict:
    return yaml.safe_load((CHARTS / UMBRELLA / "values.yaml").read_text())


def values(service: str) -> dict:
    return umbrella_values()[service]


def test_every_declared_service_is_in_the_umbrella() -> None:
    assert set(discover()) == set(SERVICES)
    chart = yaml.safe_load((CHARTS / UMBRELLA / "Chart.yaml").read_text())
    assert {d["alias"] for d in chart["dependencies"]} == set(discover())


@pytest.mark.parametrize("service", SERVICES)
def test_umbrella_values_are_what_the_generator_computes_from_the_declaration(service: str) -> None:
    declared = discover()[service]
    assert values(service) == charts.identity(declared, discover())
    assert values(service)["name"] == declared.name
    assert umbrella_values()["global"]["partOf"] == declared.part_of


@pytest.mark.parametrize("service", SERVICES)
def test_one_service_alone_has_the_same_identity_and_globals(service: str) -> None:
    alone = yaml.safe_load(alone_values(CHARTS, service).read_text())
    assert alone == {**values(service), "global": umbrella_values()["global"]}


@pytest.mark.parametrize("service", SERVICES)
def test_rendered_environment_carries_every_declared_dependency(rendered, service: str) -> None:
    declared = discover()[service]
    (config,) = [o for o in rendered[service] if o["kind"] == "ConfigMap"]
    env = config["data"]
    assert env["SEAWAY_SERVICE"] == service
    assert env["PORT"] == "8080"
    for callee in declared.calls:
        assert env[url_env(callee)] == f"http://{callee}:8080"
    urls = {k for k in env if k.endswith("_URL") and k not in ("REDIS_URL", "AWS_ENDPOINT_URL", "AUTH_JWKS_URL")}
    resource_urls = {resource_env(r) for r in declared.resources}
    assert urls - resource_urls == {url_env(c) for c in declared.calls}
    for resource in declared.resources:
        # Rendered alone, a service has the chart's default account and region, as `seaway up`'s emulator.
        name = physical_name(declared, resource, account="123456789012", region="us-east-1")
        assert env[resource_env(resource)].endswith(name), resource_env(resource)
        assert env[resource_env(resource)] == resource_value(
            declared, resource, account="123456789012", region="us-east-1", endpoint=sqs_endpoint("us-east-1")
        )
    assert ("REDIS_URL" in env) is declared.redis


def test_one_values_schema_and_one_set_of_defaults() -> None:
    schemas = sorted(p.relative_to(CHARTS).as_posix() for p in CHARTS.rglob("values.schema.json"))
    assert schemas == [f"{LIBRARY}/values.schema.json", f"{UMBRELLA}/values.schema.json"]
    umbrella = json.loads((CHARTS / UMBRELLA / "values.schema.json").read_text())
    assert "definitions" not in umbrella, "the umbrella leaves global and the services to the service schema"
    assert umbrella["additionalProperties"] is False
    for service in SERVICES:
        assert "additionalProperties" not in umbrella["properties"][service], service


def test_umbrella_globals_agree_with_the_service_defaults() -> None:
    def leaves(tree: dict, prefix: str = "") -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in tree.items():
            if isinstance(value, dict) and value:
                out |= leaves(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value
        return out

    defaults = leaves(yaml.safe_load((CHARTS / LIBRARY / "values.yaml").read_text())["global"])
    # restrictedPaths is the application's policy by service, not a default (the chart's default: none); auth is the
    # application's user pool (the emulator's unless a target names another; the chart's default: none, which a
    # service with auth.enabled refuses).
    own = ("restrictedPaths.", "auth.")
    umbrella = {k: v for k, v in leaves(umbrella_values()["global"]).items() if not k.startswith(own)}
    assert umbrella.keys() <= defaults.keys()
    assert {k: v for k, v in umbrella.items() if defaults[k] != v} == {}
