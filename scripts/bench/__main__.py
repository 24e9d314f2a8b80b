"""``make bench``: figures for the kit and the storefront on this machine, printed and written as JSON.

Run as ``PYTHONPATH=scripts .venv/bin/python -m bench [--only SECTION,...] [--out FILE]``. Sections:

- ``overhead``: one trivial endpoint, bare Flask against Flask with the whole kit (metrics, tracing with
  an OTLP/HTTP exporter to a local sink, JSON access logs, CloudWatch EMF), the kit with the settings the
  chart gives a service on EKS, and a peer assembled by hand from prometheus-flask-exporter,
  opentelemetry-instrumentation-flask and python-json-logger, all under the same gunicorn settings, runs
  alternated; throughput, latency, CPU per request, worker memory, and the ratios to bare Flask.
- ``storefront``: the four services started as ``seaway up`` starts them (moto server, resources from
  the declarations, gunicorn with the kit's configuration), then: start-up time of each, the read path
  (gateway -> catalog, cache warm) and the order path (gateway -> orders -> catalog, SNS) at saturation
  and at a fixed rate below it, the fulfillment worker draining the order events those runs queued, and
  memory per gunicorn worker.
- ``cloudwatch``: PutMetricData calls per minute of one catalog (``SEAWAY_CLOUDWATCH=api`` against the
  moto server) at two request rates.

Every figure is stored with the machine's core count and load average: timings are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = str(Path(__file__).resolve().parent.parent)  # scripts/, so `import bench` works in children
SECTIONS = ("overhead", "storefront", "cloudwatch")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    wrk = shutil.which("wrk")
    return {
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "generator_saturation": "wrk" if wrk else "asyncio closed loop (wrk not on PATH)",
        "generator_fixed_rate": "asyncio open loop (latency from the scheduled send time)",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git_commit(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "bench.json"))
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measured run")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    results: dict = {"machine": machine()}
    if results["machine"]["load_average_at_start"][0] >= 1.0:
        log(f"the machine is busy (load {results['machine']['load_average_at_start'][0]}): figures will be low")
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="seaway-bench-"))
    log(f"process logs in {workdir}")
    if "overhead" in wanted:
        from bench import overhead

        results["kit_overhead"] = overhead.run(workdir, args.seconds, log)
    if "storefront" in wanted or "cloudwatch" in wanted:
        from bench import storefront

        results.update(storefront.run(workdir, args.seconds, log, wanted))
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["bench_seconds"] = round(time.perf_counter() - began, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(report.table(results))
    print(f"\nwritten to {out} ({results['machine']['bench_seconds']} s)")
    return 0


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
