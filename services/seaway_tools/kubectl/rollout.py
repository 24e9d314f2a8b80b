"""Rolling restarts and scaling of a service's Deployment, and waiting for a rollout like kubectl does.

``restart`` patches the pod template annotation ``kubectl.kubernetes.io/restartedAt`` (a strategic merge
patch, exactly what ``kubectl rollout restart`` sends), so the Deployment controller replaces every pod
under the Deployment's own rolling-update rules and PodDisruptionBudget. :func:`rollout_progress` is the
rule of ``kubectl rollout status``, as a pure function of the Deployment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes import client

from seaway_tools.kubectl.cluster import Cluster

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class RolloutProgress:
    """Where a rollout is: ``done`` (successfully rolled out), ``failed`` (past its deadline), or neither."""

    message: str
    done: bool = False
    failed: bool = False


def restart_patch(now: datetime) -> dict:
    """The patch that makes the Deployment replace its pods, stamped with ``now`` (RFC 3339)."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def rollout_progress(deployment: client.V1Deployment) -> RolloutProgress:
    """``kubectl rollout status`` for one Deployment: done when the controller has observed the newest
    spec and every wanted replica is updated and available, with no old replica left."""
    name = deployment.metadata.name
    status = deployment.status or client.V1DeploymentStatus()
    if (deployment.metadata.generation or 0) > (status.observed_generation or 0):
        return RolloutProgress("Waiting for deployment spec update to be observed...")
    progressing = next((c for c in status.conditions or [] if c.type == "Progressing"), None)
    if progressing and progressing.reason == "ProgressDeadlineExceeded":
        return RolloutProgress(f'deployment "{name}" exceeded its progress deadline', failed=True)
    wanted = 1 if deployment.spec.replicas is None else deployment.spec.replicas
    updated, total, available = (
        status.updated_replicas or 0,
        status.replicas or 0,
        status.available_replicas or 0,
    )
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < wanted:
        return RolloutProgress(f"{waiting}{updated} out of {wanted} new replicas have been updated...")
    if total > updated:
        return RolloutProgress(f"{waiting}{total - updated} old replicas are pending termination...")
    if available < updated:
        return RolloutProgress(f"{waiting}{available} of {updated} updated replicas are available...")
    return RolloutProgress(f'deployment "{name}" successfully rolled out', done=True)


def restart(cluster: Cluster, deployment: client.V1Deployment, now: datetime) -> None:
    """Start a rolling restart of ``deployment``."""
    cluster.call(
        cluster.apps.patch_namespaced_deployment,
        deployment.metadata.name,
        deployment.metadata.namespace or cluster.namespace,
        restart_patch(now),
        _content_type=STRATEGIC_MERGE_PATCH,
    )


def scale(cluster: Cluster, deployment: client.V1Deployment, replicas: int) -> None:
    """Set the replicas of ``deployment`` through its scale subresource (what ``kubectl scale`` does)."""
    cluster.call(
        cluster.apps.patch_namespaced_deployment_scale,
        deployment.metadata.name,
        deployment.metadata.namespace or cluster.namespace,
        {"spec": {"replicas": replicas}},
        _content_type=MERGE_PATCH,
    )


def wait_for_rollout(
    cluster: Cluster,
    name: str,
    *,
    timeout: float,
    report: Callable[[str], None],
    poll_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutProgress:
    """Poll the Deployment until its rollout is done, has failed, or ``timeout`` seconds have passed.

    Each new progress message is passed to ``report``; the last progress is returned (neither done nor
    failed on timeout).
    """
    deadline = clock() + timeout
    last_message = None
    while True:
        progress = rollout_progress(cluster.call(cluster.apps.read_namespaced_deployment, name, cluster.namespace))
        if progress.message != last_message:
            report(progress.message)
            last_message = progress.message
        if progress.done or progress.failed or clock() >= deadline:
            return progress
        sleep(min(poll_seconds, max(deadline - clock(), 0)))
