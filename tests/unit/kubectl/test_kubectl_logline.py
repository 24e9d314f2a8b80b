"""``kubectl seaway logs``: the kit's JSON lines made readable, and filtered by level and trace."""

from __future__ import annotations

import json

import pytest

from seaway_tools.kubectl.logline import (
    LogFilter,
    format_record,
    normalize_level,
    normalize_trace_id,
    parse,
    short_pod_name,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"
POD = "catalog-7d9f8b6c5d-x2x4k"


def kit_line(**fields) -> str:
    line = {
        "time": "2026-11-27T12:01:02.345Z",
        "level": "INFO",
        "service": "catalog",
        "logger": "seaway.access",
        "message": "request",
        "request_id": "r-42",
        "trace_id": TRACE,
        "span_id": "b7ad6b7169203331",
    }
    line.update(fields)
    return json.dumps({k: v for k, v in line.items() if v is not None})


def test_access_line_reads_as_time_level_service_pod_request_and_ids():
    line = kit_line(method="GET", route="/products", path="/products", status=200, duration_ms=3.14159)

    assert format_record(parse(line, POD)) == (
        f"12:01:02.345 INFO  catalog  x2x4k  GET /products 200 3.1ms  [req=r-42 trace={TRACE}]"
    )


def test_application_line_shows_its_message_and_only_the_ids_it_has():
    line = kit_line(level="WARNING", logger="catalog.cache", message="redis unavailable", trace_id=None)

    assert format_record(parse(line, POD)) == "12:01:02.345 WARN  catalog  x2x4k  redis unavailable  [req=r-42]"


def test_exception_is_printed_indented_under_its_line():
    line = kit_line(level="ERROR", message="order failed", error="Traceback:\n  boom\nValueError: bad")

    assert format_record(parse(line, POD)).splitlines() == [
        f"12:01:02.345 ERROR catalog  x2x4k  order failed  [req=r-42 trace={TRACE}]",
        "    Traceback:",
        "      boom",
        "    ValueError: bad",
    ]


def test_line_without_service_takes_the_pods_service_label():
    record = parse(kit_line(service=None), POD, service="catalog")

    assert " catalog  x2x4k " in format_record(record)


@pytest.mark.parametrize(
    "text",
    ["[2026-11-27 12:00:00 +0000] [1] [INFO] Starting gunicorn 23.0.0", "{not json", '["a list"]', ""],
)
def test_lines_that_are_not_kit_json_pass_through_unchanged(text):
    assert format_record(parse(text + "\n", POD)) == text


def test_a_line_without_time_keeps_the_time_of_the_line_before_it():
    first = parse(kit_line(), POD)

    follower = parse("Traceback (most recent call last):", POD, previous=first.time)

    assert follower.time == first.time


@pytest.mark.parametrize(
    ("level", "shown"),
    [("DEBUG", False), ("INFO", False), ("WARNING", True), ("ERROR", True), ("CRITICAL", True)],
)
def test_level_filter_keeps_lines_at_or_above_the_minimum(level, shown):
    assert LogFilter(min_level="WARNING").accepts(parse(kit_line(level=level), POD)) is shown


def test_level_filter_lets_non_json_lines_through():
    assert LogFilter(min_level="ERROR").accepts(parse("gunicorn booting worker", POD))


def test_trace_filter_keeps_only_that_traces_kit_lines():
    wanted = LogFilter(trace_id=TRACE)

    assert wanted.accepts(parse(kit_line(), POD))
    assert wanted.accepts(parse(kit_line(trace_id=TRACE.upper()), POD))
    assert not wanted.accepts(parse(kit_line(trace_id="f" * 32), POD))
    assert not wanted.accepts(parse(kit_line(trace_id=None), POD))
    assert not wanted.accepts(parse("gunicorn booting worker", POD))


def test_trace_ids_are_accepted_in_w3c_and_x_ray_form():
    assert normalize_trace_id(TRACE.upper()) == TRACE
    assert normalize_trace_id("1-5759e988-bd862e3fe1be46a994272793") == "5759e988bd862e3fe1be46a994272793"
    with pytest.raises(ValueError, match="not a trace id"):
        normalize_trace_id("abc")


def test_levels_are_accepted_in_any_case_and_short_forms():
    assert [normalize_level(t) for t in ("info", "warn", "Warning", "crit")] == [
        "INFO",
        "WARNING",
        "WARNING",
        "CRITICAL",
    ]
    with pytest.raises(ValueError, match="not a level"):
        normalize_level("loud")


def test_pods_are_named_by_their_random_suffix():
    assert short_pod_name("catalog-7d9f8b6c5d-x2x4k") == "x2x4k"
    assert short_pod_name("redis") == "redis"
