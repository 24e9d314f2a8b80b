"""Durations for ``--since``, ``--timeout`` and ``--request-timeout``, written as kubectl writes them."""

import pytest

from seaway_tools.kubectl.duration import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("90", 90), ("1.5m", 90), ("500ms", 0.5)],
)
def test_durations_are_read_in_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "1w", "-5m"])
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
