"""Fixtures for the deployment tests: the repository's files, offline schemas and the linters.

Schemas come from ``SEAWAY_SCHEMAS`` or ``<repo>/../shared/schemas``; linters from PATH, ``.tools/bin`` or
the virtual environment running the tests. A test whose schema or linter is absent skips with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def find_tool(name: str) -> str | None:
    """``name`` on PATH, in <repo>/.tools/bin or beside the Python running the tests."""
    for folder in (REPO / ".tools" / "bin", Path(sys.executable).parent):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def tool(name: str, how: str) -> str:
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} not found: {how}")
    return path


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_all(path: Path) -> list[Any]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


@pytest.fixture(scope="session")
def schemas() -> Path:
    configured = os.environ.get("SEAWAY_SCHEMAS")
    path = Path(configured) if configured else REPO.parent / "shared" / "schemas"
    if not path.is_dir():
        pytest.skip(f"no schemas folder at {path} (set SEAWAY_SCHEMAS to the shared/schemas folder)")
    return path


def schema(schemas: Path, relative: str) -> dict[str, Any]:
    path = schemas / relative
    if not path.is_file():
        pytest.skip(f"schema {relative} not in {schemas}")
    return json.loads(path.read_text())
