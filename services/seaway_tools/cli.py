"""The ``seaway`` command: ``seaway up`` runs the application locally; ``seaway services`` lists them;
``seaway cloudformation`` prints the AWS template; ``seaway create-resources`` fills an emulator;
``seaway generate`` writes (``--check``: checks) every file generated from the declarations; ``seaway new``
starts a service."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from seaway.service import discover
from seaway_tools import cloudformation, new, resources
from seaway_tools import up as local


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seaway", description="Seaway: Python microservices on EKS.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("up", help="run services and the AWS emulator on this machine", description=local.__doc__)
    run.add_argument("services", nargs="*", help="services to start (default: all declared)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    run.add_argument("--port-offset", type=int, default=0, help="add this to every declared port")
    run.add_argument(
        "--emulator-port",
        type=int,
        default=local.EMULATOR_PORT,
        help=f"port of the AWS emulator (default: {local.EMULATOR_PORT})",
    )
    run.add_argument(
        "--dashboard-port",
        type=int,
        default=local.DASHBOARD_PORT,
        help=f"port of the ops view, on 127.0.0.1 (default: {local.DASHBOARD_PORT})",
    )
    run.add_argument("--no-dashboard", action="store_true", help="no ops view: the services' output only")
    listing = commands.add_parser("services", help="list the declared services")
    listing.add_argument("-o", "--output", choices=("table", "json"), default="table")
    commands.add_parser(
        "cloudformation", help="print the CloudFormation of the declared AWS resources and roles (k8s/eks)"
    )
    commands.add_parser(
        "create-resources", help="create the declared AWS resources at AWS_ENDPOINT_URL (an emulator); print them"
    )
    generating = commands.add_parser(
        "generate", help="write every file generated from the declarations (make generate); print what changed"
    )
    generating.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each stale file")
    generating.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    new.configure(commands.add_parser("new", help="start a service: its package, its tests, the generated files"))
    args = parser.parse_args(argv)

    if args.command == "new":
        return new.run(args)
    if args.command == "generate":
        return _generate(args.root, check=args.check)
    declared = discover()
    if args.command == "cloudformation":
        print(cloudformation.render(declared), end="")
        return 0
    if args.command == "create-resources":
        print(json.dumps(resources.create(declared.values()), indent=2, sort_keys=True))
        return 0
    if args.command == "services":
        if args.output == "json":
            print(json.dumps({name: asdict(service) for name, service in declared.items()}, indent=2))
        else:
            for service in declared.values():
                print(f"{service.name:<12} :{service.port}  {service.description}")
        return 0
    unknown = sorted(set(args.services) - set(declared))
    if unknown:
        print(f"seaway: unknown service {', '.join(unknown)} (declared: {', '.join(declared)})", file=sys.stderr)
        return 2
    chosen = [declared[name] for name in (args.services or declared)]
    return local.up(
        chosen,
        host=args.host,
        port_offset=args.port_offset,
        emulator_port=args.emulator_port,
        dashboard_port=None if args.no_dashboard else args.dashboard_port,
    )


def _generate(root: Path, *, check: bool) -> int:
    from seaway_tools import generate

    if check:
        outdated = generate.stale(root)
        for path in outdated:
            print(f"{path}: stale; run make generate", file=sys.stderr)
        return 1 if outdated else 0
    for path in generate.write_all(root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
