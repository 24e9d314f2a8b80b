"""The kit's cost on one trivial endpoint: bare Flask, Flask with the whole kit, the kit with the settings a
service has in production, and a peer assembled by hand for the same signals; same gunicorn settings.

The servers run side by side for the whole section; the runs alternate (see ``ROUNDS``) so a drift of
the machine's speed hits every variant alike. Figures per variant are medians over its runs.

- ``kit``: :mod:`seaway.gunicorn_conf` itself (``SEAWAY_SERVICE`` names a declared service only so that the
  configuration loads; the app on the command line replaces that service's), every trace exported over
  OTLP/HTTP to :class:`TraceSink`, JSON access logs to a file, CloudWatch EMF.
- ``kit_sampled``: the kit with what the chart gives the gateway on EKS (:mod:`bench.eks_env`: sampler, its
  ratio, propagators, log level, CloudWatch mode), read from ``helm template`` of the storefront with
  ``values-eks.yaml``, never restated here. CloudWatch ``api`` mode sends ``PutMetricData`` to a moto
  server the section starts, never to AWS. Without helm the variant is left out and the JSON says why.
- ``peer``: :mod:`bench.peer_app`, prometheus-flask-exporter (multiprocess), opentelemetry-instrumentation-flask
  with the same exporter and sink, every trace exported, and a python-json-logger access line.

One gunicorn worker (4 threads) per server: with two, the keep-alive connections wrk opens at once all
land, now and then, on whichever worker wins gthread's accept race, and the other idles: the same bare
server measured 3.1k and 9.3k req/s in consecutive runs. One worker makes every run use one process
for the app, and the comparison is of the per-request work each adds.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

from bench import eks_env, loadgen, procs
from bench.sink import TraceSink

VARIANTS = ("bare", "kit", "kit_sampled", "peer")
# Three rounds: in order, reversed, then shifted by two, so no variant always runs first or after the same one.
ROUNDS = (
    *("bare", "kit", "kit_sampled", "peer"),
    *("peer", "kit_sampled", "kit", "bare"),
    *("kit_sampled", "peer", "bare", "kit"),
)
CONNECTIONS = 16
HELLO = ("GET", "/hello", b"", {})


def _env(port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "SEAWAY_", "PROMETHEUS_")) and key not in ("WORKERS", "WORKER_THREADS")
    }
    scripts = str(Path(__file__).resolve().parent.parent)
    return env | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONPATH": os.pathsep.join(filter(None, [scripts, env.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "DRAIN_SECONDS": "0",
        "WORKERS": "1",
        **extra,
    }


def run(workdir: Path, seconds: float, log) -> dict:
    sink = TraceSink().start()
    stack = procs.Stack()
    variants = list(VARIANTS)
    try:
        production = eks_env.production_settings()
    except eks_env.ChartUnavailable as error:
        production = {}
        variants.remove("kit_sampled")
        log(f"overhead: kit_sampled left out, the EKS settings come from the chart: {error}")
    rounds = [name for name in ROUNDS if name in variants]
    ports = {name: procs.free_port() for name in variants}
    kit_command = [*procs.GUNICORN, *procs.KIT_CONFIG, "bench.apps:kit_app()"]
    commands = {
        "bare": [*procs.GUNICORN, "--config", "python:bench.bare_gunicorn", "bench.apps:bare_app()"],
        "kit": kit_command,
        "kit_sampled": kit_command,
        "peer": [*procs.GUNICORN, "--config", "python:bench.peer_gunicorn", "bench.peer_app:peer_app()"],
    }
    kit_env = {
        "SEAWAY_SERVICE": "catalog",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "SEAWAY_CLOUDWATCH": "emf",
        "LOG_LEVEL": "INFO",
    }
    peer_metrics = workdir / "peer-metrics"
    peer_metrics.mkdir(exist_ok=True)
    peer_env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "PROMETHEUS_MULTIPROC_DIR": str(peer_metrics),
        "PEER_METRICS_PORT": str(procs.free_port()),
    }
    envs = {
        "bare": _env(ports["bare"], {}),
        "kit": _env(ports["kit"], kit_env | _named("kit")),
        "peer": _env(ports["peer"], peer_env | _named("peer")),
    }
    runs: dict[str, list[loadgen.Result]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    try:
        if "kit_sampled" in variants:
            aws = _emulator(stack, workdir) if production.get("SEAWAY_CLOUDWATCH") == "api" else {}
            envs["kit_sampled"] = _env(ports["kit_sampled"], kit_env | production | aws | _named("kit_sampled"))
        for name in variants:
            path = "/readyz" if name.startswith("kit") else "/hello"
            procs.start_timed(stack, name, commands[name], envs[name], path, ports[name], workdir / f"{name}.log")
        for name in variants:  # warm each: imports, first requests, the exporter's connection
            loadgen.saturate(f"http://127.0.0.1:{ports[name]}/hello", 2, CONNECTIONS, HELLO)
        for name in rounds:
            pids = procs.tree(stack.processes[name].pid)
            before = procs.cpu_seconds(pids)
            result = loadgen.saturate(f"http://127.0.0.1:{ports[name]}/hello", seconds, CONNECTIONS, HELLO)
            used = procs.cpu_seconds(pids) - before
            runs[name].append(result)
            cpu[name].append(used / max(1, result.requests) * 1e6)
            log(f"overhead {name}: {result.rps} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms")
        memory = {name: procs.gunicorn_memory(stack.processes[name].pid) for name in variants}
    finally:
        stack.stop()
        sink.stop()
    summary = {name: _summary(runs[name], cpu[name], memory[name]) for name in variants}
    for name in variants:
        summary[name]["spans_exported"] = sink.spans_by_service.get(_named(name).get("OTEL_SERVICE_NAME"), 0)

    def ratio(a: float, b: float) -> float:
        return round(a / b, 3)

    bare = summary["bare"]
    out = {
        "endpoint": "GET /hello -> {'hello': 'world'}",
        "gunicorn": "gthread, WORKERS=1 (see the module's docstring), WORKER_THREADS=4, every server",
        "kit_sampled_is": "the kit with the gateway's settings from `helm template` of charts/storefront with"
        " values-eks.yaml (keys below); CloudWatch api mode against a moto server",
        "kit_sampled_settings": production,
        "peer_is": "Flask with prometheus-flask-exporter (GunicornPrometheusMetrics, multiprocess),"
        " opentelemetry-instrumentation-flask (OTLP/HTTP to the same sink, every trace) and a python-json-logger"
        " access line on stdout",
        "connections": CONNECTIONS,
        "seconds_per_run": seconds,
        "order_of_runs": rounds,
        **summary,
        "ratio_rps": ratio(summary["kit"]["rps"], bare["rps"]),
        "ratio_rps_peer": ratio(summary["peer"]["rps"], bare["rps"]),
        "ratio_rps_kit_to_peer": ratio(summary["kit"]["rps"], summary["peer"]["rps"]),
        "ratio_cpu": ratio(bare["cpu_us_per_request"], summary["kit"]["cpu_us_per_request"]),
        "ratio_cpu_peer": ratio(bare["cpu_us_per_request"], summary["peer"]["cpu_us_per_request"]),
        "spans_exported": sink.spans,
        "span_exports": sink.exports,
    }
    if "kit_sampled" in summary:
        out["ratio_rps_sampled"] = ratio(summary["kit_sampled"]["rps"], bare["rps"])
        out["ratio_cpu_sampled"] = ratio(bare["cpu_us_per_request"], summary["kit_sampled"]["cpu_us_per_request"])
    # Like for like, every trace exported: the kit's share of lost throughput over the peer's (the goal: <= 0.5).
    out["overhead_kit_to_peer"] = ratio(1 - out["ratio_rps"], 1 - out["ratio_rps_peer"])
    return out


def _named(variant: str) -> dict[str, str]:
    """Each exporting variant its own service.name, so the sink counts its spans apart."""
    return {"OTEL_SERVICE_NAME": f"bench-{variant}"}


def _emulator(stack: procs.Stack, workdir: Path) -> dict[str, str]:
    """A moto server for CloudWatch api mode; the variables that point boto3 at it."""
    port = procs.free_port()
    url = f"http://127.0.0.1:{port}"
    env = _env(port, {})
    with (workdir / "emulator.log").open("ab") as out:
        moto = stack.start(
            "emulator", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, log=out
        )
    procs.wait_ready(f"{url}/moto-api/", moto, "the AWS emulator")
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "emulator",
        "AWS_SECRET_ACCESS_KEY": "emulator",
    }


def _summary(results: list[loadgen.Result], cpu_us: list[float], memory: dict) -> dict:
    def med(values):
        values = [v for v in values if v is not None]
        return round(statistics.median(values), 2) if values else None

    return {
        "rps": med([r.rps for r in results]),
        "p50_ms": med([r.p50_ms for r in results]),
        "p99_ms": med([r.p99_ms for r in results]),
        "cpu_us_per_request": med(cpu_us),
        "failed": sum(r.failed for r in results),
        "runs_rps": [r.rps for r in results],
        "worker_rss_mib": memory["per_worker"]["rss_mib"],
        "worker_pss_mib": memory["per_worker"]["pss_mib"],
    }
