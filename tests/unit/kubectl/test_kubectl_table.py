"""``kubectl seaway status`` output: the table people read and the JSON machines read."""

from __future__ import annotations

import json

from seaway_tools.kubectl.status import service_statuses
from seaway_tools.kubectl.table import render_json, render_table
from tests.unit.kubectl.kubectl_builders import NOW, deployment, hpa, pdb, pod, replicaset


def rows():
    pods = [pod(suffix=s) for s in ("a1b2c", "d3e4f", "g5h6i")] + [pod("orders", suffix="o1", sidecar=None)]
    return service_statuses(
        [deployment(), deployment("orders", replicas=1, image="seaway/orders:2.0.0")],
        pods,
        [replicaset()],
        [hpa()],
        [pdb()],
        now=NOW,
    )


def test_table_has_a_header_and_one_aligned_line_per_service():
    lines = render_table(rows(), now=NOW).splitlines()

    assert lines[0].split() == [
        "SERVICE", "READY", "UP-TO-DATE", "AVAILABLE", "TAG", "RESTARTS(1H)", "LAST-ROLLOUT",
        "HPA", "MESH", "PDB", "VERDICT",
    ]  # fmt: skip
    assert lines[1].split() == [
        "catalog", "3/3", "3", "3", "1.4.2", "0", "2h", "3", "(2-6)", "cpu", "45%/70%",
        "3/3", "sidecar", "1", "ok:", "3/3", "ready",
    ]  # fmt: skip
    assert lines[2].split()[:5] == ["orders", "1/1", "1", "1", "2.0.0"]
    assert lines[2].split()[-6:] == ["-", "0/1", "-", "degraded:", "sidecar", "missing"]
    assert lines[1].index("ok:") == lines[2].index("degraded:") == lines[0].index("VERDICT")


def test_wide_table_adds_deployment_pods_and_full_image():
    lines = render_table(rows(), now=NOW, wide=True, namespaces=True).splitlines()

    assert lines[0].split()[0] == "NAMESPACE"
    assert lines[0].split()[-3:] == ["DEPLOYMENT", "PODS", "IMAGE"]
    assert lines[1].split()[0] == "storefront"
    assert lines[1].split()[-3:] == [
        "catalog",
        "3",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/seaway/catalog:1.4.2",
    ]


def test_json_output_carries_every_field_and_an_overall_health():
    document = json.loads(render_json(rows()))

    catalog, orders = document["services"]
    assert document["healthy"] is False
    assert catalog["verdict"] == "ok"
    assert catalog["reasons"] == ["3/3 ready"]
    assert catalog["last_rollout"] == "2026-11-27T10:00:00Z"
    assert catalog["hpa"] == {
        "name": "catalog",
        "current_replicas": 3,
        "min_replicas": 2,
        "max_replicas": 6,
        "cpu_percent": 45,
        "cpu_target_percent": 70,
    }
    assert (orders["verdict"], orders["reasons"], orders["hpa"]) == ("degraded", ["sidecar missing"], None)
