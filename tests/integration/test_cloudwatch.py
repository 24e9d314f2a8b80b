"""CloudWatch from a service under real gunicorn: PutMetricData into the moto server, and EMF lines."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from tests.conftest import create_resources
from tests.processes import MotoServer, wait_for
from tests.unit.test_emf import validate_emf

INTERVAL = "0.3"


def api_env(moto: MotoServer, namespace: str, **extra: str) -> dict[str, str]:
    return create_resources(moto, "catalog") | {
        "SEAWAY_CLOUDWATCH": "api",
        "SEAWAY_CLOUDWATCH_NAMESPACE": namespace,
        "SEAWAY_CLOUDWATCH_INTERVAL_SECONDS": INTERVAL,
        **extra,
    }


def statistic(moto: MotoServer, namespace: str, metric: str, dimensions: dict[str, str], stat: str) -> float:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto.url, **_credentials(moto))
    now = datetime.now(UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=60,
        Statistics=[stat],
    )
    return sum(point[stat] for point in answer["Datapoints"])


def _credentials(moto: MotoServer) -> dict[str, str]:
    env = moto.aws_env()
    return {
        "region_name": env["AWS_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


def route(name: str, klass: str = "2xx") -> dict[str, str]:
    return {"Service": "catalog", "Route": name, "StatusClass": klass}


def counter(service, name: str, **labels: str) -> float:
    return value_in(service.scrape(), name, **labels)


def value_in(scrape: dict, name: str, **labels: str) -> float:
    """A sample of one ``Service.scrape()``, 0 when absent."""
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def get_many(url: str, count: int, concurrency: int) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, timeout=10).status_code, range(count)))
    assert set(statuses) == {200}, statuses


def test_put_metric_data_sums_and_counts_equal_the_requests_made(moto, start_service):
    namespace = f"SeawayTest{uuid.uuid4().hex[:8]}"
    catalog = start_service("catalog", api_env(moto, namespace))
    get_many(f"{catalog.url}/products", 30, 4)
    for _ in range(5):
        assert catalog.get("/products/no-such-product").status_code == 404

    def arrived() -> bool:
        return (
            statistic(moto, namespace, "Requests", route("/products"), "Sum") == 30
            and statistic(moto, namespace, "Requests", route("/products/<product_id>", "4xx"), "Sum") == 5
        )

    wait_for(arrived, timeout=30, interval=0.3, message="the requests in CloudWatch")
    assert statistic(moto, namespace, "Latency", route("/products"), "SampleCount") == 30
    assert statistic(moto, namespace, "Latency", route("/products/<product_id>", "4xx"), "SampleCount") == 5
    assert counter(catalog, "seaway_cloudwatch_put_calls_total", outcome="error") == 0


@pytest.mark.parametrize(("workers", "count", "concurrency"), [(2, 20, 1), (4, 200, 8)], ids=["base", "10x-2x"])
def test_api_calls_are_one_per_interval_whatever_the_request_rate_and_worker_count(
    moto, start_service, workers, count, concurrency
):
    namespace = f"SeawayTest{uuid.uuid4().hex[:8]}"
    catalog = start_service("catalog", api_env(moto, namespace, WORKERS=str(workers)))
    get_many(f"{catalog.url}/products", count, concurrency)

    def settled() -> tuple[float, float, float] | None:
        # Every request in CloudWatch first, then the publisher's counters from one scrape: read before, or
        # from scrapes apart, they could miss a flush that came between (a flush counts itself before its call
        # returns, its call and datums after).
        if statistic(moto, namespace, "Requests", route("/products"), "Sum") != count:
            return None
        scrape = catalog.scrape()
        flushes = value_in(scrape, "seaway_cloudwatch_flushes_total")
        calls = value_in(scrape, "seaway_cloudwatch_put_calls_total", outcome="ok")
        datums = value_in(scrape, "seaway_cloudwatch_datums_total")
        return (flushes, calls, datums) if calls == flushes else None

    flushes, calls, datums = wait_for(settled, timeout=30, interval=0.3, message="the requests in CloudWatch")
    print(f"workers={workers} requests={count}: {calls:.0f} calls in {flushes:.0f} intervals, {datums:.0f} datums")
    assert calls == flushes >= 1  # one PutMetricData per interval with data, however many requests and workers
    assert datums <= 6 * flushes  # one route, one status class: 2 per route + 4 per service


def test_requests_succeed_while_cloudwatch_is_down_and_dropped_data_is_counted(moto, private_moto, start_service):
    namespace = f"SeawayTest{uuid.uuid4().hex[:8]}"
    # DynamoDB stays up on the shared emulator; CloudWatch alone is the emulator we stop.
    env = api_env(moto, namespace, AWS_ENDPOINT_URL_CLOUDWATCH=private_moto.url, SEAWAY_CLOUDWATCH_BUFFER_DATUMS="4")
    catalog = start_service("catalog", env)
    private_moto.stop()
    for _ in range(5):
        get_many(f"{catalog.url}/products", 20, 4)
    wait_for(
        lambda: (
            counter(catalog, "seaway_cloudwatch_dropped_total") > 0
            and counter(catalog, "seaway_cloudwatch_put_calls_total", outcome="error") > 0
        ),
        timeout=60,
        interval=0.3,
        message="dropped metric data to be counted",
    )
    get_many(f"{catalog.url}/products", 20, 4)
    assert "PutMetricData failed" in catalog.output()


def test_emf_lines_follow_the_specification_and_add_up_to_the_requests(moto, start_service):
    env = create_resources(moto, "catalog") | {
        "SEAWAY_CLOUDWATCH": "emf",
        "SEAWAY_CLOUDWATCH_INTERVAL_SECONDS": INTERVAL,
    }
    catalog = start_service("catalog", env)
    get_many(f"{catalog.url}/products", 25, 4)
    for _ in range(3):
        assert catalog.get("/no/such/path").status_code == 404
    assert catalog.stop() == 0  # the master's last flush on exit sends what is left

    documents = [json.loads(line) for line in catalog.output().splitlines() if '"_aws"' in line]
    assert documents
    for document in documents:
        validate_emf(document)
        assert document["Service"] == "catalog" and document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Seaway"

    def total(route_name: str, metric: str) -> float:
        return sum(d[metric] for d in documents if d["Route"] == route_name)

    assert total("/products", "Requests") == 25
    assert total("unmatched", "Requests") == 3
    assert total("/products", "Errors") == 0
    assert sum(len(d["Latency"]) for d in documents if d["Route"] == "/products") == 25
    intervals = {d["_aws"]["Timestamp"] for d in documents}
    assert len(documents) <= 2 * len(intervals)  # one line per route and status class per interval
