"""Opt-in fault injection: absent unless enabled, and shared by every worker of a service when it is."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import create_resources
from tests.processes import Service, wait_for_status


@pytest.fixture(scope="module")
def chaotic_catalog(moto):
    env = create_resources(moto, "catalog") | {"CHAOS_ENABLED": "true", "READINESS_CACHE_SECONDS": "0"}
    service = Service("catalog", env).start()
    yield service
    service.stop()


def test_chaos_endpoints_are_absent_unless_enabled(moto, start_service):
    catalog = start_service("catalog", create_resources(moto, "catalog"))
    assert catalog.get("/chaos").status_code == 404
    answer = requests.put(catalog.url + "/chaos", json={"status": 503}, timeout=5)
    assert answer.status_code == 404
    assert catalog.get("/products").status_code == 200


def test_forced_status_applies_to_every_worker_and_spares_health(chaotic_catalog):
    url = chaotic_catalog.url
    assert requests.put(url + "/chaos", json={"status": 503, "percent": 100}, timeout=5).status_code == 200
    try:
        answers = [requests.get(url + "/products", timeout=5) for _ in range(20)]  # new connection each
        assert {a.status_code for a in answers} == {503}
        assert all(a.headers["Content-Type"] == "application/problem+json" for a in answers)
        assert {a.json()["title"] for a in answers} == {"Injected Fault"}
        assert requests.get(url + "/livez", timeout=5).status_code == 200
    finally:
        assert requests.delete(url + "/chaos", timeout=5).status_code == 204
    assert requests.get(url + "/products", timeout=5).status_code == 200


def test_failing_readiness_and_added_latency(chaotic_catalog):
    url = chaotic_catalog.url
    requests.put(url + "/chaos", json={"readiness_failing": True}, timeout=5)
    try:
        failing = wait_for_status(url + "/readyz", 503)
        assert failing.json()["checks"]["chaos"].startswith("failed")
        requests.put(url + "/chaos", json={"latency_seconds": 3}, timeout=5)
        with pytest.raises(requests.Timeout):
            requests.get(url + "/products", timeout=1)
    finally:
        requests.delete(url + "/chaos", timeout=5)
    wait_for_status(url + "/readyz", 200)


def test_bad_fault_descriptions_are_rejected(chaotic_catalog):
    answer = requests.put(chaotic_catalog.url + "/chaos", json={"status": 200, "latency": 1}, timeout=5)
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert requests.get(chaotic_catalog.url + "/chaos", timeout=5).json()["status"] is None
