"""``seaway new``: what it refuses (one line, exit 2, nothing written) and what it writes, checked on a small
copy of this repository's declarations. The whole command, generator included, runs in
tests/integration/test_seaway_new.py."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import seaway_tools
from seaway_tools import cli, new

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
REFERENCE = ("gateway", "catalog", "orders", "fulfillment")  # the storefront as it ships


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return declarations_copy(tmp_path / "repo")


def declarations_copy(root: Path) -> Path:
    """What ``seaway new`` reads of a repository: pyproject.toml, the umbrella's values, and the declarations of
    the reference application only (so these tests hold in a repository that has more services)."""
    for path in [PYPROJECT, *REPO.glob("services/*/__init__.py")]:
        _copy(path, root)
    # The umbrella's own values (without any service's block: only the reference services are declared here).
    values = yaml.safe_load((REPO / "charts/storefront/values.yaml").read_text())
    services = REPO / "services/storefront"
    own = {key: value for key, value in values.items() if not (services / new.package_name(key)).is_dir()}
    (root / "charts/storefront").mkdir(parents=True)
    (root / "charts/storefront/values.yaml").write_text(yaml.safe_dump(own))
    for service in REFERENCE:
        _copy(REPO / "services/storefront" / service / "service.py", root)
        _copy(REPO / "services/storefront" / service / "__init__.py", root)
    return root


def _copy(path: Path, root: Path) -> None:
    target = root / path.relative_to(REPO)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


BAD = {
    "upper case": (["Inventory"], "not a DNS label"),
    "a digit first": (["9lives"], "not a DNS label"),
    "a hyphen last": (["inventory-"], "not a DNS label"),
    "an underscore": (["in_ventory"], "not a DNS label"),
    "41 characters": (["a" * 41], "at most 40 characters"),
    "a declared service": (["catalog"], "already declared"),
    "the kit": (["seaway"], "reserved"),
    "the tools": (["seaway-tools"], "reserved"),
    "the application": (["storefront"], "reserved"),
    "the charts' global values": (["global"], "reserved"),
    "the tests": (["tests"], "reserved"),
    "test": (["test"], "reserved"),
    "tools": (["tools"], "reserved"),
    "the public entry": (["ingress"], "reserved"),
    "the umbrella's waypoint": (["waypoint"], "reserved"),
    "a Python keyword": (["class"], "keyword"),
    "a Python keyword after hyphens": (["import"], "keyword"),
    "calls an undeclared service": (["inventory", "--calls", "billing"], "--calls 'billing' names no declared"),
    "calls itself": (["inventory", "--calls", "inventory"], "--calls 'inventory' names no declared"),
    "a caller undeclared": (["inventory", "--callers", "billing"], "--callers 'billing' names no declared"),
    "a callee twice": (["inventory", "--calls", "catalog", "--calls", "catalog"], "given twice"),
    "a caller twice": (["inventory", "--callers", "gateway", "--callers", "gateway"], "given twice"),
    "a table not a DNS label": (["inventory", "--table", "Stock"], "--table name 'Stock' is not a DNS label"),
    "a table too long": (["inventory", "--table", "t" * 31], "at most 30 characters"),
    "a table twice": (["inventory", "--table", "stock", "--table", "stock"], "given twice"),
    "another service's table": (["inventory", "--table", "products"], "catalog already declares a table"),
    "another service's topic": (["inventory", "--topic", "order-events"], "orders already declares a topic"),
    "a queue without its topic": (["inventory", "--queue", "restock"], "name the topic it subscribes to"),
    "a queue on no topic": (["inventory", "--queue", "restock:restocks"], "no service declares the topic"),
    "a queue named as dead letters": (["inventory", "--queue", "fulfillment-dlq:order-events"], "dead-letter"),
    "a bucket name too long": (["inventory", "--bucket", "b" * 30], "S3 allows 63"),
    "an unknown application": (["inventory", "--app", "shop"], "--app 'shop' is not an application package"),
    "a description with quotes": (["inventory", "--description", 'the "stock"'], "--description"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_argument_is_one_line_and_exit_2_and_nothing_is_written(repo, capsys, case):
    argv, message = BAD[case]
    before = tree(repo)
    assert cli.main(["new", *argv, "--root", str(repo)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("seaway new: "), err
    assert message in err
    assert tree(repo) == before


def test_an_existing_package_folder_is_refused_and_left_alone(repo, capsys):
    (repo / "services/storefront/inventory").mkdir()
    (repo / "services/storefront/inventory/notes.md").write_text("ours\n")
    before = tree(repo)
    assert cli.main(["new", "inventory", "--root", str(repo)]) == 2
    assert capsys.readouterr().err == "seaway new: services/storefront/inventory exists already\n"
    assert tree(repo) == before


def test_an_existing_test_file_is_refused(repo, capsys):
    (repo / "tests/unit").mkdir(parents=True)
    (repo / "tests/unit/test_inventory.py").write_text("")
    assert cli.main(["new", "inventory", "--root", str(repo)]) == 2
    assert capsys.readouterr().err == "seaway new: tests/unit/test_inventory.py exists already\n"


def test_without_the_generator_it_says_so_in_one_line_and_writes_nothing(repo, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "seaway_tools.generate", None)  # so importing it fails
    monkeypatch.delattr(seaway_tools, "generate", raising=False)
    before = tree(repo)
    assert cli.main(["new", "inventory", "--root", str(repo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seaway new: the generator is missing") and err.count("\n") == 1
    assert tree(repo) == before


def test_outside_a_repository_it_says_so(tmp_path, capsys):
    assert cli.main(["new", "inventory", "--root", str(tmp_path)]) == 2
    assert "is not a Seaway repository" in capsys.readouterr().err


def test_a_new_service_takes_the_port_after_the_highest_declared(repo):
    service = new.check(repo, "inventory", tables=["stock"], calls=["catalog"], callers=["gateway", "ingress"])
    assert service.port == 8084
    assert service.declaration().callers == ("gateway", "ingress")


def test_a_name_with_hyphens_has_a_package_with_underscores(repo):
    service = new.check(repo, "order-history", calls=["orders"])
    files = new.render(service)
    assert service.package == "order_history"
    assert Path("services/storefront/order_history/service.py") in files
    assert (
        Path("tests/unit/test_order_history.py") in files and Path("tests/integration/test_order_history.py") in files
    )
    declaration = files[Path("services/storefront/order_history/service.py")]
    assert 'name="order-history"' in declaration
    assert 'app="storefront.order_history.app:create_app()"' in declaration
    assert "from storefront.order_history import routes" in files[Path("services/storefront/order_history/app.py")]


def test_settings_carry_each_resource_and_each_callee(repo):
    service = new.check(
        repo, "restock", tables=["stock-levels"], topics=["restocked"], queues=["restock:order-events"],
        buckets=["reports"], calls=["catalog", "orders"],
    )  # fmt: skip
    settings = new.render(service)[Path("services/storefront/restock/settings.py")]
    for line in (
        'stock_levels_table: str = setting("storefront-stock-levels")',
        "restocked_topic_arn: str = setting()",
        "restock_queue_url: str = setting()",
        "reports_bucket: str = setting()",
        "catalog_url: str = setting()",
        "orders_url: str = setting()",
        "class Settings(ClientSettings):",
    ):
        assert f"{line}\n" in settings, line
    assert service.topic_owners == ("orders",)


# Option sets whose output is linted, and whose own unit tests run, below.
SHAPES = {
    "inventory": ["--table", "stock", "--calls", "catalog", "--callers", "gateway"],
    "order-history": [],
    "restock": [
        *("--table", "stock-levels", "--table", "audit", "--topic", "restocked", "--bucket", "restock-reports"),
        *("--queue", "restock-orders:order-events", "--queue", "restock-again:restocked"),
        *("--calls", "catalog", "--calls", "orders", "--callers", "gateway", "--callers", "orders"),
    ],
    "a" + "b" * 39: ["--table", "t" * 30, "--topic", "u" * 30, "--queue", "q" * 30 + ":" + "u" * 30],
}


@dataclass
class Written:
    root: Path
    python: list[str]  # the Python files written, relative to root
    reformatted: set[str]  # those ruff's formatter changed (names too long for the templates' lines)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Written:
    """Every shape's files, as ``seaway new`` leaves them (generator aside), beside the application and the
    tests' helpers."""
    base = tmp_path_factory.mktemp("new")
    out, declared = base / "out", declarations_copy(base / "declared")
    _copy(REPO / "services/storefront/__init__.py", out)
    for service in REFERENCE:
        shutil.copytree(
            REPO / "services/storefront" / service,
            out / "services/storefront" / service,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    # tests/conftest.py and what it loads: the processes, and its plugin rendering the charts.
    helpers = ("__init__.py", "conftest.py", "processes.py", "manifests.py", "schemas/__init__.py")
    helpers += ("charts/__init__.py", "charts/rendering.py", "unit/__init__.py", "integration/__init__.py")
    for helper in helpers:
        _copy(REPO / "tests" / helper, out)
    # ruff's settings, its import sections as in the repository (the kit first-party too).
    settings = PYPROJECT.read_text().replace('src = ["services"', f'src = ["{REPO}/services", "services"')
    (out / "pyproject.toml").write_text(settings)
    python, reformatted = [], set()
    for name, options in SHAPES.items():
        args = cli_args(name, options, declared)
        service = new.check(
            declared, args.name, calls=args.calls, callers=args.callers, tables=args.table, topics=args.topic,
            queues=args.queue, buckets=args.bucket,
        )  # fmt: skip
        files = new.render(service)
        paths = [str(p) for p in new.write(out, files) if p.suffix == ".py"]
        new.format_python(out, [Path(p) for p in paths])
        python += paths
        reformatted |= {p for p in paths if (out / p).read_text() != files[Path(p)]}
    return Written(out, python, reformatted)


def cli_args(name: str, options: list[str], root: Path):
    parser = argparse.ArgumentParser()
    new.configure(parser)
    return parser.parse_args([name, *options, "--root", str(root)])


def test_what_it_writes_passes_the_projects_lint(written):
    for check in (["check"], ["format", "--check"]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *check, *written.python],
            cwd=written.root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout


def test_the_templates_are_laid_out_as_ruff_lays_them_out_for_names_of_usual_length(written):
    assert written.reformatted and all("abbbb" in path for path in written.reformatted)


def test_its_unit_tests_pass_and_each_document_describes_exactly_its_routes(written):
    packages = [new.package_name(name) for name in SHAPES]
    (written.root / "tests/unit/test_documents.py").write_text(DOCUMENTS.replace("PACKAGES", repr(packages)))
    tests = ["tests/unit/test_documents.py", *(f"tests/unit/test_{package}.py" for package in packages)]
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=written.root,
        env={**_environ(), "PYTHONPATH": str(written.root / "services")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert f"{len(packages) * 6} passed" in ran.stdout


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}


# As tests/unit/test_openapi_routes.py checks every declared service (which it finds installed, so not these).
DOCUMENTS = """
import importlib
import re

import pytest

KIT_PATHS = {"/livez", "/readyz", "/metrics", "/openapi.json", "/chaos"}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def flask_routes(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule not in KIT_PATHS and rule.endpoint != "static":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\\1}", rule.rule)
            routes |= {(path, method) for method in rule.methods & METHODS}
    return routes


@pytest.mark.parametrize("package", PACKAGES)
def test_the_document_describes_exactly_the_routes(package, monkeypatch):
    for key, value in importlib.import_module(f"tests.unit.test_{package}").ENV.items():
        monkeypatch.setenv(key, value)
    app = importlib.import_module(f"storefront.{package}.app").create_app()
    document = app.test_client().get("/openapi.json").json
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert documented - {(path, "PARAMETERS") for path in document["paths"]} == flask_routes(app)
    assert {method for _, method in flask_routes(app)} == {"GET", "PUT"}
"""
