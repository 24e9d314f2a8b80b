"""One row per Seaway service, and its verdict: pure functions over the Kubernetes client's model objects.

:func:`service_statuses` takes what the API returned (Deployments, pods, ReplicaSets, HPAs, PDBs) and the
current time, and gives one :class:`ServiceStatus` per Deployment. Nothing here calls the API, so every
rule is tested with model objects in the shapes a cluster returns.

Verdicts, worst first:

- ``down``: replicas are wanted and none is available.
- ``degraded``: some pod is crash-looping, cannot pull its image or cannot be scheduled; the rollout has
  exceeded its progress deadline; a pod lacks the mesh sidecar in a meshed namespace; the HPA is pinned
  at its maximum; or, outside a rollout, fewer pods are ready than wanted.
- ``progressing``: a rollout is under way (spec not yet observed, pods not yet updated, old pods left).
- ``ok``: everything wanted is ready.

"Restarts in the last hour" is an approximation, a lower bound: the API keeps only the last termination
of each container. A container in a pod started within the hour counts all its restarts; an older one
counts one restart when its last termination finished within the hour, none otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from kubernetes import client

from seaway_tools.kubectl.inventory import APP_CONTAINER, SERVICE_LABEL

OK = "ok"
PROGRESSING = "progressing"
DEGRADED = "degraded"
DOWN = "down"
UNHEALTHY = frozenset({DEGRADED, DOWN})

MESH_PROXY = "istio-proxy"
AMBIENT_ANNOTATION = "ambient.istio.io/redirection"
HOUR = timedelta(hours=1)

MeshPolicy = Literal["auto", "require", "ignore"]

_WAITING_PROBLEMS = {
    "CrashLoopBackOff": "crash-looping",
    "ImagePullBackOff": "image pull failing",
    "ErrImagePull": "image pull failing",
    "CreateContainerConfigError": "container config error",
    "CreateContainerError": "container config error",
}


@dataclass(frozen=True)
class HpaStatus:
    """What the HPA of a service says: current replicas within min-max, CPU now against its target."""

    name: str
    current_replicas: int
    min_replicas: int
    max_replicas: int
    cpu_percent: int | None = None
    cpu_target_percent: int | None = None

    @property
    def at_max(self) -> bool:
        return self.min_replicas < self.max_replicas and self.current_replicas >= self.max_replicas

    def __str__(self) -> str:
        text = f"{self.current_replicas} ({self.min_replicas}-{self.max_replicas})"
        if self.cpu_target_percent is not None:
            now = "?" if self.cpu_percent is None else f"{self.cpu_percent}%"
            text += f" cpu {now}/{self.cpu_target_percent}%"
        return text


@dataclass(frozen=True)
class ServiceStatus:
    """One row of ``kubectl seaway status``."""

    namespace: str
    service: str
    deployment: str
    desired: int
    ready: int
    updated: int
    available: int
    image: str
    image_tag: str
    restarts_last_hour: int
    last_rollout: datetime | None
    hpa: HpaStatus | None
    pods: int
    meshed_pods: int
    mesh: str  # "sidecar", "ambient", "sidecar+ambient" or "none"
    pdb_disruptions_allowed: int | None
    verdict: str
    reasons: tuple[str, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return self.verdict not in UNHEALTHY


def service_statuses(
    deployments: Iterable[client.V1Deployment],
    pods: Iterable[client.V1Pod],
    replicasets: Iterable[client.V1ReplicaSet],
    hpas: Iterable[client.V2HorizontalPodAutoscaler],
    pdbs: Iterable[client.V1PodDisruptionBudget],
    *,
    now: datetime,
    mesh: MeshPolicy = "auto",
) -> list[ServiceStatus]:
    """A row per Deployment, sorted by namespace and service.

    ``mesh="auto"`` expects the sidecar (or ambient mode) on every pod of a namespace in which any
    Seaway pod is meshed; ``"require"`` expects it everywhere; ``"ignore"`` never checks it.
    """
    pods = [pod for pod in pods if _is_live(pod)]
    replicasets, hpas, pdbs = list(replicasets), list(hpas), list(pdbs)
    meshed_namespaces = {pod.metadata.namespace for pod in pods if mesh_mode(pod)}
    rows = []
    for deployment in deployments:
        namespace = deployment.metadata.namespace
        expect_mesh = mesh == "require" or (mesh == "auto" and namespace in meshed_namespaces)
        rows.append(
            service_status(
                deployment,
                pods=[p for p in pods if p.metadata.namespace == namespace and _selects(deployment, p)],
                replicasets=[rs for rs in replicasets if _owned_by(rs, deployment)],
                hpa=next((h for h in hpas if _scales(h, deployment)), None),
                pdb=next((b for b in pdbs if _protects(b, deployment)), None),
                now=now,
                expect_mesh=expect_mesh,
            )
        )
    return sorted(rows, key=lambda row: (row.namespace, row.service))


def service_status(
    deployment: client.V1Deployment,
    *,
    pods: list[client.V1Pod],
    replicasets: list[client.V1ReplicaSet],
    hpa: client.V2HorizontalPodAutoscaler | None,
    pdb: client.V1PodDisruptionBudget | None,
    now: datetime,
    expect_mesh: bool,
) -> ServiceStatus:
    """The row of one Deployment, given its own pods, ReplicaSets, HPA and PDB."""
    meta, spec, status = (
        deployment.metadata,
        deployment.spec,
        deployment.status or client.V1DeploymentStatus(),
    )
    desired = 1 if spec.replicas is None else spec.replicas
    image = _app_image(spec.template.spec)
    modes = [mesh_mode(pod) for pod in pods]
    hpa_status = hpa_summary(hpa) if hpa else None
    verdict, reasons = _verdict(
        deployment,
        desired=desired,
        pods=pods,
        hpa=hpa_status,
        unmeshed=modes.count(None) if expect_mesh else 0,
    )
    return ServiceStatus(
        namespace=meta.namespace or "",
        service=(meta.labels or {}).get(SERVICE_LABEL) or meta.name,
        deployment=meta.name,
        desired=desired,
        ready=status.ready_replicas or 0,
        updated=status.updated_replicas or 0,
        available=status.available_replicas or 0,
        image=image,
        image_tag=image_tag(image),
        restarts_last_hour=sum(restarts_last_hour(pod, now) for pod in pods),
        last_rollout=last_rollout(deployment, replicasets),
        hpa=hpa_status,
        pods=len(pods),
        meshed_pods=len(pods) - modes.count(None),
        mesh="+".join(sorted({m for m in modes if m})) or "none",
        pdb_disruptions_allowed=pdb.status.disruptions_allowed if pdb and pdb.status else None,
        verdict=verdict,
        reasons=reasons,
    )


def mesh_mode(pod: client.V1Pod) -> str | None:
    """``"sidecar"`` (``istio-proxy`` container or native-sidecar init container), ``"ambient"``, or None."""
    if ((pod.metadata.annotations or {}).get(AMBIENT_ANNOTATION)) == "enabled":
        return "ambient"
    if any(c.name == MESH_PROXY for c in pod.spec.containers or []):
        return "sidecar"
    if any(c.name == MESH_PROXY and c.restart_policy == "Always" for c in pod.spec.init_containers or []):
        return "sidecar"
    return None


def restarts_last_hour(pod: client.V1Pod, now: datetime) -> int:
    """Restarts of the pod's containers within the hour before ``now`` (a lower bound, see the module)."""
    status = pod.status
    if status is None:
        return 0
    young = status.start_time is not None and now - status.start_time <= HOUR
    count = 0
    for container in [*(status.container_statuses or []), *(status.init_container_statuses or [])]:
        if not container.restart_count:
            continue
        if young:
            count += container.restart_count
            continue
        terminated = container.last_state.terminated if container.last_state else None
        if terminated and terminated.finished_at and now - terminated.finished_at <= HOUR:
            count += 1
    return count


def last_rollout(deployment: client.V1Deployment, replicasets: list[client.V1ReplicaSet]) -> datetime | None:
    """When the newest ReplicaSet was created; without one, when the Progressing condition last changed."""
    created = [rs.metadata.creation_timestamp for rs in replicasets if rs.metadata.creation_timestamp]
    if created:
        return max(created)
    progressing = _condition(deployment, "Progressing")
    return progressing.last_update_time or progressing.last_transition_time if progressing else None


def hpa_summary(hpa: client.V2HorizontalPodAutoscaler) -> HpaStatus:
    """Replicas and CPU utilisation (resource or container-resource metric) of an autoscaling/v2 HPA."""
    target = next((m for m in hpa.spec.metrics or [] if _cpu_source(m)), None)
    current = next((m for m in (hpa.status.current_metrics if hpa.status else None) or [] if _cpu_source(m)), None)
    return HpaStatus(
        name=hpa.metadata.name,
        current_replicas=(hpa.status.current_replicas if hpa.status else None) or 0,
        min_replicas=1 if hpa.spec.min_replicas is None else hpa.spec.min_replicas,
        max_replicas=hpa.spec.max_replicas,
        cpu_percent=_cpu_source(current).current.average_utilization if current else None,
        cpu_target_percent=_cpu_source(target).target.average_utilization if target else None,
    )


def image_tag(image: str) -> str:
    """The tag of an image reference (``latest`` when untagged), or its digest shortened to 12 hex digits."""
    if "@" in image:
        algorithm, _, digest = image.split("@", 1)[1].partition(":")
        return f"{algorithm}:{digest[:12]}"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def age(since: datetime | None, now: datetime) -> str:
    """A kubectl-style age: ``45s``, ``12m``, ``3h5m``, ``2d4h``; ``-`` when unknown."""
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 60:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h{minutes % 60}m" if hours < 8 and minutes % 60 else f"{hours}h"
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"


def _verdict(
    deployment: client.V1Deployment,
    *,
    desired: int,
    pods: list[client.V1Pod],
    hpa: HpaStatus | None,
    unmeshed: int,
) -> tuple[str, tuple[str, ...]]:
    status = deployment.status or client.V1DeploymentStatus()
    ready, available = status.ready_replicas or 0, status.available_replicas or 0
    updated, total = status.updated_replicas or 0, status.replicas or 0
    problems = _pod_problems(pods)
    progressing = _condition(deployment, "Progressing")
    if progressing and progressing.reason == "ProgressDeadlineExceeded":
        problems.append("rollout stuck")
    if unmeshed:
        problems.append("sidecar missing")
    if hpa and hpa.at_max:
        problems.append("HPA at max")
    counts = f"{ready}/{desired} ready"
    if desired == 0:
        return (DEGRADED, ("scaled to 0", *problems)) if problems else (OK, ("scaled to 0",))
    if available == 0:
        return DOWN, (f"0/{desired} available", *problems)
    rolling = (
        (status.observed_generation or 0) < (deployment.metadata.generation or 0)
        or updated < desired
        or total > updated
    )
    if problems:
        return DEGRADED, ((counts,) if ready < desired else ()) + tuple(problems)
    if rolling:
        return PROGRESSING, (f"{updated}/{desired} updated",) + ((counts,) if ready < desired else ())
    if ready < desired or available < desired:
        return DEGRADED, (counts,)
    return OK, (counts,)


def _pod_problems(pods: list[client.V1Pod]) -> list[str]:
    found: list[str] = []
    for pod in pods:
        status = pod.status or client.V1PodStatus()
        for container in [*(status.container_statuses or []), *(status.init_container_statuses or [])]:
            waiting = container.state.waiting if container.state else None
            problem = _WAITING_PROBLEMS.get(waiting.reason or "") if waiting else None
            if problem and problem not in found:
                found.append(problem)
        for condition in status.conditions or []:
            unschedulable = condition.type == "PodScheduled" and condition.reason == "Unschedulable"
            if unschedulable and condition.status == "False" and "unschedulable" not in found:
                found.append("unschedulable")
    return found


def _condition(deployment: client.V1Deployment, kind: str) -> client.V1DeploymentCondition | None:
    conditions = deployment.status.conditions if deployment.status else None
    return next((c for c in conditions or [] if c.type == kind), None)


def _app_image(pod_spec: client.V1PodSpec) -> str:
    containers = pod_spec.containers or []
    app = next((c for c in containers if c.name == APP_CONTAINER), containers[0] if containers else None)
    return (app.image or "") if app else ""


def _cpu_source(metric):  # V2MetricSpec or V2MetricStatus -> its cpu resource source, or None
    if metric is None:
        return None
    if metric.type == "Resource" and metric.resource and metric.resource.name == "cpu":
        return metric.resource
    if metric.type == "ContainerResource" and metric.container_resource and metric.container_resource.name == "cpu":
        return metric.container_resource
    return None


def _is_live(pod: client.V1Pod) -> bool:
    """Pods that count: not terminating, not finished."""
    phase = pod.status.phase if pod.status else None
    return pod.metadata.deletion_timestamp is None and phase not in ("Succeeded", "Failed")


def _selects(deployment: client.V1Deployment, pod: client.V1Pod) -> bool:
    return selector_matches(deployment.spec.selector, pod.metadata.labels or {})


def _owned_by(replicaset: client.V1ReplicaSet, deployment: client.V1Deployment) -> bool:
    if replicaset.metadata.namespace != deployment.metadata.namespace:
        return False
    owners = replicaset.metadata.owner_references or []
    if owners:
        return any(o.kind == "Deployment" and o.name == deployment.metadata.name for o in owners)
    return selector_matches(deployment.spec.selector, replicaset.metadata.labels or {})


def _scales(hpa: client.V2HorizontalPodAutoscaler, deployment: client.V1Deployment) -> bool:
    ref = hpa.spec.scale_target_ref
    same_namespace = hpa.metadata.namespace == deployment.metadata.namespace
    return same_namespace and ref.kind == "Deployment" and ref.name == deployment.metadata.name


def _protects(pdb: client.V1PodDisruptionBudget, deployment: client.V1Deployment) -> bool:
    if pdb.metadata.namespace != deployment.metadata.namespace:
        return False
    template_labels = deployment.spec.template.metadata.labels if deployment.spec.template.metadata else None
    if pdb.spec and pdb.spec.selector is not None:
        return selector_matches(pdb.spec.selector, template_labels or {})
    return pdb.metadata.name == deployment.metadata.name


def selector_matches(selector: client.V1LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy a label selector (matchLabels and matchExpressions); empty selects all."""
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in (selector.match_labels or {}).items()):
        return False
    for expression in selector.match_expressions or []:
        key, values = expression.key, expression.values or []
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(expression.operator, False)
        if not matched:
            return False
    return True
