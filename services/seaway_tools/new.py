"""``seaway new NAME``: a service that runs, is tested and deploys like the others, from one command.

It writes, under the repository it runs in (``--root``, default: here):

- ``services/<app>/<package>/``: the declaration (``service.py``: a free port, the calls, callers and AWS
  resources of the options), ``app.py``, one example resource in ``routes.py`` (GET and PUT
  ``/<table>/<item_id>``, or ``/items/<item_id>`` without a table) kept by ``store.py`` (in the table through
  seaway.aws and seaway.dynamodb, or in memory), ``settings.py`` (each resource's variable, each callee's
  ``<NAME>_URL``), ``openapi.yaml`` (OpenAPI 3.1, exactly those routes) and, with a queue, ``handler.py``;
- ``tests/unit/test_<package>.py`` (Flask's test client) and ``tests/integration/test_<package>.py`` (real
  gunicorn against the tests' AWS emulator);

then runs the generator (:func:`seaway_tools.generate.write_all`), which derives every other per-service file
from the new declaration. Every argument is checked first: a refusal is one line on stderr, exit status 2, and
nothing is written. A name with hyphens has underscores in its package (``order-history``: ``order_history``).
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import yaml

from seaway.service import Bucket, Queue, Service, Table, Topic, physical_name, resource_env, url_env

# Kubernetes names objects after the service (a DNS-1035 label: a letter first); the charts add suffixes.
NAME_MAX = 40
# Resources are named <part_of>-<name> (a queue's dead letters <part_of>-<name>-dlq): short enough for AWS.
RESOURCE_MAX = 30
_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
# Names taken by the kit, the tools, the tests, the public entry, and the umbrella chart's own values (its
# top-level keys beside the services: compared in lower case; the chart's values.yaml adds any new one).
RESERVED = frozenset(
    {"seaway", "seaway-tools", "global", "test", "tests", "tools", "ingress"}
    | {"peerauthentication", "istiogateway", "waypoint"}
)
LINE_MAX = 120  # ruff's line-length in pyproject.toml
# As `seaway up` and `seaway services` print it, in a column beside the URL.
DESCRIPTION_MAX = 80
KIT_PACKAGES = frozenset({"seaway", "seaway_tools"})
EXAMPLE_PATH = "/items"


class Refused(ValueError):
    """An argument ``seaway new`` does not take; the message is the one line it prints."""


@dataclass(frozen=True)
class NewService:
    """What the options asked for, checked against the repository."""

    name: str
    app: str
    port: int
    description: str
    calls: tuple[str, ...] = ()
    callers: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    queues: tuple[tuple[str, str], ...] = ()  # (queue, the topic it subscribes to)
    buckets: tuple[str, ...] = ()
    # Services whose topics its queues subscribe to: the tests create their resources too.
    topic_owners: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return package_name(self.name)

    @property
    def module(self) -> str:
        return f"{self.app}.{self.package}"

    @property
    def folder(self) -> Path:
        return Path("services", self.app, self.package)

    @property
    def unit_test(self) -> Path:
        return Path("tests", "unit", f"test_{self.package}.py")

    @property
    def integration_test(self) -> Path:
        return Path("tests", "integration", f"test_{self.package}.py")

    def declaration(self) -> Service:
        """The declaration ``service.py`` holds."""
        resources: list[Table | Topic | Queue | Bucket] = [Table(t, hash_key="id") for t in self.tables]
        resources += [Topic(t) for t in self.topics]
        resources += [Queue(q, topic=t) for q, t in self.queues]
        resources += [Bucket(b) for b in self.buckets]
        return Service(
            name=self.name,
            app=f"{self.module}.app:create_app()",
            port=self.port,
            settings=f"{self.module}.settings:Settings",
            description=self.description,
            calls=self.calls,
            callers=self.callers,
            resources=tuple(resources),
            part_of=self.app,
        )


def package_name(name: str) -> str:
    """The Python package of service ``name``: ``order-history`` -> ``order_history``."""
    return name.replace("-", "_")


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``seaway new`` (cli.py adds the subcommand)."""
    parser.description = (
        "Start a service: its package under services/<app>/, its unit and integration tests, then every file "
        "generated from its declaration. Nothing is written when an argument is refused (exit status 2)."
    )
    parser.add_argument("name", help=f"the service's name: a DNS label of at most {NAME_MAX} characters")
    parser.add_argument("--app", help="the application package under services/ (default: the only one)")
    parser.add_argument("--description", help="one line saying what it does (default: from its resources)")
    parser.add_argument(
        "--calls", action="append", default=[], metavar="SERVICE", help="a service it calls (repeatable)"
    )
    parser.add_argument(
        "--callers",
        action="append",
        default=[],
        metavar="SERVICE",
        help="a service allowed to call it, or ingress for the public entry (repeatable)",
    )
    parser.add_argument(
        "--table", action="append", default=[], metavar="NAME", help="a DynamoDB table it keeps (repeatable)"
    )
    parser.add_argument(
        "--topic", action="append", default=[], metavar="NAME", help="an SNS topic it publishes to (repeatable)"
    )
    parser.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="NAME:TOPIC",
        help="an SQS queue it consumes, subscribed to TOPIC (any service's, or its own --topic; repeatable)",
    )
    parser.add_argument(
        "--bucket", action="append", default=[], metavar="NAME", help="an S3 bucket it writes to (repeatable)"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")


def run(args: argparse.Namespace) -> int:
    """``seaway new``: check, write, generate, then say what was done and what comes next."""
    try:
        generate = _generator()
        service = check(
            args.root,
            args.name,
            app=args.app,
            description=args.description,
            calls=args.calls,
            callers=args.callers,
            tables=args.table,
            topics=args.topic,
            queues=args.queue,
            buckets=args.bucket,
        )
        files = render(service)
        _refuse_existing(args.root, service, files)
    except Refused as refusal:
        print(f"seaway new: {refusal}", file=sys.stderr)
        return 2
    written = write(args.root, files)
    try:
        generated = generate.write_all(args.root)
    except Exception as error:  # the generator's refusal, whatever its type: leave the tree as it was
        remove(args.root, written)
        print(f"seaway new: the generator failed, nothing was written: {error}", file=sys.stderr)
        return 1
    format_python(args.root, [path for path in written if path.suffix == ".py"])
    print(report(service, written, generated))
    return 0


def check(
    root: Path,
    name: str,
    *,
    app: str | None = None,
    description: str | None = None,
    calls: list[str] | tuple[str, ...] = (),
    callers: list[str] | tuple[str, ...] = (),
    tables: list[str] | tuple[str, ...] = (),
    topics: list[str] | tuple[str, ...] = (),
    queues: list[str] | tuple[str, ...] = (),
    buckets: list[str] | tuple[str, ...] = (),
) -> NewService:
    """The service the options describe, or :class:`Refused` naming the first problem. Reads, never writes."""
    root = Path(root)
    if not (root / "pyproject.toml").is_file() or not (root / "services").is_dir():
        raise Refused(f"{root} is not a Seaway repository (no pyproject.toml and services/); pass --root")
    declared = _declarations(root)
    applications = _applications(root)
    if app is None:
        if len(applications) != 1:
            raise Refused(f"name the application with --app (found: {', '.join(applications) or 'none'})")
        app = applications[0]
    elif app not in applications:
        raise Refused(f"--app {app!r} is not an application package under services/ ({', '.join(applications)})")

    _label("service name", name, NAME_MAX)
    reserved = RESERVED | set(applications) | _chart_keys(root, app, declared)
    if name in reserved or name.replace("-", "_") in KIT_PACKAGES:
        raise Refused(f"{name!r} is a reserved name ({', '.join(sorted(reserved))})")
    if keyword.iskeyword(package_name(name)):
        raise Refused(f"{name!r} would be the Python package {package_name(name)!r}, a keyword")
    if name in declared:
        raise Refused(f"a service named {name!r} is already declared ({declared[name].path})")

    _unique("--calls", calls)
    _unique("--callers", callers)
    for callee in calls:
        if callee == name or callee not in declared:
            raise Refused(f"--calls {callee!r} names no declared service ({', '.join(declared)})")
    for caller in callers:
        if caller != "ingress" and (caller == name or caller not in declared):
            raise Refused(f"--callers {caller!r} names no declared service or ingress ({', '.join(declared)})")

    existing = {(r.kind, r.name): s.name for s in declared.values() for r in s.service.resources}
    dead_letters = {f"{r.name}-dlq" for s in declared.values() for r in s.service.resources if r.kind == "queue"}
    subscriptions = []
    for spec in queues:
        queue, colon, topic = spec.partition(":")
        if not colon:
            raise Refused(f"--queue {spec!r}: name the topic it subscribes to, as --queue {spec}:TOPIC")
        subscriptions.append((queue, topic))
    for option, names in (
        ("--table", tables),
        ("--topic", topics),
        ("--queue", [q for q, _ in subscriptions]),
        ("--bucket", buckets),
    ):
        _unique(option, names)
        kind = option.removeprefix("--")
        for resource in names:
            _label(f"{option} name", resource, RESOURCE_MAX)
            if (kind, resource) in existing:
                raise Refused(f"{option} {resource!r}: {existing[kind, resource]} already declares a {kind} so named")
            if kind == "queue" and (resource in dead_letters or f"{resource}-dlq" in {q for q, _ in subscriptions}):
                raise Refused(f"--queue {resource!r} would share a name with a dead-letter queue")
    topic_owners: set[str] = set()
    for queue, topic in subscriptions:
        owner = existing.get(("topic", topic))
        if owner is None and topic not in topics:
            raise Refused(f"--queue {queue}:{topic}: no service declares the topic {topic!r} (nor --topic)")
        if owner is not None:
            topic_owners.add(owner)

    if description is None:
        description = _describe(tables, topics, [q for q, _ in subscriptions], buckets)
    if not description or len(description) > DESCRIPTION_MAX or any(c in description for c in '"\\\n\r'):
        raise Refused(f"--description: one line of at most {DESCRIPTION_MAX} characters, no quotes or backslashes")
    ports = [d.service.port for d in declared.values()]
    service = NewService(
        name=name,
        app=app,
        port=max(ports, default=8079) + 1,
        description=description,
        calls=tuple(calls),
        callers=tuple(callers),
        tables=tuple(tables),
        topics=tuple(topics),
        queues=tuple(subscriptions),
        buckets=tuple(buckets),
        topic_owners=tuple(sorted(topic_owners)),
    )
    for bucket in service.declaration().resources:
        if isinstance(bucket, Bucket):
            try:  # the longest an account id and a region can make it
                physical_name(service.declaration(), bucket, account="0" * 12, region="x" * 20)
            except ValueError as error:
                raise Refused(f"--bucket {bucket.name!r}: {error}") from None
    return service


def render(service: NewService) -> dict[Path, str]:
    """Every file ``seaway new`` writes, by path relative to the repository, with its text."""
    table = service.tables[0] if service.tables else None
    values = {
        "declaration_doc": _docstring(f"The {service.name} service's declaration", service.description),
        "app_doc": _docstring(f"The {service.name} service", service.description),
        "app": service.app,
        "name": service.name,
        "package": service.package,
        "module": service.module,
        "description": service.description,
        "path": f"/{table}" if table else EXAMPLE_PATH,
    }
    files = {
        "__init__.py": _fill("__init__.py", values),
        "service.py": _service_py(service, values),
        "settings.py": _settings_py(service, values),
        "app.py": _app_py(service, values),
        "routes.py": _routes_py(service, values),
        "store.py": _fill("store_table.py" if table else "store_memory.py", {**values, "table": table or ""}),
        "openapi.yaml": _fill("openapi.yaml", {**values, "description": service.description.rstrip(".")}),
    }
    if service.queues:
        queues = "".join(f"- ``{queue}``, subscribed to ``{topic}``\n" for queue, topic in service.queues)
        files["handler.py"] = _fill("handler.py", {**values, "queues_doc": queues})
    out = {service.folder / name: text for name, text in files.items()}
    out[service.unit_test] = _unit_test(service, values)
    out[service.integration_test] = _integration_test(service, values)
    return out


def write(root: Path, files: dict[Path, str]) -> list[Path]:
    """Write ``files`` under ``root``; the paths written, relative to ``root``."""
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return sorted(files)


def remove(root: Path, paths: list[Path]) -> None:
    """Undo :func:`write`: the files, then the folders they left empty."""
    for path in paths:
        (root / path).unlink(missing_ok=True)
    for folder in sorted({p.parent for p in paths}, key=lambda p: len(p.parts), reverse=True):
        if (root / folder).is_dir() and not any((root / folder).iterdir()):
            (root / folder).rmdir()


def report(service: NewService, written: list[Path], generated: list[Path]) -> str:
    lines = [f"Created the service {service.name} (port {service.port} under seaway up):"]
    lines += [f"  {path}" for path in written]
    lines += ["Generated from its declaration (make generate):"] + [f"  {path}" for path in generated]
    lines += [
        "Next:",
        "  make test    reinstalls the project (the entry points now name it), then runs every test with its own",
        f"  make run     runs it with the others: http://127.0.0.1:{service.port}/readyz",
        f"  then write its routes (routes.py, described in openapi.yaml) and its storage (store.py): {service.folder}",
    ]
    return "\n".join(lines)


# --- checks ------------------------------------------------------------------------------------------------


def _generator():
    try:
        from seaway_tools import generate
    except ImportError as error:
        raise Refused(f"the generator is missing (seaway_tools.generate: {error}); nothing written") from None
    return generate


def _declarations(root: Path) -> dict:
    from seaway_tools.generate.declarations import declarations

    try:
        return declarations(root)
    except Exception as error:  # a broken declaration elsewhere: say which, write nothing
        raise Refused(f"cannot read the declarations under {root}: {error}") from None


def _applications(root: Path) -> list[str]:
    return sorted(
        folder.name
        for folder in (root / "services").iterdir()
        if (folder / "__init__.py").is_file() and folder.name not in KIT_PACKAGES
    )


def _chart_keys(root: Path, app: str, declared: dict) -> set[str]:
    """The umbrella chart's own top-level values (not services), in lower case."""
    path = root / "charts" / app / "values.yaml"
    values = yaml.safe_load(path.read_text()) if path.is_file() else None
    return {key.lower() for key in (values or {}) if key not in declared}


def _label(what: str, value: str, longest: int) -> None:
    if not _LABEL.match(value) or len(value) > longest:
        raise Refused(
            f"{what} {value!r} is not a DNS label of at most {longest} characters "
            "(lower-case letters, digits and hyphens; a letter first, no hyphen last)"
        )


def _unique(option: str, values: list[str] | tuple[str, ...]) -> None:
    repeated = sorted({value for value in values if list(values).count(value) > 1})
    if repeated:
        raise Refused(f"{option} {repeated[0]!r} is given twice")


def _refuse_existing(root: Path, service: NewService, files: dict[Path, str]) -> None:
    if (root / service.folder).exists():
        raise Refused(f"{service.folder} exists already")
    for path in files:
        if (root / path).exists():
            raise Refused(f"{path} exists already")


def _describe(tables, topics, queues, buckets) -> str:
    parts = [f"{', '.join(tables)} (DynamoDB)"] if tables else []
    parts += [f"events to {', '.join(topics)} (SNS)"] if topics else []
    parts += [f"events from {', '.join(queues)} (SQS)"] if queues else []
    parts += [f"objects in {', '.join(buckets)} (S3)"] if buckets else []
    text = ", ".join(parts) or "an HTTP API"
    if len(text) > DESCRIPTION_MAX:  # long names: the kinds only
        kinds = [("DynamoDB", tables), ("SNS", topics), ("SQS", queues), ("S3", buckets)]
        text = ", ".join(kind for kind, names in kinds if names)
    return text[:1].upper() + text[1:]


# --- files -------------------------------------------------------------------------------------------------


def _fill(template: str, values: dict[str, str]) -> str:
    text = resources.files("seaway_tools").joinpath("templates", "service", f"{template}.tmpl").read_text()
    return Template(text).substitute(values).rstrip("\n") + "\n"


def _dict(values: dict[str, str]) -> str:
    """A dict literal, one entry a line (ruff keeps it so: the trailing comma)."""
    return "{" + "".join(f'\n    "{key}": "{value}",' for key, value in values.items()) + ("\n}" if values else "}")


def _docstring(subject: str, description: str) -> str:
    """``subject: description.`` on one line when it fits, else the description as a paragraph of its own."""
    line = f'"""{subject}: {description}."""'
    return line if len(line) <= LINE_MAX else f'"""{subject}.\n\n{description}.\n"""'


def _tuple(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{v}"' for v in values) + ("," if len(values) == 1 else "") + ")"


def _service_py(service: NewService, values: dict[str, str]) -> str:
    declared = service.declaration()
    fields = ""
    if service.calls:
        fields += f"    calls={_tuple(service.calls)},\n"
    if service.callers:
        fields += f"    callers={_tuple(service.callers)},\n"
    entries = [_resource(resource) for resource in declared.resources]
    if len(entries) == 1:
        fields += f"    resources=({entries[0]},),\n"
    elif entries:
        fields += "    resources=(\n" + "".join(f"        {entry},\n" for entry in entries) + "    ),\n"
    if service.app != Service.part_of:
        fields += f'    part_of="{service.app}",\n'
    kinds = sorted({"Service"} | {type(resource).__name__ for resource in declared.resources})
    return _fill("service.py", {**values, "port": str(service.port), "kinds": ", ".join(kinds), "fields": fields})


def _resource(resource: Table | Topic | Queue | Bucket) -> str:
    if isinstance(resource, Table):
        return f'Table("{resource.name}", hash_key="id")'
    if isinstance(resource, Queue):
        return f'Queue("{resource.name}", topic="{resource.topic}")'
    return f'{type(resource).__name__}("{resource.name}")'


def _field(resource: Table | Topic | Queue | Bucket) -> str:
    return resource_env(resource).lower()


def _settings_py(service: NewService, values: dict[str, str]) -> str:
    declared = service.declaration()
    fields = []
    for resource in declared.resources:
        if isinstance(resource, Table):
            # The table's name is the same everywhere (the charts set it too); other names come from outside.
            fields.append(f'    {_field(resource)}: str = setting("{physical_name(declared, resource)}")')
        else:
            fields.append(f"    {_field(resource)}: str = setting()")
    if service.queues:
        fields.append("    # Off to serve only health and metrics (for example while a queue is drained by hand).")
        fields.append("    consume_events: bool = setting(True)")
        fields.append("    # Long polling: a receive waits this long for messages; shutdown may wait for it too.")
        fields.append("    consumer_wait_seconds: int = setting(10, minimum=0, maximum=20)")
    fields += [f"    {url_env(callee).lower()}: str = setting()" for callee in service.calls]
    imports = ["from seaway.client import ClientSettings"] if service.calls else []
    imports += ["from seaway.config import setting"] if fields else []
    return _fill(
        "settings.py",
        {
            **values,
            "imports": "".join(f"\n{line}" for line in imports) + ("\n" if imports else ""),
            "base": "(ClientSettings)" if service.calls else "",
            "fields": "".join(f"\n{line}" for line in fields),
        },
    )


def _checks(service: NewService) -> list[tuple[str, str]]:
    """Each readiness check as (its name, the callable); topics have none (the role may only publish)."""
    declared = service.declaration()
    checks: list[tuple[str, str]] = []
    kinds = [resource.kind for resource in declared.resources]
    for resource in declared.resources:
        word = {"table": "dynamodb", "queue": "queue", "bucket": "bucket"}.get(resource.kind)
        if word is None:
            continue
        name = word if kinds.count(resource.kind) == 1 else f"{word}-{resource.name}"
        if isinstance(resource, Table) and resource.name == service.tables[0]:
            checks.append((name, "store.ping"))
        elif isinstance(resource, Table):
            checks.append((name, f"partial(_table_ready, settings.{_field(resource)})"))
        elif isinstance(resource, Queue):
            checks.append((name, f"{_consumer(resource)}.check"))
        else:
            checks.append((name, f"partial(_bucket_ready, settings.{_field(resource)})"))
    return checks


def _consumer(queue: Queue) -> str:
    return f"{package_name(queue.name)}_consumer"


def _app_py(service: NewService, values: dict[str, str]) -> str:
    declared = service.declaration()
    extra_tables = [r for r in declared.resources if isinstance(r, Table) and r.name != service.tables[0]]
    buckets = [r for r in declared.resources if isinstance(r, Bucket)]
    queues = [r for r in declared.resources if isinstance(r, Queue)]
    helpers = ""
    if extra_tables:
        helpers += (
            '\n\ndef _table_ready(name: str) -> None:\n    """Readiness: the table exists and DynamoDB answers."""\n'
            '    aws.client("dynamodb", probe=True).describe_table(TableName=name)\n'
        )
    if buckets:
        helpers += (
            '\n\ndef _bucket_ready(name: str) -> None:\n    """Readiness: the bucket exists and S3 answers."""\n'
            '    aws.client("s3", probe=True).head_bucket(Bucket=name)\n'
        )
    configured = bool(declared.resources or service.calls)  # else Settings has no field to read
    kit = {"openapi"} | ({"config"} if configured else set()) | ({"aws"} if helpers else set())
    kit |= {"events"} if queues else set()
    own = ["handler", "routes"] if queues else ["routes"]
    imports = [f"from seaway import {', '.join(sorted(kit))}"]
    imports += ["from seaway.client import ServiceClient"] if service.calls else []
    imports += [f"from {service.module} import {', '.join(own)}"]
    imports += [f"from {service.module}.settings import Settings"] if configured else []
    imports += [f"from {service.module}.store import ItemStore"]

    wiring = f"    store = ItemStore(settings.{_field(declared.resources[0])})\n" if service.tables else ""
    wiring = wiring or "    store = ItemStore()\n"
    for queue in queues:
        wiring += (
            f"    {_consumer(queue)} = events.Consumer(\n"
            f"        settings.{_field(queue)},\n"
            "        handler.handle,\n"
            "        processed_table=None,\n"
            "        wait_seconds=settings.consumer_wait_seconds,\n"
            "    )\n"
        )
    wiring += "".join(f'    seaway.add_check(app, "{name}", {check})\n' for name, check in _checks(service))
    for queue in queues:
        wiring += f"    if settings.consume_events:\n        {_consumer(queue)}.start()\n"
    if service.topics:
        wiring += (
            "    # Publish to its topics with seaway.events.publish(settings.<topic>_topic_arn, Event.new(...)); no\n"
            "    # readiness check on a topic: the service's role may only publish.\n"
        )
    for callee in service.calls:
        wiring += (
            f'    {package_name(callee)} = ServiceClient("{callee}", settings, '
            f"base_url=settings.{url_env(callee).lower()})\n"
        )
    arguments = ["store"] + [f"{package_name(callee)}={package_name(callee)}" for callee in service.calls]
    return _fill(
        "app.py",
        {
            **values,
            "load": "    settings = config.load(Settings)\n" if configured else "",
            "stdlib": "\nfrom functools import partial\n" if helpers else "",
            "imports": "".join(f"{line}\n" for line in imports),
            "wiring": wiring,
            "blueprint_args": ", ".join(arguments),
            "helpers": helpers,
        },
    )


def _routes_py(service: NewService, values: dict[str, str]) -> str:
    imports = ["from seaway.client import ServiceClient"] if service.calls else []
    imports += [f"from {service.module}.store import ItemNotFound, ItemStore"]
    peers = [f"{package_name(callee)}: ServiceClient" for callee in service.calls]
    signature = ", ".join(["store: ItemStore", *(["*", *peers] if peers else [])])
    peers_doc = ""
    for callee in service.calls:
        client = package_name(callee)
        peers_doc += f'\n\n    ``{client}`` calls the {callee} service (``{client}.get("/...")``, see seaway.client).'
    if peers_doc:
        peers_doc += "\n    "
    return _fill(
        "routes.py",
        {
            **values,
            "imports": "".join(f"{line}\n" for line in imports),
            "signature": signature,
            "peers_doc": peers_doc,
        },
    )


def _fake_env(service: NewService) -> dict[str, str]:
    """Values that let the app build with no AWS call and no background work (the unit tests')."""
    env: dict[str, str] = {}
    for resource in service.declaration().resources:
        if isinstance(resource, Topic):
            env[resource_env(resource)] = f"arn:aws:sns:us-east-1:123456789012:{resource.name}"
        elif isinstance(resource, Queue):
            env[resource_env(resource)] = f"http://sqs.invalid/123456789012/{resource.name}"
        elif isinstance(resource, Bucket):
            env[resource_env(resource)] = f"{service.app}-{resource.name}-123456789012-us-east-1"
    if service.queues:
        env["CONSUME_EVENTS"] = "false"
    env |= {url_env(callee): f"http://{callee}.invalid" for callee in service.calls}
    return env | {"AWS_REGION": "us-east-1"}


def _unit_test(service: NewService, values: dict[str, str]) -> str:
    table = bool(service.tables)
    fake_store = (
        "\n\nclass DictStore:\n"
        '    """The store in a dict, so no test here needs DynamoDB (the integration test uses the table)."""\n\n'
        "    def __init__(self, table: str) -> None:\n"
        "        self.items: dict[str, dict] = {}\n\n"
        "    def ping(self) -> None:\n"
        "        pass\n\n"
        "    def get(self, item_id: str) -> dict:\n"
        "        if item_id not in self.items:\n"
        "            raise ItemNotFound(item_id)\n"
        "        return self.items[item_id]\n\n"
        "    def put(self, item: dict) -> dict:\n"
        '        self.items[item["id"]] = {**item, "updated_at": "2026-01-01T00:00:00.000Z"}\n'
        '        return self.items[item["id"]]\n'
    )
    return _fill(
        "test_unit.py",
        {
            **values,
            "unit_doc": "; its table is a dict" if table else "",
            "store_import": f"from {service.module}.store import ItemNotFound\n" if table else "",
            "env": _dict(_fake_env(service)),
            "fake_store": fake_store if table else "",
            "patch_store": '    monkeypatch.setattr(service_app, "ItemStore", DictStore)\n' if table else "",
        },
    )


def _integration_test(service: NewService, values: dict[str, str]) -> str:
    env = {url_env(callee): f"http://{callee}.invalid" for callee in service.calls}
    notes = []
    if service.calls:
        notes.append("# The services it calls are not started: the example routes do not call them.")
    if not service.tables:
        notes.append("# One worker: the example store keeps items in the memory of a process.")
        env["WORKERS"] = "1"
    if service.queues:
        notes.append("# Short long-polls, so the consumer stops quickly.")
        env["CONSUMER_WAIT_SECONDS"] = "1"
    owners = [service.name, *service.topic_owners]
    checks = _dict({name: "ok" for name, _ in _checks(service)})
    return _fill(
        "test_integration.py",
        {
            **values,
            "env_doc": "\n".join(notes),
            "env": _dict(env),
            "resource_owners": ", ".join(f'"{owner}"' for owner in owners),
            "checks": checks,
        },
    )


def format_python(root: Path, paths: list[Path]) -> None:
    """ruff's layout, where the names made a line too long for the templates' (ruff is a dev dependency:
    without it the code is the same, laid out as written)."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff and paths:
        subprocess.run([ruff, "format", "--quiet", *map(str, paths)], cwd=root, check=False, timeout=60)
