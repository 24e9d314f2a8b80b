"""``kubectl seaway``: the command line, wiring each subcommand to the module that does its work.

Installed as the console script ``kubectl-seaway``, which kubectl runs for ``kubectl seaway ...``. Every
failure a person can cause or meet ends as one line on stderr and a documented exit status (see
:mod:`seaway_tools.kubectl.errors`), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from seaway_tools.kubectl import inventory, logs, rollout, smoke, status, table
from seaway_tools.kubectl.cluster import Cluster, connect
from seaway_tools.kubectl.duration import parse_duration
from seaway_tools.kubectl.errors import (
    EXIT_CODES_HELP,
    EXIT_USAGE,
    AccessDenied,
    ClusterUnreachable,
    PluginError,
    Unhealthy,
    UnknownService,
    UsageError,
    exit_codes_help,
)
from seaway_tools.kubectl.logline import LogFilter, format_record, normalize_level, normalize_trace_id
from seaway_tools.kubectl.portforward import forward

PROG = "kubectl seaway"
ERROR_PREFIX = "kubectl-seaway"

DESCRIPTION = """\
Status, logs, restarts, scaling and smoke checks for Seaway services on Kubernetes.

A Seaway service is a Deployment labelled seaway.dev/service=<name>. The plugin uses your kubeconfig
like kubectl does: --kubeconfig, else $KUBECONFIG, else ~/.kube/config; --context, else the current
context; -n/--namespace, else the context's namespace, else "default". These options may come before
or after the command."""

EXAMPLES = """\
examples:
  kubectl seaway status                      # one row and a verdict per service
  kubectl seaway status -A -o wide           # every namespace, more columns
  kubectl seaway logs catalog --level WARNING --since 10m
  kubectl seaway logs --trace 0af7651916cd43dd8448eb211c80319c   # one request across all services
  kubectl seaway restart orders --timeout 3m
  kubectl seaway scale catalog 4
  kubectl seaway smoke                       # through a port-forward to a gateway pod
  kubectl seaway smoke --gateway-url http://localhost:8080"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the plugin; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except PluginError as error:
        _error(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _parser(PROG, DESCRIPTION, EXAMPLES, parents=[_cluster_options()])
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    status_cmd = _command(
        commands,
        "status",
        "one row and a verdict per Seaway service",
        """\
One row per Seaway service: replicas desired/ready/updated/available, image tag, container restarts
in the last hour, age of the last rollout, HPA (current replicas, min-max, CPU now/target), pods in
the mesh (istio-proxy sidecar, native sidecar or ambient), PDB disruptions allowed, and a verdict:

  ok           every wanted replica is ready
  progressing  a rollout is under way
  degraded     crash-looping, image pull failing, unschedulable, rollout stuck, sidecar missing,
               HPA at max, or fewer ready than wanted outside a rollout
  down         replicas are wanted and none is available

RESTARTS(1H) is a lower bound: the API keeps only the last termination of each container, so a
container of a pod older than an hour counts at most one restart.""",
        """\
examples:
  kubectl seaway status
  kubectl seaway status catalog orders -n storefront
  kubectl seaway status -A -o json | jq '.services[] | select(.verdict != "ok")'
  kubectl seaway status || echo "not healthy"     # gate a pipeline on it""",
        exit_codes_help("every service ok or progressing", "a service degraded or down"),
    )
    status_cmd.add_argument("services", nargs="*", metavar="SERVICE", help="only these services")
    status_cmd.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="services of every namespace, with a NAMESPACE column",
    )
    status_cmd.add_argument(
        "-o",
        "--output",
        choices=["table", "wide", "json"],
        default="table",
        help="output format (default: table)",
    )
    status_cmd.add_argument(
        "--mesh",
        choices=["auto", "require", "ignore"],
        default="auto",
        help="expect the mesh on every pod: auto = where any Seaway pod of the namespace is meshed (default)",
    )
    status_cmd.set_defaults(run=_status)

    logs_cmd = _command(
        commands,
        "logs",
        "follow the logs of every pod of a service, readably",
        """\
Follows the 'app' container of every pod of SERVICE at once and prints the kit's JSON lines as
  12:01:02.345 INFO  catalog  x2x4k  GET /products 200 3.1ms  [req=... trace=...]
(time in UTC, level, service, pod suffix, message or access line, request and trace ids). Lines
that are not JSON pass through unchanged. Pods started after the command are not followed.

Without SERVICE, --trace searches the logs of every Seaway service in the namespace (without
following) and prints that trace's lines across services in time order: one request's story.""",
        """\
examples:
  kubectl seaway logs catalog
  kubectl seaway logs orders --level WARNING --since 30m --no-follow
  kubectl seaway logs gateway --trace 0af7651916cd43dd8448eb211c80319c
  kubectl seaway logs --trace 0af7651916cd43dd8448eb211c80319c --since 1h""",
        exit_codes_help("done (130 when stopped with Ctrl-C)", "--trace without SERVICE found no line"),
    )
    logs_cmd.add_argument("service", nargs="?", metavar="SERVICE", help="the service (omit with --trace)")
    logs_cmd.add_argument(
        "--level", type=_level, metavar="LEVEL", help="minimum level: DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
    logs_cmd.add_argument("--since", type=_duration, metavar="DURATION", help="only lines newer than this: 5m, 1h")
    logs_cmd.add_argument(
        "--trace",
        type=_trace,
        metavar="TRACE_ID",
        help="only lines of this trace (32 hex digits, or an X-Ray id)",
    )
    logs_cmd.add_argument("--no-follow", action="store_true", help="print what is there and stop")
    logs_cmd.set_defaults(run=_logs)

    restart_cmd = _command(
        commands,
        "restart",
        "rolling restart of a service, waiting for the rollout",
        """\
Restarts every pod of SERVICE under its Deployment's rolling-update rules (the pod template
annotation kubectl.kubernetes.io/restartedAt, as 'kubectl rollout restart' sets it), then waits like
'kubectl rollout status': until the new spec is observed and every replica is updated and available
with no old replica left.""",
        """\
examples:
  kubectl seaway restart catalog
  kubectl seaway restart orders --timeout 2m
  kubectl seaway restart gateway --no-wait""",
        exit_codes_help("rolled out", "not rolled out within --timeout, or past its progress deadline"),
    )
    restart_cmd.add_argument("service", metavar="SERVICE")
    restart_cmd.add_argument(
        "--timeout", type=_duration, default=300.0, metavar="DURATION", help="how long to wait (default: 5m)"
    )
    restart_cmd.add_argument("--no-wait", action="store_true", help="start the restart and return")
    restart_cmd.set_defaults(run=_restart)

    scale_cmd = _command(
        commands,
        "scale",
        "set the number of replicas of a service",
        """\
Sets the replicas of SERVICE's Deployment through its scale subresource, as 'kubectl scale' does.
When a HorizontalPodAutoscaler manages the Deployment, it will soon set the replicas back within its
own min-max: the command warns about it. Change the HPA (the chart's values) for a lasting change.""",
        """\
examples:
  kubectl seaway scale catalog 4
  kubectl seaway scale fulfillment 0 -n storefront""",
        exit_codes_help("scaled"),
    )
    scale_cmd.add_argument("service", metavar="SERVICE")
    scale_cmd.add_argument("replicas", type=_replicas, metavar="REPLICAS")
    scale_cmd.set_defaults(run=_scale)

    smoke_cmd = _command(
        commands,
        "smoke",
        "smoke-check the storefront through its gateway",
        """\
Port-forwards to a ready pod of the gateway service through the Kubernetes API (port 8080) and runs
the smoke checks, printing each with its result and time:
  GET /readyz is 200
  GET /api/products returns a non-empty 'items' list
  POST /api/orders without a token is refused (401 from the gateway, or 403 from the mesh)
  the customer signs in: GET /api/sign-in names the user pool's endpoint and app client, Cognito's
    InitiateAuth (USER_PASSWORD_AUTH) returns an access token (the emulator on kind, Cognito on EKS)
  POST /api/orders with the token (and an Idempotency-Key) returns 201 and the order's id
  GET /api/orders/<id> reaches status 'fulfilled' within --timeout
  GET /api/me/orders lists the order
After a failure the remaining checks are skipped. With --gateway-url no cluster is needed.
The customer is --customer (default: the first demo customer of the declarations, which exist in the
emulator only); the password is $SEAWAY_CUSTOMER_PASSWORD, else the demo customer's.""",
        """\
examples:
  kubectl seaway smoke -n storefront
  kubectl seaway smoke --gateway-url http://localhost:8080 --timeout 60s
  SEAWAY_CUSTOMER_PASSWORD=... kubectl seaway smoke --customer smoke-test   # on EKS: a customer of yours""",
        exit_codes_help("every check passed", "a check failed, or no gateway pod is ready"),
    )
    smoke_cmd.add_argument("--gateway-url", metavar="URL", help="check this URL instead of port-forwarding")
    smoke_cmd.add_argument(
        "--gateway-service",
        default="gateway",
        metavar="SERVICE",
        help="service to port-forward to (default: gateway)",
    )
    smoke_cmd.add_argument("--port", type=int, default=8080, help="the gateway pod's port (default: 8080)")
    smoke_cmd.add_argument(
        "--timeout",
        type=_duration,
        default=smoke.FULFILMENT_TIMEOUT,
        metavar="DURATION",
        help="how long the order may take to be fulfilled (default: 30s)",
    )
    smoke_cmd.add_argument(
        "--customer",
        metavar="USERNAME",
        help="who signs in (default: the first demo customer; password: $SEAWAY_CUSTOMER_PASSWORD)",
    )
    smoke_cmd.set_defaults(run=_smoke)
    return parser


# --- commands ---------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    cluster = _connect(args)
    found = inventory.workloads(cluster, all_namespaces=args.all_namespaces)
    now = datetime.now(UTC)
    rows = status.service_statuses(
        found.deployments, found.pods, found.replicasets, found.hpas, found.pdbs, now=now, mesh=args.mesh
    )
    if args.services:
        missing = sorted(set(args.services) - {row.service for row in rows})
        if missing:
            where = "any namespace" if args.all_namespaces else f'namespace "{cluster.namespace}"'
            there = ", ".join(sorted({row.service for row in rows})) or "none"
            raise UnknownService(f'no Seaway service "{missing[0]}" in {where} (services there: {there})')
        rows = [row for row in rows if row.service in args.services]
    if args.output == "json":
        print(table.render_json(rows))
    elif rows:
        print(table.render_table(rows, now=now, wide=args.output == "wide", namespaces=args.all_namespaces))
    else:
        where = "any namespace" if args.all_namespaces else f"namespace {cluster.namespace}"
        print(f"No Seaway services found in {where}.", file=sys.stderr)
    return 0 if all(row.healthy for row in rows) else 1


def _logs(args: argparse.Namespace) -> int:
    since = int(args.since) if args.since else None
    if args.service is None and args.trace is None:
        raise _usage("logs", "give SERVICE, or --trace TRACE_ID to search every service")
    cluster = _connect(args)
    if args.service is None:
        records, failures = logs.trace_story(cluster, inventory.service_pods(cluster), args.trace, since_seconds=since)
        for failure in failures:
            _pod_failure(failure)
        for record in records:
            if LogFilter(min_level=args.level).accepts(record):
                print(format_record(record))
        if not records:
            _error(f"no log line carries trace {args.trace} in namespace {cluster.namespace}")
            return 1
        return 0
    pods = inventory.service_pods(cluster, args.service)
    if not pods:
        _warn(f'service "{args.service}" has no pods in namespace {cluster.namespace}')
        return 0
    wanted = LogFilter(min_level=args.level, trace_id=args.trace)
    follow = not args.no_follow
    stream = logs.pod_logs(cluster, pods, follow=follow, since_seconds=since)
    if follow:
        for item in stream:
            if isinstance(item, logs.PodFailure):
                _pod_failure(item)
            elif wanted.accepts(item):
                print(format_record(item), flush=True)
        return 0
    records = []
    for item in stream:
        if isinstance(item, logs.PodFailure):
            _pod_failure(item)
        elif wanted.accepts(item):
            records.append(item)
    for record in logs.in_time_order(records):
        print(format_record(record))
    return 0


def _restart(args: argparse.Namespace) -> int:
    cluster = _connect(args)
    deployment = inventory.find_deployment(cluster, args.service)
    name = deployment.metadata.name
    rollout.restart(cluster, deployment, datetime.now(UTC))
    print(f"deployment.apps/{name} restarted", flush=True)
    if args.no_wait:
        return 0
    progress = rollout.wait_for_rollout(
        cluster, name, timeout=args.timeout, report=lambda message: print(message, flush=True)
    )
    if progress.done:
        return 0
    if progress.failed:
        raise Unhealthy(progress.message)
    raise Unhealthy(f'deployment "{name}" did not finish rolling out within {args.timeout:g}s')


def _scale(args: argparse.Namespace) -> int:
    cluster = _connect(args)
    deployment = inventory.find_deployment(cluster, args.service)
    name = deployment.metadata.name
    hpa = inventory.hpa_for(cluster, deployment)
    rollout.scale(cluster, deployment, args.replicas)
    print(f"deployment.apps/{name} scaled to {args.replicas}")
    if hpa is not None:
        low = 1 if hpa.spec.min_replicas is None else hpa.spec.min_replicas
        _warn(
            f"HorizontalPodAutoscaler {hpa.metadata.name} manages deployment {name} between {low} and "
            f"{hpa.spec.max_replicas} replicas and will override this scale; change the HPA instead"
        )
    return 0


def _smoke(args: argparse.Namespace) -> int:
    def report(result: smoke.CheckResult) -> None:
        print(result, flush=True)

    customer = _smoke_customer(args.customer)
    if args.gateway_url:
        print(f"smoke checks against {args.gateway_url}", flush=True)
        results = smoke.run_smoke(args.gateway_url, customer, timeout=args.timeout, report=report)
    else:
        cluster = _connect(args)
        pod = _ready_pod(cluster, args.gateway_service)
        with forward(cluster, pod, args.port) as url:
            print(f"smoke checks against pod {pod}:{args.port} (port-forward {url})", flush=True)
            results = smoke.run_smoke(url, customer, timeout=args.timeout, report=report)
    passed = sum(result.ok for result in results)
    print(f"{passed}/{len(results)} checks passed")
    return 0 if passed == len(results) else 1


# --- helpers ----------------------------------------------------------------------------------------


def _smoke_customer(username: str | None) -> smoke.Customer:
    """--customer with $SEAWAY_CUSTOMER_PASSWORD, or a demo customer of the declarations with their password."""
    from seaway_tools.resources import demo_customers  # the declarations: only this command needs them

    demo = dict(demo_customers())
    username = username or next(iter(demo), None)
    password = os.environ.get("SEAWAY_CUSTOMER_PASSWORD") or demo.get(username or "")
    if not username or not password:
        raise UsageError(
            f"no password for customer {username or '(none declared)'}: set SEAWAY_CUSTOMER_PASSWORD"
            + ("" if username else " and --customer")
        )
    return smoke.Customer(username, password)


def _connect(args: argparse.Namespace) -> Cluster:
    return connect(
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        namespace=getattr(args, "namespace", None),
        request_timeout=getattr(args, "request_timeout", 30.0) or None,
    )


def _ready_pod(cluster: Cluster, service: str) -> str:
    for pod in reversed(inventory.service_pods(cluster, service)):  # newest first
        conditions = pod.status.conditions if pod.status else None
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions or [])
        if ready and pod.metadata.deletion_timestamp is None:
            return pod.metadata.name
    raise Unhealthy(f'no ready pod of service "{service}" in namespace {cluster.namespace}')


def _pod_failure(failure: logs.PodFailure) -> None:
    if isinstance(failure.error, AccessDenied | ClusterUnreachable):
        raise failure.error
    _warn(f"pod {failure.pod}: {failure.error}")


def _error(message: str) -> None:
    print(f"{ERROR_PREFIX}: error: {message}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    print(f"{ERROR_PREFIX}: warning: {message}", file=sys.stderr, flush=True)


class _UsageError(PluginError):
    exit_code = EXIT_USAGE


def _usage(command: str, message: str) -> PluginError:
    return _UsageError(f"{command}: {message} (see '{PROG} {command} --help')")


def _cluster_options() -> argparse.ArgumentParser:
    """Options accepted before and after the command; SUPPRESS keeps a later parser from resetting them."""
    options = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = options.add_argument_group("cluster options")
    group.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    group.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current context)")
    group.add_argument(
        "-n",
        "--namespace",
        metavar="NAMESPACE",
        help="namespace (default: the context's namespace, else default)",
    )
    group.add_argument(
        "--request-timeout",
        type=_duration,
        metavar="DURATION",
        help="give up on an API request after this long; 0 waits forever (default: 30s)",
    )
    return options


def _parser(prog: str, description: str, epilog: str, parents: list) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"{epilog}\n\n{EXIT_CODES_HELP}" if prog == PROG else epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )


def _command(
    commands, name: str, summary: str, description: str, examples: str, exit_codes: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=textwrap.dedent(description),
        epilog=f"{examples}\n\n{exit_codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_cluster_options()],
    )


def _argument_type(parse: Callable[[str], object], name: str) -> Callable[[str], object]:
    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name
    return convert


_duration = _argument_type(parse_duration, "duration")
_level = _argument_type(normalize_level, "level")
_trace = _argument_type(normalize_trace_id, "trace id")


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"replicas must be 0 or more, not {value}")
    return value


_replicas = _argument_type(_non_negative, "replicas")
