"""Generated regions: the part of a file that also holds hand-written content which the generator owns,
between two marker lines. Used only where a file cannot be generated whole (pyproject.toml, a chart's
Chart.yaml and values.yaml, which Helm reads by those names)."""

from __future__ import annotations

from pathlib import Path


def begin(comment: str = "#") -> str:
    from seaway_tools.generate import HEADER

    return f"{comment} BEGIN {HEADER}"


def end(comment: str = "#") -> str:
    return f"{comment} END generated"


def replace(path: Path, body: str, comment: str = "#") -> str:
    """The text of ``path`` with its generated region's body replaced by ``body`` (ending with a newline)."""
    text = path.read_text()
    start, stop = begin(comment), end(comment)
    head, found, rest = text.partition(start + "\n")
    if not found:
        raise ValueError(f"{path}: no line {start!r} to generate after")
    _, found, tail = rest.partition(stop + "\n")
    if not found:
        raise ValueError(f"{path}: no line {stop!r} closing the generated region")
    return f"{head}{start}\n{body}{stop}\n{tail}"
