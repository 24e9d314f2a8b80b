"""The kit's app wiring, through Flask's test client."""

import json
import logging

import pytest
from flask import request

import seaway
from seaway import health
from seaway.logs import JsonFormatter


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setenv("MAX_REQUEST_BYTES", "100")
    monkeypatch.setenv("READINESS_CACHE_SECONDS", "60")
    application = seaway.create_app("example")

    @application.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @application.get("/teapot")
    def teapot():
        raise seaway.Problem(418, "I'm a teapot", "short and stout", hint="tip me over")

    @application.post("/echo")
    def echo():
        return {"size": len(request.get_data())}

    return application


def test_an_unexpected_error_is_a_500_problem_without_internals(app, caplog):
    with caplog.at_level(logging.ERROR):
        answer = app.test_client().get("/boom")
    assert answer.status_code == 500
    assert answer.content_type == "application/problem+json"
    assert "secret internals" not in answer.get_data(as_text=True)
    assert "Traceback" not in answer.get_data(as_text=True)
    assert any("secret internals" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


def test_a_raised_problem_keeps_its_status_title_detail_and_members(app):
    answer = app.test_client().get("/teapot")
    assert answer.status_code == 418
    assert answer.json | {"request_id": None} == {
        "type": "about:blank",
        "title": "I'm a teapot",
        "status": 418,
        "detail": "short and stout",
        "hint": "tip me over",
        "request_id": None,
    }


def test_a_body_over_the_limit_is_413_problem_json(app):
    answer = app.test_client().post("/echo", data=b"x" * 101)
    assert answer.status_code == 413
    assert answer.content_type == "application/problem+json"


def test_readiness_runs_checks_once_per_cache_period_and_names_failures(app):
    calls = []

    def flaky():
        calls.append(1)
        raise ConnectionError("refused")

    seaway.add_check(app, "dynamodb", lambda: None)
    seaway.add_check(app, "redis", flaky)
    client = app.test_client()
    first, second = client.get("/readyz"), client.get("/readyz")
    assert first.status_code == second.status_code == 503
    assert first.json["checks"] == {"dynamodb": "ok", "redis": "failed: ConnectionError: refused"}
    assert first.json["detail"] == "not ready: redis"
    assert len(calls) == 1


def test_readiness_fails_while_draining_and_liveness_does_not(app, monkeypatch, tmp_path):
    monkeypatch.setenv(health.RUNTIME_DIR_ENV, str(tmp_path))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    health.start_draining()
    assert client.get("/readyz").status_code == 503
    assert client.get("/readyz").json["detail"] == "draining: shutting down"
    assert client.get("/livez").status_code == 200


def test_json_log_lines_carry_extra_fields_and_errors():
    formatter = JsonFormatter("example")
    record = logging.makeLogRecord(
        {"name": "example", "levelname": "WARNING", "msg": "cache miss %s", "args": ("p-1",), "product": "p-1"}
    )
    entry = json.loads(formatter.format(record))
    assert entry["service"] == "example" and entry["level"] == "WARNING"
    assert entry["message"] == "cache miss p-1" and entry["product"] == "p-1"
    assert entry["time"].endswith("Z")
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert "ValueError: bad" in json.loads(formatter.format(record))["error"]


def test_a_process_makes_its_aws_clients_from_one_session(monkeypatch):
    import boto3

    from seaway import aws

    made = []
    original = boto3.session.Session

    class CountingSession(original):
        def __init__(self, *args, **kwargs):
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(boto3.session, "Session", CountingSession)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a key of its own in the caches
    aws._session.cache_clear()
    try:
        clients = [aws.client("sqs"), aws.client("s3"), aws.client("dynamodb", probe=True)]
        assert len({id(c) for c in clients}) == 3
        assert len(made) == 1
    finally:
        aws._session.cache_clear()
        aws._client.cache_clear()
