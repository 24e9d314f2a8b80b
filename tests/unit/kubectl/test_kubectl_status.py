"""``kubectl seaway status``: how API objects become one row and one verdict per service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kubernetes import client

from seaway_tools.kubectl.status import (
    DEGRADED,
    DOWN,
    OK,
    PROGRESSING,
    age,
    image_tag,
    selector_matches,
    service_statuses,
)
from tests.unit.kubectl.kubectl_builders import NOW, ago, container_status, deployment, hpa, pdb, pod, replicaset


def row_of(deployments, pods=(), replicasets=(), hpas=(), pdbs=(), **options):
    (row,) = service_statuses(deployments, pods, replicasets, hpas, pdbs, now=NOW, **options)
    return row


def three_pods(**options):
    return [pod(suffix=suffix, **options) for suffix in ("a1b2c", "d3e4f", "g5h6i")]


def test_all_healthy_service_is_ok_with_every_column_filled():
    row = row_of([deployment()], three_pods(), [replicaset()], [hpa()], [pdb()])

    assert (row.service, row.namespace, row.deployment) == ("catalog", "storefront", "catalog")
    assert (row.desired, row.ready, row.updated, row.available) == (3, 3, 3, 3)
    assert row.image_tag == "1.4.2"
    assert row.restarts_last_hour == 0
    assert row.last_rollout == ago(hours=2)
    assert str(row.hpa) == "3 (2-6) cpu 45%/70%"
    assert (row.pods, row.meshed_pods, row.mesh) == (3, 3, "sidecar")
    assert row.pdb_disruptions_allowed == 1
    assert (row.verdict, row.reasons) == (OK, ("3/3 ready",))
    assert row.healthy


def test_rolling_update_half_done_is_progressing_not_degraded():
    # maxSurge 1: four pods exist, two of them new, three ready; two ReplicaSets, the new one younger.
    rolling = deployment(total=4, updated=2, ready=3, generation=5, observed_generation=5)
    replicasets = [
        replicaset(revision=4, created=ago(days=3)),
        replicaset(revision=5, created=ago(minutes=2)),
    ]

    row = row_of([rolling], [*three_pods(), pod(suffix="new01")], replicasets)

    assert (row.verdict, row.reasons) == (PROGRESSING, ("2/3 updated",))
    assert row.last_rollout == ago(minutes=2)
    assert row.healthy


def test_spec_change_not_yet_observed_is_progressing():
    row = row_of([deployment(generation=6, observed_generation=5)], three_pods())

    assert row.verdict == PROGRESSING


def test_crash_looping_pod_makes_the_service_degraded_and_its_recent_restarts_count():
    crashing = container_status(ready=False, restarts=17, waiting="CrashLoopBackOff", last_finished=ago(minutes=3))
    pods = [*three_pods()[:2], pod(suffix="crash", app=crashing, started=ago(minutes=40))]

    row = row_of([deployment(ready=2)], pods)

    assert (row.verdict, row.reasons) == (DEGRADED, ("2/3 ready", "crash-looping"))
    assert row.restarts_last_hour == 17  # the pod started within the hour: every restart is recent
    assert not row.healthy


def test_an_older_pod_counts_one_restart_when_its_last_termination_is_within_the_hour():
    # The API keeps only the last termination, so 40 restarts over two days count as one in the hour.
    restarted = container_status(restarts=40, last_finished=ago(minutes=30))

    row = row_of([deployment(replicas=1)], [pod(app=restarted, started=ago(days=2))])

    assert row.restarts_last_hour == 1


def test_restarts_that_ended_more_than_an_hour_ago_are_not_counted():
    long_ago = container_status(restarts=2, last_finished=ago(hours=5))

    row = row_of([deployment(replicas=1)], [pod(app=long_ago, started=ago(days=2))])

    assert row.restarts_last_hour == 0
    assert row.verdict == OK


def test_no_available_replica_is_down():
    crashing = container_status(ready=False, restarts=5, waiting="CrashLoopBackOff", last_finished=ago(minutes=1))
    pods = [pod(suffix=s, app=crashing, started=ago(minutes=10)) for s in ("a1b2c", "d3e4f")]

    row = row_of([deployment(replicas=2, ready=0)], pods)

    assert (row.verdict, row.reasons) == (DOWN, ("0/2 available", "crash-looping"))


def test_a_service_scaled_to_zero_is_ok():
    row = row_of([deployment(replicas=0, ready=0)])

    assert (row.verdict, row.reasons) == (OK, ("scaled to 0",))


def test_image_pull_failure_is_degraded():
    stuck = container_status(ready=False, waiting="ImagePullBackOff")
    pods = [*three_pods()[:2], pod(suffix="pull1", app=stuck)]

    row = row_of([deployment(ready=2, updated=1, total=3, generation=5, observed_generation=5)], pods)

    assert (row.verdict, row.reasons) == (DEGRADED, ("2/3 ready", "image pull failing"))


def test_fewer_ready_than_wanted_outside_a_rollout_is_degraded():
    row = row_of([deployment(ready=2)], three_pods())

    assert (row.verdict, row.reasons) == (DEGRADED, ("2/3 ready",))


def test_rollout_past_its_progress_deadline_is_degraded():
    stuck = deployment(updated=1, progressing_reason="ProgressDeadlineExceeded")

    row = row_of([stuck], three_pods())

    assert (row.verdict, row.reasons) == (DEGRADED, ("rollout stuck",))


def test_hpa_at_its_maximum_is_degraded():
    row = row_of([deployment(replicas=6)], three_pods(), hpas=[hpa(current=6, maximum=6, cpu=93)])

    assert str(row.hpa) == "6 (2-6) cpu 93%/70%"
    assert (row.verdict, row.reasons) == (DEGRADED, ("HPA at max",))


def test_hpa_with_equal_minimum_and_maximum_is_never_at_max():
    row = row_of([deployment()], three_pods(), hpas=[hpa(current=3, minimum=3, maximum=3)])

    assert row.verdict == OK


def test_hpa_without_metrics_yet_shows_unknown_cpu():
    row = row_of([deployment()], three_pods(), hpas=[hpa(cpu=None)])

    assert str(row.hpa) == "3 (2-6) cpu ?/70%"


def test_hpa_and_pdb_of_another_deployment_are_not_matched():
    row = row_of([deployment()], three_pods(), hpas=[hpa("orders")], pdbs=[pdb("orders")])

    assert row.hpa is None
    assert row.pdb_disruptions_allowed is None


def test_pod_without_sidecar_in_a_meshed_namespace_is_degraded():
    pods = [*three_pods()[:2], pod(suffix="nomsh", sidecar=None)]

    row = row_of([deployment()], pods)

    assert (row.meshed_pods, row.pods) == (2, 3)
    assert (row.verdict, row.reasons) == (DEGRADED, ("sidecar missing",))


def test_native_sidecar_init_container_counts_as_the_mesh_sidecar():
    row = row_of([deployment()], three_pods(sidecar="native"))

    assert (row.meshed_pods, row.mesh, row.verdict) == (3, "sidecar", OK)


def test_ambient_pods_are_meshed_without_a_sidecar():
    row = row_of([deployment()], three_pods(sidecar=None, ambient=True))

    assert (row.meshed_pods, row.mesh, row.verdict) == (3, "ambient", OK)


def test_a_namespace_without_any_meshed_pod_does_not_expect_a_sidecar():
    row = row_of([deployment()], three_pods(sidecar=None))

    assert (row.meshed_pods, row.mesh, row.verdict) == (0, "none", OK)


def test_mesh_require_expects_the_sidecar_even_where_nothing_is_meshed():
    row = row_of([deployment()], three_pods(sidecar=None), mesh="require")

    assert (row.verdict, row.reasons) == (DEGRADED, ("sidecar missing",))


def test_mesh_ignore_never_checks_the_sidecar():
    pods = [*three_pods()[:2], pod(suffix="nomsh", sidecar=None)]

    assert row_of([deployment()], pods, mesh="ignore").verdict == OK


def test_terminating_and_finished_pods_do_not_count():
    leaving = pod(suffix="old01", sidecar=None)
    leaving.metadata.deletion_timestamp = ago(seconds=5)
    finished = pod(suffix="done1", sidecar=None, phase="Succeeded")

    row = row_of([deployment()], [*three_pods(), leaving, finished])

    assert (row.pods, row.verdict) == (3, OK)


def test_pods_of_other_services_and_namespaces_are_not_counted():
    others = [pod("orders", suffix="o1"), pod(suffix="elsew", namespace="staging")]

    row = row_of([deployment()], [*three_pods(), *others])

    assert row.pods == 3


def test_last_rollout_falls_back_to_the_progressing_condition_without_replicasets():
    row = row_of([deployment()], three_pods())

    assert row.last_rollout == ago(minutes=20)


def test_rows_are_sorted_by_namespace_then_service():
    deployments = [deployment("orders"), deployment("catalog"), deployment("gateway", namespace="edge")]

    rows = service_statuses(deployments, [], [], [], [], now=NOW)

    assert [(r.namespace, r.service) for r in rows] == [
        ("edge", "gateway"),
        ("storefront", "catalog"),
        ("storefront", "orders"),
    ]


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/seaway/catalog:1.4.2", "1.4.2"),
        ("localhost:5000/catalog", "latest"),
        ("localhost:5000/catalog:dev-3f2a", "dev-3f2a"),
        ("catalog@sha256:" + "0123456789abcdef" * 4, "sha256:0123456789ab"),
    ],
)
def test_image_tag_is_the_tag_or_a_short_digest(image, tag):
    assert image_tag(image) == tag


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12, seconds=5), "12m"),
        (timedelta(hours=3, minutes=5), "3h5m"),
        (timedelta(hours=10, minutes=5), "10h"),
        (timedelta(days=2, hours=4), "2d4h"),
        (timedelta(days=30), "30d"),
    ],
)
def test_age_reads_like_kubectl(elapsed, text):
    assert age(NOW - elapsed, NOW) == text


def test_age_of_nothing_is_a_dash():
    assert age(None, NOW) == "-"


def test_label_selector_expressions_are_honoured():
    selector = client.V1LabelSelector(
        match_labels={"app.kubernetes.io/name": "catalog"},
        match_expressions=[
            client.V1LabelSelectorRequirement(key="track", operator="In", values=["stable", "canary"]),
            client.V1LabelSelectorRequirement(key="legacy", operator="DoesNotExist"),
        ],
    )

    assert selector_matches(selector, {"app.kubernetes.io/name": "catalog", "track": "canary"})
    assert not selector_matches(selector, {"app.kubernetes.io/name": "catalog", "track": "beta"})
    assert not selector_matches(selector, {"app.kubernetes.io/name": "catalog", "track": "stable", "legacy": "1"})
    assert not selector_matches(None, {"app.kubernetes.io/name": "catalog"})
