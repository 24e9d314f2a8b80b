"""The dashboards and alerts of k8s/observability, from the declarations and one description of the objectives.

- ``grafana/<service>.json``: a dashboard per declared service (rate, errors, latency, saturation, error-budget
  burn, and panels for what the service declares: calls to other services, its caches, a topic it
  publishes to, a queue it consumes), and ``grafana/<part_of>.json`` for the whole application;
- ``prometheusrule.yaml``: SLO recording rules and burn-rate alerts for the services that serve HTTP;
- ``cloudwatch.yaml``: written by hand (CloudFormation's intrinsics) but for its generated region, the
  parameters whose defaults come from the declarations (the HTTP services, each consumed queue and its
  dead-letter queue).

The objectives live here once: availability 99.9 % (a 5xx is an error) and latency 99 % of requests within
0.25 s (seaway.metrics.LATENCY_OBJECTIVE_SECONDS, a histogram bucket bound), per service (Prometheus
``job``, the chart's full name). The alerts are the multi-window, multi-burn-rate alerts of the Google SRE
workbook ("Alerting on SLOs", recommendation 6): page at 14.4x over 1h and 5m or 6x over 6h and 30m, ticket
at 3x over 1d and 2h or 1x over 3d and 6h. A page also needs at least PAGE_MIN_REQUEST_RATE requests a second
over the short window, and holds for PAGE_FOR: with a handful of requests (a start-up) one slow or failed
request is a ratio far above any burn rate, and paging on it is noise.

The objectives cover the services something calls over HTTP (their declaration names callers, or the service
is public): a worker with no routes of its own (fulfillment) has no HTTP traffic to judge, and its alerts are
on its events (the chart's PrometheusRule) and its queues (cloudwatch.yaml). The ratio rules fall back to 0
when a service has had no 5xx yet (the series would be empty, not 0); the kit also exposes each route's 500
series at 0 from the start (seaway.metrics), so Prometheus sees the first error.

tests/integration/test_dashboards.py checks every query against the metrics the services expose;
tests/fidelity/test_alerts.py runs every alert through promtool; tests/deploy/test_generated.py that the
files are current.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import yaml

from seaway.service import Queue, Service, Topic, callers_of, dead_letter_name, physical_name
from seaway_tools.generate import regions
from seaway_tools.generate.declarations import Declared

FOLDER = Path("k8s/observability")


def http_services(services: Mapping[str, Service]) -> tuple[str, ...]:
    """The services something calls over HTTP: the ones with objectives."""
    return tuple(name for name, service in services.items() if callers_of(name, services) or service.public)


def queues(services: Mapping[str, Service]) -> tuple[tuple[str, str], ...]:
    """(physical name, dead-letter queue) of every consumed queue."""
    return tuple(
        (physical_name(service, resource), dead_letter_name(service, resource))
        for service in services.values()
        for resource in service.resources
        if isinstance(resource, Queue)
    )


OBJECTIVES = {
    # name: (objective, what counts as an error)
    "availability": (0.999, "5xx responses"),
    "latency": (0.99, "requests slower than 0.25 s"),
}
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, long window, short window, burn rate): Google SRE workbook, chapter 5, table 5-8.
BURN_ALERTS = (
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6),
    ("ticket", "1d", "2h", 3),
    ("ticket", "3d", "6h", 1),
)
# A page needs this many requests a second over its short window (150 in 5 min: one 5xx is 0.67 %, under
# 14.4x the budget), and the condition held this long.
PAGE_MIN_REQUEST_RATE = 0.5
PAGE_FOR = "2m"
DURATION = "http_server_request_duration_seconds"


def sli_expr(objective: str, window: str, jobs: str) -> str:
    total = f"sum by (job) (rate({DURATION}_count{{{jobs}}}[{window}]))"
    if objective == "availability":
        bad = f'sum by (job) (rate({DURATION}_count{{{jobs},http_response_status_code=~"5.."}}[{window}]))'
        return f"(\n  {bad}\n  or\n  0 * {total}\n)\n/\n{total}"
    good = f'sum by (job) (rate({DURATION}_bucket{{{jobs},le="0.25"}}[{window}]))'
    # (total - good) / total rather than 1 - good / total: exactly the budget stays exactly the budget.
    return f"(\n  {total}\n  -\n  {good}\n)\n/\n{total}"


def rate_record(window: str) -> str:
    return f"job:{DURATION}:rate{window}"


def record_name(objective: str, window: str) -> str:
    return f"job:slo_{objective}_errors:ratio_rate{window}"


def prometheus_rule(services: Mapping[str, Service]) -> dict:
    jobs = f'job=~"{"|".join(http_services(services))}"'
    recording = [
        {
            "name": "seaway-slo-recording",
            "rules": [
                {"record": rate_record("5m"), "expr": f"sum by (job) (rate({DURATION}_count[5m]))"},
                {"record": rate_record("30m"), "expr": f"sum by (job) (rate({DURATION}_count[30m]))"},
                {
                    "record": f"job_le:{DURATION}_bucket:rate5m",
                    "expr": f"sum by (job, le) (rate({DURATION}_bucket[5m]))",
                },
            ]
            + [
                {"record": record_name(objective, window), "expr": sli_expr(objective, window, jobs)}
                for objective in OBJECTIVES
                for window in WINDOWS
            ],
        }
    ]
    alerts = []
    for objective, (target, what) in OBJECTIVES.items():
        budget = round(1 - target, 6)
        for severity in ("page", "ticket"):
            page = severity == "page"
            conditions = [
                f"(\n  {record_name(objective, long)} > ({rate} * {budget})\n"
                f"  and\n  {record_name(objective, short)} > ({rate} * {budget})\n"
                + (f"  and\n  {rate_record(short)} >= {PAGE_MIN_REQUEST_RATE}\n" if page else "")
                + ")"
                for kind, long, short, rate in BURN_ALERTS
                if kind == severity
            ]
            windows = ", ".join(
                f"{rate}x over {long} and {short}" for kind, long, short, rate in BURN_ALERTS if kind == severity
            )
            guard = f" Pages only at {PAGE_MIN_REQUEST_RATE} requests/s or more over the short window." if page else ""
            alerts.append(
                {
                    "alert": f"Seaway{objective.capitalize()}BudgetBurn{'Fast' if page else 'Slow'}",
                    "expr": "\nor\n".join(conditions),
                    **({"for": PAGE_FOR} if page else {}),
                    "labels": {"severity": "critical" if severity == "page" else "warning", "slo": objective},
                    "annotations": {
                        "summary": f"{{{{ $labels.job }}}} is spending its {objective} error budget too fast",
                        "description": (
                            f"The {objective} objective is {target * 100:g}% (errors: {what}); the error budget "
                            f"burns at {windows}.{guard} {'Page' if page else 'Open a ticket'}."
                        ),
                    },
                }
            )
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "seaway-slo",
            "labels": {"app.kubernetes.io/part-of": "seaway", "release": "kube-prometheus-stack"},
        },
        "spec": {"groups": [*recording, {"name": "seaway-slo-alerts", "rules": alerts}]},
    }


# --- Grafana -----------------------------------------------------------------------------------------------

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def panel(title: str, targets: list[tuple[str, str]], unit: str, x: int, y: int, w: int = 12, h: int = 8) -> dict:
    return {
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard(uid: str, title: str, panels: list[dict], job_query: str) -> dict:
    return {
        "uid": uid,
        "title": title,
        "tags": ["seaway"],
        "editable": True,
        "schemaVersion": 39,
        "time": {"from": "now-3h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {
                    "name": "job",
                    "type": "query",
                    "label": "Service",
                    "datasource": DATASOURCE,
                    "query": {"query": job_query, "refId": "job"},
                    "definition": job_query,
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }


def red_panels(selector: str, y: int = 0) -> list[dict]:
    """Rate, errors, latency and saturation of the services matched by ``selector``."""
    budgets = {name: round(1 - target, 6) for name, (target, _) in OBJECTIVES.items()}
    rate = f"rate({DURATION}_count{{{selector}}}[$__rate_interval])"
    bucket = f"rate({DURATION}_bucket{{{selector}}}[$__rate_interval])"
    five = f'rate({DURATION}_count{{{selector},http_response_status_code=~"5.."}}[$__rate_interval])'
    return [
        panel(
            "Rate: requests per second by route",
            [(f"sum by (job, http_route) ({rate})", "{{job}} {{http_route}}")],
            "reqps",
            0,
            y,
        ),
        panel(
            "Errors: share of 5xx responses",
            [
                (f"sum by (job) ({five}) / sum by (job) ({rate})", "{{job}} 5xx"),
                (
                    f'sum by (job) (rate({DURATION}_count{{{selector},http_response_status_code=~"4.."}}'
                    f"[$__rate_interval])) / sum by (job) ({rate})",
                    "{{job}} 4xx",
                ),
            ],
            "percentunit",
            12,
            y,
        ),
        panel(
            "Latency: percentiles",
            [
                (f"histogram_quantile({q}, sum by (job, le) ({bucket}))", f"{{{{job}}}} p{int(q * 100)}")
                for q in (0.5, 0.9, 0.99)
            ],
            "s",
            0,
            y + 8,
        ),
        panel(
            "Saturation: requests in flight and worker threads in use",
            [
                (f"sum by (job) (http_server_active_requests{{{selector}}})", "{{job}} in flight"),
                (
                    f"sum by (job) (http_server_active_requests{{{selector}}})"
                    f" / sum by (job) (seaway_worker_threads{{{selector}}})",
                    "{{job}} share of worker threads busy",
                ),
            ],
            "short",
            12,
            y + 8,
        ),
        panel(
            "Error budget burn rate (1 = spending exactly the budget)",
            [
                (
                    f"{record_name('availability', '1h')}{{{selector}}} / {budgets['availability']}",
                    "{{job}} availability, 1h",
                ),
                (
                    f"{record_name('latency', '1h')}{{{selector}}} / {budgets['latency']}",
                    "{{job}} latency, 1h",
                ),
            ],
            "short",
            0,
            y + 16,
            w=24,
        ),
    ]


def extra_panels(service: Service) -> list[tuple[str, list[tuple[str, str]], str]]:
    """Panels for what the service declares, beside the RED panels every service gets."""
    panels = []
    if service.calls:
        panels += [
            (
                "Calls to other services: p99 latency",
                [
                    (
                        "histogram_quantile(0.99, sum by (peer_service, le) "
                        '(rate(http_client_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
                        "{{peer_service}}",
                    )
                ],
                "s",
            ),
            (
                "Circuit breakers (0 closed, 1 half-open, 2 open)",
                [('max by (peer_service) (seaway_circuit_breaker_state{job=~"$job"})', "{{peer_service}}")],
                "short",
            ),
        ]
    if service.caches:
        panels.append(
            (
                "Cache hit ratio",
                [
                    (
                        f'sum(rate(seaway_cache_requests_total{{job=~"$job",cache="{cache}",result="hit"}}'
                        "[$__rate_interval]))"
                        f' / sum(rate(seaway_cache_requests_total{{job=~"$job",cache="{cache}"}}[$__rate_interval]))',
                        cache,
                    )
                    for cache in service.caches
                ],
                "percentunit",
            )
        )
    if any(isinstance(r, Topic) for r in service.resources):
        panels.append(
            (
                "Events published",
                [
                    (
                        'sum by (event_type) (rate(seaway_events_published_total{job=~"$job"}[$__rate_interval]))',
                        "{{event_type}}",
                    )
                ],
                "ops",
            )
        )
    if any(isinstance(r, Queue) for r in service.resources):
        panels += [
            (
                "Events handled by outcome",
                [('sum by (outcome) (rate(seaway_events_total{job=~"$job"}[$__rate_interval]))', "{{outcome}}")],
                "ops",
            ),
            (
                "Event age at processing: p99",
                [
                    (
                        "histogram_quantile(0.99, sum by (le) "
                        '(rate(seaway_event_age_seconds_bucket{job=~"$job"}[$__rate_interval])))',
                        "p99",
                    )
                ],
                "s",
            ),
        ]
    return panels


def service_dashboard(service: Service) -> dict:
    panels = red_panels('job=~"$job"')
    for index, (title, targets, unit) in enumerate(extra_panels(service)):
        panels.append(panel(title, targets, unit, 12 * (index % 2), 24 + 8 * (index // 2)))
    return dashboard(
        f"seaway-{service.name}",
        f"Seaway / {service.name}",
        panels,
        f'label_values({DURATION}_count{{job=~"(.*-)?{service.name}"}}, job)',
    )


def application_dashboard(part_of: str) -> dict:
    return dashboard(
        f"seaway-{part_of}",
        f"Seaway / {part_of} (all services)",
        red_panels('job=~"$job"'),
        f"label_values({DURATION}_count, job)",
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line PromQL as YAML block scalars, readable in the file."""


_BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


CLOUDWATCH_PARAMETERS = (
    (
        "Services",
        "The services that serve HTTP (the Service dimension), letters and digits only; a worker with no routes of "
        "its own has no requests to judge",
    ),
    ("Queues", "The queues the services consume"),
    ("DeadLetterQueues", "Their dead-letter queues"),
)


def cloudwatch_template(root: Path, services: Mapping[str, Service]) -> str:
    """cloudwatch.yaml with its generated region, the parameters whose defaults the declarations give."""
    defaults = {
        "Services": http_services(services),
        "Queues": tuple(queue for queue, _ in queues(services)),
        "DeadLetterQueues": tuple(dead_letter for _, dead_letter in queues(services)),
    }
    body = "".join(
        f"  {name}:\n    Type: CommaDelimitedList\n    Default: {','.join(defaults[name])}\n"
        f"    Description: {description}\n"
        for name, description in CLOUDWATCH_PARAMETERS
    )
    return regions.replace(root / FOLDER / "cloudwatch.yaml", body, comment="  #")


def render(root: Path, declared: Mapping[str, Declared]) -> dict[Path, str]:
    from seaway_tools.generate import HEADER

    services = {name: d.service for name, d in declared.items()}
    files: dict[Path, str] = {}
    for service in services.values():
        files[FOLDER / "grafana" / f"{service.name}.json"] = _json(service_dashboard(service), HEADER)
    for part_of in sorted({service.part_of for service in services.values()}):
        files[FOLDER / "grafana" / f"{part_of}.json"] = _json(application_dashboard(part_of), HEADER)
    files[FOLDER / "prometheusrule.yaml"] = f"# {HEADER}.\n" + yaml.dump(
        prometheus_rule(services), Dumper=_BlockDumper, sort_keys=False, width=200
    )
    files[FOLDER / "cloudwatch.yaml"] = cloudwatch_template(root, services)
    return files


def _json(dashboard: dict, header: str) -> str:
    # JSON holds no comments: the dashboard's description says where it comes from (Grafana shows it).
    return json.dumps({"description": f"{header}.", **dashboard}, indent=2) + "\n"
