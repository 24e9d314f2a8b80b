"""What Seaway runs in a namespace, read from the API: services' Deployments, pods, ReplicaSets, HPAs, PDBs.

A Seaway service is a Deployment labelled ``seaway.dev/service=<name>``; its pods and ReplicaSets carry
the same label. HPAs and PDBs are listed whole (they need not carry the label) and matched to their
Deployment by :mod:`seaway_tools.kubectl.status`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from seaway_tools.kubectl.cluster import Cluster
from seaway_tools.kubectl.errors import UnknownService

SERVICE_LABEL = "seaway.dev/service"
APP_CONTAINER = "app"


@dataclass(frozen=True)
class Workloads:
    """Everything ``status`` needs, for one namespace or all of them."""

    deployments: list[client.V1Deployment]
    pods: list[client.V1Pod]
    replicasets: list[client.V1ReplicaSet]
    hpas: list[client.V2HorizontalPodAutoscaler]
    pdbs: list[client.V1PodDisruptionBudget]


def service_selector(service: str | None = None) -> str:
    """``seaway.dev/service`` (every service) or ``seaway.dev/service=<name>``."""
    return SERVICE_LABEL if service is None else f"{SERVICE_LABEL}={service}"


def workloads(cluster: Cluster, *, all_namespaces: bool = False) -> Workloads:
    """The Seaway Deployments, pods and ReplicaSets, and every HPA and PDB, in the namespace (or all)."""
    selector = service_selector()
    if all_namespaces:
        return Workloads(
            deployments=cluster.call(cluster.apps.list_deployment_for_all_namespaces, label_selector=selector).items,
            pods=cluster.call(cluster.core.list_pod_for_all_namespaces, label_selector=selector).items,
            replicasets=cluster.call(cluster.apps.list_replica_set_for_all_namespaces, label_selector=selector).items,
            hpas=cluster.call(cluster.autoscaling.list_horizontal_pod_autoscaler_for_all_namespaces).items,
            pdbs=cluster.call(cluster.policy.list_pod_disruption_budget_for_all_namespaces).items,
        )
    namespace = cluster.namespace
    return Workloads(
        deployments=cluster.call(cluster.apps.list_namespaced_deployment, namespace, label_selector=selector).items,
        pods=cluster.call(cluster.core.list_namespaced_pod, namespace, label_selector=selector).items,
        replicasets=cluster.call(cluster.apps.list_namespaced_replica_set, namespace, label_selector=selector).items,
        hpas=cluster.call(cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler, namespace).items,
        pdbs=cluster.call(cluster.policy.list_namespaced_pod_disruption_budget, namespace).items,
    )


def find_deployment(cluster: Cluster, service: str) -> client.V1Deployment:
    """The Deployment of ``service`` in the namespace; ``UnknownService`` names the ones that exist."""
    found = cluster.call(
        cluster.apps.list_namespaced_deployment, cluster.namespace, label_selector=service_selector(service)
    ).items
    if not found:
        raise UnknownService(_unknown(cluster, service))
    # Two Deployments for one service (a canary, say): the one named after the service is the service.
    return next((d for d in found if d.metadata.name == service), found[0])


def service_pods(cluster: Cluster, service: str | None = None) -> list[client.V1Pod]:
    """The pods of ``service`` (or of every Seaway service) in the namespace, oldest first."""
    pods = cluster.call(
        cluster.core.list_namespaced_pod, cluster.namespace, label_selector=service_selector(service)
    ).items
    if service is not None and not pods:
        find_deployment(cluster, service)  # raises UnknownService when the service does not exist
    return sorted(pods, key=lambda pod: (pod.metadata.creation_timestamp is None, pod.metadata.creation_timestamp))


def hpa_for(cluster: Cluster, deployment: client.V1Deployment) -> client.V2HorizontalPodAutoscaler | None:
    """The HPA scaling ``deployment``, if any."""
    hpas = cluster.call(cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler, cluster.namespace).items
    for hpa in hpas:
        ref = hpa.spec.scale_target_ref
        if ref.kind == "Deployment" and ref.name == deployment.metadata.name:
            return hpa
    return None


def _unknown(cluster: Cluster, service: str) -> str:
    existing = cluster.call(
        cluster.apps.list_namespaced_deployment, cluster.namespace, label_selector=service_selector()
    ).items
    names = sorted({d.metadata.labels.get(SERVICE_LABEL, d.metadata.name) for d in existing})
    there = f"services there: {', '.join(names)}" if names else "no Seaway services there"
    return f'no Seaway service "{service}" in namespace "{cluster.namespace}" ({there})'
