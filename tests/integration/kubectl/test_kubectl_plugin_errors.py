"""Failures a person meets, each as one line on stderr and its own exit status, never a traceback."""

from __future__ import annotations

import pytest

from seaway_tools.kubectl.errors import (
    EXIT_ACCESS_DENIED,
    EXIT_NO_KUBECONFIG,
    EXIT_UNKNOWN_CONTEXT,
    EXIT_UNKNOWN_SERVICE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from tests.integration.kubectl.kubectl_fake_api import NAMESPACE, deployment, write_kubeconfig


def one_error_line(result) -> str:
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("kubectl-seaway: error: ")
    return line.removeprefix("kubectl-seaway: error: ")


def test_no_kubeconfig_anywhere(kubectl_seaway, tmp_path):
    result = kubectl_seaway("status", env={"KUBECONFIG": str(tmp_path / "absent")})

    assert one_error_line(result).startswith(f"no kubeconfig found (KUBECONFIG: {tmp_path / 'absent'})")
    assert result.returncode == EXIT_NO_KUBECONFIG


def test_no_kubeconfig_falls_back_to_the_home_directory_like_kubectl(kubectl_seaway):
    result = kubectl_seaway("status", env={"KUBECONFIG": ""})

    assert "no kubeconfig found (default: " in one_error_line(result)
    assert result.returncode == EXIT_NO_KUBECONFIG


def test_unknown_context(kubectl_seaway):
    result = kubectl_seaway("status", "--context", "eks-staging")

    assert one_error_line(result) == 'context "eks-staging" is not in the kubeconfig (known: kind-seaway, eks-prod)'
    assert result.returncode == EXIT_UNKNOWN_CONTEXT


def test_access_denied_shows_the_api_servers_reason(fake_api, kubectl_seaway):
    fake_api.forbidden.add(("GET", "deployments"))

    result = kubectl_seaway("status")

    assert one_error_line(result) == (
        'access denied (context kind-seaway): deployments is forbidden: User "dev@example.com" cannot list '
        f'resource "deployments" in the namespace "{NAMESPACE}"'
    )
    assert result.returncode == EXIT_ACCESS_DENIED


def test_access_denied_to_patch_on_restart(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog"))
    fake_api.forbidden.add(("PATCH", "deployments"))

    result = kubectl_seaway("restart", "catalog")

    assert one_error_line(result) == (
        'access denied (context kind-seaway): deployments is forbidden: User "dev@example.com" cannot patch '
        f'resource "deployments" in the namespace "{NAMESPACE}"'
    )
    assert result.returncode == EXIT_ACCESS_DENIED


@pytest.mark.parametrize(
    "command", [["status"], ["logs", "catalog"], ["restart", "catalog"], ["scale", "catalog", "2"]]
)
def test_cluster_unreachable(kubectl_seaway, tmp_path, closed_port, command):
    kubeconfig = write_kubeconfig(tmp_path / "closed", f"http://127.0.0.1:{closed_port}")

    result = kubectl_seaway(*command, "--kubeconfig", str(kubeconfig))

    assert one_error_line(result) == (
        f"cannot reach the cluster at http://127.0.0.1:{closed_port} (context kind-seaway): connection refused"
    )
    assert result.returncode == EXIT_UNREACHABLE


@pytest.mark.parametrize("command", [["logs", "search"], ["scale", "search", "2"]])
def test_unknown_service_names_the_services_that_exist(fake_api, kubectl_seaway, command):
    fake_api.add("deployments", deployment("orders"), deployment("catalog"))

    result = kubectl_seaway(*command)

    assert one_error_line(result) == (
        f'no Seaway service "search" in namespace "{NAMESPACE}" (services there: catalog, orders)'
    )
    assert result.returncode == EXIT_UNKNOWN_SERVICE
    assert fake_api.seen("PATCH") == []


def test_unknown_service_in_status(fake_api, kubectl_seaway):
    fake_api.add("deployments", deployment("catalog"))

    result = kubectl_seaway("status", "search")

    assert one_error_line(result) == (
        f'no Seaway service "search" in namespace "{NAMESPACE}" (services there: catalog)'
    )
    assert result.returncode == EXIT_UNKNOWN_SERVICE


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["logs"], "give SERVICE, or --trace TRACE_ID"),
        (["logs", "catalog", "--since", "soon"], "not a duration"),
        (["logs", "catalog", "--trace", "xyz"], "not a trace id"),
        (["scale", "catalog", "-1"], "replicas must be 0 or more"),
        (["status", "-o", "yaml"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(kubectl_seaway, args, complaint):
    result = kubectl_seaway(*args)

    assert complaint in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == EXIT_USAGE


@pytest.mark.parametrize("command", [[], ["status"], ["logs"], ["restart"], ["scale"], ["smoke"]])
def test_every_help_has_a_description_examples_and_exit_statuses(kubectl_seaway, command):
    result = kubectl_seaway(*command, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: kubectl seaway")
    for section in ("options:", "--context", "--namespace", "examples:", "exit status:", "6  access denied"):
        assert section in result.stdout
