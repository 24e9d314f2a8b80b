"""(to come)"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seaway_tools.generate.declarations import Declared


def render(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    return {}
