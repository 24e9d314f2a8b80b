"""helm called exactly as skaffold's helm deployer calls it, for every profile, from a fresh copy of the repository.

Why a fresh copy: skaffold runs in a clone, where ignored build outputs (``charts/*/charts/``, ``Chart.lock``)
do not exist; a test run in the work tree would pass on whatever a developer's earlier ``helm dependency build``
left there. The copy holds exactly the files ``git ls-files --cached --others --exclude-standard`` lists: what a
clone of this tree would contain once committed. Not ``git clone``: that would test the last commit, not the
change under review (uncommitted and new, not ignored, files count here).

How skaffold calls helm (see tests/fidelity/skaffold_model.py for the source files): for each release, in the
order of ``dependsOn``, ``helm dep build <chartPath>`` of that chart only, never of the charts inside it, then
``helm install|upgrade <name> <chartPath> --namespace <namespace>`` with ``--set key=value`` for the sorted
``setValues`` and the sorted ``setValueTemplates`` (expanded over the environment and the built images; helm
types ``--set`` values, so ``111122223333`` arrives as a number and ``true`` as a boolean), then ``-f`` for each
``valuesFiles`` entry. Here ``helm template`` takes the install's arguments, with ``--kube-version`` the oldest
Kubernetes we support, and every rendered object is validated strictly (tests/manifests.py).

Not modelled: skaffold's post-renderer (it rewrites image references to the built ones and adds its run-id
labels); the images below are already the built ones.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from seaway.service import discover
from tests.fidelity import skaffold_model as skaffold
from tests.manifests import KUBE_VERSIONS, custom_resource_errors, documents, kubernetes_errors

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"
REGION = "eu-west-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

# What scripts/deploy.sh exports (and the person running it sets) before `skaffold run -p eks`.
EKS_ENV = {
    "AWS_ACCOUNT_ID": ACCOUNT,
    "AWS_REGION": REGION,
    "SEAWAY_REDIS_URL": "rediss://master.storefront-cache.abcdef.euw1.cache.amazonaws.com:6379/0",
    "SEAWAY_HOST": "shop.example.com",
    "SEAWAY_CERTIFICATE_ARN": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0f2c7a4e-1b3d-4c5e-8f90-123456789abc",
    # The stack's UserPoolId and UserPoolClientId outputs.
    "SEAWAY_AUTH_ISSUER": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Q2pLr8VxZ",
    "SEAWAY_AUTH_CLIENT_ID": "4m7fk2vq1a9c3d5e7g9h1j3k5l",
}

# (named profiles, environment) per way of running skaffold: scripts/dev.sh, scripts/deploy.sh, the e2e suite.
RUNS = {
    "kind-run": ((), {}),
    "kind-dev": (("dev",), {}),
    "kind-run-ambient": ((), {"MESH_MODE": "ambient"}),
    "kind-dev-ambient": (("dev",), {"MESH_MODE": "ambient"}),
    "eks": (("eks",), EKS_ENV),
    "eks-ambient": (("eks",), {**EKS_ENV, "MESH_MODE": "ambient"}),
    "eks-then-ambient": (("eks", "ambient"), EKS_ENV),
}


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def built_images(config: dict, eks: bool) -> list[skaffold.Image]:
    """Image references as skaffold reports them: on kind (loaded, not pushed) ``name:<image id>``; on EKS
    (pushed under --default-repo <registry>/seaway) ``<registry>/seaway/name:<inputDigest>@sha256:<digest>``."""
    images = []
    for artifact in config["build"]["artifacts"]:
        name = artifact["image"]
        if eks:
            reference = f"{REGISTRY}/seaway/{name}:{_hex('inputs' + name)}@sha256:{_hex('manifest' + name)}"
        else:
            reference = f"{name}:{_hex('image id' + name)}"
        images.append(skaffold.Image(name, reference))
    return images


def fresh_copy(destination: Path) -> Path:
    """The repository's files as a clone of this tree would have them (see the module's docstring)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is not in the change under review
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _helm(helm: str, args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    return subprocess.run([helm, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def _releases_in_order(releases: list[dict]) -> list[dict]:
    """Releases level by level of ``dependsOn`` (skaffold's dependency graph)."""
    done: list[str] = []
    ordered: list[dict] = []
    while len(ordered) < len(releases):
        level = [r for r in releases if r["name"] not in done and set(r.get("dependsOn", [])) <= set(done)]
        assert level, "dependsOn has a cycle or names a missing release"
        ordered += level
        done += [r["name"] for r in level]
    return ordered


@dataclass
class Run:
    """One way of running skaffold, played through helm: the profiles, the images, each release's outcome."""

    profiles: list[str]
    images: list[skaffold.Image]
    problems: list[str] = field(default_factory=list)
    rendered: dict[str, list[dict]] = field(default_factory=dict)  # release name -> objects


@pytest.fixture(scope="module")
def runs(helm: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every run of RUNS, each from its own fresh copy: dependency build and template per release, in order."""
    out = {}
    for name, (named, env) in RUNS.items():
        tmp = tmp_path_factory.mktemp(name)
        workspace = fresh_copy(tmp / "repo")
        config = yaml.safe_load((workspace / "skaffold.yaml").read_text())
        profiles = skaffold.activated_profiles(config, named, env)
        pipeline = skaffold.apply_profiles(config, profiles)
        run = out[name] = Run(profiles, built_images(pipeline, eks="eks" in profiles))
        for release in _releases_in_order(pipeline["deploy"]["helm"]["releases"]):
            build = skaffold.dependency_build_args(release)
            result = _helm(helm, build, workspace, tmp / "helm") if build else None
            if result is not None and result.returncode != 0:
                run.problems.append(f"helm {' '.join(build)}: {result.stderr.strip()}")
                continue
            args = skaffold.as_template(skaffold.install_args(release, run.images, env), KUBE_VERSIONS[0])
            result = _helm(helm, args, workspace, tmp / "helm")
            if result.returncode != 0:
                run.problems.append(f"helm {' '.join(args)}:\n{result.stderr.strip()}")
                continue
            run.rendered[release["name"]] = documents(result.stdout)
    return out


@pytest.mark.parametrize("run", sorted(RUNS))
def test_skaffold_helm_calls_from_a_fresh_copy_render_valid_objects(runs: dict[str, Run], run: str) -> None:
    played = runs[run]
    assert played.rendered or played.problems, f"{run}: no helm release"
    problems = list(played.problems)
    for release, objects in played.rendered.items():
        problems += [f"{release}: {e}" for e in kubernetes_errors(objects)]
        problems += [f"{release}: {e}" for e in custom_resource_errors(objects)]
    assert not problems, f"skaffold {run} (profiles {played.profiles}):\n" + "\n".join(problems)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_the_services_run_the_images_skaffold_built(runs: dict[str, Run], run: str) -> None:
    """Every container of a Deployment runs one of the built images (repository and tag as passed)."""
    played = runs[run]
    assert "storefront" in played.rendered, played.problems
    services = [image for image in played.images if image.name in discover()]
    expected = {image.reference.partition("@")[0] for image in services}
    deployments = [o for o in played.rendered["storefront"] if o["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {image.name for image in services}
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["image"].partition("@")[0] in expected, container["image"]


def test_the_helm_arguments_follow_skaffolds_order_and_flags():
    """The model itself, on a release with every field: setValues then setValueTemplates (each sorted) as --set,
    then the values files in order; the namespace; a trailing '@' (an empty digest) dropped."""
    release = {
        "name": "r",
        "chartPath": "charts/x",
        "namespace": "ns",
        "createNamespace": True,
        "setValues": {"b": "2", "a": "true"},
        "setValueTemplates": {"z.tag": "{{.IMAGE_TAG_x}}@{{.IMAGE_DIGEST_x}}", "y.id": "{{.ACCOUNT}}"},
        "valuesFiles": ["v2.yaml", "v1.yaml"],
    }
    args = skaffold.install_args(release, [skaffold.Image("x", "x:abc")], {"ACCOUNT": "111122223333"})
    assert args == [
        "install", "r", "charts/x", "--namespace", "ns", "--create-namespace",
        "--set", "a=true", "--set", "b=2",
        "--set", "y.id=111122223333", "--set", "z.tag=abc",
        "-f", "v2.yaml", "-f", "v1.yaml",
    ]  # fmt: skip
    assert skaffold.dependency_build_args(release) == ["dependency", "build", "charts/x"]
    assert skaffold.dependency_build_args({**release, "skipBuildDependencies": True}) is None
    with pytest.raises(KeyError, match="ACCOUNT"):
        skaffold.install_args(release, [skaffold.Image("x", "x:abc")], {})


def test_image_template_values_split_a_pushed_reference():
    image = skaffold.Image("gateway", f"{REGISTRY}/seaway/gateway:{'a' * 64}@sha256:{'b' * 64}")
    values = image.template_values()
    assert values["IMAGE_REPO_gateway"] == f"{REGISTRY}/seaway/gateway"
    assert values["IMAGE_TAG_gateway"] == "a" * 64
    assert values["IMAGE_DIGEST_gateway"] == "sha256:" + "b" * 64
    assert values["IMAGE_DOMAIN_gateway"] == REGISTRY
    assert values["IMAGE_REPO_NO_DOMAIN_gateway"] == "seaway/gateway"


def test_profiles_apply_env_activated_first_then_named_with_replace_as_the_default_op():
    config = {
        "build": {"artifacts": [{"image": "a"}]},
        "profiles": [
            {"name": "one", "patches": [{"path": "/build/artifacts/0/image", "value": "b"}]},
            {"name": "two", "activation": [{"env": "MODE=x"}], "patches": [{"op": "add", "path": "/n", "value": 1}]},
        ],
    }
    assert skaffold.activated_profiles(config, ["one"], {"MODE": "x"}) == ["two", "one"]
    assert skaffold.activated_profiles(config, ["one"], {"MODE": "xy"}) == ["one"]
    assert skaffold.apply_profiles(config, ["two", "one"]) == {"build": {"artifacts": [{"image": "b"}]}, "n": 1}


def test_the_emulator_job_runs_the_tools_image_skaffold_built(runs: dict[str, Run]) -> None:
    for name in ("kind-run", "kind-dev"):
        played = runs[name]
        (tools,) = [image for image in played.images if image.name == "seaway-tools"]
        (job,) = [o for o in played.rendered["aws-resources"] if o["kind"] == "Job"]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["image"] == tools.reference and container["command"][:2] == ["seaway", "create-resources"]
    assert not [image for image in runs["eks"].images if image.name == "seaway-tools"]


@pytest.mark.parametrize("run", ("eks", "eks-ambient"))
def test_on_eks_every_service_trusts_the_user_pool_of_the_stack(runs: dict[str, Run], run: str) -> None:
    """The issuer and app client scripts/deploy.sh reads from the stack reach the services that verify tokens and
    their RequestAuthentication; the keys are Cognito's own."""
    objects = runs[run].rendered["storefront"]
    issuer, client = EKS_ENV["SEAWAY_AUTH_ISSUER"], EKS_ENV["SEAWAY_AUTH_CLIENT_ID"]
    configs = [o["data"] for o in objects if o["kind"] == "ConfigMap" and "AUTH_ISSUER" in o.get("data", {})]
    assert configs
    for env in configs:
        assert (env["AUTH_ISSUER"], env["AUTH_CLIENT_IDS"]) == (issuer, client)
        assert env["AUTH_JWKS_URL"] == f"{issuer}/.well-known/jwks.json"
    rules = [r for o in objects if o["kind"] == "RequestAuthentication" for r in o["spec"]["jwtRules"]]
    assert len(rules) == len(configs)
    assert {(r["issuer"], r["jwksUri"]) for r in rules} == {(issuer, f"{issuer}/.well-known/jwks.json")}
