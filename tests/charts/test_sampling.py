"""Trace sampling is a chart value: the SDK's default everywhere, a ratio at the root on EKS."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.rendering import SERVICES, alone_values, documents

EKS_SAMPLING = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}


def service_envs(objects: list[dict]) -> dict[str, dict[str, str]]:
    return {
        o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap" and "SEAWAY_SERVICE" in o["data"]
    }


def test_every_service_on_eks_samples_a_tenth_of_new_traces_and_follows_its_caller(
    rendered: dict[str, list[dict]],
) -> None:
    envs = service_envs(rendered["eks"])
    assert sorted(envs) == sorted(SERVICES)
    for name, env in envs.items():
        assert {key: env.get(key) for key in EKS_SAMPLING} == EKS_SAMPLING, name


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_installed_alone_on_eks_samples_as_in_the_umbrella(
    template, built_charts: Path, service: str
) -> None:
    result = template(service, extra_files=(alone_values(built_charts, service, "eks"),))
    assert result.returncode == 0, result.stderr
    (env,) = service_envs(documents(result.stdout)).values()
    assert {key: env.get(key) for key in EKS_SAMPLING} == EKS_SAMPLING


@pytest.mark.parametrize("cell", ("defaults", "kind", "catalog"))
def test_elsewhere_every_trace_is_sampled_unless_the_caller_says_not(
    rendered: dict[str, list[dict]], cell: str
) -> None:
    for name, env in service_envs(rendered[cell]).items():
        assert env["OTEL_TRACES_SAMPLER"] == "parentbased_always_on", (cell, name)
        assert "OTEL_TRACES_SAMPLER_ARG" not in env, (cell, name)


@pytest.mark.parametrize("bad", ("global.otel.sampler=xray", "global.otel.samplerArg=10%", "global.otel.samplerArg=2"))
def test_the_schema_refuses_a_sampler_the_sdk_does_not_know(template, bad: str) -> None:
    result = template("catalog", sets=(bad,))
    assert result.returncode != 0
    assert "otel" in result.stderr


def test_a_ratio_set_as_a_number_renders_as_the_same_string(template) -> None:
    # `--set` (and skaffold's setValueTemplates) types 0.05 as a number.
    result = template("catalog", sets=("global.otel.sampler=parentbased_traceidratio", "global.otel.samplerArg=0.05"))
    assert result.returncode == 0, result.stderr
    (env,) = service_envs(documents(result.stdout)).values()
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.05"
