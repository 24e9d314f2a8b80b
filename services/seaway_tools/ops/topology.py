"""The application's topology for the view, drawn from the declarations, with live rates on the edges.

Nodes: the public entry (``ingress``), every service, and every AWS resource a service declares. Edges: a
declared call (caller to callee, at the caller's measured calls a second to it), a service's use of a table,
topic or bucket, a topic's subscription to a queue, and a queue's consumer (at the events it handles a second,
every outcome).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seaway.service import Queue, Service


def topology(services: Iterable[Service], metrics: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{"nodes": [{id, kind, label}], "edges": [{source, target, label, rate}]}``; rate is None when the
    metrics hold no figure for an edge."""
    services = list(services)
    nodes = [{"id": "ingress", "kind": "ingress", "label": "ingress"}] if any(s.public for s in services) else []
    nodes += [{"id": s.name, "kind": "service", "label": s.name} for s in services]
    edges = []
    for service in services:
        measured = metrics.get(service.name, {})
        if service.public:
            edges.append(_edge("ingress", service.name, "http", _route_rate(measured)))
        for callee in service.calls:
            edges.append(_edge(service.name, callee, "http", measured.get("calls", {}).get(callee)))
        for resource in service.resources:
            node = f"{resource.kind}:{resource.name}"
            if all(n["id"] != node for n in nodes):
                nodes.append({"id": node, "kind": resource.kind, "label": resource.name})
            if isinstance(resource, Queue):
                if resource.topic:
                    edges.append(_edge(f"topic:{resource.topic}", node, "subscription", None))
                handled = [event["rate"] for event in measured.get("events", {}).values()]
                edges.append(_edge(node, service.name, "consume", sum(handled) if handled else None))
            else:
                edges.append(_edge(service.name, node, {"topic": "publish"}.get(resource.kind, "use"), None))
    return {"nodes": nodes, "edges": edges}


def _edge(source: str, target: str, label: str, rate: float | None) -> dict[str, Any]:
    return {"source": source, "target": target, "label": label, "rate": rate}


def _route_rate(measured: dict[str, Any]) -> float | None:
    rates = [route["last"]["rate"] for route in measured.get("routes", {}).values() if route.get("last")]
    return sum(rates) if rates else None
