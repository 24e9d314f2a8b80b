"""Every service's OpenAPI document describes exactly its Flask routes: no route undocumented, no stale path."""

from __future__ import annotations

import re

import pytest

from seaway.service import auth_env, cognito_issuer, discover, load_object, resource_env, resource_value, url_env

# The kit's own routes (and its opt-in fault injection), documented by the kit, not by each service.
KIT_PATHS = {"/livez", "/readyz", "/metrics", "/openapi.json", "/chaos"}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}

# What each app needs to build without any AWS call or background work: every declared resource and peer (as the
# charts give them), no consumers, no seeding.
ENV = {
    **{
        resource_env(resource): resource_value(
            service, resource, account="123456789012", region="us-east-1", endpoint="http://sqs.invalid"
        )
        for service in discover().values()
        for resource in service.resources
    },
    **{url_env(name): f"http://{name}.invalid" for name in discover()},
    **auth_env(cognito_issuer("us-east-1", "us-east-1_Example"), ["example-client"]),  # never fetched here
    "CONSUME_EVENTS": "false",
    "SEED_PRODUCTS": "false",
    "AWS_REGION": "us-east-1",
}


def flask_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static") or rule.rule in KIT_PATHS:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(path, method) for method in rule.methods & METHODS}
    return routes


def documented(document: dict) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in document.get("paths", {}).items()
        for method in item
        if method.upper() in METHODS
    }


@pytest.mark.parametrize("name", sorted(discover()))
def test_openapi_document_covers_exactly_the_flask_routes(name, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = load_object(discover()[name].app)()
    document = app.test_client().get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert documented(document) == flask_routes(app)
