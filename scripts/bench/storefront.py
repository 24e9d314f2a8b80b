"""The storefront under load, started as ``seaway up`` starts it: read path, order path, fulfillment, memory.

The moto server, the resources from the declarations (:func:`seaway_tools.resources.create`) and each service's
environment (:func:`seaway_tools.up.service_env`) are those of ``seaway up``; a redis-server is added when one
is installed (the catalog's cache and the gateway's rate limits then live in Redis, as on EKS), and the
gateway's per-client rate limit is raised out of the way (the bench is one client sending thousands of
requests a second). Orders are placed by a demo customer signed in to the emulator's user pool (Cognito's
InitiateAuth, as the web page signs in). Services start one at a time so each start-up time is measured on an
idle machine.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import sys
import time
import uuid
from pathlib import Path

from bench import loadgen, procs
from seaway import aws
from seaway.service import discover
from seaway_tools import resources, up

HOST = "127.0.0.1"
CONNECTIONS = 16
FIXED_RATE_SHARE = 0.5  # latency is measured at this share of the throughput found at saturation
PRODUCT = "espresso-beans"
ORDER = json.dumps({"items": [{"product_id": PRODUCT, "quantity": 1}]}).encode()
GENEROUS_RATE_LIMIT = {"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000"}
DRAIN_TIMEOUT = 120.0
CLOUDWATCH_INTERVAL = 5.0
CLOUDWATCH_RATES = (20, 200)


def _base_env(emulator: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "SEAWAY_", "PROMETHEUS_")) and k not in ("WORKERS", "WORKER_THREADS", "REDIS_URL")
    }
    return env | {
        "AWS_ENDPOINT_URL": emulator,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "PYTHONUNBUFFERED": "1",
    }


def run(workdir: Path, seconds: float, log, wanted: list[str]) -> dict:
    services = discover()
    stack = procs.Stack()
    results: dict = {}
    emulator_port = procs.free_port()
    emulator = f"http://{HOST}:{emulator_port}"
    base = _base_env(emulator)
    ports = {name: procs.free_port() for name in services}
    try:
        with (workdir / "emulator.log").open("ab") as out:
            moto = stack.start(
                "emulator", [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(emulator_port)], base, log=out
            )
        procs.wait_ready(f"{emulator}/moto-api/", moto, "the AWS emulator")
        redis_url = _start_redis(stack, workdir)
        saved = dict(os.environ)
        os.environ.update(
            {k: base[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        )
        try:
            environments = resources.create(services.values())
            # Orders are a signed-in customer's: a demo customer's token from the emulator's user pool.
            customer = {"Authorization": f"Bearer {resources.demo_token(environments['gateway'])}"}
        finally:
            os.environ.clear()
            os.environ.update(saved)

        def env_of(name: str, **extra: str) -> dict[str, str]:
            env = up.service_env(services[name], base, HOST, ports, environments[name])
            if redis_url and (services[name].redis or name == "gateway"):
                env["REDIS_URL"] = redis_url
            if name == "gateway":
                env |= GENEROUS_RATE_LIMIT
            return env | extra

        results["setup"] = {
            "cache": "redis-server" if redis_url else "in-process (no redis-server on PATH)",
            "workers_per_service": 2,
            "threads_per_worker": 4,
        }
        if "storefront" in wanted:
            results |= _storefront(stack, env_of, ports, environments, workdir, seconds, log, customer)
        if "cloudwatch" in wanted:
            results["cloudwatch"] = _cloudwatch(stack, env_of, workdir, log)
    finally:
        stack.stop()
    return results


def _start_redis(stack: procs.Stack, workdir: Path) -> str | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = procs.free_port()
    command = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    with (workdir / "redis.log").open("ab") as out:
        process = stack.start("redis", command, os.environ, log=out)
    import redis

    client = redis.Redis(host=HOST, port=port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            client.ping()
            return f"redis://{HOST}:{port}/0"
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def _start(stack, name, env, port, workdir) -> float:
    command = [*procs.GUNICORN, *procs.KIT_CONFIG]
    return round(procs.start_timed(stack, name, command, env, "/readyz", port, workdir / f"{name}.log"), 2)


def _storefront(stack, env_of, ports, environments, workdir, seconds, log, customer) -> dict:
    startup = {}
    for name in ("catalog", "orders", "gateway"):  # fulfillment later: the order runs fill its queue
        startup[name] = _start(stack, name, env_of(name), ports[name], workdir)
        log(f"{name} ready in {startup[name]} s")
    gateway = f"http://{HOST}:{ports['gateway']}"

    read = ("GET", f"/api/products/{PRODUCT}", b"", {})
    loadgen.saturate(gateway + read[1], 2, CONNECTIONS, read)  # warms the cache and every worker
    read_path = _saturate_then_fixed(stack, gateway, read, seconds, log, "read path")

    run_id = uuid.uuid4().hex[:8]
    order = ("POST", "/api/orders", ORDER, customer)

    def an_order(index: int) -> loadgen.Request:
        return "POST", "/api/orders", ORDER, {**customer, "Idempotency-Key": f"bench-{run_id}-{index}"}

    loadgen.saturate(gateway + "/api/orders", 1, CONNECTIONS, order, unique_header="Idempotency-Key", make=an_order)
    order_path = _saturate_then_fixed(stack, gateway, order, seconds, log, "order path", make=an_order)

    fulfillment = _drain(stack, env_of, ports, environments, workdir, log, startup)
    memory = {name: procs.gunicorn_memory(stack.processes[name].pid) for name in stack.processes if name in discover()}
    for entry in memory.values():
        entry.pop("each_worker")
    return {
        "startup_seconds": startup,
        "read_path": read_path,
        "order_path": order_path,
        "fulfillment": fulfillment,
        "memory": memory,
    }


def _cpu(stack: procs.Stack) -> dict[str, float]:
    """CPU seconds used so far by each process of the stack (with its workers), and by finished children."""
    used = {name: procs.cpu_seconds(procs.tree(p.pid)) for name, p in stack.processes.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used | {"load generator": children.ru_utime + children.ru_stime}


def _worker_cpu(stack: procs.Stack) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each gunicorn worker, by service."""
    return {
        name: {pid: procs.cpu_seconds([pid]) for pid in procs.children(process.pid)}
        for name, process in stack.processes.items()
        if name not in ("emulator", "redis")
    }


def _saturate_then_fixed(stack, gateway, request, seconds, log, label, make=None) -> dict:
    method, path, _, _ = request
    unique = "Idempotency-Key" if make else ""
    before, workers_before, began = _cpu(stack), _worker_cpu(stack), time.perf_counter()
    saturation = loadgen.saturate(gateway + path, seconds, CONNECTIONS, request, unique_header=unique, make=make)
    after, workers_after, elapsed = _cpu(stack), _worker_cpu(stack), time.perf_counter() - began
    cores = {name: round((after[name] - before.get(name, 0.0)) / elapsed, 2) for name in after}
    # gthread workers race to accept connections: one may hold them all while the other idles.
    per_worker = {
        name: sorted((round((used - workers_before[name].get(pid, 0.0)) / elapsed, 2) for pid, used in pids.items()))
        for name, pids in workers_after.items()
        if name in workers_before
    }
    log(f"{label} saturation: {saturation.rps} req/s, p50 {saturation.p50_ms} ms, p99 {saturation.p99_ms} ms")
    rate = max(1, round(saturation.rps * FIXED_RATE_SHARE))
    fixed = loadgen.fixed_rate(gateway, rate, seconds, make or (lambda index: request))
    log(f"{label} at {rate}/s: p50 {fixed.p50_ms} ms, p99 {fixed.p99_ms} ms, failed {fixed.failed}")
    return {
        "request": f"{method} {path}",
        "connections_at_saturation": CONNECTIONS,
        "saturation": saturation.as_dict(),
        "cores_used_at_saturation": {name: used for name, used in cores.items() if used >= 0.01},
        "cores_per_worker_at_saturation": {name: used for name, used in per_worker.items() if sum(used) >= 0.01},
        "fixed_rate": fixed.as_dict(),
    }


def _queue_depth(queue_url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _receipts(bucket: str) -> int:
    count = 0
    for page in aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
        count += page.get("KeyCount", 0)
    return count


def _drain(stack, env_of, ports, environments, workdir, log, startup) -> dict:
    """Start fulfillment with the order events of the runs above queued; time how fast it drains them."""
    env = env_of("fulfillment")
    queue_url, bucket = env["FULFILLMENT_QUEUE_URL"], env["RECEIPTS_BUCKET"]
    saved = dict(os.environ)
    os.environ.update(
        {k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    )
    try:
        queued = _queue_depth(queue_url)
        startup["fulfillment"] = _start(stack, "fulfillment", env, ports["fulfillment"], workdir)
        log(f"fulfillment ready in {startup['fulfillment']} s; {queued} order events were queued")
        began, receipts_before, left = time.perf_counter(), _receipts(bucket), _queue_depth(queue_url)
        while left and time.perf_counter() - began < DRAIN_TIMEOUT:
            time.sleep(0.25)
            left = _queue_depth(queue_url)
        elapsed = time.perf_counter() - began
        written = _receipts(bucket) - receipts_before
    finally:
        os.environ.clear()
        os.environ.update(saved)
    rate = round(written / elapsed, 1) if elapsed else None
    log(f"fulfillment: {written} receipts in {elapsed:.1f} s ({rate}/s), {left} left")
    return {
        "events": queued,
        "measured_from": "the worker's readiness (events handled while it started are not counted)",
        "receipts_written": written,
        "seconds": round(elapsed, 2),
        "events_per_second": rate,
        "left_in_queue": left,
    }


_COUNTER = re.compile(
    r'^(seaway_cloudwatch_(?:put_calls|flushes|datums)_total)(\{outcome="(\w+)"\})? ([\d.e+]+)$', re.MULTILINE
)


def _cloudwatch_counts(url: str) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=5) as answer:
        text = answer.read().decode()
    counts: dict[str, float] = {}
    for name, _, outcome, value in _COUNTER.findall(text):
        key = name.removeprefix("seaway_cloudwatch_").removesuffix("_total") + (f"_{outcome}" if outcome else "")
        counts[key] = counts.get(key, 0.0) + float(value)
    return counts


def _cloudwatch(stack, env_of, workdir, log) -> dict:
    """PutMetricData calls of one catalog at two request rates, read from its publisher's own counters."""
    port = procs.free_port()
    env = env_of(
        "catalog", PORT=str(port), SEAWAY_CLOUDWATCH="api", SEAWAY_CLOUDWATCH_INTERVAL_SECONDS=str(CLOUDWATCH_INTERVAL)
    )
    _start(stack, "catalog-cloudwatch", env, port, workdir)
    url = f"http://{HOST}:{port}"
    paths = [f"/products/{PRODUCT}", "/products/no-such-product", "/products?limit=5"]

    def mixed(index: int) -> loadgen.Request:
        return "GET", paths[index % len(paths)], b"", {}

    runs = []
    for rate in CLOUDWATCH_RATES:
        seconds = 3 * CLOUDWATCH_INTERVAL + 1
        before = _cloudwatch_counts(url)
        result = loadgen.fixed_rate(url, rate, seconds, mixed)
        time.sleep(CLOUDWATCH_INTERVAL)  # the interval holding the last requests is sent too
        after = _cloudwatch_counts(url)
        elapsed = seconds + CLOUDWATCH_INTERVAL
        calls = after.get("put_calls_ok", 0) + after.get("put_calls_error", 0)
        calls -= before.get("put_calls_ok", 0) + before.get("put_calls_error", 0)
        flushes = after.get("flushes", 0) - before.get("flushes", 0)
        run = {
            "target_rps": rate,
            "rps": result.rps,
            "requests": result.requests,
            "seconds": round(elapsed, 1),
            "put_calls": int(calls),
            "put_call_errors": int(after.get("put_calls_error", 0) - before.get("put_calls_error", 0)),
            "put_calls_per_minute": round(calls / elapsed * 60, 1),
            "flushes": int(flushes),
            "calls_per_flush": round(calls / flushes, 2) if flushes else None,
            "datums": int(after.get("datums", 0) - before.get("datums", 0)),
        }
        runs.append(run)
        log(f"cloudwatch at {rate}/s: {run['put_calls']} PutMetricData calls in {run['seconds']} s")
    return {
        "service": "catalog, 3 routes (200, 404, list)",
        "interval_seconds": CLOUDWATCH_INTERVAL,
        "default_interval_seconds": 60,
        "runs": runs,
        "note": "one publisher per pod, in the gunicorn master: calls depend on routes in use, not on the request rate",
    }
