"""Strict validation of rendered Kubernetes objects: Kubernetes' own kinds through kubernetes-validate, custom
resources against their CRD schemas (vendored in tests/schemas). Used by the chart tests and by the checks that
render charts the way skaffold does."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

from tests.schemas import schemas_folder

# Rendered against the oldest Kubernetes we support; objects are validated against each of these.
KUBE_VERSIONS = ("1.33.0", "1.34.0", "1.35.0")
# API groups served by Kubernetes itself; everything else is a custom resource.
CORE_GROUPS = {"", "apps", "autoscaling", "policy", "networking.k8s.io", "batch", "rbac.authorization.k8s.io"}


def documents(text: str) -> list[dict]:
    """The non-empty YAML documents of a rendered manifest."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def group_version(obj: dict) -> tuple[str, str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    return group, version


def is_custom(obj: dict) -> bool:
    return group_version(obj)[0] not in CORE_GROUPS


@cache
def _crd_validator(path: Path) -> jsonschema.protocols.Validator:
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


def kubernetes_errors(objects: list[dict], versions: tuple[str, ...] = KUBE_VERSIONS) -> list[str]:
    """One line per problem of the objects of Kubernetes' own kinds, strictly (unknown fields are errors)."""
    errors = []
    for obj in objects:
        if is_custom(obj):
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                errors.append(f"{obj['kind']}/{obj['metadata']['name']} @ {version}: {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                errors.append(error.message)
    return errors


def custom_resource_errors(objects: list[dict], schemas: Path | None = None) -> list[str]:
    """One line per problem of the custom resources, each against ``crds/<group>/<kind>_<version>.json``."""
    folder = schemas or schemas_folder()
    errors = []
    for obj in objects:
        if not is_custom(obj):
            continue
        group, version = group_version(obj)
        path = folder / "crds" / group / f"{obj['kind'].lower()}_{version}.json"
        if not path.is_file():
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: no schema at {path}")
            continue
        for error in _crd_validator(path).iter_errors(obj):
            where = ".".join(str(p) for p in error.absolute_path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}")
    return errors
