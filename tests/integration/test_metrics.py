"""Prometheus metrics of a service under real gunicorn: the whole pod in every scrape, bounded labels.

Each worker writes its request metrics every quarter second (seaway.metrics.WRITE_SECONDS) and before it serves a
scrape, so a test waits for the other worker's requests to show, as Prometheus would see them at its next scrape."""

from __future__ import annotations

import http.client
import json
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict

from tests.conftest import create_resources
from tests.processes import Service, wait_for

REQUESTS = "http_server_request_duration_seconds_count"
ACTIVE = "http_server_active_requests"


@pytest.fixture
def catalog(moto, start_service):
    return start_service("catalog", create_resources(moto, "catalog") | {"WORKERS": "2"})


def counted(scrape: dict, route: str, status: str = "200") -> float:
    return sum(
        value
        for (name, labels), value in scrape.items()
        if name == REQUESTS and ("http_route", route) in labels and ("http_response_status_code", status) in labels
    )


def requests_by_pid(service: Service, route: str) -> dict[int, float]:
    """Each process's own count of ``route`` from its metric file ``histogram_<pid>.db`` (buckets, not cumulative)."""
    found: dict[int, float] = {}
    for path in service.metrics_dir.glob("histogram_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, labels, _ = json.loads(key)
            if sample == "http_server_request_duration_seconds_bucket" and labels.get("http_route") == route:
                found[pid] = found.get(pid, 0.0) + value
    return found


def get_fresh_connections(url: str, count: int) -> None:
    """``count`` GETs, eight at a time, each on a new connection so both workers accept some."""
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, timeout=10).status_code, range(count)))
    assert statuses == [200] * count


def counted_soon(service: Service, route: str, expected: float, status: str = "200") -> None:
    """Wait until a scrape counts ``expected`` requests of ``route`` (every worker's written), and no more."""
    wait_for(lambda: counted(service.scrape(), route, status) >= expected, timeout=10, message=f"{expected} counted")
    assert counted(service.scrape(), route, status) == expected


def written_soon(service: Service, route: str, expected: float) -> None:
    """Wait until the workers' metric files hold ``expected`` requests of ``route``."""
    wait_for(
        lambda: sum(requests_by_pid(service, route).values()) >= expected, timeout=10, message=f"{expected} written"
    )


def test_scraped_counters_sum_every_workers_requests_and_survive_a_killed_worker(catalog):
    workers = catalog.worker_pids()
    assert len(workers) == 2
    sent = 0
    while set(requests_by_pid(catalog, "/products")) != workers:  # until both workers have written some
        get_fresh_connections(f"{catalog.url}/products", 40)
        sent += 40
        assert sent <= 2000, f"one worker served everything: {requests_by_pid(catalog, '/products')}"
        written_soon(catalog, "/products", sent)
    counted_soon(catalog, "/products", sent)
    assert sum(requests_by_pid(catalog, "/products").values()) == sent

    victim = min(workers)  # every request it served is written: what a SIGKILL loses is at most a quarter second
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int] | None:
        pids = catalog.worker_pids()
        return pids if victim not in pids and len(pids) == 2 else None

    now_serving = wait_for(replaced, message="gunicorn to replace the killed worker")
    assert counted(catalog.scrape(), "/products") == sent  # the dead worker's requests still count, once

    get_fresh_connections(f"{catalog.url}/products", 60)
    counted_soon(catalog, "/products", sent + 60)
    scrape = catalog.scrape()
    assert scrape[("seaway_worker_threads", ())] == 2 * 4  # live workers only, the dead one left
    assert now_serving - workers  # a new pid serves now


def test_ten_thousand_unknown_paths_add_no_label_values(catalog):
    catalog.get("/no/such/path")
    counted_soon(catalog, "unmatched", 1, "404")  # its series written, whichever worker served it
    before = set(catalog.scrape())

    def unknown_paths(count: int) -> list[int]:
        connection = http.client.HTTPConnection("127.0.0.1", catalog.port, timeout=10)  # keep-alive
        statuses = []
        for _ in range(count):
            connection.request("GET", f"/{uuid.uuid4().hex}/{uuid.uuid4().hex[:8]}?q={uuid.uuid4().hex}")
            answer = connection.getresponse()
            answer.read()
            statuses.append(answer.status)
        connection.close()
        return statuses

    with ThreadPoolExecutor(4) as pool:
        statuses = [status for batch in pool.map(unknown_paths, [2500] * 4) for status in batch]
    assert statuses == [404] * 10_000
    counted_soon(catalog, "unmatched", 10_001, "404")
    scrape = catalog.scrape()
    assert set(scrape) == before, set(scrape) ^ before
    assert counted(scrape, "unmatched", "404") == 10_001
    routes = {dict(labels)["http_route"] for name, labels in scrape if name == REQUESTS}
    assert routes <= {"/products", "/products/<product_id>", "/openapi.json", "unmatched"}


def test_an_unknown_method_is_counted_as_other_and_probes_are_not_counted(catalog):
    assert requests.request("BREW", f"{catalog.url}/products", timeout=5).status_code == 405
    for _ in range(3):
        catalog.get("/livez")
        catalog.get("/readyz")
    active_other = (ACTIVE, (("http_request_method", "_OTHER"),))
    scrape = wait_for(
        lambda: (found := catalog.scrape()).get(active_other) == 0 and counted(found, "unmatched", "405") and found,
        timeout=10,
        message="the BREW request counted and no longer in flight",
    )
    counted_series = [labels for (name, labels), value in scrape.items() if name == REQUESTS and value]
    methods = {dict(labels)["http_request_method"] for labels in counted_series}
    assert methods == {"_OTHER"}
    routes = {dict(labels)["http_route"] for labels in counted_series}
    assert routes == {"unmatched"}
    assert scrape[active_other] == 0


def test_every_routes_500_series_is_scraped_at_zero_before_any_request_or_error(catalog):
    # Only probes and scrapes so far: the availability rules still find each route's 5xx series (at 0), so a
    # first error is a rise Prometheus sees and the 5xx ratio is 0, not empty.
    scrape = catalog.scrape()
    errors = {
        (dict(labels)["http_route"], dict(labels)["http_request_method"]): value
        for (name, labels), value in scrape.items()
        if name == REQUESTS and ("http_response_status_code", "500") in labels
    }
    assert errors.keys() >= {("/products", "GET"), ("/products", "POST"), ("/products/<product_id>", "GET")}
    assert set(errors.values()) == {0.0}
    assert {route for route, _ in errors} <= {"/products", "/products/<product_id>", "/openapi.json"}
    assert not any(method in ("HEAD", "OPTIONS") for _, method in errors)
    # So is the in-flight gauge of each of those methods (a worker writes its counts only every quarter second).
    active = {dict(labels)["http_request_method"]: value for (name, labels), value in scrape.items() if name == ACTIVE}
    assert set(active) == {method for _, method in errors} and set(active.values()) == {0.0}
