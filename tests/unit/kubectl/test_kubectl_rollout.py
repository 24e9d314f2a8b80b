"""``kubectl seaway restart``: the patch it sends and the rule of ``kubectl rollout status``."""

from __future__ import annotations

from datetime import UTC, datetime

from seaway_tools.kubectl.rollout import restart_patch, rollout_progress
from tests.unit.kubectl.kubectl_builders import deployment


def test_restart_patch_stamps_the_pod_template_like_kubectl_rollout_restart():
    now = datetime(2026, 11, 27, 12, 1, 2, 345000, tzinfo=UTC)

    assert restart_patch(now) == {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-27T12:01:02Z"}}}
        }
    }


def test_rollout_waits_until_the_new_spec_is_observed():
    progress = rollout_progress(deployment(generation=7, observed_generation=6))

    assert (progress.done, progress.message) == (
        False,
        "Waiting for deployment spec update to be observed...",
    )


def test_rollout_waits_for_new_replicas_then_old_ones_to_go_then_availability():
    steps = [
        deployment(updated=1, total=4),
        deployment(updated=3, total=4),
        deployment(updated=3, total=3, available=2),
    ]

    assert [rollout_progress(d).message for d in steps] == [
        'Waiting for deployment "catalog" rollout to finish: 1 out of 3 new replicas have been updated...',
        'Waiting for deployment "catalog" rollout to finish: 1 old replicas are pending termination...',
        'Waiting for deployment "catalog" rollout to finish: 2 of 3 updated replicas are available...',
    ]
    assert not any(rollout_progress(d).done for d in steps)


def test_rollout_is_done_when_every_replica_is_updated_and_available():
    progress = rollout_progress(deployment())

    assert (progress.done, progress.failed) == (True, False)
    assert progress.message == 'deployment "catalog" successfully rolled out'


def test_rollout_past_its_progress_deadline_has_failed():
    progress = rollout_progress(deployment(updated=1, progressing_reason="ProgressDeadlineExceeded"))

    assert (progress.done, progress.failed) == (False, True)
    assert progress.message == 'deployment "catalog" exceeded its progress deadline'
