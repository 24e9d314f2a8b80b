"""Dashboards and alerts in k8s/observability: valid, current, and querying only metrics services expose."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from seaway import metrics
from seaway.service import discover
from seaway_tools.generate import observability
from seaway_tools.generate.declarations import declarations
from tests.conftest import create_resources
from tests.schemas import schemas_folder

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "k8s" / "observability"
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "le",
}  # fmt: skip


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((FOLDER / "grafana").glob("*.json"))}


def rule() -> dict:
    return yaml.safe_load((FOLDER / "prometheusrule.yaml").read_text())


def dashboard_exprs(dashboard: dict) -> list[str]:
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    found += [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels and numbers left out)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\boffset\s+\w+", "", text)  # offsets
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"label_values\((\w+)\s*,\s*\w+\)", r"\1", text)  # Grafana's variable query
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name, rest = match.group(0), text[match.end() :].lstrip()
        if rest.startswith("(") or name in PROMQL_WORDS or text[match.start() - 1 : match.start()] == "$":
            continue
        names.add(name)
    return names


def recorded_names() -> set[str]:
    return {r["record"] for group in rule()["spec"]["groups"] for r in group["rules"] if "record" in r}


@pytest.fixture(scope="module")
def exposed(moto) -> set[str]:
    """Sample names a live catalog exposes after a few requests (every kit metric it records)."""
    from tests.processes import Service

    catalog = Service("catalog", create_resources(moto, "catalog")).start()
    try:
        product = {"id": "dashboard-check", "name": "Cup", "price_cents": 900}
        assert catalog.post("/products", json=product).status_code in (201, 409)
        catalog.get("/products")
        catalog.get("/products/dashboard-check")
        catalog.get("/products/no-such-product")
        text = catalog.get("/metrics").text
    finally:
        catalog.stop()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def kit_sample_names() -> set[str]:
    """Every sample name the kit's metric definitions can expose (histogram and counter suffixes included)."""
    names = set()
    for family in metrics.REGISTRY.collect():
        suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_the_files_are_what_make_generate_writes():
    files = observability.render(ROOT, declarations(ROOT))
    assert {path.parent.name for path in files} >= {"grafana", "observability"}
    for path, text in files.items():
        assert (ROOT / path).read_text() == text, f"{path} is stale: run make generate"


def test_catalog_and_application_dashboards_query_only_metrics_a_live_service_exposes(exposed):
    allowed = exposed | recorded_names()
    assert "http_server_request_duration_seconds_bucket" in exposed and "seaway_worker_threads" in exposed
    for name in ("catalog.json", "storefront.json"):
        used = {n for expr in dashboard_exprs(dashboards()[name]) for n in metric_names(expr)}
        assert used and used <= allowed, f"{name} queries {used - allowed}"


def test_every_dashboard_and_rule_queries_only_kit_metrics_or_recording_rules(exposed):
    allowed = exposed | kit_sample_names() | recorded_names()
    declared = discover()
    applications = {service.part_of for service in declared.values()}
    assert set(dashboards()) == {f"{name}.json" for name in (*declared, *applications)}
    for name, dashboard in dashboards().items():
        assert dashboard["uid"] and dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["targets"], panel["title"]
        used = {n for expr in dashboard_exprs(dashboard) for n in metric_names(expr)}
        assert used <= allowed, f"{name} queries {used - allowed}"
    for group in rule()["spec"]["groups"]:
        for entry in group["rules"]:
            assert metric_names(entry["expr"]) <= allowed, entry


def test_the_prometheus_rule_has_multiwindow_burn_rate_alerts_for_both_objectives():
    alerts = {r["alert"]: r for group in rule()["spec"]["groups"] for r in group["rules"] if "alert" in r}
    for objective in ("availability", "latency"):
        fast = alerts[f"Seaway{objective.capitalize()}BudgetBurnFast"]["expr"]
        slow = alerts[f"Seaway{objective.capitalize()}BudgetBurnSlow"]["expr"]
        for window in ("1h", "5m", "6h", "30m"):
            assert f"job:slo_{objective}_errors:ratio_rate{window} >" in fast
        for window in ("1d", "2h", "3d", "6h"):
            assert f"job:slo_{objective}_errors:ratio_rate{window} >" in slow
    assert "14.4 * 0.001" in alerts["SeawayAvailabilityBudgetBurnFast"]["expr"]
    assert "(1 * 0.01)" in alerts["SeawayLatencyBudgetBurnSlow"]["expr"]
    assert alerts["SeawayAvailabilityBudgetBurnFast"]["labels"]["severity"] == "critical"
    assert alerts["SeawayAvailabilityBudgetBurnSlow"]["labels"]["severity"] == "warning"


def test_the_prometheus_rule_validates_against_the_crd_schema():
    schema_path = schemas_folder() / "crds" / "monitoring.coreos.com" / "prometheusrule_v1.json"
    # Draft 7, as the chart tests do; the CRD's patterns use Go's regex syntax, not checked as Python's.
    jsonschema.Draft7Validator(json.loads(schema_path.read_text())).validate(rule())


def test_the_cloudwatch_template_passes_cfn_lint_and_uses_the_published_metrics():
    template = (FOLDER / "cloudwatch.yaml").read_text()
    sqs = set(re.findall(r"Namespace: AWS/SQS\n\s+MetricName: (\w+)", template))
    names = set(re.findall(r"MetricName: (\w+)", template)) | set(re.findall(r"Errors: (\w+), Target", template))
    names |= set(re.findall(r"\[!Ref Namespace, (\w+),", template))
    assert names - sqs == {"Requests", "Errors", "SlowRequests", "Latency"}, names
    assert sqs == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}, sqs
    linter = shutil.which("cfn-lint") or shutil.which("cfn-lint", path=str(ROOT / ".venv" / "bin"))
    if linter is None:
        pytest.skip("cfn-lint not found (pip install cfn-lint)")
    result = subprocess.run([linter, str(FOLDER / "cloudwatch.yaml")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def cloudwatch_default(parameter: str) -> list[str]:
    template = (FOLDER / "cloudwatch.yaml").read_text()
    found = re.search(rf"\n  {parameter}:\n    Type: CommaDelimitedList\n    Default: (.*)\n", template)
    assert found, parameter
    return found.group(1).split(",")


def test_http_objectives_and_queue_alarms_follow_the_declarations():
    from seaway.service import Queue, callers_of, dead_letter_name, physical_name

    declared = discover()
    serving = sorted(name for name, service in declared.items() if callers_of(name, declared) or service.public)
    assert "fulfillment" not in serving and {"gateway", "catalog", "orders"} <= set(serving)
    queues = [
        (physical_name(s, r), dead_letter_name(s, r))
        for s in declared.values()
        for r in s.resources
        if isinstance(r, Queue)
    ]
    assert ("storefront-fulfillment", "storefront-fulfillment-dlq") in queues
    assert sorted(cloudwatch_default("Services")) == serving
    assert cloudwatch_default("Queues") == [queue for queue, _ in queues]
    assert cloudwatch_default("DeadLetterQueues") == [dead_letter for _, dead_letter in queues]
    slo_records = [
        r for g in rule()["spec"]["groups"] for r in g["rules"] if r.get("record", "").startswith("job:slo_")
    ]
    assert slo_records
    for record in slo_records:
        for selector in re.findall(r"http_server_request_duration_seconds_\w+\{([^}]*)\}", record["expr"]):
            assert f'job=~"{"|".join(serving)}"' in selector, record


def test_pages_need_traffic_and_hold_and_the_ratios_fall_back_to_zero():
    alerts = {r["alert"]: r for group in rule()["spec"]["groups"] for r in group["rules"] if "alert" in r}
    for objective in ("Availability", "Latency"):
        page = alerts[f"Seaway{objective}BudgetBurnFast"]
        assert page.get("for") == "2m"
        for short in ("5m", "30m"):
            assert f"job:http_server_request_duration_seconds:rate{short} >= 0.5" in page["expr"]
    records = {r["record"]: r["expr"] for group in rule()["spec"]["groups"] for r in group["rules"] if "record" in r}
    assert "  or\n  0 * sum by (job)" in records["job:slo_availability_errors:ratio_rate5m"]


def test_each_service_dashboard_queries_only_metrics_that_service_exposes_live(storefront):

    from tests.processes import wait_for

    customer = storefront.sign_in()
    order = {"items": [{"product_id": "espresso-beans", "quantity": 1}]}
    placed = storefront.gateway.post("/api/orders", json=order, headers=customer)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    wait_for(
        lambda: storefront.gateway.get(f"/api/orders/{order_id}", headers=customer).json()["status"] == "fulfilled",
        timeout=30,
    )
    storefront.gateway.get("/api/products")
    # What the order flow exposes of the client's metrics (gateway, orders and fulfillment call peers): a
    # service whose declared calls the flow does not exercise (one a team added) exposes them at its first call.
    client_metrics = {
        sample.name
        for family in text_string_to_metric_families(storefront.gateway.get("/metrics").text)
        for sample in family.samples
        if sample.name.startswith(("http_client_", "seaway_client_"))
    }
    assert client_metrics
    for name in storefront.services:
        storefront.services[name].get("/openapi.json")  # fulfillment serves no other HTTP route of its own
        text = storefront.services[name].get("/metrics").text
        exposed = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
        if discover()[name].calls:
            exposed |= client_metrics
        used = {n for expr in dashboard_exprs(dashboards()[f"{name}.json"]) for n in metric_names(expr)}
        missing = used - exposed - recorded_names()
        assert not missing, f"the {name} dashboard queries {missing}, which {name} does not expose"
