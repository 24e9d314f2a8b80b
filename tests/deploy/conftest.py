"""Fixtures for the deployment tests: the repository's files, offline schemas and the linters.

Schemas are vendored in tests/schemas (``SEAWAY_SCHEMAS`` points elsewhere); linters from PATH, ``.tools/bin`` or
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

from tests.schemas import schemas_folder

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
    return schemas_folder()


def schema(schemas: Path, relative: str) -> dict[str, Any]:
    return json.loads((schemas / relative).read_text())
