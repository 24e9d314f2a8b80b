"""The kit's request metrics through Flask's test client (one process), and the import-order contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY

import seaway
from seaway import tracing

DURATION = "http_server_request_duration_seconds_count"


@pytest.fixture(scope="module")
def client():
    app = seaway.create_app("example")

    @app.get("/items/<item_id>")
    def item(item_id):
        return {"id": item_id}

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    return app.test_client()


def count(route: str, method: str = "GET", status: str = "200") -> float:
    labels = {"http_route": route, "http_request_method": method, "http_response_status_code": status}
    return REGISTRY.get_sample_value(DURATION, labels) or 0.0


def test_requests_are_labelled_by_route_template_not_by_path(client):
    before = count("/items/<item_id>")
    for item_id in ("a", "b", "c"):
        assert client.get(f"/items/{item_id}").status_code == 200
    assert count("/items/<item_id>") == before + 3
    assert REGISTRY.get_sample_value(DURATION, {"http_route": "/items/a"}) is None


def test_unknown_paths_and_methods_share_fixed_label_values(client):
    before_404, before_405 = count("unmatched", status="404"), count("unmatched", "_OTHER", "405")
    for n in range(5):
        client.get(f"/unknown/{n}")
    client.open("/items/x", method="BREW")
    assert count("unmatched", status="404") == before_404 + 5
    assert count("unmatched", "_OTHER", "405") == before_405 + 1


def test_errors_are_counted_with_their_status_and_leave_nothing_in_flight(client):
    before = count("/boom", status="500")
    assert client.get("/boom").status_code == 500
    assert count("/boom", status="500") == before + 1
    assert REGISTRY.get_sample_value("http_server_active_requests", {"http_request_method": "GET"}) == 0


def test_a_spent_deadline_is_answered_before_flask_and_still_counted_under_its_route(client):
    before = count("/items/<item_id>", status="504")
    answer = client.get("/items/x", headers={"x-envoy-expected-rq-timeout-ms": "0", "X-Request-ID": "late-2"})
    assert answer.status_code == 504 and answer.headers["X-Request-ID"] == "late-2"
    assert count("/items/<item_id>", status="504") == before + 1


def test_probes_and_scrapes_are_not_counted(client):
    before = [count(path) for path in ("/livez", "/readyz", "/metrics")]
    for path in ("/livez", "/readyz", "/metrics"):
        assert client.get(path).headers["X-Request-ID"]
    assert [count(path) for path in ("/livez", "/readyz", "/metrics")] == before


class _Stop(BaseException):
    """Like SystemExit in a request thread: no error handler of Flask's catches it."""


def test_an_error_that_escapes_flask_leaves_nothing_in_flight():
    app = seaway.create_app("example")

    @app.get("/escape")
    def escape():
        raise _Stop

    with pytest.raises(_Stop):
        app.test_client().get("/escape")
    assert REGISTRY.get_sample_value("http_server_active_requests", {"http_request_method": "GET"}) == 0


def test_each_routes_500_series_exists_at_zero_from_the_first_scrape():
    # Prometheus loses the first increment of a series that appears with it, and a 5xx ratio over a series
    # that never appeared is empty: the availability rules need every route's 500 series before any error.
    app = seaway.create_app("fresh")

    @app.route("/fresh/<thing>", methods=["GET", "POST"])
    def fresh(thing):
        return {"thing": thing}

    def series(method: str, route: str = "/fresh/<thing>") -> float | None:
        labels = {"http_route": route, "http_request_method": method, "http_response_status_code": "500"}
        return REGISTRY.get_sample_value(DURATION, labels)

    assert series("GET") is None
    assert app.test_client().get("/metrics").status_code == 200
    assert series("GET") == 0 and series("POST") == 0
    assert series("HEAD") is None and series("OPTIONS") is None
    assert series("GET", "/metrics") is None and series("GET", "/livez") is None
    bucket = {"http_route": "/fresh/<thing>", "http_request_method": "GET", "http_response_status_code": "500"}
    assert REGISTRY.get_sample_value("http_server_request_duration_seconds_bucket", bucket | {"le": "0.25"}) == 0


def test_metrics_endpoint_serves_the_prometheus_text_format(client):
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    assert b"http_server_request_duration_seconds_bucket" in answer.data


def test_importing_the_kit_leaves_prometheus_client_unimported():
    # The gunicorn configuration sets PROMETHEUS_MULTIPROC_DIR after `import seaway` and before metrics exist.
    code = (
        "import sys, seaway, seaway.app, seaway.config, seaway.health, seaway.logs, seaway.lifecycle, seaway.tracing;"
    )
    code += "sys.exit('prometheus_client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    ("environ", "exporting"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_traces_are_exported_only_when_the_standard_variables_ask(environ, exporting):
    assert tracing.exporter_configured(environ) is exporting


# In multiprocess mode (a gunicorn worker's) the request metrics are held in memory and written every
# WRITE_SECONDS, before this process serves a scrape, and when it stops; each script below is such a process.
HELD = """
import json, time
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from seaway import lifecycle, metrics

def files():
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return {
        s.name + json.dumps(dict(sorted(s.labels.items()))): s.value
        for family in registry.collect() for s in family.samples
        if s.labels.get("http_route") in ("/items/<item_id>", None) and s.name.startswith("http_server")
    }

flight = metrics.in_flight("GET")
flight.inc()
for seconds in (0.003, 0.3, 30.0):
    metrics.request_handled("/items/<item_id>", "GET", 200, seconds)
flight.inc(); flight.dec()  # one still in flight
"""


def run_held(tmp_path, script: str) -> dict:
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", HELD + script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sample(found: dict, name: str, **labels: str) -> float | None:
    route = {"http_route": "/items/<item_id>", "http_request_method": "GET", "http_response_status_code": "200"}
    return found.get(name + json.dumps(dict(sorted((route | labels).items()))))


def test_held_request_metrics_are_written_when_the_process_stops(tmp_path):
    found = run_held(tmp_path, "lifecycle.shutdown(); print(json.dumps(files()))")
    duration = "http_server_request_duration_seconds"
    assert sample(found, f"{duration}_count") == 3
    assert sample(found, f"{duration}_sum") == pytest.approx(30.303)
    # Each observation in the bucket Histogram.observe puts it in: the first bound at or above it.
    assert sample(found, f"{duration}_bucket", le="0.005") == 1
    assert sample(found, f"{duration}_bucket", le="0.25") == 1
    assert sample(found, f"{duration}_bucket", le="0.5") == 2
    assert sample(found, f"{duration}_bucket", le="10.0") == 2
    assert sample(found, f"{duration}_bucket", le="+Inf") == 3
    assert found['http_server_active_requests{"http_request_method": "GET"}'] == 1


def test_held_request_metrics_are_written_before_the_process_serves_a_scrape(tmp_path):
    script = (
        "text = metrics._scrape().get_data(as_text=True)\n"
        "print(json.dumps({s.name + json.dumps(dict(sorted(s.labels.items()))): s.value"
        " for f in text_string_to_metric_families(text) for s in f.samples if s.name.startswith('http_server')}))\n"
    )
    found = run_held(tmp_path, script)
    assert sample(found, "http_server_request_duration_seconds_count") == 3


def test_held_request_metrics_are_written_by_the_processs_writer_without_a_scrape(tmp_path):
    script = (
        "for _ in range(200):  # up to 20 s; the writer's interval is a quarter second\n"
        "    if 3 in (v for k, v in files().items() if k.startswith('http_server_request_duration_seconds_count')):\n"
        "        break\n"
        "    time.sleep(0.1)\n"
        "print(json.dumps(files()))\n"
    )
    found = run_held(tmp_path, script)
    assert sample(found, "http_server_request_duration_seconds_count") == 3
