"""Fixtures for running ``kubectl-seaway`` as a process against a fake API server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.kubectl.kubectl_fake_api import FakeApiServer, write_kubeconfig
from tests.processes import free_port

PLUGIN = Path(sys.executable).parent / "kubectl-seaway"


@pytest.fixture
def fake_api() -> Iterator[FakeApiServer]:
    api = FakeApiServer().start()
    yield api
    api.stop()


@pytest.fixture
def kubeconfig(tmp_path: Path, fake_api: FakeApiServer) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", fake_api.url)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def kubectl_seaway(tmp_path: Path, kubeconfig: Path) -> Run:
    """Run the installed ``kubectl-seaway`` with ``KUBECONFIG`` on the fake cluster and an empty HOME."""
    assert PLUGIN.exists(), f"{PLUGIN} is missing: install the project (pip install -e .)"
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        environ = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        environ.update(HOME=str(home), KUBECONFIG=str(kubeconfig), PYTHONIOENCODING="utf-8", COLUMNS="200")
        environ.update(env or {})
        return subprocess.run(
            [str(PLUGIN), *args], capture_output=True, text=True, encoding="utf-8", env=environ, timeout=timeout
        )

    return run
