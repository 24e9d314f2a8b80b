"""The production settings of a service, as the chart gives them on EKS: ``helm template`` of the storefront
umbrella chart with ``values-eks.yaml`` (what ``make deploy`` installs), then the gateway's ConfigMap.

Only the settings that change the per-request work of the kit are kept (:data:`KEYS`); the bench sets the
rest (bind, workers, threads, the OTLP endpoint, AWS) itself, the same for every variant. Nothing here
restates a value: change the sampler in ``values-eks.yaml`` and ``kit_sampled`` follows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
UMBRELLA = "storefront"
VALUES = "values-eks.yaml"
SERVICE = "gateway"  # where traces start: its sampler decides for every service downstream
KEYS = ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_PROPAGATORS", "LOG_LEVEL", "SEAWAY_CLOUDWATCH")


class ChartUnavailable(RuntimeError):
    """helm is missing or the chart did not render; the message says which."""


def find_helm() -> str | None:
    local = ROOT / ".tools" / "bin" / "helm"
    return shutil.which("helm") or (str(local) if local.is_file() and os.access(local, os.X_OK) else None)


def service_env(service: str = SERVICE) -> dict[str, str]:
    """The ConfigMap data of ``service`` in the EKS rendering of the umbrella chart."""
    helm = find_helm()
    if helm is None:
        raise ChartUnavailable("helm not found (make tools)")
    with tempfile.TemporaryDirectory(prefix="seaway-bench-chart-") as scratch:
        # A copy, so that `helm dependency build` leaves the work tree as it was.
        charts = Path(scratch) / "charts"
        shutil.copytree(CHARTS, charts, ignore=shutil.ignore_patterns("charts", "Chart.lock", "*.tgz"))
        for args in (
            ["dependency", "build", str(charts / UMBRELLA)],
            [
                "template",
                "sf",
                str(charts / UMBRELLA),
                "--namespace",
                "storefront",
                "-f",
                str(charts / UMBRELLA / VALUES),
            ],
        ):
            done = subprocess.run([helm, *args], capture_output=True, text=True, timeout=120, check=False)
            if done.returncode != 0:
                raise ChartUnavailable(f"helm {args[0]}: {done.stderr.strip()}")
    for obj in yaml.safe_load_all(done.stdout):
        if obj and obj.get("kind") == "ConfigMap" and obj.get("data", {}).get("SEAWAY_SERVICE") == service:
            return dict(obj["data"])
    raise ChartUnavailable(f"no ConfigMap of {service} in the EKS rendering of {UMBRELLA}")


def production_settings(service: str = SERVICE) -> dict[str, str]:
    """:data:`KEYS` as the chart sets them for ``service`` on EKS (a key the chart leaves out stays out)."""
    env = service_env(service)
    return {key: env[key] for key in KEYS if key in env}
