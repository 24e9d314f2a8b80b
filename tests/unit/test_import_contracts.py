"""The boundaries of pyproject.toml's import-linter contracts hold, and each contract fails on a violation:
lint-imports over a copy of the sources with one forbidden import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(services: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(services)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=services,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def services(tmp_path: Path) -> Path:
    copy = tmp_path / "services"
    shutil.copytree(REPO / "services", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return copy


def test_the_sources_keep_every_contract(services: Path) -> None:
    result = lint_imports(services)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("seaway/app.py", "import storefront.catalog.store", "The kit never imports an application"),
        ("seaway/health.py", "from seaway_tools import up", "The runtime kit never imports the tools"),
        ("seaway_tools/cloudformation.py", "import storefront.orders.placing", "The kit never imports an application"),
        ("storefront/orders/routes.py", "from storefront.catalog import store", "Services never import each other"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(services: Path, module: str, line: str, contract: str) -> None:
    path = services / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(services)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
