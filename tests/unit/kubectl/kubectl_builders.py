"""Kubernetes client model objects in the shapes a cluster returns for a Seaway service.

Built with the client's own models (``kubernetes.client.V1Deployment`` ...), the way a Helm release of
the ``seaway-service`` chart looks once the controllers have filled in status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kubernetes import client

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
NAMESPACE = "storefront"


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def labels(service: str) -> dict[str, str]:
    return {
        "seaway.dev/service": service,
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/instance": service,
        "app.kubernetes.io/part-of": "storefront",
    }


def selector(service: str) -> client.V1LabelSelector:
    return client.V1LabelSelector(
        match_labels={"app.kubernetes.io/name": service, "app.kubernetes.io/instance": service}
    )


def deployment(
    service: str = "catalog",
    *,
    replicas: int = 3,
    ready: int | None = None,
    updated: int | None = None,
    available: int | None = None,
    total: int | None = None,
    generation: int = 4,
    observed_generation: int | None = None,
    image: str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/seaway/catalog:1.4.2",
    progressing_reason: str = "NewReplicaSetAvailable",
    namespace: str = NAMESPACE,
) -> client.V1Deployment:
    """A Deployment of the chart; status fields default to 'all replicas ready and up to date'."""
    ready = replicas if ready is None else ready
    return client.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=client.V1ObjectMeta(
            name=service,
            namespace=namespace,
            uid=f"uid-deploy-{service}",
            generation=generation,
            labels=labels(service),
            annotations={"deployment.kubernetes.io/revision": "4"},
            creation_timestamp=ago(days=30),
        ),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=selector(service),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels(service)),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image=image, ports=[])],
                    service_account_name=service,
                ),
            ),
        ),
        status=client.V1DeploymentStatus(
            observed_generation=generation if observed_generation is None else observed_generation,
            replicas=replicas if total is None else total,
            ready_replicas=ready or None,  # the API omits zero counts
            updated_replicas=(replicas if updated is None else updated) or None,
            available_replicas=(ready if available is None else available) or None,
            unavailable_replicas=max(replicas - ready, 0) or None,
            conditions=[
                client.V1DeploymentCondition(
                    type="Available",
                    status="True" if ready else "False",
                    reason="MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                    last_update_time=ago(minutes=20),
                    last_transition_time=ago(minutes=20),
                ),
                client.V1DeploymentCondition(
                    type="Progressing",
                    status="False" if progressing_reason == "ProgressDeadlineExceeded" else "True",
                    reason=progressing_reason,
                    last_update_time=ago(minutes=20),
                    last_transition_time=ago(days=2),
                ),
            ],
        ),
    )


def replicaset(
    service: str = "catalog", *, revision: int = 4, created: datetime | None = None, replicas: int = 3
) -> client.V1ReplicaSet:
    pod_hash = f"{revision:x}7d9f8b6c"
    return client.V1ReplicaSet(
        metadata=client.V1ObjectMeta(
            name=f"{service}-{pod_hash}",
            namespace=NAMESPACE,
            labels={**labels(service), "pod-template-hash": pod_hash},
            annotations={"deployment.kubernetes.io/revision": str(revision)},
            creation_timestamp=created or ago(hours=2),
            owner_references=[
                client.V1OwnerReference(
                    api_version="apps/v1",
                    kind="Deployment",
                    name=service,
                    uid=f"uid-deploy-{service}",
                    controller=True,
                    block_owner_deletion=True,
                )
            ],
        ),
        spec=client.V1ReplicaSetSpec(replicas=replicas, selector=selector(service)),
        status=client.V1ReplicaSetStatus(replicas=replicas, ready_replicas=replicas),
    )


def container_status(
    name: str = "app",
    *,
    ready: bool = True,
    restarts: int = 0,
    waiting: str | None = None,
    last_finished: datetime | None = None,
    image: str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/seaway/catalog:1.4.2",
) -> client.V1ContainerStatus:
    state = (
        client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(reason=waiting, message="back-off 5m0s restarting failed")
        )
        if waiting
        else client.V1ContainerState(running=client.V1ContainerStateRunning(started_at=ago(minutes=50)))
    )
    last_state = (
        client.V1ContainerState(
            terminated=client.V1ContainerStateTerminated(
                exit_code=1,
                reason="Error",
                started_at=last_finished - timedelta(seconds=3),
                finished_at=last_finished,
            )
        )
        if last_finished
        else client.V1ContainerState()
    )
    return client.V1ContainerStatus(
        name=name,
        image=image,
        image_id=f"{image}@sha256:{'ab' * 32}",
        ready=ready,
        started=ready,
        restart_count=restarts,
        state=state,
        last_state=last_state,
    )


def pod(
    service: str = "catalog",
    suffix: str = "x2x4k",
    *,
    sidecar: str | None = "container",
    ambient: bool = False,
    app: client.V1ContainerStatus | None = None,
    started: datetime | None = None,
    namespace: str = NAMESPACE,
    phase: str = "Running",
) -> client.V1Pod:
    """A running pod; ``sidecar`` is "container", "native" (init, restartPolicy Always) or None."""
    containers = [client.V1Container(name="app", image="seaway/catalog:1.4.2")]
    init_containers = []
    statuses = [app or container_status()]
    init_statuses = []
    if sidecar == "container":
        containers.append(client.V1Container(name="istio-proxy", image="docker.io/istio/proxyv2:1.24.0"))
        statuses.append(container_status("istio-proxy", image="docker.io/istio/proxyv2:1.24.0"))
    elif sidecar == "native":
        init_containers.append(
            client.V1Container(name="istio-proxy", image="docker.io/istio/proxyv2:1.24.0", restart_policy="Always")
        )
        init_statuses.append(container_status("istio-proxy", image="docker.io/istio/proxyv2:1.24.0"))
    annotations = {"ambient.istio.io/redirection": "enabled"} if ambient else {}
    if sidecar:
        annotations["sidecar.istio.io/status"] = '{"containers":["istio-proxy"]}'
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name=f"{service}-47d9f8b6c-{suffix}",
            namespace=namespace,
            labels={**labels(service), "pod-template-hash": "47d9f8b6c"},
            annotations=annotations,
            creation_timestamp=started or ago(days=2),
        ),
        spec=client.V1PodSpec(containers=containers, init_containers=init_containers or None),
        status=client.V1PodStatus(
            phase=phase,
            start_time=started or ago(days=2),
            container_statuses=statuses,
            init_container_statuses=init_statuses or None,
            conditions=[client.V1PodCondition(type="Ready", status="True")],
        ),
    )


def hpa(
    service: str = "catalog", *, current: int = 3, minimum: int = 2, maximum: int = 6, cpu: int | None = 45
) -> client.V2HorizontalPodAutoscaler:
    return client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name=service, namespace=NAMESPACE, labels=labels(service)),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name=service
            ),
            min_replicas=minimum,
            max_replicas=maximum,
            metrics=[
                client.V2MetricSpec(
                    type="Resource",
                    resource=client.V2ResourceMetricSource(
                        name="cpu", target=client.V2MetricTarget(type="Utilization", average_utilization=70)
                    ),
                )
            ],
        ),
        status=client.V2HorizontalPodAutoscalerStatus(
            current_replicas=current,
            desired_replicas=current,
            current_metrics=[
                client.V2MetricStatus(
                    type="Resource",
                    resource=client.V2ResourceMetricStatus(
                        name="cpu",
                        current=client.V2MetricValueStatus(average_utilization=cpu, average_value="45m"),
                    ),
                )
            ]
            if cpu is not None
            else None,
        ),
    )


def pdb(service: str = "catalog", *, allowed: int = 1) -> client.V1PodDisruptionBudget:
    return client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name=service, namespace=NAMESPACE, labels=labels(service)),
        spec=client.V1PodDisruptionBudgetSpec(max_unavailable=1, selector=selector(service)),
        status=client.V1PodDisruptionBudgetStatus(
            current_healthy=3, desired_healthy=2, disruptions_allowed=allowed, expected_pods=3
        ),
    )
