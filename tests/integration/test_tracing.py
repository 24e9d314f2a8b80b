"""Traces from a service under real gunicorn, exported over OTLP/HTTP to a receiver in the test."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from tests.conftest import create_resources
from tests.processes import Service, wait_for

SERVER, CLIENT, CONSUMER = 2, 3, 5  # OTLP span kinds


@pytest.fixture(scope="module")
def catalog(moto, otlp_receiver):
    env = create_resources(moto, "catalog") | otlp_receiver.env() | {"OTEL_SERVICE_NAME": "catalog"}
    service = Service("catalog", env).start()
    yield service
    service.stop()


def spans_of(receiver, trace_id: str, count: int) -> list[dict]:
    return wait_for(
        lambda: (spans := receiver.trace(trace_id)) and len(spans) >= count and spans,
        timeout=30,
        message=f"{count} spans of trace {trace_id}",
    )


def test_an_incoming_traceparent_is_the_parent_and_aws_calls_are_children(catalog, otlp_receiver):
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    answer = catalog.get("/products", headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert answer.status_code == 200
    spans = spans_of(otlp_receiver, trace_id, 2)
    (server,) = [s for s in spans if s["kind"] == SERVER]
    assert server["parent_span_id"] == parent
    assert server["service"] == "catalog"
    assert server["name"] == "GET /products"
    aws = [s for s in spans if s["kind"] == CLIENT and "botocore" in s["scope"]]
    assert aws and all(s["parent_span_id"] == server["span_id"] for s in aws)
    assert {s["attributes"].get("rpc.service") for s in aws} == {"DynamoDB"}


def test_an_alb_x_amzn_trace_id_is_the_parent(catalog, otlp_receiver):
    epoch, rest, parent = "5759e988", secrets.token_hex(12), secrets.token_hex(8)
    header = f"Root=1-{epoch}-{rest};Parent={parent};Sampled=1"
    assert catalog.get("/products", headers={"X-Amzn-Trace-Id": header}).status_code == 200
    spans = spans_of(otlp_receiver, epoch + rest, 2)
    (server,) = [s for s in spans if s["kind"] == SERVER]
    assert server["parent_span_id"] == parent


def test_w3c_trace_context_wins_when_both_headers_are_present(catalog, otlp_receiver):
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    headers = {
        "traceparent": f"00-{trace_id}-{parent}-01",
        "X-Amzn-Trace-Id": f"Root=1-5759e988-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1",
    }
    assert catalog.get("/products", headers=headers).status_code == 200
    (server,) = [s for s in spans_of(otlp_receiver, trace_id, 2) if s["kind"] == SERVER]
    assert server["parent_span_id"] == parent


def test_every_log_line_of_a_request_carries_its_trace_and_span_ids(catalog, otlp_receiver):
    trace_id, request_id = secrets.token_hex(16), f"trace-log-{uuid.uuid4().hex[:8]}"
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01", "X-Request-ID": request_id}
    assert catalog.get("/products/no-such-product", headers=headers).status_code == 404
    (server,) = [s for s in spans_of(otlp_receiver, trace_id, 1) if s["kind"] == SERVER]
    lines = wait_for(
        lambda: [json.loads(line) for line in catalog.output().splitlines() if request_id in line],
        message="the access log line",
    )
    assert all(entry["trace_id"] == trace_id and entry["span_id"] == server["span_id"] for entry in lines)


def test_probes_and_scrapes_are_not_traced(catalog, otlp_receiver):
    for path in ("/livez", "/readyz", "/metrics"):
        trace_id = secrets.token_hex(16)
        assert catalog.get(path, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}).ok
        marker = secrets.token_hex(16)
        catalog.get("/products", headers={"traceparent": f"00-{marker}-{secrets.token_hex(8)}-01"})
        spans_of(otlp_receiver, marker, 1)  # a later request's spans arrived, in the same worker or not
        assert otlp_receiver.trace(trace_id) == []


def test_one_order_through_the_gateway_is_one_trace_over_four_services_with_unbroken_parent_links(
    storefront, otlp_receiver
):
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    order = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}
    headers = {"traceparent": f"00-{trace_id}-{parent}-01", **storefront.sign_in()}
    placed = storefront.gateway.post("/api/orders", json=order, headers=headers)
    assert placed.status_code == 201, placed.text

    def complete() -> list[dict] | None:
        spans = otlp_receiver.trace(trace_id)
        services = {s["service"] for s in spans if s["kind"] == SERVER} | {
            s["service"] for s in spans if s["kind"] == CONSUMER
        }
        return spans if {"gateway", "catalog", "orders", "fulfillment"} <= services else None

    spans = wait_for(complete, timeout=30, message="spans of all four services in the order's trace")
    by_id = {span["span_id"]: span for span in spans}
    # One root: the gateway's server span, a child of the caller's span; every other parent is in the trace.
    (root,) = [s for s in spans if s["parent_span_id"] == parent]
    assert root["service"] == "gateway" and root["kind"] == SERVER
    assert all(s["parent_span_id"] in by_id for s in spans if s is not root), [
        (s["service"], s["name"]) for s in spans if s is not root and s["parent_span_id"] not in by_id
    ]

    def caller_of(service: str, kind: int = SERVER) -> set[str]:
        return {by_id[s["parent_span_id"]]["service"] for s in spans if s["service"] == service and s["kind"] == kind}

    assert "gateway" in caller_of("orders")  # over HTTP, through the requests instrumentation
    assert caller_of("catalog") <= {"gateway", "orders"} and caller_of("catalog")
    assert caller_of("fulfillment", CONSUMER) == {"orders"}  # across SNS and SQS
