"""``kubectl seaway logs`` as a process: one stream per pod, kit lines made readable, filters, trace search."""

from __future__ import annotations

import pytest

from tests.integration.kubectl.kubectl_fake_api import NAMESPACE, deployment, log_line, pod

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def catalog_logs(fake_api):
    """Two catalog pods whose lines interleave in time, with a gunicorn line and a warning."""
    fake_api.add("deployments", deployment("catalog"))
    fake_api.add("pods", pod("catalog", "aaaaa"), pod("catalog", "bbbbb"))
    fake_api.logs["catalog-5f7c9d8b6-aaaaa"] = [
        "[2026-11-27 12:00:59 +0000] [1] [INFO] Booting worker with pid: 7",
        log_line(
            "2026-11-27T12:01:00.100Z", "request", service="catalog", trace=TRACE,
            method="GET", route="/products", path="/products", status=200, duration_ms=3.14,
        ),
        log_line("2026-11-27T12:01:02.000Z", "redis unavailable", service="catalog", level="WARNING"),
    ]  # fmt: skip
    fake_api.logs["catalog-5f7c9d8b6-bbbbb"] = [
        log_line("2026-11-27T12:01:01.500Z", "cache warmed", service="catalog", level="DEBUG", request_id="-"),
    ]
    return fake_api


def test_logs_without_follow_prints_every_pods_lines_readably_in_time_order(catalog_logs, kubectl_seaway):
    result = kubectl_seaway("logs", "catalog", "--no-follow")

    assert result.stdout.splitlines() == [
        "[2026-11-27 12:00:59 +0000] [1] [INFO] Booting worker with pid: 7",
        f"12:01:00.100 INFO  catalog  aaaaa  GET /products 200 3.1ms  [req=req-1 trace={TRACE}]",
        "12:01:01.500 DEBUG catalog  bbbbb  cache warmed  [req=-]",
        "12:01:02.000 WARN  catalog  aaaaa  redis unavailable  [req=req-1]",
    ]
    assert result.returncode == 0
    # one read of the app container per pod of the service, found by its label
    (listing,) = catalog_logs.seen(path_contains="/pods")[:1]
    assert (listing.path, listing.query["labelSelector"]) == (
        f"/api/v1/namespaces/{NAMESPACE}/pods",
        "seaway.dev/service=catalog",
    )
    reads = sorted(catalog_logs.seen(path_contains="/log"), key=lambda r: r.path)
    assert [r.path for r in reads] == [
        f"/api/v1/namespaces/{NAMESPACE}/pods/catalog-5f7c9d8b6-aaaaa/log",
        f"/api/v1/namespaces/{NAMESPACE}/pods/catalog-5f7c9d8b6-bbbbb/log",
    ]
    assert {(r.query["container"], r.query["follow"]) for r in reads} == {("app", "false")}


def test_logs_follows_every_pod_at_once_by_default(catalog_logs, kubectl_seaway):
    # The fake server ends each stream after its lines, so the follower ends too.
    result = kubectl_seaway("logs", "catalog")

    assert {r.query["follow"] for r in catalog_logs.seen(path_contains="/log")} == {"true"}
    assert sorted(result.stdout.splitlines()) == sorted(
        [
            "[2026-11-27 12:00:59 +0000] [1] [INFO] Booting worker with pid: 7",
            f"12:01:00.100 INFO  catalog  aaaaa  GET /products 200 3.1ms  [req=req-1 trace={TRACE}]",
            "12:01:01.500 DEBUG catalog  bbbbb  cache warmed  [req=-]",
            "12:01:02.000 WARN  catalog  aaaaa  redis unavailable  [req=req-1]",
        ]
    )
    assert result.returncode == 0


def test_level_and_since_filters(catalog_logs, kubectl_seaway):
    result = kubectl_seaway("logs", "catalog", "--level", "warning", "--since", "5m", "--no-follow")

    assert {r.query["sinceSeconds"] for r in catalog_logs.seen(path_contains="/log")} == {"300"}
    assert result.stdout.splitlines() == [
        "[2026-11-27 12:00:59 +0000] [1] [INFO] Booting worker with pid: 7",  # not JSON: passed through
        "12:01:02.000 WARN  catalog  aaaaa  redis unavailable  [req=req-1]",
    ]


def test_a_pod_that_has_not_started_is_a_warning_not_a_failure(catalog_logs, kubectl_seaway):
    catalog_logs.add("pods", pod("catalog", "ccccc"))

    result = kubectl_seaway("logs", "catalog", "--no-follow", "--level", "ERROR")

    assert result.stderr == (
        'kubectl-seaway: warning: pod catalog-5f7c9d8b6-ccccc: the API server answered 400: container "app" in '
        'pod "catalog-5f7c9d8b6-ccccc" is waiting to start\n'
    )
    assert result.returncode == 0


@pytest.fixture
def one_order_across_services(fake_api):
    """An order's trace through gateway, orders and fulfillment, among lines of other requests."""
    other = "f" * 32
    fake_api.add("deployments", *(deployment(s) for s in ("gateway", "orders", "fulfillment")))
    fake_api.add("pods", pod("gateway", "g1"), pod("orders", "o1"), pod("fulfillment", "f1"))
    fake_api.logs["gateway-5f7c9d8b6-g1"] = [
        log_line("2026-11-27T12:01:00.000Z", "x", service="gateway", trace=other),
        log_line(
            "2026-11-27T12:01:00.900Z", "request", service="gateway", trace=TRACE,
            method="POST", route="/api/orders", path="/api/orders", status=201, duration_ms=42.0,
        ),
    ]  # fmt: skip
    fake_api.logs["orders-5f7c9d8b6-o1"] = [
        log_line("2026-11-27T12:01:00.850Z", "order placed", service="orders", trace=TRACE),
        "plain text line",
    ]
    fake_api.logs["fulfillment-5f7c9d8b6-f1"] = [
        log_line("2026-11-27T12:01:03.200Z", "receipt written", service="fulfillment", trace=TRACE),
        log_line("2026-11-27T12:01:04.000Z", "y", service="fulfillment", trace=other),
    ]
    return fake_api


def test_trace_without_a_service_tells_one_orders_story_across_services(one_order_across_services, kubectl_seaway):
    result = kubectl_seaway("logs", "--trace", TRACE)

    (listing,) = one_order_across_services.seen(path_contains="/pods")[:1]
    assert listing.query["labelSelector"] == "seaway.dev/service"
    assert {r.query["follow"] for r in one_order_across_services.seen(path_contains="/log")} == {"false"}
    assert result.stdout.splitlines() == [
        f"12:01:00.850 INFO  orders  o1  order placed  [req=req-1 trace={TRACE}]",
        f"12:01:00.900 INFO  gateway  g1  POST /api/orders 201 42.0ms  [req=req-1 trace={TRACE}]",
        f"12:01:03.200 INFO  fulfillment  f1  receipt written  [req=req-1 trace={TRACE}]",
    ]
    assert result.returncode == 0


def test_trace_search_that_finds_nothing_exits_1(one_order_across_services, kubectl_seaway):
    result = kubectl_seaway("logs", "--trace", "1" * 32)

    assert result.stdout == ""
    assert result.stderr == f"kubectl-seaway: error: no log line carries trace {'1' * 32} in namespace {NAMESPACE}\n"
    assert result.returncode == 1
