"""The ops view's servers over real HTTP: the page's token and loopback-only listening; the OTLP receiver fed
by the OpenTelemetry SDK's own OTLP/HTTP exporter."""

from __future__ import annotations

import socket

import pytest
import requests

from seaway.service import discover
from seaway_tools.ops.logs import LogStore
from seaway_tools.ops.metrics import MetricsStore
from seaway_tools.ops.otlp import OtlpReceiver
from seaway_tools.ops.server import COOKIE, OpsView
from seaway_tools.ops.supervisor import Supervisor
from seaway_tools.ops.traces import TraceStore
from tests.processes import free_port


@pytest.fixture
def view():
    logs = LogStore()
    logs.add("orders", '{"level": "INFO", "message": "order placed", "trace_id": "' + "ab" * 16 + '"}')
    server = OpsView(discover().values(), Supervisor(), logs, TraceStore(), MetricsStore(), free_port()).start()
    yield server
    server.stop()


def test_every_path_but_login_answers_401_without_the_token(view):
    for path in ("/", "/app.js", "/api/resources", "/api/logs", "/api/traces", "/api/metrics", "/nowhere"):
        answer = requests.get(view.url + path, timeout=5)
        assert answer.status_code == 401, path
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert "login URL" in answer.json()["detail"]
    assert requests.post(view.url + "/api/resources/catalog/restart", timeout=5).status_code == 401
    assert requests.get(view.url + "/api/logs", cookies={COOKIE: "guessed"}, timeout=5).status_code == 401
    wrong = requests.get(view.url + "/login?token=guessed", allow_redirects=False, timeout=5)
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers


def test_the_login_url_sets_the_cookie_that_opens_the_page_and_the_api(view):
    session = requests.Session()
    login = session.get(view.login_url, allow_redirects=False, timeout=5)
    assert login.status_code == 303 and login.headers["Location"] == "/"
    assert "HttpOnly" in login.headers["Set-Cookie"] and "SameSite=Strict" in login.headers["Set-Cookie"]
    page = session.get(view.url + "/", timeout=5)
    assert page.status_code == 200 and '<script src="/app.js">' in page.text
    assert "http" not in page.text.replace("http://www.w3.org", "")  # nothing loads from elsewhere
    logs = session.get(view.url + "/api/logs", params={"trace_id": "ab" * 16}, timeout=5).json()
    assert [line["message"] for line in logs["lines"]] == ["order placed"]
    bearer = {"Authorization": f"Bearer {view.token}"}
    assert requests.get(view.url + "/api/topology", headers=bearer, timeout=5).status_code == 200
    unknown = session.post(view.url + "/api/resources/nothing/restart", timeout=5)
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/problem+json"


def test_the_view_listens_on_loopback_only(view):
    assert view.url.startswith("http://127.0.0.1:")
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    port = int(view.url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
        pass


def _outward_address() -> str | None:
    """This machine's address on its default route (a UDP socket's connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never reached
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_spans_exported_by_the_sdk_reach_the_trace_store_grouped_by_trace():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, set_span_in_context

    store = TraceStore()
    receiver = OtlpReceiver(store).start()
    try:
        providers = {}
        for service in ("gateway", "orders"):
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.url + "/v1/traces")))
            providers[service] = provider
        with (
            providers["gateway"]
            .get_tracer("test")
            .start_as_current_span("POST /api/orders", kind=SpanKind.SERVER) as root
        ):
            child = (
                providers["orders"]
                .get_tracer("test")
                .start_span("POST /orders", context=set_span_in_context(root), kind=SpanKind.SERVER)
            )
            child.end()
        for provider in providers.values():
            provider.shutdown()
        trace_id = format(root.get_span_context().trace_id, "032x")
        spans = store.trace(trace_id)
        assert [(s.service, s.name, s.kind) for s in spans] == [
            ("gateway", "POST /api/orders", "server"),
            ("orders", "POST /orders", "server"),
        ]
        assert spans[1].parent_span_id == spans[0].span_id
        refused = requests.post(receiver.url + "/v1/traces", json={}, timeout=5)
        assert refused.status_code == 415
        garbage = requests.post(
            receiver.url + "/v1/traces", data=b"\xff\xff", headers={"Content-Type": "application/x-protobuf"}, timeout=5
        )
        assert garbage.status_code == 400
    finally:
        receiver.stop()
