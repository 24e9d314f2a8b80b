"""The kit's service client, circuit breaker, retry budget and deadlines, against a real local HTTP server."""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import REGISTRY

import seaway
from seaway import deadline
from seaway.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from seaway.client import CallFailed, ClientSettings, RetryBudget, ServiceClient
from tests.processes import free_port


class Peer:
    """A peer service on loopback answering a scripted list of statuses (the last one repeats)."""

    def __init__(self, *statuses: int, delay: float = 0.0) -> None:
        self.statuses = list(statuses) or [200]
        self.delay = delay
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                peer.requests.append((self.command, self.path, dict(self.headers)))
                status = peer.statuses.pop(0) if len(peer.statuses) > 1 else peer.statuses[0]
                time.sleep(peer.delay)
                body = b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer_factory():
    peers: list[Peer] = []

    def make(*statuses: int, delay: float = 0.0) -> Peer:
        peers.append(Peer(*statuses, delay=delay))
        return peers[-1]

    yield make
    for peer in peers:
        peer.close()


def client_for(url: str, **settings) -> ServiceClient:
    # A peer name of its own: breakers and retry budgets are shared per peer name within a process.
    return ServiceClient(f"peer-{uuid.uuid4().hex[:8]}", ClientSettings(**settings), base_url=url)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_then_lets_one_probe_through_after_the_cool_down():
    clock = FakeClock()
    breaker = CircuitBreaker("catalog", failure_threshold=3, reset_seconds=5, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == CLOSED
    breaker.succeeded()  # a success resets the count: failures must be consecutive
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == OPEN
    assert not breaker.allow()
    clock.now += 5
    assert breaker.state == HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else still fails fast while it is out
    breaker.failed()
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 5
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == CLOSED
    assert all(breaker.allow() for _ in range(10))


def test_retry_budget_allows_a_few_retries_plus_a_share_of_recent_calls():
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, minimum=3, window=10, clock=clock)
    for _ in range(10):
        budget.record_call()
    assert [budget.try_spend() for _ in range(6)] == [True] * 5 + [False]  # 3 + 20 % of 10
    clock.now += 11  # the window slid past every call and retry
    assert budget.try_spend()


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_idempotent_get_is_retried_after_503_until_it_succeeds(peer_factory):
    peer = peer_factory(503, 503, 200)
    client = client_for(peer.url)
    before = counted("seaway_client_retries_total", peer_service=client.peer)
    answer = client.get("/products")
    assert answer.status_code == 200
    assert [method for method, _, _ in peer.requests] == ["GET"] * 3
    assert counted("seaway_client_retries_total", peer_service=client.peer) == before + 2


def test_a_post_is_never_retried_unless_marked_idempotent(peer_factory):
    peer = peer_factory(503, 200)
    assert client_for(peer.url).post("/orders", json={}).status_code == 503
    assert len(peer.requests) == 1
    peer = peer_factory(503, 200)
    assert client_for(peer.url).post("/orders", json={}, idempotent=True).status_code == 200
    assert len(peer.requests) == 2


def test_with_mesh_retries_the_client_does_not_retry(peer_factory):
    peer = peer_factory(503, 200)
    assert client_for(peer.url, mesh_retries=True).get("/products").status_code == 503
    assert len(peer.requests) == 1


def test_a_4xx_is_an_answer_not_a_failure(peer_factory):
    peer = peer_factory(404)
    client = client_for(peer.url, breaker_failure_threshold=1)
    assert [client.get("/products/x").status_code for _ in range(3)] == [404] * 3
    assert client.breaker.state == CLOSED and len(peer.requests) == 3


def test_an_open_breaker_fails_fast_with_503_without_reaching_the_peer(peer_factory):
    peer = peer_factory(500)
    client = client_for(peer.url, breaker_failure_threshold=2, breaker_reset_seconds=60)
    assert client.get("/products").status_code == 500  # attempts: 500 (not retried: not a "later" status)
    assert client.get("/products").status_code == 500
    reached = len(peer.requests)
    before = counted("seaway_client_failures_total", peer_service=client.peer, reason="circuit_open")
    with pytest.raises(CallFailed) as failed:
        client.get("/products")
    assert counted("seaway_client_failures_total", peer_service=client.peer, reason="circuit_open") == before + 1
    assert failed.value.status == 503
    assert failed.value.extra["circuit"] == "open" and failed.value.reason == "circuit_open"
    assert failed.value.headers["Retry-After"] == "60"
    assert len(peer.requests) == reached


def test_an_unreachable_peer_is_a_503_and_counts_against_its_breaker():
    client = client_for(f"http://127.0.0.1:{free_port()}", breaker_failure_threshold=3, client_max_retries=0)
    for _ in range(3):
        with pytest.raises(CallFailed) as failed:
            client.get("/products")
        assert failed.value.status == 503 and failed.value.reason == "unreachable"
    assert client.breaker.state == OPEN


def test_a_peer_slower_than_the_timeout_is_a_504(peer_factory):
    peer = peer_factory(200, delay=1.0)
    with pytest.raises(CallFailed) as failed:
        client_for(peer.url).get("/slow", timeout=0.1)
    assert failed.value.status == 504 and failed.value.reason == "timeout"


def test_the_deadline_and_request_id_travel_with_the_call(peer_factory):
    peer = peer_factory(200)
    client = client_for(peer.url, client_timeout_seconds=30)
    app = seaway.create_app("example")

    @app.get("/relay")
    def relay():
        return {"status": client.get("/products").status_code}

    answer = app.test_client().get("/relay", headers={deadline.HEADER: "800", "X-Request-ID": "req-42"})
    assert answer.status_code == 200
    _, _, headers = peer.requests[0]
    assert 0 < int(headers[deadline.HEADER]) <= 800  # what was left of the caller's budget, not our 30 s
    assert headers["X-Request-ID"] == "req-42"


def test_without_a_deadline_the_client_sends_its_own_timeout(peer_factory):
    peer = peer_factory(200)
    client_for(peer.url, client_timeout_seconds=2).get("/products")
    assert 1500 < int(peer.requests[0][2][deadline.HEADER]) <= 2000


def test_a_request_whose_deadline_has_passed_gets_504_at_once_and_runs_nothing():
    app = seaway.create_app("example")
    ran = []

    @app.get("/work")
    def work():
        ran.append(1)
        return {}

    answer = app.test_client().get("/work", headers={deadline.HEADER: "0", "X-Request-ID": "late-1"})
    assert answer.status_code == 504
    assert answer.content_type == "application/problem+json"
    assert answer.json["request_id"] == "late-1"
    assert ran == []
    assert app.test_client().get("/work", headers={deadline.HEADER: "5000"}).status_code == 200


def test_a_missing_base_url_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("NOWHERE_URL", raising=False)
    with pytest.raises(seaway.config.ConfigError, match="NOWHERE_URL is required"):
        ServiceClient("nowhere", ClientSettings())
