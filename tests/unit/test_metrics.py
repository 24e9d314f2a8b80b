"""The kit's request metrics through Flask's test client (one process), and the import-order contract."""

from __future__ import annotations

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
