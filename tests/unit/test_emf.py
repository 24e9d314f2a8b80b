"""CloudWatch documents and API payloads built from one interval of request statistics."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import jsonschema

from seaway import cloudwatch
from seaway.cloudwatch import Deltas, Stats

# The Embedded Metric Format specification's structure, written from the specification
# (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
_UNITS = (
    "Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|Terabytes|Bits|Kilobits|Megabits|"
    "Gigabits|Terabits|Percent|Count|Bytes/Second|Kilobytes/Second|Megabytes/Second|Gigabytes/Second|"
    "Terabytes/Second|Bits/Second|Kilobits/Second|Megabits/Second|Gigabits/Second|Terabits/Second|"
    "Count/Second|None"
)
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"type": "string", "pattern": f"^({_UNITS})$"},
                                        "StorageResolution": {"type": "integer", "enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def validate_emf(document: dict) -> None:
    """The schema, then the target-member rules the schema cannot say."""
    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(document.get(key), str), f"dimension target {key} missing or not a string"
                assert len(document[key]) <= 1024
        for metric in directive["Metrics"]:
            target = document.get(metric["Name"])
            if isinstance(target, list):
                assert len(target) <= 100, f"{metric['Name']} has more than 100 values"
                assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in target)
            else:
                assert isinstance(target, int | float) and not isinstance(target, bool), metric["Name"]


BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf]


def stats(*per_bucket: float) -> Stats:
    buckets = list(per_bucket) + [0.0] * (len(BOUNDS) - len(per_bucket))
    return Stats(count=sum(buckets), seconds=0.01 * sum(buckets), buckets=buckets)


def test_emf_documents_follow_the_specification_and_carry_the_counts():
    interval = {
        ("/products", "2xx"): stats(0, 3, 2, 0, 0, 0, 1),  # one request slower than 0.25 s
        ("/products/<product_id>", "5xx"): stats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
    }
    documents = list(cloudwatch.emf_documents("catalog", "Seaway", interval, BOUNDS, 1_700_000_000_000))
    for document in documents:
        validate_emf(document)
    by_route = {d["Route"]: d for d in documents}
    assert by_route["/products"]["Requests"] == 6 and by_route["/products"]["SlowRequests"] == 1
    assert sorted(by_route["/products"]["Latency"]) == [10.0, 10.0, 10.0, 25.0, 25.0, 500.0]
    assert by_route["/products/<product_id>"]["Errors"] == 2
    assert by_route["/products/<product_id>"]["Latency"] == [20_000.0, 20_000.0]


def test_emf_latency_keeps_at_most_100_values_spread_like_the_distribution():
    (document,) = cloudwatch.emf_documents("catalog", "Seaway", {("/", "2xx"): stats(0, 9000, 0, 0, 1000)}, BOUNDS, 1)
    validate_emf(document)
    assert document["Requests"] == 10_000
    assert len(document["Latency"]) == 100
    assert document["Latency"].count(10.0) == 90 and document["Latency"].count(100.0) == 10


def test_put_metric_data_entries_count_requests_per_route_and_for_the_service():
    interval = {("/a", "2xx"): stats(5), ("/b", "5xx"): stats(0, 0, 0, 0, 0, 0, 0, 3)}
    data = cloudwatch.metric_data("catalog", interval, BOUNDS, datetime.now(UTC))
    service = {d["MetricName"]: d for d in data if len(d["Dimensions"]) == 1}
    assert service["Requests"]["Value"] == 8 and service["Errors"]["Value"] == 3
    assert service["SlowRequests"]["Value"] == 3
    assert sum(service["Latency"]["Counts"]) == 8
    routes = [d for d in data if len(d["Dimensions"]) == 3 and d["MetricName"] == "Requests"]
    assert sorted(d["Value"] for d in routes) == [3, 5]
    for datum in data:
        assert len(datum.get("Values", [])) <= 150


def test_batches_stay_within_1000_entries_and_the_payload_limit():
    timestamp = datetime.now(UTC)
    small = [{"MetricName": "Requests", "Value": 1, "Timestamp": timestamp}] * 2500
    assert [len(b) for b in cloudwatch.batches(small)] == [1000, 1000, 500]
    large = [{"MetricName": "Latency", "Dimensions": [{"Name": "Route", "Value": "x" * 1000}] * 30}] * 100
    for batch in cloudwatch.batches(large):
        assert len(str(batch)) < cloudwatch.MAX_PAYLOAD_BYTES


def test_deltas_report_only_what_changed_and_survive_a_reset():
    deltas = Deltas()
    assert deltas.take({("/a", "2xx"): stats(2)}) == {("/a", "2xx"): stats(2)}
    assert deltas.take({("/a", "2xx"): stats(2)}) == {}
    assert deltas.take({("/a", "2xx"): stats(5)})[("/a", "2xx")].count == 3
    assert deltas.take({("/a", "2xx"): stats(1)})[("/a", "2xx")].count == 1  # files were reset
