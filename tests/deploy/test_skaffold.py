"""skaffold.yaml: valid skaffold/v4beta14 in every profile, and everything it names exists and agrees."""

from __future__ import annotations

import glob
import re
from typing import Any

import jsonschema
import pytest

from seaway.service import discover
from tests.deploy.conftest import REPO, load_yaml, schema
from tests.deploy.test_image import stages
from tests.fidelity.skaffold_model import activated_profiles, apply_profiles, on_change

CONFIG = load_yaml(REPO / "skaffold.yaml")
PROFILES = {profile["name"]: profile for profile in CONFIG["profiles"]}


def effective(profile: str | None) -> dict[str, Any]:
    """The configuration skaffold runs with ``-p profile`` (the model of tests/fidelity/skaffold_model.py)."""
    return apply_profiles(CONFIG, [profile] if profile else [])


@pytest.fixture(scope="module")
def validator(schemas) -> jsonschema.Draft7Validator:
    document = schema(schemas, "skaffold/v4beta14.json")
    return jsonschema.Draft7Validator({"$ref": "#/definitions/SkaffoldConfig", "definitions": document["definitions"]})


def test_skaffold_yaml_is_v4beta14_and_validates(validator):
    assert CONFIG["apiVersion"] == "skaffold/v4beta14"
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(CONFIG)]
    assert not errors


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_yields_a_valid_configuration(validator, profile):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(effective(profile))]
    assert not errors


TOOLS = "seaway-tools"


def service_artifacts(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in config["build"]["artifacts"] if a["image"] != TOOLS]


@pytest.mark.parametrize("profile", [None, *sorted(PROFILES)])
def test_one_artifact_per_declared_service_from_the_one_dockerfile(profile):
    artifacts = service_artifacts(effective(profile))
    assert {a["image"] for a in artifacts} == set(discover())
    for artifact in artifacts:
        assert (REPO / artifact.get("context", ".") / artifact["docker"]["dockerfile"]).is_file()
        assert artifact["docker"]["buildArgs"] == {"SERVICE": artifact["image"]}
        if "target" in artifact["docker"]:
            assert artifact["docker"]["target"] in stages()


@pytest.mark.parametrize("profile", [None, *sorted(PROFILES)])
def test_the_tools_image_is_built_where_the_emulator_job_runs_it_and_nowhere_else(profile):
    config = effective(profile)
    tools = [a for a in config["build"]["artifacts"] if a["image"] == TOOLS]
    releases = {r["name"] for r in config["deploy"]["helm"]["releases"]}
    assert bool(tools) is ("aws-resources" in releases)
    for artifact in tools:
        assert artifact["docker"]["dockerfile"] == "services/tools.Dockerfile" and "buildArgs" not in artifact["docker"]


def test_dev_profile_is_for_skaffold_dev_on_kind_with_the_dev_stage_and_file_sync():
    assert PROFILES["dev"]["activation"] == [{"kubeContext": "kind-.*", "command": "dev"}]
    (dev_path,) = [a.split("=", 1)[1] for k, a in stages()["dev"] if k == "ENV" and a.startswith("PYTHONPATH=")]
    for artifact in service_artifacts(effective("dev")):
        assert artifact["docker"]["target"] == "dev"
        rules = artifact["sync"]["manual"]
        sources = {rule["src"] for rule in rules}
        assert "services/seaway/**/*" in sources
        assert "services/storefront/*/service.py" in sources
        assert f"services/storefront/{artifact['image']}/**/*" in sources
        for rule in rules:
            # Files land at dest/<src path>; the dev stage imports from dest/services.
            assert f"{rule['dest']}/services" == dev_path
            assert glob.glob(str(REPO / rule["src"]), recursive=True), rule["src"]


def test_production_build_never_syncs():
    for artifact in service_artifacts(effective(None)) + service_artifacts(effective("eks")):
        assert "sync" not in artifact and "target" not in artifact["docker"]


def _chart_values(chart_path: str) -> dict[str, Any]:
    """A chart's values with each dependency's own values under its alias or name (as Helm merges them)."""
    chart = REPO / chart_path
    values = load_yaml(chart / "values.yaml") or {}
    for dependency in (load_yaml(chart / "Chart.yaml") or {}).get("dependencies", []):
        sub = (chart / dependency["repository"].removeprefix("file://")).resolve()
        key = dependency.get("alias", dependency["name"])
        values[key] = _merged(load_yaml(sub / "values.yaml") or {}, values.get(key, {}))
    return values


def _merged(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` over ``defaults``, maps merged key by key (as Helm merges a parent's values into a chart's)."""
    out = dict(defaults)
    for key, value in values.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


def _has_key(values: dict[str, Any], dotted: str) -> bool:
    """A value of the chart; ``global.*`` may be defined by the chart or by any of its dependencies."""
    if dotted.startswith("global."):
        holders = [values, *(v for v in values.values() if isinstance(v, dict) and "global" in v)]
        return any(_has_path(holder, dotted) for holder in holders)
    return _has_path(values, dotted)


def _has_path(values: dict[str, Any], dotted: str) -> bool:
    """``a.b.c`` a value; ``a.b[0]``, an item of the list ``a.b`` (as --set writes one)."""
    node: Any = values
    for part in dotted.split("."):
        name, _, index = part.partition("[")
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
        if index and not isinstance(node, list):
            return False
    return True


@pytest.mark.parametrize("profile", [None, *sorted(PROFILES)])
def test_helm_releases_exist_and_every_set_value_is_a_chart_value(profile):
    config = effective(profile)
    assert "manifests" not in config, "deploy.helm (a real Helm release), not manifests.helm"
    # Templates name an artifact with / - . : made _ (skaffold's sanitising of IMAGE_*_<name>).
    artifacts = {re.sub(r"[/\-.:]", "_", a["image"]) for a in config["build"]["artifacts"]}
    releases = config["deploy"]["helm"]["releases"]
    names = {release["name"] for release in releases}
    for release in releases:
        chart = REPO / release["chartPath"]
        assert (chart / "Chart.yaml").is_file(), release["chartPath"]
        for values_file in release.get("valuesFiles", []):
            assert (REPO / values_file).is_file(), values_file
        assert set(release.get("dependsOn", [])) <= names
        values = _chart_values(release["chartPath"])
        for key in release.get("setValues", {}):
            assert _has_key(values, key), f"{release['name']}: {key} is not a value of {release['chartPath']}"
        for key, template in release["setValueTemplates"].items():
            assert _has_key(values, key), f"{release['name']}: {key} is not a value of {release['chartPath']}"
            for kind, artifact in re.findall(r"\{\{\.IMAGE_(REPO|TAG|DIGEST)_(\w+)\}\}", template):
                assert artifact in artifacts, template
                # x.image.repository takes IMAGE_REPO_x, x.image.tag IMAGE_TAG_x: names agree with the charts.
                if key.endswith(".image.repository"):
                    assert (kind, artifact) == ("REPO", key.split(".")[0])
                if key.endswith(".image.tag"):
                    assert artifact == key.split(".")[0]


def test_every_service_image_is_wired_into_the_storefront_release():
    for profile in (None, *PROFILES):
        (storefront,) = [r for r in effective(profile)["deploy"]["helm"]["releases"] if r["name"] == "storefront"]
        for name in discover():
            assert storefront["setValueTemplates"][f"{name}.image.repository"] == f"{{{{.IMAGE_REPO_{name}}}}}"
            assert storefront["setValueTemplates"][f"{name}.image.tag"].startswith(f"{{{{.IMAGE_TAG_{name}}}}}")


def test_kind_deploys_the_emulator_job_first_and_eks_never_does():
    kind = {r["name"]: r for r in effective(None)["deploy"]["helm"]["releases"]}
    assert set(kind) == {"aws-resources", "storefront"}
    assert kind["storefront"]["dependsOn"] == ["aws-resources"]
    assert kind["storefront"]["valuesFiles"] == ["charts/storefront/values-kind.yaml"]
    eks = effective("eks")
    assert [r["name"] for r in eks["deploy"]["helm"]["releases"]] == ["storefront"]
    assert eks["deploy"]["helm"]["releases"][0]["valuesFiles"] == ["charts/storefront/values-eks.yaml"]
    assert eks["build"]["local"]["push"] is True


def test_the_storefront_is_release_0_so_profile_patches_combine_in_any_order():
    assert CONFIG["deploy"]["helm"]["releases"][0]["name"] == "storefront"
    for names in (["eks", "ambient"], ["ambient", "eks"], ["dev", "ambient"], ["ambient", "dev"]):
        config = apply_profiles(CONFIG, names)
        (storefront,) = [r for r in config["deploy"]["helm"]["releases"] if r["name"] == "storefront"]
        assert storefront["setValues"] == {"global.mesh.mode": "ambient"}, names


def test_ambient_profile_is_selected_by_mesh_mode_and_only_switches_the_data_plane():
    assert PROFILES["ambient"]["activation"] == [{"env": "MESH_MODE=ambient"}]
    assert activated_profiles(CONFIG, ["eks"], {"MESH_MODE": "ambient"}) == ["ambient", "eks"]
    assert activated_profiles(CONFIG, ["eks"], {"MESH_MODE": "sidecar"}) == ["eks"]
    before, after = effective(None), effective("ambient")
    after["deploy"]["helm"]["releases"][0].pop("setValues")
    assert before == after


def test_eks_tags_cannot_collide_in_an_immutable_registry():
    """ECR tags are immutable. inputDigest names an image by its inputs, so a second machine (empty skaffold
    cache) computes an existing tag; with tryImportMissing skaffold looks the tag up in the registry and reuses
    the image (pkg/skaffold/build/cache/lookup.go: tryImport, then lookupRemote finds the same digest) instead
    of building and pushing a different image under it. A tag policy with no such lookup must be unique per
    build (gitCommit is not: two builds of one commit share it)."""
    local = effective("eks")["build"]["local"]
    policy = effective("eks")["build"]["tagPolicy"]
    if "inputDigest" in policy or "gitCommit" in policy:
        assert local.get("tryImportMissing") is True
    # tryImport is skipped for multi-platform builds (lookup.go): one platform only.
    assert len(effective("eks")["build"]["platforms"]) == 1


SERVICES = tuple(discover())


def _own_file(name: str) -> str:
    """A file of the service's own package, not its declaration: the module of its app."""
    module = discover()[name].app.partition(":")[0]
    return f"services/{module.replace('.', '/')}.py"


CHANGES = {
    # changed file -> artifact -> what skaffold dev does (artifacts absent: nothing happens to them). The tools
    # image (the emulator's resources Job) holds the kit and the declarations but runs no server: it is rebuilt.
    **{_own_file(name): {name: "sync"} for name in SERVICES},
    "services/seaway/client.py": {**dict.fromkeys(SERVICES, "sync"), TOOLS: "rebuild"},
    "services/seaway_tools/kubectl/cli.py": {TOOLS: "rebuild"},  # the tools have a Dockerfile of their own
    # every image keeps every service's declaration (the seaway.services entry points name them all)
    **{
        f"services/{discover()[name].app.split('.')[0]}/{name}/service.py": {
            **dict.fromkeys(SERVICES, "sync"),
            TOOLS: "rebuild",
        }
        for name in SERVICES
    },
    # dependencies and the recipe itself: a new image, rightly
    "pyproject.toml": dict.fromkeys((*SERVICES, TOOLS), "rebuild"),
    "requirements/runtime.lock": dict.fromkeys((*SERVICES, TOOLS), "rebuild"),
    # not an input of any image (the deployer redeploys on chart changes; tests are not in images)
    "charts/storefront/values.yaml": {},
    "tests/unit/test_client.py": {},
}


@pytest.mark.parametrize("changed", sorted(CHANGES))
def test_skaffold_dev_syncs_a_change_into_its_own_service_only_and_rebuilds_nothing(changed):
    """What `skaffold dev` does with one changed file, by skaffold's rules (tests/fidelity/skaffold_model.py):
    an artifact whose inputs include the file syncs it if one of its own rules matches, else it is rebuilt."""
    artifacts = effective("dev")["build"]["artifacts"]
    assert on_change(REPO, artifacts, changed) == CHANGES[changed]


def test_the_changed_files_of_the_sync_check_exist():
    for changed in CHANGES:
        assert (REPO / changed).is_file(), changed


def test_port_forward_targets_the_public_service():
    (forward,) = CONFIG["portForward"]
    public = [name for name, service in discover().items() if service.public]
    assert forward["resourceType"] == "service" and [forward["resourceName"]] == public
    assert forward["port"] == 8080
