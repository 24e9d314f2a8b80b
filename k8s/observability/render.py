"""Render the Grafana dashboards and the PrometheusRule in this folder from one description.

    python k8s/observability/render.py          # rewrite grafana/*.json and prometheusrule.yaml

The objectives live here once: availability 99.9 % (a 5xx is an error) and latency 99 % of requests within
0.25 s (seaway.metrics.LATENCY_OBJECTIVE_SECONDS, a histogram bucket bound), per service (Prometheus
``job``, the chart's full name). The alerts are the multi-window, multi-burn-rate alerts of the Google SRE
workbook ("Alerting on SLOs", recommendation 6): page at 14.4x over 1h and 5m or 6x over 6h and 30m, ticket
at 3x over 1d and 2h or 1x over 3d and 6h. tests/integration/test_dashboards.py checks that the files are
what this script renders and that every query uses metrics the services expose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SERVICES = ("gateway", "catalog", "orders", "fulfillment")
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
DURATION = "http_server_request_duration_seconds"


def sli_expr(objective: str, window: str) -> str:
    total = f"sum by (job) (rate({DURATION}_count[{window}]))"
    if objective == "availability":
        bad = f'sum by (job) (rate({DURATION}_count{{http_response_status_code=~"5.."}}[{window}]))'
        return f"{bad}\n/\n{total}"
    good = f'sum by (job) (rate({DURATION}_bucket{{le="0.25"}}[{window}]))'
    return f"1 - (\n  {good}\n  /\n  {total}\n)"


def record_name(objective: str, window: str) -> str:
    return f"job:slo_{objective}_errors:ratio_rate{window}"


def prometheus_rule() -> dict:
    recording = [
        {
            "name": "seaway-slo-recording",
            "rules": [
                {"record": f"job:{DURATION}:rate5m", "expr": f"sum by (job) (rate({DURATION}_count[5m]))"},
                {
                    "record": f"job_le:{DURATION}_bucket:rate5m",
                    "expr": f"sum by (job, le) (rate({DURATION}_bucket[5m]))",
                },
            ]
            + [
                {"record": record_name(objective, window), "expr": sli_expr(objective, window)}
                for objective in OBJECTIVES
                for window in WINDOWS
            ],
        }
    ]
    alerts = []
    for objective, (target, what) in OBJECTIVES.items():
        budget = round(1 - target, 6)
        for severity in ("page", "ticket"):
            conditions = [
                f"(\n  {record_name(objective, long)} > ({rate} * {budget})\n"
                f"  and\n  {record_name(objective, short)} > ({rate} * {budget})\n)"
                for kind, long, short, rate in BURN_ALERTS
                if kind == severity
            ]
            windows = ", ".join(
                f"{rate}x over {long} and {short}" for kind, long, short, rate in BURN_ALERTS if kind == severity
            )
            alerts.append(
                {
                    "alert": f"Seaway{objective.capitalize()}BudgetBurn{'Fast' if severity == 'page' else 'Slow'}",
                    "expr": "\nor\n".join(conditions),
                    "labels": {"severity": "critical" if severity == "page" else "warning", "slo": objective},
                    "annotations": {
                        "summary": f"{{{{ $labels.job }}}} is spending its {objective} error budget too fast",
                        "description": (
                            f"The {objective} objective is {target * 100:g}% (errors: {what}); the error budget "
                            f"burns at {windows}. {'Page' if severity == 'page' else 'Open a ticket'}."
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


EXTRA_PANELS = {
    "catalog": [
        (
            "Cache hit ratio",
            [
                (
                    'sum(rate(seaway_cache_requests_total{job=~"$job",result="hit"}[$__rate_interval]))'
                    ' / sum(rate(seaway_cache_requests_total{job=~"$job"}[$__rate_interval]))',
                    "hits",
                )
            ],
            "percentunit",
        ),
    ],
    "gateway": [
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
    ],
    "orders": [
        (
            "Events published",
            [
                (
                    'sum by (event_type) (rate(seaway_events_published_total{job=~"$job"}[$__rate_interval]))',
                    "{{event_type}}",
                )
            ],
            "ops",
        ),
    ],
    "fulfillment": [
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
    ],
}


def service_dashboard(service: str) -> dict:
    panels = red_panels('job=~"$job"')
    for index, (title, targets, unit) in enumerate(EXTRA_PANELS.get(service, [])):
        panels.append(panel(title, targets, unit, 12 * (index % 2), 24 + 8 * (index // 2)))
    return dashboard(
        f"seaway-{service}",
        f"Seaway / {service}",
        panels,
        f'label_values({DURATION}_count{{job=~"(.*-)?{service}"}}, job)',
    )


def application_dashboard() -> dict:
    return dashboard(
        "seaway-storefront",
        "Seaway / storefront (all services)",
        red_panels('job=~"$job"'),
        f"label_values({DURATION}_count, job)",
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line PromQL as YAML block scalars, readable in the file."""


_BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def rendered() -> dict[Path, str]:
    """Every file this script writes, by path, with its text."""
    files = {HERE / "grafana" / f"{s}.json": json.dumps(service_dashboard(s), indent=2) + "\n" for s in SERVICES}
    files[HERE / "grafana" / "storefront.json"] = json.dumps(application_dashboard(), indent=2) + "\n"
    header = "# Rendered by k8s/observability/render.py; edit that, then run it.\n"
    files[HERE / "prometheusrule.yaml"] = header + yaml.dump(
        prometheus_rule(), Dumper=_BlockDumper, sort_keys=False, width=200
    )
    return files


def main() -> int:
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
