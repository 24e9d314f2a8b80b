"""A service's OpenAPI 3.1 document: served at ``/openapi.json`` and used to validate request bodies.

The document is the contract: request bodies are checked against its ``components/schemas`` with
JSON Schema 2020-12 (which OpenAPI 3.1 uses), so the published schema and the enforced one cannot drift.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Flask, current_app, request
from jsonschema import Draft202012Validator
from werkzeug.exceptions import BadRequest

from seaway.errors import Problem


def load(package: str, filename: str = "openapi.yaml") -> dict[str, Any]:
    """Read the OpenAPI document shipped inside ``package``."""
    return yaml.safe_load(resources.files(package).joinpath(filename).read_text(encoding="utf-8"))


def install(app: Flask, document: dict[str, Any]) -> None:
    app.extensions["seaway.openapi"] = document
    app.extensions["seaway.openapi.validators"] = {}
    app.register_blueprint(_blueprint)


_blueprint = Blueprint("seaway_openapi", __name__)


@_blueprint.get("/openapi.json")
def openapi_json():
    """The service's OpenAPI 3.1 document."""
    return current_app.extensions["seaway.openapi"]


def _validator(schema_name: str) -> Draft202012Validator:
    """The app's validator for one schema of its document, made on first use."""
    validators = current_app.extensions["seaway.openapi.validators"]
    if schema_name not in validators:
        document = current_app.extensions["seaway.openapi"]
        root = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
        validators[schema_name] = Draft202012Validator(root)
    return validators[schema_name]


def json_body(schema_name: str) -> Any:
    """The request's JSON body, validated against ``components/schemas/<schema_name>``.

    415 when it is not JSON, 400 when it does not parse, 422 with every violation when it does not
    match the schema.
    """
    if not request.is_json:
        raise Problem(415, "Unsupported Media Type", "send the body as application/json")
    try:
        body = request.get_json()
    except BadRequest:
        raise Problem(400, "Bad Request", "the body is not valid JSON") from None
    validator = _validator(schema_name)
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    if errors:
        raise Problem(
            422,
            "Unprocessable Content",
            "the body does not match the schema",
            errors=[{"path": "/" + "/".join(map(str, e.absolute_path)), "message": e.message} for e in errors[:20]],
        )
    return body
