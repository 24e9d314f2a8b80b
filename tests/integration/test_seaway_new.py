"""``seaway new`` as a team runs it, in a fresh copy of this repository (a git repository of its own):

    seaway new inventory --table stock --calls catalog --callers gateway

then, in that copy: only the new service's files and generated files change; the service's own unit and
integration tests pass; ``seaway up inventory catalog`` serves its ``/readyz`` with its table created in the
emulator; the umbrella chart renders its Deployment, Service, NetworkPolicy and AuthorizationPolicy admitting the
gateway; ``seaway cloudformation`` gives its role its table only. Then a second service with every kind of
resource (tables, a topic, queues on its own and on another service's topic, a bucket) passes its own tests.

The copy is "installed" the way ``pip install -e`` installs this project, without a build: its ``services/``
first on ``PYTHONPATH`` and a ``seaway`` distribution's metadata whose entry points are those of the copy's
pyproject.toml (which the generator rewrote), so ``discover()`` in the copy's processes finds the new service.
A real build is not possible offline: the project's build backend needs a newer setuptools than the virtual
environment holds, and build isolation would download one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import yaml

from seaway_tools import generate, new
from tests.charts.rendering import run_helm
from tests.fidelity.test_skaffold_helm import fresh_copy
from tests.integration.test_seaway_up import free_offset
from tests.manifests import KUBE_VERSIONS, custom_resource_errors, documents, kubernetes_errors
from tests.processes import answers, free_port, wait_for

NAME, TABLE, CALLEE, CALLER = "inventory", "stock", "catalog", "gateway"
COMMAND = [NAME, "--table", TABLE, "--calls", CALLEE, "--callers", CALLER]
# Every kind of resource and option at once; a queue on another service's topic and one on its own.
EVERY_KIND = [
    *("restock", "--table", "levels", "--table", "audit", "--topic", "restocked", "--bucket", "reports"),
    *("--queue", "restock-orders:order-events", "--queue", "restock-again:restocked"),
    *("--calls", "catalog", "--calls", "orders", "--callers", "gateway", "--callers", "orders"),
]
NEW_FILES = {
    *(f"services/storefront/{NAME}/{f}" for f in ("__init__.py", "app.py", "openapi.yaml", "routes.py")),
    *(f"services/storefront/{NAME}/{f}" for f in ("service.py", "settings.py", "store.py")),
    f"tests/unit/test_{NAME}.py",
    f"tests/integration/test_{NAME}.py",
}


@dataclass
class Copy:
    root: Path
    site: Path  # where its "installation" is (see install)
    output: str = ""  # what the first `seaway new` printed
    changed: dict[str, str] = field(default_factory=dict)  # `git status --porcelain` right after it: path -> status

    @property
    def env(self) -> dict[str, str]:
        """What runs the copy's code: its services/ and its entry points first."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
        return env | {"PYTHONPATH": f"{self.site}{os.pathsep}{self.root / 'services'}"}

    def seaway(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The copy's ``seaway`` command."""
        command = [sys.executable, "-m", "seaway_tools.cli", *args]
        return subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120)

    def new(self, *args: str) -> str:
        """``seaway new`` from the copy's own sources, then the copy installed again; what it printed."""
        made = self.seaway("new", *args)
        assert made.returncode == 0, made.stderr
        install(self.root, self.site)
        return made.stdout

    def own_tests(self, package: str) -> None:
        """A new service's own unit and integration tests, run in the copy as `make test` runs them."""
        tests = [f"tests/unit/test_{package}.py", f"tests/integration/test_{package}.py"]
        ran = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
        assert " passed" in ran.stdout and "skipped" not in ran.stdout


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env |= {"GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root.parent)}
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def install(root: Path, site: Path) -> None:
    """What an editable install of the copy leaves for imports and entry points (with its services/ on the path):
    the distribution's metadata, its entry points those of the copy's pyproject.toml."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    metadata = site / f"{project['name']}-{project['version']}.dist-info"
    metadata.mkdir(parents=True, exist_ok=True)
    (metadata / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    (metadata / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items())
    )


def without(root: Path, name: str) -> None:
    """The repository as it was before ``seaway new name``, should it have been run here for real."""
    package = new.package_name(name)
    folder = root / "services" / "storefront" / package
    if folder.exists():
        shutil.rmtree(folder)
        for test in (root / "tests/unit" / f"test_{package}.py", root / "tests/integration" / f"test_{package}.py"):
            test.unlink(missing_ok=True)
        generate.write_all(root)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Copy:
    base = tmp_path_factory.mktemp("seaway-new")
    made = Copy(fresh_copy(base / "repo"), base / "site")
    for name in (NAME, EVERY_KIND[0]):
        without(made.root, name)
    git(made.root, "init", "-q")
    git(made.root, "add", "-A")
    git(made.root, "commit", "-q", "--no-gpg-sign", "-m", "before seaway new")
    install(made.root, made.site)
    made.output = made.new(*COMMAND)
    status = git(made.root, "status", "--porcelain", "--untracked-files=all")
    made.changed = {line[3:]: line[:2] for line in status.splitlines()}
    return made


def test_only_the_new_service_and_generated_files_change(copy: Copy) -> None:
    generated = {str(path) for path in generate.render(copy.root)}
    assert {path for path, status in copy.changed.items() if status == "??"} - generated == NEW_FILES
    assert {path for path, status in copy.changed.items() if status != "??"} <= generated
    for path in sorted(NEW_FILES | (set(copy.changed) & generated)):
        assert f"  {path}\n" in copy.output + "\n", f"seaway new did not report {path}"
    assert generate.stale(copy.root) == []


def test_its_own_unit_and_integration_tests_pass(copy: Copy) -> None:
    copy.own_tests(NAME)


def test_seaway_up_serves_its_readyz_with_its_table_created(copy: Copy) -> None:
    declared = yaml.safe_load(copy.seaway("services", "-o", "json").stdout)
    ports = {name: declared[name]["port"] for name in (NAME, CALLEE)}
    offset, emulator_port = free_offset(*ports.values()), free_port()
    command = [sys.executable, "-m", "seaway_tools.cli", "up", NAME, CALLEE]
    command += ["--port-offset", str(offset), "--emulator-port", str(emulator_port)]
    runner = subprocess.Popen(
        command,
        cwd=copy.root,
        env=copy.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{ports[NAME] + offset}"

        def ready() -> bool:
            assert runner.poll() is None, runner.stderr.read()
            return answers(f"{url}/readyz")

        wait_for(ready, message=f"{NAME} to be ready under seaway up")
        emulator = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{emulator_port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert f"storefront-{TABLE}" in emulator.list_tables()["TableNames"]
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            stdout, stderr = runner.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            raise
    assert runner.returncode == 0, stderr
    assert url in stdout


def test_the_umbrella_chart_renders_it_admitting_the_gateway(copy: Copy, helm: str) -> None:
    chart = copy.root / "charts" / "storefront"
    built = run_helm(helm, "dependency", "build", str(chart))
    assert built.returncode == 0, built.stderr
    args = ["template", "sf", str(chart), "--namespace", "storefront", "--kube-version", KUBE_VERSIONS[0]]
    rendered = run_helm(helm, *args, "--set", "global.mesh.enabled=true")
    assert rendered.returncode == 0, rendered.stderr
    objects = [o for o in documents(rendered.stdout) if o["metadata"]["name"] == NAME]
    kinds = {o["kind"]: o for o in objects}
    assert {"Deployment", "Service", "NetworkPolicy", "AuthorizationPolicy"} <= set(kinds)
    assert kubernetes_errors(objects) == [] and custom_resource_errors(objects) == []
    admitted = [
        peer["podSelector"]["matchLabels"]
        for rule in kinds["NetworkPolicy"]["spec"]["ingress"]
        for peer in rule.get("from", [])
    ]
    assert {"app.kubernetes.io/name": CALLER} in admitted
    principals = {
        p
        for rule in kinds["AuthorizationPolicy"]["spec"]["rules"]
        for source in rule.get("from", [])
        for p in source["source"].get("principals", [])
        if not rule.get("to")
    }  # rules without `to` admit every path
    assert principals == {f"cluster.local/ns/storefront/sa/{CALLER}"}


def test_cloudformation_gives_its_role_its_table_only(copy: Copy) -> None:
    printed = copy.seaway("cloudformation")
    assert printed.returncode == 0, printed.stderr
    resources = yaml.safe_load(printed.stdout)["Resources"]
    role = resources[f"{NAME.capitalize()}Role"]["Properties"]
    (policy,) = role["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    table = f"{TABLE.capitalize()}Table"
    assert resources[table]["Properties"]["TableName"] == f"storefront-{TABLE}"
    touched = [(resource, statement["Action"]) for statement in statements for resource in statement["Resource"]]
    assert {json.dumps(resource) for resource, _ in touched} == {json.dumps({"Fn::GetAtt": [table, "Arn"]}), '"*"'}
    for resource, actions in touched:
        if resource == "*":
            assert actions == ["cloudwatch:PutMetricData"]
        else:
            assert all(action.startswith("dynamodb:") for action in actions)


def test_a_service_with_every_kind_of_resource_passes_its_own_tests(copy: Copy) -> None:
    # A second service in the same copy: what the tests above check of inventory stays true.
    copy.new(*EVERY_KIND)
    copy.own_tests("restock")
