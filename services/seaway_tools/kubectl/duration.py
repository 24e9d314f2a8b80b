"""Durations the way kubectl writes them: ``30s``, ``5m``, ``1h30m``, ``2d``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (``90s``, ``5m``, ``1h30m``, or a bare number of seconds); else ``ValueError``."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not text or _PART.sub("", text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h30m)")
    return sum(float(number) * _SECONDS[unit] for number, unit in _PART.findall(text))
