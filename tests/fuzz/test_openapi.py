"""Each service's OpenAPI document against the live service under gunicorn, fuzzed by schemathesis.

Every generated request (valid and invalid) must get an answer the document describes: no 5xx, a
documented status code and content type, a body matching the response schema. ``make test`` runs a few
examples per operation; ``make fuzz`` sets ``FUZZ_MAX_EXAMPLES`` higher.

The tests are generated from the document shipped in each service's package (so pytest can collect them
before any process runs), and each live service must serve exactly that document at ``/openapi.json``.

Operations with ``security`` are called as a signed-in customer (a real token of the emulator's user pool), so
the fuzzer reaches past authentication into the operation; schemathesis's ``ignored_auth`` check then also calls
them without and with a made-up token, and fails unless those are refused.
"""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from seaway import auth, openapi
from tests.conftest import GENEROUS_RATE_LIMIT, create_resources, sign_in, storefront_env
from tests.processes import MotoServer, Service

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a live service over HTTP: timings are not the property under test
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_MAX_EXAMPLES") is None,  # make test: the same examples every run
    database=None,
)


@pytest.fixture(scope="module")
def fuzz_moto():
    """An emulator of its own: fuzzing creates many odd products that other tests should not see."""
    server = MotoServer().start()
    yield server
    server.stop()


def serving(service: Service, package: str) -> Service:
    served = requests.get(f"{service.url}/openapi.json", timeout=5).json()
    assert served == openapi.load(package), f"{service.name} serves a different document than {package} ships"
    return service


@pytest.fixture(scope="module")
def catalog(fuzz_moto):
    env = create_resources(fuzz_moto, "catalog") | {"SEED_PRODUCTS": "true", "WORKERS": "1"}
    service = Service("catalog", env).start()
    yield serving(service, "storefront.catalog")
    service.stop()


catalog_schema = schemathesis.openapi.from_dict(openapi.load("storefront.catalog"))


@catalog_schema.parametrize()
@FUZZ_SETTINGS
def test_catalog_answers_as_its_openapi_document_says(case, catalog):
    check(case, catalog.url)


@pytest.fixture(scope="module")
def shop(fuzz_moto):
    """Catalog, orders and gateway wired together (fulfillment serves no API of its own)."""
    names = ("catalog", "orders", "gateway")
    envs, aws_env = storefront_env(fuzz_moto, names=names, common={"WORKERS": "1"}, gateway=GENEROUS_RATE_LIMIT)
    services = {name: Service(name, envs[name]).start(wait=False) for name in names}
    try:
        for service in services.values():
            service.wait_ready()
        yield {name: serving(service, f"storefront.{name}") for name, service in services.items()} | {
            "customer": sign_in(aws_env)
        }
    finally:
        for service in reversed(services.values()):
            service.stop()


orders_schema = schemathesis.openapi.from_dict(openapi.load("storefront.orders"))
gateway_schema = schemathesis.openapi.from_dict(openapi.load("storefront.gateway"))


def check(case, base_url: str, *, refusable: bool = False, customer: dict[str, str] | None = None) -> None:
    """Send the case and validate the answer, minus what a document cannot express:

    - gunicorn answers a request line over 4094 bytes with 414 itself, before any app sees it;
    - a repeated query parameter takes its first value (Werkzeug), so ``limit=5&limit=x`` is not refused;
    - with ``refusable``: a schema-valid request may still rightly get a 4xx: an order naming a product that
      does not exist or reusing an Idempotency-Key with another body (422), a made-up cursor (400);
    - ``customer``: the Authorization header a secured operation is called with.
    """
    response = case.call(base_url=base_url, timeout=10, headers=customer if signs_in(case) else None)
    sent = response.request.headers.get("Authorization")
    if secured(case) and sent == customer["Authorization"]:  # (a negative case may leave the token out)
        assert response.status_code != 401, f"a valid token was refused: {response.text}"
    if response.status_code == 414 and len(response.request.url) > 4094:
        return
    excluded = []
    if refusable or "cursor" in (case.query or {}):
        excluded.append(checks.positive_data_acceptance)
    if any(isinstance(value, list) for value in (case.query or {}).values()):
        excluded.append(checks.negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded, transport_kwargs={"base_url": base_url})


def secured(case) -> bool:
    return (case.operation.path, case.method.upper()) in auth.secured_operations(case.operation.schema.raw_schema)


def signs_in(case) -> bool:
    """Whether the case is sent with the customer's token in place of the one schemathesis made up: for a secured
    operation, unless the case is a negative one about that very header (left out or malformed on purpose),
    which must then be refused."""
    return secured(case) and not case.operation.schema.is_security_param_negated(case)


@orders_schema.parametrize()
@FUZZ_SETTINGS
def test_orders_answers_as_its_openapi_document_says(case, shop):
    check(case, shop["orders"].url, refusable=case.method == "POST", customer=shop["customer"])


@gateway_schema.parametrize()
@FUZZ_SETTINGS
def test_gateway_answers_as_its_openapi_document_says(case, shop):
    check(case, shop["gateway"].url, refusable=case.method == "POST", customer=shop["customer"])


def test_a_price_sent_as_an_integral_float_is_stored_as_an_integer(catalog):
    # Found by the fuzzer: 6511517.0 is an integer to JSON Schema, but DynamoDB's serializer refused it (500).
    created = requests.post(f"{catalog.url}/products", json={"name": "Scale", "price_cents": 4200.0}, timeout=5)
    assert created.status_code == 201, created.text
    assert created.json()["price_cents"] == 4200
    product_url = f"{catalog.url}/products/{created.json()['id']}"
    updated = requests.patch(product_url, json={"price_cents": 4300.0}, timeout=5)
    assert updated.status_code == 200 and updated.json()["price_cents"] == 4300
