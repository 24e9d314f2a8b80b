"""Load generators: ``wrk`` for throughput at saturation, a small asyncio client for latency at a fixed rate.

Why two: on a 2-core machine the generator competes with the servers for CPU. ``wrk`` (C, epoll) costs
a few microseconds per request, so saturation figures measure the services, not the generator; but it
is closed-loop (a slow answer delays the next request), so its latencies are those of a saturated
service. Latency at a fixed rate below saturation needs an open-loop client: :func:`fixed_rate` sends
request *i* at ``start + i / rate`` whatever happened before, and measures each latency from that
scheduled time, so a stall counts against every request it delayed (no coordinated omission). At a
few hundred requests a second it costs a fraction of a core. Without ``wrk`` on the PATH,
:func:`saturate` falls back to a closed-loop run of the same asyncio client (the result says which).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

Request = tuple[str, str, bytes, dict[str, str]]
"""method, path (with query), body, extra headers"""


@dataclass
class Result:
    generator: str
    seconds: float
    requests: int
    errors: int  # transport errors (connect, read, timeout)
    statuses: dict[str, int] = field(default_factory=dict)
    rps: float = 0.0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    target_rps: float | None = None

    @property
    def failed(self) -> int:
        """Transport errors and answers that are not 2xx."""
        return self.errors + sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    def as_dict(self) -> dict:
        return asdict(self) | {"failed": self.failed}


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


# --- wrk ----------------------------------------------------------------------------------------------

_WRK_SCRIPT = """
wrk.method = os.getenv("BENCH_METHOD")
wrk.path = os.getenv("BENCH_PATH")
local body = os.getenv("BENCH_BODY")
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
for name, value in string.gmatch(os.getenv("BENCH_HEADERS"), "([^:\\n]+): ([^\\n]*)") do
  wrk.headers[name] = value
end
-- A request function costs a Lua call per request: only when each request needs its own key.
local key_header = os.getenv("BENCH_KEY_HEADER")
if key_header ~= "" then
  local counter = 0
  local prefix = os.getenv("BENCH_KEY_PREFIX")
  request = function()
    counter = counter + 1
    wrk.headers[key_header] = prefix .. counter
    return wrk.format()
  end
end

function done(summary, latency, requests)
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("latency_us %d %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("latency_us 100 %d\\n", latency.max))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _wrk(url: str, seconds: float, connections: int, request: Request, key_header: str = "") -> Result:
    method, path, body, headers = request
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_PATH": path,
        "BENCH_BODY": body.decode(),
        "BENCH_HEADERS": "".join(f"{name}: {value}\n" for name, value in headers.items()),
        "BENCH_KEY_HEADER": key_header,
        "BENCH_KEY_PREFIX": f"bench-{os.getpid()}-{time.monotonic_ns()}-",
    }
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    command += ["-s", script.name, url]
    try:
        finished = subprocess.run(command, env=env, capture_output=True, text=True)
    finally:
        os.unlink(script.name)
    output = finished.stdout
    if finished.returncode != 0 or "Requests/sec" not in output:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {(finished.stderr + output)[-500:]}")
    latency = {int(p): int(us) / 1000 for p, us in re.findall(r"^latency_us (\d+) (\d+)$", output, re.M)}
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", output).group(1))
    errors_line = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = sum(int(n) for n in errors_line.groups()) if errors_line else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    statuses = {"2xx/3xx": total - errors - (int(non_2xx.group(1)) if non_2xx else 0)}
    if non_2xx:
        statuses["other"] = int(non_2xx.group(1))
    return Result(
        "wrk",
        seconds,
        total,
        errors,
        statuses,
        rps=round(rps, 1),
        p50_ms=latency.get(50),
        p90_ms=latency.get(90),
        p99_ms=latency.get(99),
        max_ms=latency.get(100),
    )


# --- the asyncio client ----------------------------------------------------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection; just enough of the protocol for JSON APIs."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            head.append("Content-Type: application/json")
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        lines = status_and_headers.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self.reader.readexactly(int(fields.get("content-length", "0")))
        keep_alive = "keep-alive" if lines[0].startswith("HTTP/1.1") else "close"
        if fields.get("connection", keep_alive).lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _send(connection: _Connection, request: Request, timeout: float) -> str:
    try:
        return str(await asyncio.wait_for(connection.request(*request), timeout))
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        connection.close()
        return "error"


def _summarise(generator: str, seconds: float, outcomes: list[tuple[str, float]], target: float | None) -> Result:
    statuses: dict[str, int] = {}
    for status, _ in outcomes:
        statuses[status] = statuses.get(status, 0) + 1
    errors = statuses.pop("error", 0)
    latencies = sorted(ms for status, ms in outcomes if status != "error")
    return Result(
        generator,
        round(seconds, 2),
        len(outcomes),
        errors,
        statuses,
        rps=round(len(outcomes) / seconds, 1) if seconds else 0.0,
        p50_ms=_round(percentile(latencies, 0.50)),
        p90_ms=_round(percentile(latencies, 0.90)),
        p99_ms=_round(percentile(latencies, 0.99)),
        max_ms=_round(latencies[-1] if latencies else None),
        target_rps=target,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def _closed_loop(url: str, seconds: float, connections: int, make: Callable[[int], Request]) -> Result:
    host, port = _target(url)
    outcomes: list[tuple[str, float]] = []
    counter = iter(range(10**12))
    stop_at = time.perf_counter() + seconds

    async def user() -> None:
        connection = _Connection(host, port)
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            status = await _send(connection, make(next(counter)), 10.0)
            outcomes.append((status, (time.perf_counter() - began) * 1000))
        connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(connections)))
    return _summarise("asyncio-closed-loop", time.perf_counter() - began, outcomes, None)


async def _open_loop(
    url: str, rate: float, seconds: float, make: Callable[[int], Request], max_connections: int, timeout: float
) -> Result:
    host, port = _target(url)
    idle: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(max_connections):
        idle.put_nowait(_Connection(host, port))
    outcomes: list[tuple[str, float]] = []
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(index: int, scheduled: float) -> None:
        connection = await idle.get()  # waiting for a free connection counts as latency
        try:
            status = await _send(connection, make(index), timeout)
        finally:
            idle.put_nowait(connection)
        outcomes.append((status, (time.perf_counter() - scheduled) * 1000))

    tasks = []
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return _summarise("asyncio-fixed-rate", elapsed, outcomes, rate)


def saturate(
    url: str,
    seconds: float,
    connections: int,
    request: Request,
    *,
    unique_header: str = "",
    make: Callable[[int], Request] | None = None,
) -> Result:
    """Throughput at saturation: ``connections`` clients sending back to back for ``seconds``.

    ``unique_header`` gives every request a distinct value of that header (an Idempotency-Key).
    """
    if wrk_available():
        return _wrk(url, seconds, connections, request, unique_header)
    if make is None:

        def make(index: int) -> Request:
            method, path, body, headers = request
            return method, path, body, {**headers, **({unique_header: f"bench-{index}"} if unique_header else {})}

    return asyncio.run(_closed_loop(url, seconds, connections, make))


def fixed_rate(
    url: str,
    rate: float,
    seconds: float,
    make: Callable[[int], Request],
    *,
    max_connections: int = 64,
    timeout: float = 10.0,
) -> Result:
    """Latency at ``rate`` requests a second for ``seconds``, open loop (see the module's docstring)."""
    return asyncio.run(_open_loop(url, rate, seconds, make, max_connections, timeout))
