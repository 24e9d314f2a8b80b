"""The kit holds every request to the OpenAPI document: path, query and header parameters before the handler
runs (converted to their types, defaults filled in), and bodies, with ECMA-262 pattern anchors."""

from __future__ import annotations

import pytest

import seaway

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "example", "version": "1"},
    "paths": {
        "/things": {
            "get": {
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    },
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
                ]
            },
            "post": {"parameters": [{"$ref": "#/components/parameters/Key"}]},
        },
        "/owners/{owner_id}/things": {
            "parameters": [
                {"name": "owner_id", "in": "path", "required": True, "schema": {"$ref": "#/components/schemas/Id"}}
            ],
            "get": {},
        },
    },
    "components": {
        "parameters": {
            "Key": {
                "name": "Idempotency-Key",
                "in": "header",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
            }
        },
        "schemas": {
            "Id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
            "Thing": {
                "type": "object",
                "required": ["owner"],
                "properties": {"owner": {"$ref": "#/components/schemas/Id"}},
            },
        },
    },
}


@pytest.fixture
def client():
    app = seaway.create_app("example", openapi_document=DOCUMENT)
    calls = []

    @app.get("/things")
    def list_things():
        calls.append("list")
        return {"params": seaway.params()}

    @app.post("/things")
    def make_thing():
        body = seaway.json_body("Thing")
        return {"key": seaway.params().get("Idempotency-Key"), "owner": body["owner"]}, 201

    @app.get("/owners/<owner_id>/things")
    def owner_things(owner_id: str):
        calls.append(owner_id)
        return {"owner": owner_id}

    test_client = app.test_client()
    test_client.calls = calls
    return test_client


def test_query_parameters_arrive_converted_with_their_defaults(client):
    assert client.get("/things").json == {"params": {"limit": 20}}
    assert client.get("/things?limit=7&cursor=abc&flag=true").json == {
        "params": {"limit": 7, "cursor": "abc", "flag": True}
    }


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=seven", "limit=1.5", "flag=yes"])
def test_a_bad_query_parameter_is_a_400_problem_naming_it_and_the_handler_never_runs(client, query):
    answer = client.get(f"/things?{query}")
    assert answer.status_code == 400
    assert answer.content_type == "application/problem+json"
    name = query.split("=")[0]
    assert answer.json["errors"][0]["name"] == name and answer.json["errors"][0]["in"] == "query"
    assert name in answer.json["detail"]
    assert client.calls == []


@pytest.mark.parametrize("owner", ["..", "ada%0A", "-x", "a" * 65, "a%2Fb"])
def test_a_path_parameter_outside_its_schema_is_a_404_and_the_handler_never_runs(client, owner):
    answer = client.get(f"/owners/{owner}/things")
    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"
    assert client.calls == []


def test_a_valid_path_parameter_reaches_the_handler(client):
    assert client.get("/owners/ada.lovelace/things").json == {"owner": "ada.lovelace"}


@pytest.mark.parametrize("key", ["", "has space", "k" * 129])
def test_a_bad_header_parameter_is_a_400(client, key):
    answer = client.post("/things", json={"owner": "ada"}, headers={"Idempotency-Key": key})
    assert answer.status_code == 400
    assert answer.json["errors"][0] == {
        "in": "header",
        "name": "Idempotency-Key",
        "message": answer.json["errors"][0]["message"],
    }


def test_a_good_header_parameter_reaches_the_handler_by_its_declared_name(client):
    answer = client.post("/things", json={"owner": "ada"}, headers={"idempotency-key": "k-1"})
    assert answer.status_code == 201 and answer.json == {"key": "k-1", "owner": "ada"}


def test_a_pattern_anchor_does_not_accept_a_trailing_newline_in_a_body(client):
    # Python's $ matches before a final newline; JSON Schema's (ECMA-262) does not.
    answer = client.post("/things", json={"owner": "ada\n"})
    assert answer.status_code == 422
    assert answer.json["errors"][0]["path"] == "/owner"


def test_an_escaped_dollar_and_one_in_a_class_stay_literal():
    from seaway.openapi import Validator

    assert Validator({"pattern": r"^a\$$"}).is_valid("a$")
    assert not Validator({"pattern": r"^a\$$"}).is_valid("a$\n")
    assert Validator({"pattern": "^[$]+$"}).is_valid("$$")
