"""What Istio decides for one HTTP request, from the RequestAuthentication and AuthorizationPolicy objects a chart
rendered: the tests ask it which requests the rendered policies let through, instead of restating the policies.

The subset of Istio's semantics the charts use (istio.io, "Authorization Policy" and "Request Authentication"):

- the policies of a workload are the ones selecting its pod labels (sidecar mode) or targeting its Service
  (``targetRefs``, enforced by the waypoint in ambient mode);
- a request carrying a token that no jwtRule's issuer accepts is refused (401); a request without a token passes
  authentication with no request principal; a valid token's request principal is ``<iss>/<sub>``;
- DENY policies first: any matching rule refuses (403); then, if the workload has ALLOW policies, a request no
  ALLOW rule matches is refused (403);
- a rule matches when one of its ``from`` sources, one of its ``to`` operations and all its ``when`` conditions
  match (an absent list matches anything); in a source or an operation every field present must match;
- strings match exactly, by prefix (``abc*``), by suffix (``*abc``) or anything (``*``); a ``not*`` field matches
  when none of its strings does, an absent value included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALLOWED, UNAUTHENTICATED, DENIED = 200, 401, 403


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    source: str  # the caller's mTLS principal, e.g. cluster.local/ns/storefront/sa/gateway
    claims: dict[str, str] = field(default_factory=dict)  # a bearer token's claims; empty: no token


def _matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _field(spec: dict, name: str, value: str | None) -> bool:
    """``name`` (any pattern matches) and ``not<Name>`` (no pattern matches), where present."""
    negative = "not" + name[0].upper() + name[1:]
    if name in spec and not any(_matches(p, value) for p in spec[name]):
        return False
    return not (negative in spec and any(_matches(p, value) for p in spec[negative]))


SOURCE_FIELDS = {"principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals"}
OPERATION_FIELDS = {"methods", "notMethods", "paths", "notPaths"}


def _source(source: dict, request: Request, principal: str | None) -> bool:
    assert set(source) <= SOURCE_FIELDS, f"source fields not modelled: {set(source) - SOURCE_FIELDS}"
    return _field(source, "principals", request.source) and _field(source, "requestPrincipals", principal)


def _operation(operation: dict, request: Request) -> bool:
    assert set(operation) <= OPERATION_FIELDS, f"operation fields not modelled: {set(operation) - OPERATION_FIELDS}"
    return _field(operation, "methods", request.method) and _field(operation, "paths", request.path)


def _condition(condition: dict, request: Request) -> bool:
    key = condition["key"]
    assert key.startswith("request.auth.claims[") and key.endswith("]"), f"condition not modelled: {key}"
    value = request.claims.get(key.removeprefix("request.auth.claims[").removesuffix("]"))
    return _field(condition, "values", value)


def _rule(rule: dict, request: Request, principal: str | None) -> bool:
    sources = [s["source"] for s in rule.get("from", [])]
    operations = [o["operation"] for o in rule.get("to", [])]
    return (
        (not sources or any(_source(s, request, principal) for s in sources))
        and (not operations or any(_operation(o, request) for o in operations))
        and all(_condition(c, request) for c in rule.get("when", []))
    )


def _applies(obj: dict, pod_labels: dict[str, str], service: str) -> bool:
    spec = obj["spec"]
    if "targetRefs" in spec:
        return {"group": "", "kind": "Service", "name": service} in spec["targetRefs"]
    selector = spec.get("selector", {}).get("matchLabels", {})
    return all(pod_labels.get(k) == v for k, v in selector.items())


def decide(objects: list[dict], service: str, request: Request, *, waypoint: bool) -> int:
    """What the mesh answers ``request`` to ``service``: ALLOWED (it reaches the app), UNAUTHENTICATED or DENIED.
    ``waypoint``: ambient mode, where the policies targeting the Service apply (those selecting pods act at L4)."""
    (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == service]
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    def ours(kind: str) -> list[dict]:
        found = [o for o in objects if o["kind"] == kind and _applies(o, labels, service)]
        return [o for o in found if ("targetRefs" in o["spec"]) is waypoint]

    principal = None
    if request.claims:
        issuers = {rule["issuer"] for ra in ours("RequestAuthentication") for rule in ra["spec"]["jwtRules"]}
        if request.claims.get("iss") not in issuers:
            return UNAUTHENTICATED
        principal = f"{request.claims['iss']}/{request.claims['sub']}"
    policies = ours("AuthorizationPolicy")
    for policy in (p for p in policies if p["spec"].get("action") == "DENY"):
        if any(_rule(rule, request, principal) for rule in policy["spec"].get("rules", [])):
            return DENIED
    allows = [p for p in policies if p["spec"].get("action", "ALLOW") == "ALLOW"]
    if allows and not any(_rule(r, request, principal) for p in allows for r in p["spec"].get("rules", [])):
        return DENIED
    return ALLOWED
