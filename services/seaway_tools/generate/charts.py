"""The charts' per-service values, from the declarations, with every name computed by :mod:`seaway.service`.

- ``charts/storefront/Chart.yaml``: one alias of ``seaway-service`` per service (a generated region);
- ``charts/storefront/values.yaml``: each alias's identity values (a generated region; the rest is hand-written);
- ``charts/storefront/values.schema.json``: the umbrella's schema with one entry per service (each checked by
  ``charts/seaway-service/values.schema.json``, the one schema of a service's values);
- ``charts/storefront/services/<name>.yaml``: one service's values to install it alone from
  ``charts/seaway-service``: its identity and the umbrella's globals; ``<name>.<target>.yaml`` the same for the
  targets ``values-<target>.yaml`` (their globals and that service's block).

The identity is what the declaration says, nothing more: name, component, callers, calls (``{name, env, url}``),
AWS resources (``{kind, name, env, physicalName, value}``, with placeholders for what only a deployment knows),
redis, the queue KEDA scales on, and, for a service whose OpenAPI document (``openapi.yaml`` beside its
declaration) has operations with ``security``, ``auth`` (``enabled`` and the ``requiredPaths`` where the mesh
requires a token, in Istio's path syntax: :func:`required_paths`). Defaults stay in
``charts/seaway-service/values.yaml``, once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from seaway import openapi
from seaway.auth import secured_operations
from seaway.service import (
    ACCOUNT,
    REGION,
    Queue,
    Service,
    callers_of,
    cluster_url,
    physical_name,
    resource_env,
    resource_value,
    url_env,
)
from seaway_tools.generate import regions
from seaway_tools.generate.declarations import Declared

UMBRELLA = Path("charts/storefront")
LIBRARY = "seaway-service"
SERVICE_SCHEMA = "charts/seaway-service/values.schema.json"
TARGETS = ("kind", "eks")


def component(service: Service, callers: tuple[str, ...]) -> str:
    """``app.kubernetes.io/component``: the public edge, a worker (called by no one, consumes a queue), or an API."""
    if service.public:
        return "edge"
    if not callers and any(isinstance(r, Queue) for r in service.resources):
        return "worker"
    return "api"


def required_paths(document: Mapping[str, Any]) -> list[dict[str, list[str]]]:
    """Where the mesh requires a token, from the document's secured operations, as Istio matches paths: a path
    template becomes a prefix up to its first parameter (``/api/orders/{order_id}`` -> ``/api/orders/*``); one
    entry per set of methods (GET brings HEAD, which Flask answers with the GET handler)."""
    methods: dict[str, set[str]] = {}
    for path, method in secured_operations(document):
        istio = re.sub(r"\{[^}]*\}.*$", "*", path)
        methods.setdefault(istio, set()).update({method, "HEAD"} if method == "GET" else {method})
    grouped: dict[tuple[str, ...], list[str]] = {}
    for path, verbs in sorted(methods.items()):
        grouped.setdefault(tuple(sorted(verbs)), []).append(path)
    return [{"paths": paths, "methods": list(verbs)} for verbs, paths in sorted(grouped.items())]


def openapi_document(root: Path, declared: Declared) -> dict[str, Any]:
    """The service's OpenAPI document beside its declaration; none (``{}``) when it has none."""
    path = Path(root) / declared.folder / "openapi.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def identity(
    service: Service, services: Mapping[str, Service], document: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A service's values in the umbrella: what its declaration says, named by seaway.service; its callers are
    the ones it names and every service that declares it calls this one (seaway.service.callers_of); from its
    OpenAPI ``document`` (by default the one its installed package ships), where it requires a customer's token
    (``auth``)."""
    callers = callers_of(service.name, services)
    values: dict[str, Any] = {
        "enabled": True,
        "name": service.name,
        "component": component(service, callers),
        "callers": list(callers),
        "calls": [{"name": peer, "env": url_env(peer), "url": cluster_url(peer)} for peer in service.calls],
        "aws": {
            "resources": [
                {
                    "kind": resource.kind,
                    "name": resource.name,
                    "env": resource_env(resource),
                    "physicalName": physical_name(service, resource, account=ACCOUNT, region=REGION),
                    "value": resource_value(service, resource),
                }
                for resource in service.resources
            ]
        },
        "redis": {"enabled": service.redis},
    }
    if service.restricted_paths:
        values["restrictedPaths"] = [
            {"paths": list(r.paths), "callers": list(r.callers)} for r in service.restricted_paths
        ]
    required = required_paths(openapi.of_service(service.app) if document is None else document)
    if required:
        values["auth"] = {"enabled": True, "requiredPaths": required}
    queues = [r.name for r in service.resources if isinstance(r, Queue)]
    if queues:
        # KEDA (when autoscaling.sqs.enabled) scales on the depth of the first queue the service consumes.
        values["autoscaling"] = {"sqs": {"queue": queues[0]}}
    return values


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=120, default_flow_style=None)


def _chart(root: Path, services: Mapping[str, Declared]) -> str:
    version = yaml.safe_load((root / UMBRELLA / "Chart.yaml").read_text())["version"]
    dependencies = [
        {
            "name": LIBRARY,
            "alias": name,
            "version": version,
            "repository": f"file://../{LIBRARY}",
            "condition": f"{name}.enabled",
        }
        for name in services
    ]
    lines = ["dependencies:"]
    for dependency in dependencies:
        first, *rest = (f"{key}: {value}" for key, value in dependency.items())
        lines += [f"  - {first}", *(f"    {line}" for line in rest)]
    return regions.replace(root / UMBRELLA / "Chart.yaml", "\n".join(lines) + "\n")


def _values(root: Path, services: Mapping[str, Declared]) -> str:
    declared = {name: entry.service for name, entry in services.items()}
    blocks = {
        name: identity(entry.service, declared, openapi_document(root, entry)) for name, entry in services.items()
    }
    return regions.replace(root / UMBRELLA / "values.yaml", _yaml(blocks))


def _schema(root: Path, services: Mapping[str, Declared]) -> str:
    """The umbrella's schema with exactly one entry per declared service, after ``global``."""
    from seaway_tools.generate import HEADER

    path = root / UMBRELLA / "values.schema.json"
    schema = json.loads(path.read_text())
    marker = f"(checked by {SERVICE_SCHEMA})"
    own = {k: v for k, v in schema["properties"].items() if not str(v.get("description", "")).endswith(marker)}
    properties = {"global": own.pop("global")}
    properties |= {
        name: {"type": "object", "description": f"{name}: the seaway-service chart's values {marker}"}
        for name in services
    }
    schema["$comment"] = f"the service entries are {HEADER}"
    schema["properties"] = properties | own
    return json.dumps(schema, indent=2) + "\n"


def _standalone(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    from seaway_tools.generate import HEADER

    umbrella = yaml.safe_load((root / UMBRELLA / "values.yaml").read_text())
    files: dict[Path, str] = {}
    every = {name: entry.service for name, entry in services.items()}
    for name, declared in services.items():
        alone = UMBRELLA / "services" / f"{name}.yaml"
        usage = (
            f"# {name} alone, from the one chart of a service, with the umbrella's globals; {HEADER}.\n"
            f"#   helm upgrade --install {name} charts/{LIBRARY} -n <namespace> -f {alone}"
            f" [-f {UMBRELLA}/services/{name}.<target>.yaml]\n"
        )
        document = openapi_document(root, declared)
        values = {**identity(declared.service, every, document), "global": umbrella.get("global", {})}
        files[alone] = usage + _yaml(values)
        for target in TARGETS:
            source = root / UMBRELLA / f"values-{target}.yaml"
            if not source.is_file():
                continue
            settings = yaml.safe_load(source.read_text()) or {}
            path = UMBRELLA / "services" / f"{name}.{target}.yaml"
            header = (
                f"# {name}'s values in {UMBRELLA}/values-{target}.yaml (its globals and {name}'s block), to add"
                f" after {alone}; {HEADER}.\n"
            )
            files[path] = header + _yaml({"global": settings.get("global", {}), **(settings.get(name) or {})})
    return files


def render(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    return {
        UMBRELLA / "Chart.yaml": _chart(root, services),
        UMBRELLA / "values.yaml": _values(root, services),
        UMBRELLA / "values.schema.json": _schema(root, services),
        **_standalone(root, services),
    }
