"""The bench's figures as a plain-text table (the JSON file holds the same and more)."""

from __future__ import annotations


def _f(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return f"{value}{unit}"


def _rows(title: str, header: list[str], rows: list[list]) -> list[str]:
    cells = [header] + [[_f(c) if not isinstance(c, str) else c for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["", title]
    for index, row in enumerate(cells):
        lines.append(
            "  "
            + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if index == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def table(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Seaway bench: {m['cores']} cores, load average {m['load_average_at_start'][0]} at start"
        f" and {m.get('load_average_at_end', ['?'])[0]} at end; saturation by {m['generator_saturation']}",
    ]
    cores = f"({m['cores']} cores)"
    if "kit_overhead" in results:
        o = results["kit_overhead"]
        rows = [
            [
                name,
                o[name]["rps"],
                o[name]["p50_ms"],
                o[name]["p99_ms"],
                o[name]["cpu_us_per_request"],
                o[name]["worker_rss_mib"],
                o[name]["worker_pss_mib"],
                o[name]["failed"],
            ]
            for name in ("bare", "kit", "kit_sampled", "peer")
            if name in o
        ]
        lines += _rows(
            f"Kit overhead, {o['endpoint'].split(' ->')[0]}, {o['connections']} connections {cores}",
            ["variant", "req/s", "p50 ms", "p99 ms", "CPU us/req", "RSS MiB/wkr", "PSS MiB/wkr", "failed"],
            rows,
        )
        lines.append(f"  ratio kit/bare: {o['ratio_rps']} in req/s, {o['ratio_cpu']} in CPU per request")
        if "ratio_rps_sampled" in o:
            settings = ", ".join(f"{k}={v}" for k, v in o["kit_sampled_settings"].items())
            lines.append(
                f"  ratio kit_sampled/bare: {o['ratio_rps_sampled']} in req/s, {o['ratio_cpu_sampled']} in CPU per"
                f" request (EKS settings: {settings})"
            )
        if "ratio_rps_peer" in o:
            lines.append(
                f"  ratio peer/bare: {o['ratio_rps_peer']} in req/s, {o['ratio_cpu_peer']} in CPU per request;"
                f" kit/peer: {o['ratio_rps_kit_to_peer']} in req/s; kit's overhead over the peer's:"
                f" {o['overhead_kit_to_peer']}"
            )
        spans = ", ".join(f"{name} {o[name]['spans_exported']}" for name in ("kit", "kit_sampled", "peer") if name in o)
        lines.append(
            f"  spans received by the OTLP/HTTP sink: {o['spans_exported']} in {o['span_exports']} exports ({spans})"
        )
    if "startup_seconds" in results:
        s = results["startup_seconds"]
        lines += _rows(f"Start to ready {cores}", ["service", "seconds"], [[k, v] for k, v in s.items()])
    for key, title in (
        ("read_path", "Read path, GET /api/products/<id> via gateway -> catalog, cache warm"),
        ("order_path", "Order path, POST /api/orders via gateway -> orders -> catalog, SNS"),
    ):
        if key in results:
            p = results[key]
            rows = []
            for label, r in (("saturation", p["saturation"]), ("fixed rate", p["fixed_rate"])):
                rows.append(
                    [
                        label,
                        r.get("target_rps"),
                        r["rps"],
                        r["p50_ms"],
                        r["p90_ms"],
                        r["p99_ms"],
                        r["max_ms"],
                        r["failed"],
                    ]
                )
            lines += _rows(
                f"{title} {cores}", ["run", "target/s", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "failed"], rows
            )
            used = ", ".join(f"{name} {value}" for name, value in p["cores_used_at_saturation"].items())
            lines.append(f"  cores used at saturation: {used}")
            split = ", ".join(f"{n} {'/'.join(map(str, v))}" for n, v in p["cores_per_worker_at_saturation"].items())
            lines.append(f"  cores per gunicorn worker: {split}")
    if "fulfillment" in results:
        f = results["fulfillment"]
        lines += _rows(
            f"Fulfillment worker, order events queued by the order path {cores}",
            ["events", "seconds", "events/s", "receipts", "left in queue"],
            [[f["events"], f["seconds"], f["events_per_second"], f["receipts_written"], f["left_in_queue"]]],
        )
    if "cloudwatch" in results:
        c = results["cloudwatch"]
        rows = [
            [
                r["target_rps"],
                r["rps"],
                r["seconds"],
                r["put_calls"],
                r["put_calls_per_minute"],
                r["datums"],
                r["calls_per_flush"],
            ]
            for r in c["runs"]
        ]
        lines += _rows(
            f"CloudWatch PutMetricData, one catalog, interval {c['interval_seconds']} s {cores}",
            ["target/s", "req/s", "seconds", "calls", "calls/min", "datums", "calls/flush"],
            rows,
        )
        lines.append(f"  at the default {c['default_interval_seconds']} s interval: calls/min = calls per flush")
    if "memory" in results:
        rows = [
            [
                name,
                v["workers"],
                v["per_worker"]["rss_mib"],
                v["per_worker"]["pss_mib"],
                v["master"]["rss_mib"],
                v["master"]["pss_mib"],
                v["per_pod"]["rss_mib"],
                v["per_pod"]["pss_mib"],
            ]
            for name, v in results["memory"].items()
        ]
        lines += _rows(
            f"Memory after the runs, MiB {cores}",
            ["service", "workers", "RSS/wkr", "PSS/wkr", "master RSS", "master PSS", "pod RSS", "pod PSS"],
            rows,
        )
    return "\n".join(lines)
