"""Reading the ``app`` container's log of many pods at once, one thread per pod.

Each thread streams ``read_namespaced_pod_log(..., _preload_content=False)`` line by line into one
queue; :func:`pod_logs` yields the records (and per-pod failures) as they arrive, so following several
pods prints each line as soon as any pod writes it. Pods that start after the call are not followed
(like ``kubectl logs -l``): run the command again after a rollout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes import client

from seaway_tools.kubectl.cluster import Cluster
from seaway_tools.kubectl.errors import API_FAILURES, ApiError, PluginError
from seaway_tools.kubectl.inventory import APP_CONTAINER, SERVICE_LABEL
from seaway_tools.kubectl.logline import LogFilter, LogRecord, parse

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PodFailure:
    """A pod whose log could not be read (not started yet, gone, access denied ...)."""

    pod: str
    error: PluginError


def pod_logs(
    cluster: Cluster, pods: Iterable[client.V1Pod], *, follow: bool, since_seconds: int | None = None
) -> Iterator[LogRecord | PodFailure]:
    """Every line of the pods' ``app`` containers, in arrival order; ends when every stream has ended."""
    lines: queue.Queue[LogRecord | PodFailure | None] = queue.Queue()
    threads = [
        threading.Thread(
            target=_read_pod,
            args=(cluster, pod, follow, since_seconds, lines),
            name=f"log {pod.metadata.name}",
            daemon=True,  # a follower blocks on its socket until Ctrl-C ends the process
        )
        for pod in pods
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    while running:
        item = lines.get()
        if item is None:
            running -= 1
        else:
            yield item


def in_time_order(records: Iterable[LogRecord]) -> list[LogRecord]:
    """Records sorted by time, lines without one kept after the line they followed in their pod."""
    return sorted(records, key=lambda record: record.time or _EARLIEST)


def trace_story(
    cluster: Cluster, pods: Iterable[client.V1Pod], trace_id: str, *, since_seconds: int | None = None
) -> tuple[list[LogRecord], list[PodFailure]]:
    """Every kit line carrying ``trace_id`` in the pods' logs, in time order, and the pods that failed."""
    wanted = LogFilter(trace_id=trace_id)
    records, failures = [], []
    for item in pod_logs(cluster, pods, follow=False, since_seconds=since_seconds):
        if isinstance(item, PodFailure):
            failures.append(item)
        elif wanted.accepts(item):
            records.append(item)
    return in_time_order(records), failures


def _read_pod(
    cluster: Cluster,
    pod: client.V1Pod,
    follow: bool,
    since_seconds: int | None,
    lines: queue.Queue[LogRecord | PodFailure | None],
) -> None:
    name = pod.metadata.name
    service = (pod.metadata.labels or {}).get(SERVICE_LABEL, "")
    timeout = cluster.request_timeout
    try:
        response = cluster.core.read_namespaced_pod_log(
            name,
            pod.metadata.namespace,
            container=APP_CONTAINER,
            follow=follow,
            since_seconds=since_seconds,
            _preload_content=False,
            # A followed pod may stay quiet for hours: no timeout then (kubectl logs -f has none either).
            _request_timeout=None if follow else timeout,
        )
        try:
            previous = None
            for raw in response:
                if not raw.strip():
                    continue
                record = parse(raw.decode("utf-8", "replace"), name, service=service, previous=previous)
                previous = record.time
                lines.put(record)
        finally:
            response.release_conn()
    except API_FAILURES as error:
        lines.put(PodFailure(name, cluster.failure(error)))
    except Exception as error:  # anything else still ends as one line about this pod, not a thread traceback
        lines.put(PodFailure(name, ApiError(f"{type(error).__name__}: {error}")))
    finally:
        lines.put(None)
