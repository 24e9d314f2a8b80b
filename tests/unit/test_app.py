"""The kit's app wiring, through Flask's test client."""

import json
import logging
import subprocess
import sys

import pytest
from flask import Flask, request

import seaway
from seaway import health
from seaway.logs import JsonFormatter
from tests.processes import wait_for


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


def test_aws_models_preloaded_in_the_master_are_read_by_a_forked_workers_own_session(monkeypatch):
    from seaway import aws
    from seaway.service import Bucket, Queue, Table

    monkeypatch.setattr(aws, "_loader", None)
    assert aws.services_of([Table("t", "id"), Queue("q"), Bucket("b"), Table("u", "id")]) == ["dynamodb", "s3", "sqs"]
    aws.preload(["sqs"])
    worker_session = aws._session(-1)  # as a worker's first client makes it: a session of its own pid
    try:
        assert worker_session._session.get_component("data_loader") is aws._loader
        worker_session.client("sqs", region_name="us-east-1")  # made from the shared models
    finally:
        aws._session.cache_clear()


@pytest.fixture
def kit_logs(monkeypatch):
    """The kit's logging configuration, its lines into a buffer; restored afterwards."""
    import io

    from seaway import logs

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("example")
    buffer = io.StringIO()
    monkeypatch.setattr(logs._handler, "stream", buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("/things/<id>", "/things/1"),
        (None, "/nowhere"),
        ("/things/<id>", '/things/"quoted"\\back'),  # escaped by the encoder, not the template
        ("/things/<id>", "/things/caf\u00e9\x01"),
    ],
)
def test_an_access_line_written_directly_is_the_line_of_an_ordinary_record(kit_logs, monkeypatch, route, path):
    from opentelemetry.sdk.trace import TracerProvider

    from seaway import logs, request_id

    def no_record(*args, **kwargs):
        raise AssertionError("the access line made a LogRecord")

    values = ("abc-123", "GET", route, path, 200, 1.5)
    fields = dict(zip(logs.ACCESS_FIELDS, values[1:], strict=True))
    app = Flask("example")
    # The request's environ is where an ordinary record's formatter finds its id.
    context = app.test_request_context(environ_base={request_id.ENVIRON_KEY: "abc-123"})
    with context, TracerProvider().get_tracer("t").start_as_current_span("GET"):
        with monkeypatch.context() as patched:
            patched.setattr(logging.Logger, "makeRecord", no_record)
            patched.setattr(logging.getLogger(), "handlers", [logs._handler])  # without pytest's own handlers
            logs.access(logging.INFO, *values)
        logging.getLogger("seaway.access").info(f"GET {path} 200", extra=fields)
    direct, through_logging = kit_logs.getvalue().splitlines()
    assert direct[:10] == through_logging[:10] == '{"time": "' and direct[34:] == through_logging[34:]
    line = json.loads(direct)
    assert line.pop("time").endswith("Z") and len(line.pop("trace_id")) == 32 and len(line.pop("span_id")) == 16
    assert line == {
        "level": "INFO",
        "service": "example",
        "logger": "seaway.access",
        "message": f"GET {path} 200",
        "request_id": "abc-123",
        **fields,
    }


def test_held_access_lines_are_written_by_the_processs_writer_within_its_interval(kit_logs, monkeypatch):
    from seaway import logs

    monkeypatch.setattr(logging.getLogger(), "handlers", [logs._handler])  # without pytest's own handlers
    for n in range(3):
        logs.access(logging.INFO, f"id-{n}", "GET", "/x", "/x", 200, 1.0)  # no other record to carry them
    lines = wait_for(lambda: kit_logs.getvalue().splitlines(), timeout=5, message="the held access lines")
    assert [json.loads(line)["request_id"] for line in lines] == ["id-0", "id-1", "id-2"]


def test_held_access_lines_are_written_when_the_process_exits():
    script = (
        "import logging, os\n"
        "from seaway import logs\n"
        "logs.configure('example')\n"
        "logs.access(logging.INFO, 'last-one', 'GET', '/x', '/x', 200, 1.0)\n"
        "raise SystemExit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout)["request_id"] == "last-one"


def test_an_access_line_goes_through_logging_once_the_configuration_is_not_the_kits(kit_logs, caplog):
    from seaway import logs

    with caplog.at_level(logging.INFO, logger="seaway.access"):  # pytest's handlers are beside the kit's
        logs.access(logging.INFO, None, "GET", "/x", "/x", 200, 1.0)
        logs.access(logging.DEBUG, None, "GET", "/livez", "/livez", 200, 1.0)  # below the level: no line
    assert [(r.getMessage(), r.status) for r in caplog.records] == [("GET /x 200", 200)]
    assert json.loads(kit_logs.getvalue())["status"] == 200
