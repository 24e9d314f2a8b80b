"""pyproject.toml's ``seaway.services`` entry points (a generated region): how the runtime (``seaway up``,
the gunicorn configuration, an image) finds the declarations once the project is installed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seaway_tools.generate import regions
from seaway_tools.generate.declarations import Declared

PATH = Path("pyproject.toml")


def render(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    lines = ['[project.entry-points."seaway.services"]']
    lines += [f'{name} = "{declared.module}:SERVICE"' for name, declared in services.items()]
    return {PATH: regions.replace(root / PATH, "\n".join(lines) + "\n")}
