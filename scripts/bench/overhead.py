"""The kit's cost on one trivial endpoint: bare Flask against Flask with the whole kit, same gunicorn settings.

The servers run side by side for the whole section; the runs alternate (see ``ROUNDS``) so a drift of
the machine's speed hits every variant alike. ``kit_sampled`` is the kit with 10 % of new traces sampled
(``OTEL_TRACES_SAMPLER=parentbased_traceidratio``), to show what the always-on default spends on export.
The kit's servers use :mod:`seaway.gunicorn_conf` itself (``SEAWAY_SERVICE`` names a declared service only
so that the configuration loads; the app on the command line replaces that service's) with tracing
exported over OTLP/HTTP to :class:`TraceSink`, JSON access logs to a file, and CloudWatch EMF. Figures
per variant are medians over its runs.

One gunicorn worker (4 threads) per server: with two, the keep-alive connections wrk opens at once all
land, now and then, on whichever worker wins gthread's accept race, and the other idles: the same bare
server measured 3.1k and 9.3k req/s in consecutive runs. One worker makes every run use one process
for the app, and the comparison is of the per-request work the kit adds.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from bench import loadgen, procs
from bench.sink import TraceSink
from seaway_tools.up import Stack

VARIANTS = ("bare", "kit", "kit_sampled")
ROUNDS = ("bare", "kit", "kit_sampled", "kit_sampled", "kit", "bare", "bare", "kit", "kit_sampled")
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
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
    stack = Stack()
    ports = {name: procs.free_port() for name in VARIANTS}
    kit_command = [*procs.GUNICORN, *procs.KIT_CONFIG, "bench.apps:kit_app()"]
    commands = {
        "bare": [*procs.GUNICORN, "--config", "python:bench.bare_gunicorn", "bench.apps:bare_app()"],
        "kit": kit_command,
        "kit_sampled": kit_command,
    }
    kit_env = {
        "SEAWAY_SERVICE": "catalog",
        "OTEL_SERVICE_NAME": "bench",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "SEAWAY_CLOUDWATCH": "emf",
        "LOG_LEVEL": "INFO",
    }
    envs = {
        "bare": _env(ports["bare"], {}),
        "kit": _env(ports["kit"], kit_env),
        "kit_sampled": _env(ports["kit_sampled"], kit_env | SAMPLED),
    }
    runs: dict[str, list[loadgen.Result]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        for name in VARIANTS:
            path = "/hello" if name == "bare" else "/readyz"
            procs.start_timed(stack, name, commands[name], envs[name], path, ports[name], workdir / f"{name}.log")
        for name in VARIANTS:  # warm each: imports, first requests, the exporter's connection
            loadgen.saturate(f"http://127.0.0.1:{ports[name]}/hello", 2, CONNECTIONS, HELLO)
        for name in ROUNDS:
            pids = procs.tree(stack.processes[name].pid)
            before = procs.cpu_seconds(pids)
            result = loadgen.saturate(f"http://127.0.0.1:{ports[name]}/hello", seconds, CONNECTIONS, HELLO)
            used = procs.cpu_seconds(pids) - before
            runs[name].append(result)
            cpu[name].append(used / max(1, result.requests) * 1e6)
            log(f"overhead {name}: {result.rps} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms")
        memory = {name: procs.gunicorn_memory(stack.processes[name].pid) for name in VARIANTS}
    finally:
        stack.stop()
        sink.stop()
    summary = {name: _summary(runs[name], cpu[name], memory[name]) for name in VARIANTS}
    return {
        "endpoint": "GET /hello -> {'hello': 'world'}",
        "gunicorn": "gthread, WORKERS=1 (see the module's docstring), WORKER_THREADS=4, every server",
        "kit_sampled_is": "the kit with OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1",
        "connections": CONNECTIONS,
        "seconds_per_run": seconds,
        "order_of_runs": list(ROUNDS),
        **summary,
        "ratio_rps": round(summary["kit"]["rps"] / summary["bare"]["rps"], 3),
        "ratio_rps_sampled": round(summary["kit_sampled"]["rps"] / summary["bare"]["rps"], 3),
        "ratio_cpu": round(summary["bare"]["cpu_us_per_request"] / summary["kit"]["cpu_us_per_request"], 3),
        "spans_exported": sink.spans,
        "span_exports": sink.exports,
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
