"""A service's OpenAPI 3.1 document: served at ``/openapi.json``, and the contract every request is held to.

Request bodies are checked against its ``components/schemas`` (:func:`json_body`), and each operation's path,
query and header parameters against their schemas before the handler runs (:func:`params` hands them over,
converted to their types, defaults filled in), with JSON Schema 2020-12 as OpenAPI 3.1 uses it. So the
published contract and the enforced one cannot drift, and routes carry no validation of their own.

An operation with ``security`` needs a customer's token: it is verified (:mod:`seaway.auth`) before the
parameters are, so a caller without one learns nothing about the operation but that it must sign in.

JSON Schema's ``pattern`` is an ECMA-262 regular expression, in which ``$`` matches only at the end of the
string; Python's ``$`` also matches before a final newline, so ``"ada\\n"`` would pass ``^[a-z]+$``. The
validators here read ``$`` as the end of the string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Flask, current_app, g, request
from jsonschema import Draft202012Validator, ValidationError, validators
from werkzeug.exceptions import BadRequest

from seaway import auth
from seaway.errors import Problem

_EXTENSION = "seaway.openapi"


def load(package: str, filename: str = "openapi.yaml") -> dict[str, Any]:
    """Read the OpenAPI document shipped inside ``package``."""
    return yaml.safe_load(resources.files(package).joinpath(filename).read_text(encoding="utf-8"))


def of_service(app_spec: str) -> dict[str, Any]:
    """The document shipped beside a declared service's app (``Service.app``, e.g.
    ``"storefront.orders.app:create_app()"`` -> ``storefront.orders``'s openapi.yaml); ``{}`` when it has none."""
    package = app_spec.partition(":")[0].rpartition(".")[0]
    try:
        return load(package)
    except (FileNotFoundError, ModuleNotFoundError):
        return {}


def install(app: Flask, document: dict[str, Any]) -> None:
    """Serve ``document`` and hold requests to it; a document with secured operations needs AUTH_* settings."""
    contract = _Contract(document)
    app.extensions[_EXTENSION] = contract
    if contract.secured:
        auth.install(app)
    app.register_blueprint(_blueprint)


_blueprint = Blueprint("seaway_openapi", __name__)


@_blueprint.get("/openapi.json")
def openapi_json():
    """The service's OpenAPI 3.1 document."""
    return current_app.extensions[_EXTENSION].document


@_blueprint.before_app_request
def _check_parameters() -> None:
    """Verify the caller of a secured operation, then validate the operation's parameters, before its handler
    runs (404/405 have no operation)."""
    contract: _Contract | None = current_app.extensions.get(_EXTENSION)
    if contract is None or request.url_rule is None:
        return
    operation = contract.operation(request.url_rule.rule, request.method)
    if operation.secured:
        auth.authenticate()
    g.seaway_params = operation.parse()


def params() -> dict[str, Any]:
    """The current request's path, query and header parameters that its operation declares, validated and
    converted to their schema's types, with the schema's defaults for those not sent (absent otherwise)."""
    return g.get("seaway_params", {})


def json_body(schema_name: str) -> Any:
    """The request's JSON body, validated against ``components/schemas/<schema_name>``.

    415 when it is not JSON, 400 when it does not parse, 422 with every violation when it does not
    match the schema.
    """
    if not request.is_json:
        raise Problem(415, "Unsupported Media Type", "send the body as application/json")
    try:
        body = request.get_json()  # the kit's JSON provider makes a body nested too deeply a BadRequest too
    except BadRequest:
        raise Problem(400, "Bad Request", "the body is not valid JSON") from None
    try:
        errors = sorted(
            current_app.extensions[_EXTENSION].schema(schema_name).iter_errors(body),
            key=lambda error: list(error.absolute_path),
        )
    except RecursionError:
        raise Problem(400, "Bad Request", "the body is nested too deeply") from None
    if errors:
        raise Problem(
            422,
            "Unprocessable Content",
            "the body does not match the schema",
            errors=[{"path": "/" + "/".join(map(str, e.absolute_path)), "message": e.message} for e in errors[:20]],
        )
    return body


@cache
def _ecma(pattern: str) -> re.Pattern[str]:
    """``pattern`` with every ``$`` that is an anchor (not escaped, not in a class) made ``\\Z``."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator, pattern: str, instance: Any, schema: dict) -> Any:
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})
"""JSON Schema 2020-12 with ECMA-262 ``pattern`` anchors: what the kit validates bodies and parameters with."""


@dataclass(frozen=True)
class _Parameter:
    name: str
    location: str  # path, query or header
    required: bool
    schema: dict[str, Any]
    validator: Any

    def read(self) -> tuple[bool, Any]:
        """(sent, value as sent or converted to the schema's type)."""
        if self.location == "path":
            raw = (request.view_args or {}).get(self.name)
        elif self.location == "query":
            if self.schema.get("type") == "array":
                values = request.args.getlist(self.name)
                return bool(values), [_convert(v, self.schema.get("items", {})) for v in values]
            raw = request.args.get(self.name)
        else:
            raw = request.headers.get(self.name)
        return raw is not None, None if raw is None else _convert(raw, self.schema)


def _convert(raw: Any, schema: dict[str, Any]) -> Any:
    """A parameter's text as its schema's type; left as text when it is not one (the validator says why)."""
    if not isinstance(raw, str):
        return raw
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?[0-9]{1,18}", raw):
        return int(raw)
    if kind == "number" and re.fullmatch(r"-?[0-9]{1,18}(\.[0-9]{1,18})?", raw):
        return float(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


@dataclass(frozen=True)
class _Operation:
    parameters: tuple[_Parameter, ...]
    secured: bool = False

    def parse(self) -> dict[str, Any]:
        """The parameters, validated: a path parameter that does not fit its schema is 404 (no such resource),
        a query or header parameter 400, naming every problem."""
        values: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for parameter in self.parameters:
            sent, value = parameter.read()
            if not sent:
                if parameter.required:
                    errors.append({"in": parameter.location, "name": parameter.name, "message": "is required"})
                elif "default" in parameter.schema:
                    values[parameter.name] = parameter.schema["default"]
                continue
            problems = [error.message for error in parameter.validator.iter_errors(value)]
            errors += [{"in": parameter.location, "name": parameter.name, "message": m} for m in problems]
            values[parameter.name] = value
        if any(error["in"] == "path" for error in errors):
            raise Problem(404, "Not Found", f"no such resource: {request.path}", errors=errors)
        if errors:
            names = ", ".join(sorted({error["name"] for error in errors}))
            raise Problem(400, "Bad Request", f"invalid parameters: {names}", errors=errors)
        return values


class _Contract:
    """One app's document with its validators, each made on first use."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.secured = frozenset(auth.secured_operations(document))  # (path, METHOD); checked at start
        self._schemas: dict[str, Any] = {}
        self._operations: dict[tuple[str, str], _Operation] = {}

    def _validator(self, schema: dict[str, Any]) -> Any:
        return Validator({**schema, "components": self.document.get("components", {})})

    def schema(self, name: str) -> Any:
        if name not in self._schemas:
            self._schemas[name] = self._validator({"$ref": f"#/components/schemas/{name}"})
        return self._schemas[name]

    def operation(self, rule: str, method: str) -> _Operation:
        """The operation a Flask rule (``/products/<product_id>``) and method stand for in the document."""
        key = (rule, method)
        if key not in self._operations:
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)
            item = self.document.get("paths", {}).get(path, {})
            verb = "get" if method == "HEAD" else method.lower()
            declared = [*item.get("parameters", []), *item.get(verb, {}).get("parameters", [])]
            merged = {(p["name"].lower(), p["in"]): p for p in map(self._resolve, declared)}  # operation wins
            self._operations[key] = _Operation(
                tuple(
                    _Parameter(
                        p["name"],
                        p["in"],
                        bool(p.get("required")) or p["in"] == "path",
                        self._resolve(p.get("schema", {})),
                        self._validator(p.get("schema", {})),
                    )
                    for p in merged.values()
                    if p["in"] in ("path", "query", "header")
                ),
                secured=(path, verb.upper()) in self.secured,
            )
        return self._operations[key]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow a local ``$ref`` (``#/components/...``) to the object it names."""
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node
