"""Every file generated from the service declarations is current (``make generate`` writes them; Kubernetes'
hack/verify-* style): a declaration changed without regenerating fails here, naming the stale files."""

from __future__ import annotations

from seaway_tools import generate
from seaway_tools.cli import main as seaway
from tests.deploy.conftest import REPO


def test_every_generated_file_is_current() -> None:
    assert generate.stale(REPO) == [], "stale generated files: run make generate"


def test_seaway_generate_check_passes_on_the_repository() -> None:
    assert seaway(["generate", "--check", "--root", str(REPO)]) == 0
