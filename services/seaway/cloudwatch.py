"""CloudWatch metrics from the same measurements as ``/metrics``: one publisher per pod.

``SEAWAY_CLOUDWATCH`` chooses how: ``emf`` (default) writes Embedded Metric Format lines to stdout, for
the CloudWatch agent or Fluent Bit to ship; ``api`` calls ``PutMetricData`` through boto3; ``off``.
The publisher is a thread in the gunicorn master (started in ``when_ready``, flushed once more on exit).
Every ``SEAWAY_CLOUDWATCH_INTERVAL_SECONDS`` it reads the multiprocess metric files that ``/metrics``
serves, takes what changed since the last interval and sends that, aggregated: the number of log lines
and API calls depends on the routes in use, not on the request rate or the number of workers, and
nothing is sent from the request path.

What is sent, in namespace ``SEAWAY_CLOUDWATCH_NAMESPACE`` (default ``Seaway``):

======================  ============  =====================================================================
metric                  unit          dimension sets
======================  ============  =====================================================================
``Requests``            Count         ``[Service]``, ``[Service, Route, StatusClass]``
``Latency``             Milliseconds  ``[Service]``, ``[Service, Route, StatusClass]``
``Errors``              Count         ``[Service]``: responses with a 5xx status
``SlowRequests``        Count         ``[Service]``: slower than the latency objective (0.25 s)
======================  ============  =====================================================================

``Route`` is the route template (``unmatched`` for unknown paths), ``StatusClass`` is ``2xx`` ... ``5xx``.
The kit's probes and ``/metrics`` are not counted. Latency comes from the Prometheus histogram: each
request is represented by the upper bound of its bucket (20 s for the overflow bucket), so percentile
statistics and ``PR(:250)`` are exact at bucket bounds and ``Average`` is an upper estimate. With
``api`` the latency datum carries ``Values``/``Counts`` (its SampleCount is the number of requests);
EMF has no counts, so each EMF line carries at most 100 latency values placed at the quantiles of the
interval's distribution (use ``Requests`` for counts, ``Latency`` for percentiles).

``api`` mode: at most 1000 entries and well under 1 MB per call; entries wait in a buffer of at most
``SEAWAY_CLOUDWATCH_BUFFER_DATUMS`` entries while CloudWatch is unreachable or throttling, the oldest
dropped beyond that and counted in ``seaway_cloudwatch_dropped_total``; errors are logged and the next
interval tries again. ``seaway_cloudwatch_put_calls_total{outcome}`` counts the calls.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from seaway import aws, metrics
from seaway.config import load, setting

log = logging.getLogger("seaway.cloudwatch")

MAX_DATUMS_PER_CALL = 1000
MAX_PAYLOAD_BYTES = 1_000_000
_PAYLOAD_BUDGET = 800_000  # estimated from JSON; the wire format differs, so keep a margin
MAX_EMF_VALUES = 100
OVERFLOW_MILLISECONDS = 20_000.0
_ROUTE_SETS = (("Service",), ("Service", "Route", "StatusClass"))
_SERVICE_SET = (("Service",),)


@dataclasses.dataclass(frozen=True)
class CloudWatchSettings:
    seaway_cloudwatch: str = setting("emf", choices=("emf", "api", "off"))
    seaway_cloudwatch_namespace: str = setting("Seaway")
    seaway_cloudwatch_interval_seconds: float = setting(60.0, minimum=0.05, maximum=3600)
    seaway_cloudwatch_buffer_datums: int = setting(20_000, minimum=1, maximum=1_000_000)


@dataclasses.dataclass
class Stats:
    """Requests of one route and status class in one interval: count, total seconds, per-bucket counts."""

    count: float = 0.0
    seconds: float = 0.0
    buckets: list[float] = dataclasses.field(default_factory=list)  # not cumulative; last is +Inf

    def add(self, other: Stats) -> None:
        self.count += other.count
        self.seconds += other.seconds
        if len(self.buckets) < len(other.buckets):
            self.buckets += [0.0] * (len(other.buckets) - len(self.buckets))
        for index, value in enumerate(other.buckets):
            self.buckets[index] += value


Key = tuple[str, str]  # (route, status class)


def status_class(status: str) -> str:
    return f"{status[0]}xx" if status[:1].isdigit() else "other"


def read_totals(registry: Any) -> tuple[list[float], dict[Key, Stats]]:
    """Cumulative request statistics since the pod started, by route and status class; and bucket bounds."""
    bounds: dict[float, None] = {}
    cumulative: dict[tuple[Key, tuple], dict[float, float]] = {}
    totals: dict[Key, Stats] = {}
    for family in registry.collect():
        if family.name != metrics.SERVER_DURATION._name:
            continue
        for sample in family.samples:
            labels = sample.labels
            key = (labels.get("http_route", ""), status_class(labels.get("http_response_status_code", "")))
            stats = totals.setdefault(key, Stats())
            if sample.name.endswith("_count"):
                stats.count += sample.value
            elif sample.name.endswith("_sum"):
                stats.seconds += sample.value
            elif sample.name.endswith("_bucket"):
                bound = float(labels["le"])
                bounds[bound] = None
                series = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                cumulative.setdefault((key, series), {})[bound] = sample.value
    ordered = sorted(bounds)
    for (key, _), by_bound in cumulative.items():
        previous = 0.0
        per_bucket = []
        for bound in ordered:
            value = by_bound.get(bound, previous)
            per_bucket.append(value - previous)
            previous = value
        totals[key].add(Stats(buckets=per_bucket))
    return ordered, totals


class Deltas:
    """What changed between successive readings of cumulative totals."""

    def __init__(self) -> None:
        self._last: dict[Key, Stats] = {}

    def take(self, totals: Mapping[Key, Stats]) -> dict[Key, Stats]:
        changed: dict[Key, Stats] = {}
        for key, now in totals.items():
            before = self._last.get(key)
            if before is None or now.count < before.count:  # new, or the files were reset
                delta = Stats(now.count, now.seconds, list(now.buckets))
            else:
                delta = Stats(
                    now.count - before.count,
                    now.seconds - before.seconds,
                    [n - b for n, b in zip(now.buckets, before.buckets + [0.0] * len(now.buckets), strict=False)],
                )
            if delta.count > 0:
                changed[key] = delta
        self._last = {key: Stats(s.count, s.seconds, list(s.buckets)) for key, s in totals.items()}
        return changed


def _bucket_milliseconds(bounds: list[float]) -> list[float]:
    """The value each bucket's requests are represented by: its upper bound, in milliseconds."""
    return [OVERFLOW_MILLISECONDS if math.isinf(b) else round(b * 1000, 3) for b in bounds]


def _slow(stats: Stats, bounds: list[float]) -> float:
    return sum(n for bound, n in zip(bounds, stats.buckets, strict=False) if bound > metrics.LATENCY_OBJECTIVE_SECONDS)


def _quantile_values(stats: Stats, values: list[float]) -> list[float]:
    """At most 100 values with the distribution of the interval's buckets (all of them when fewer)."""
    counts = [max(0, round(n)) for n in stats.buckets]
    total = sum(counts)
    if total <= MAX_EMF_VALUES:
        return [value for value, n in zip(values, counts, strict=False) for _ in range(n)]
    picked, cumulative, index = [], 0, 0
    for step in range(MAX_EMF_VALUES):
        rank = (step + 0.5) * total / MAX_EMF_VALUES
        while index < len(counts) - 1 and cumulative + counts[index] < rank:
            cumulative += counts[index]
            index += 1
        picked.append(values[index])
    return picked


def emf_documents(
    service: str, namespace: str, interval: Mapping[Key, Stats], bounds: list[float], timestamp_ms: int
) -> Iterator[dict[str, Any]]:
    """One EMF document per route and status class that had requests in the interval."""
    values = _bucket_milliseconds(bounds)
    for (route, klass), stats in sorted(interval.items()):
        yield {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [list(s) for s in _ROUTE_SETS],
                        "Metrics": [{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}],
                    },
                    {
                        "Namespace": namespace,
                        "Dimensions": [list(s) for s in _SERVICE_SET],
                        "Metrics": [{"Name": "Errors", "Unit": "Count"}, {"Name": "SlowRequests", "Unit": "Count"}],
                    },
                ],
            },
            "Service": service,
            "Route": route,
            "StatusClass": klass,
            "Requests": stats.count,
            "Errors": stats.count if klass == "5xx" else 0,
            "SlowRequests": _slow(stats, bounds),
            "Latency": _quantile_values(stats, values),
        }


def metric_data(
    service: str, interval: Mapping[Key, Stats], bounds: list[float], timestamp: datetime
) -> list[dict[str, Any]]:
    """PutMetricData entries for one interval: per route and status class, and for the whole service."""
    values = _bucket_milliseconds(bounds)

    def latency(dimensions: list[dict[str, str]], stats: Stats) -> dict[str, Any]:
        pairs = [(v, n) for v, n in zip(values, stats.buckets, strict=False) if n > 0]
        return {
            "MetricName": "Latency",
            "Dimensions": dimensions,
            "Timestamp": timestamp,
            "Unit": "Milliseconds",
            "Values": [v for v, _ in pairs],
            "Counts": [n for _, n in pairs],
        }

    def count(name: str, dimensions: list[dict[str, str]], value: float) -> dict[str, Any]:
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Unit": "Count", "Value": value}

    data: list[dict[str, Any]] = []
    whole = Stats()
    errors = slow = 0.0
    for (route, klass), stats in sorted(interval.items()):
        dimensions = [
            {"Name": "Service", "Value": service},
            {"Name": "Route", "Value": route},
            {"Name": "StatusClass", "Value": klass},
        ]
        data += [count("Requests", dimensions, stats.count), latency(dimensions, stats)]
        whole.add(stats)
        errors += stats.count if klass == "5xx" else 0
        slow += _slow(stats, bounds)
    if whole.count:
        service_only = [{"Name": "Service", "Value": service}]
        data += [
            count("Requests", service_only, whole.count),
            count("Errors", service_only, errors),
            count("SlowRequests", service_only, slow),
            latency(service_only, whole),
        ]
    return data


def batches(data: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Groups of entries within PutMetricData's limits: 1000 entries and 1 MB per call."""
    batch: list[dict[str, Any]] = []
    size = 0
    for datum in data:
        datum_size = len(json.dumps(datum, default=str)) + 16
        if batch and (len(batch) >= MAX_DATUMS_PER_CALL or size + datum_size > _PAYLOAD_BUDGET):
            yield batch
            batch, size = [], 0
        batch.append(datum)
        size += datum_size
    if batch:
        yield batch


# --- the publisher ------------------------------------------------------------------------------------

# Held while the publisher touches what a forked worker would inherit mid-use (metric values, stdout and
# logging locks); gunicorn's fork of a new worker waits for it (see _guard_forks).
_fork_guard = threading.Lock()
_guarded = False


def _guard_forks() -> None:
    global _guarded
    if not _guarded:
        os.register_at_fork(
            before=_fork_guard.acquire, after_in_parent=_fork_guard.release, after_in_child=_fork_guard.release
        )
        _guarded = True


class Publisher:
    """Reads the pod's metric files every interval and sends the deltas to CloudWatch."""

    def __init__(self, service: str, settings: CloudWatchSettings, out: Any = None) -> None:
        self.service = service
        self.settings = settings
        self.out = out or sys.stdout
        self._deltas = Deltas()
        self._buffer: deque[dict[str, Any]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        _guard_forks()
        with _fork_guard:
            self._deltas.take(read_totals(metrics.registry())[1])  # a restarted master does not resend
        self._thread = threading.Thread(target=self._run, name="seaway-cloudwatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and send what is left (the master is exiting, the workers are gone)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.seaway_cloudwatch_interval_seconds + 15)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.seaway_cloudwatch_interval_seconds):
            try:
                self.flush()
            except Exception:  # the publisher must outlive any one bad interval; the next one tries again
                with _fork_guard:
                    log.exception("cloudwatch publishing failed")

    def flush(self) -> None:
        """Send what changed since the previous flush."""
        now = time.time()
        with _fork_guard:
            bounds, totals = read_totals(metrics.registry())
            interval = self._deltas.take(totals)
            if interval:
                metrics.CLOUDWATCH_FLUSHES.inc()
            if self.settings.seaway_cloudwatch == "emf":
                self._write_emf(interval, bounds, int(now * 1000))
                return
            self._enqueue(metric_data(self.service, interval, bounds, datetime.fromtimestamp(now, UTC)))
        self._send()

    def _write_emf(self, interval: Mapping[Key, Stats], bounds: list[float], timestamp_ms: int) -> None:
        stamp = datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
        for document in emf_documents(
            self.service, self.settings.seaway_cloudwatch_namespace, interval, bounds, timestamp_ms
        ):
            # The kit's log keys too, so the line reads like every other log line.
            line = {
                "time": stamp.replace("+00:00", "Z"),
                "level": "INFO",
                "service": self.service,
                "logger": log.name,
                "message": "metrics",
                **document,
            }
            self.out.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.out.flush()

    def _enqueue(self, data: list[dict[str, Any]]) -> None:
        self._buffer.extend(data)
        overflow = len(self._buffer) - self.settings.seaway_cloudwatch_buffer_datums
        if overflow > 0:
            for _ in range(overflow):
                self._buffer.popleft()
            metrics.CLOUDWATCH_DROPPED.inc(overflow)
            log.warning("cloudwatch buffer full: dropped the oldest metric data", extra={"dropped": overflow})

    def _send(self) -> None:
        with _fork_guard:
            pending = list(self._buffer)
            self._buffer.clear()
        client = aws.client("cloudwatch")
        queue = list(batches(pending))
        for index, batch in enumerate(queue):
            try:
                client.put_metric_data(Namespace=self.settings.seaway_cloudwatch_namespace, MetricData=batch)
            except (BotoCoreError, ClientError) as error:
                code = error.response["Error"].get("Code", "") if isinstance(error, ClientError) else ""
                with _fork_guard:
                    metrics.CLOUDWATCH_PUT_CALLS.labels("error").inc()
                    # Keep what was not sent for the next interval (bounded: the oldest go first).
                    self._buffer.extendleft(reversed([d for b in queue[index:] for d in b]))
                    self._enqueue([])
                    log.warning(
                        "cloudwatch PutMetricData failed; retrying next interval",
                        extra={"error": str(error), "code": code, "pending": len(self._buffer)},
                    )
                return
            with _fork_guard:
                metrics.CLOUDWATCH_PUT_CALLS.labels("ok").inc()
                metrics.CLOUDWATCH_DATUMS.inc(len(batch))


_publisher: Publisher | None = None


def start_publisher(service: str) -> Publisher | None:
    """In the gunicorn master (``when_ready``): the pod's one publisher, unless SEAWAY_CLOUDWATCH=off."""
    global _publisher
    settings = load(CloudWatchSettings)
    if settings.seaway_cloudwatch == "off" or metrics.multiprocess_dir() is None or _publisher is not None:
        return _publisher
    _publisher = Publisher(service, settings)
    _publisher.start()
    return _publisher


def stop_publisher() -> None:
    """In the gunicorn master (``on_exit``): a last flush."""
    global _publisher
    if _publisher is not None:
        _publisher.stop()
        _publisher = None
