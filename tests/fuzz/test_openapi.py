"""Each service's OpenAPI document against the live service under gunicorn, fuzzed by schemathesis.

Every generated request (valid and invalid) must get an answer the document describes: no 5xx, a
documented status code and content type, a body matching the response schema. ``make test`` runs a few
examples per operation; ``make fuzz`` sets ``FUZZ_MAX_EXAMPLES`` higher.

The tests are generated from the document shipped in each service's package (so pytest can collect them
before any process runs), and each live service must serve exactly that document at ``/openapi.json``.
"""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from seaway import openapi
from tests.conftest import create_resources
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
    # A cursor is an opaque token the service gave out: the document cannot say which strings are valid,
    # so a made-up one is rightly refused with 400 although it matches the schema.
    excluded = [checks.positive_data_acceptance] if "cursor" in (case.query or {}) else []
    case.call_and_validate(base_url=catalog.url, timeout=10, excluded_checks=excluded)


def test_a_price_sent_as_an_integral_float_is_stored_as_an_integer(catalog):
    # Found by the fuzzer: 6511517.0 is an integer to JSON Schema, but DynamoDB's serializer refused it (500).
    created = requests.post(f"{catalog.url}/products", json={"name": "Scale", "price_cents": 4200.0}, timeout=5)
    assert created.status_code == 201, created.text
    assert created.json()["price_cents"] == 4200
    product_url = f"{catalog.url}/products/{created.json()['id']}"
    updated = requests.patch(product_url, json={"price_cents": 4300.0}, timeout=5)
    assert updated.status_code == 200 and updated.json()["price_cents"] == 4300
