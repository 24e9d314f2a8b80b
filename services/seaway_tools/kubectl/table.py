"""Printing ``status`` rows: a kubectl-like table (``-o wide`` adds columns) or JSON (``-o json``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime

from seaway_tools.kubectl.status import ServiceStatus, age


def render_table(rows: Sequence[ServiceStatus], *, now: datetime, wide: bool = False, namespaces: bool = False) -> str:
    """Aligned columns, three spaces apart, headers in capitals, like ``kubectl get``."""
    header = ["SERVICE", "READY", "UP-TO-DATE", "AVAILABLE", "TAG", "RESTARTS(1H)", "LAST-ROLLOUT"]
    header += ["HPA", "MESH", "PDB", "VERDICT"]
    if wide:
        header += ["DEPLOYMENT", "PODS", "IMAGE"]
    if namespaces:
        header.insert(0, "NAMESPACE")
    lines = [header]
    for row in rows:
        cells = [
            row.service,
            f"{row.ready}/{row.desired}",
            str(row.updated),
            str(row.available),
            row.image_tag,
            str(row.restarts_last_hour),
            age(row.last_rollout, now),
            str(row.hpa) if row.hpa else "-",
            _mesh(row),
            "-" if row.pdb_disruptions_allowed is None else str(row.pdb_disruptions_allowed),
            f"{row.verdict}: {', '.join(row.reasons)}" if row.reasons else row.verdict,
        ]
        if wide:
            cells += [row.deployment, str(row.pods), row.image]
        if namespaces:
            cells.insert(0, row.namespace)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def render_json(rows: Sequence[ServiceStatus]) -> str:
    """``{"services": [...], "healthy": bool}``, times in RFC 3339."""
    services = [dict(dataclasses.asdict(row), reasons=list(row.reasons)) for row in rows]
    document = {"services": services, "healthy": all(row.healthy for row in rows)}
    return json.dumps(document, indent=2, default=_json_default)


def _mesh(row: ServiceStatus) -> str:
    if not row.pods:
        return "-"
    return f"{row.meshed_pods}/{row.pods}" + (f" {row.mesh}" if row.meshed_pods else "")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {value!r}")
