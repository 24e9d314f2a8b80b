"""``seaway up`` as a person runs it: starts, serves the seeded products, stops with nothing left behind.

Its ops view (the default) is tested in a browser by tests/browser/test_ops_view.py, over one stack; the whole
storefront here runs with ``--no-dashboard``."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import sign_in_at
from tests.processes import answers, free_port, wait_for

SEAWAY = Path(sys.executable).with_name("seaway")
PORTS = {"gateway": 8080, "catalog": 8081, "orders": 8082, "fulfillment": 8083}


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def free_offset(*ports: int) -> int:
    """An offset that puts every declared port on a free one, below the kernel's range of ephemeral ports: a
    port in that range can be taken by any outgoing connection between this check and the service's bind."""
    lowest_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(50):
        offset = random.randrange(10_000, lowest_ephemeral - max(ports)) - min(ports)
        if all(_free(port + offset) for port in ports):
            return offset
    pytest.fail("no free port range found")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_up(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``seaway up *args`` with the ops view on a free port unless ``--no-dashboard``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | (env or {})
    view = [] if "--no-dashboard" in args or "--dashboard-port" in args else ["--dashboard-port", str(free_port())]
    return subprocess.Popen(
        [str(SEAWAY), "up", *args, *view], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find child processes")
def test_up_runs_the_whole_storefront_an_order_is_fulfilled_and_ctrl_c_leaves_no_process():
    offset = free_offset(*PORTS.values())
    emulator_port = free_port()
    runner = start_up("--port-offset", str(offset), "--emulator-port", str(emulator_port), "--no-dashboard")
    urls = {name: f"http://127.0.0.1:{port + offset}" for name, port in PORTS.items()}
    try:

        def products():
            try:
                answer = requests.get(urls["catalog"] + "/products", timeout=2)
            except requests.RequestException:
                assert runner.poll() is None, runner.stderr.read()
                return None
            return answer.json()["items"] if answer.status_code == 200 else None

        items = wait_for(products, message="seeded products")
        assert {"espresso-beans", "burr-grinder"} <= {item["id"] for item in items}
        wait_for(lambda: all(answers(url + "/readyz") for url in urls.values()), message="every service ready")
        ada = sign_in_at(urls["gateway"], "ada")  # a demo customer seeded in the emulator's user pool
        order = {"items": [{"product_id": "burr-grinder", "quantity": 1}]}
        placed = requests.post(urls["gateway"] + "/api/orders", json=order, headers=ada, timeout=10)
        assert placed.status_code == 201, placed.text
        wait_for(
            lambda: (
                requests.get(urls["gateway"] + placed.headers["Location"], headers=ada, timeout=5).json()["status"]
                == "fulfilled"
            ),
            timeout=30,
            message="the order to be fulfilled",
        )
        children = descendants(runner.pid)
        assert len(children) >= 13  # the emulator, and four gunicorn masters with two workers each
    finally:
        runner.send_signal(signal.SIGINT)
        stdout, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 0, stderr
    assert all(url in stdout for url in urls.values())  # the table of URLs
    assert "ops view" not in stdout and "Customers sign in on the page as" in stdout
    assert '"service": "gateway"' in stdout  # the services' own lines, straight to the terminal
    assert not [pid for pid in children if alive(pid)]


def test_up_refuses_a_port_in_use_in_one_line_and_starts_nothing():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = start_up("catalog", "--port-offset", str(port - 8081), "--emulator-port", str(free_port()))
        _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 1
    assert (
        stderr.strip() == f"seaway: port {port} for catalog is already in use; stop what holds it or pass --port-offset"
    )


def test_up_refuses_an_ops_view_port_in_use_in_one_line_and_starts_nothing():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = start_up(
            "catalog",
            *("--port-offset", str(free_offset(8081)), "--emulator-port", str(free_port())),
            *("--dashboard-port", str(port)),
        )
        _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 1
    assert stderr.strip() == f"seaway: port {port} for the ops view is already in use; pass --dashboard-port"


def test_up_reports_a_service_that_fails_to_start_and_stops_the_rest():
    runner = start_up(
        "catalog",
        *("--port-offset", str(free_offset(8081)), "--emulator-port", str(free_port())),
        env={"WORKER_THREADS": "0"},
    )
    _, stderr = runner.communicate(timeout=90)
    assert runner.returncode == 1
    lines = stderr.strip().splitlines()
    assert "WORKER_THREADS must be at least 1" in lines[0]
    assert lines[-1] == "seaway: catalog exited with status 2 while starting (see its log above)"
    assert "Traceback" not in stderr


def test_up_names_an_unknown_service():
    runner = start_up("no-such-service")
    _, stderr = runner.communicate(timeout=30)
    assert runner.returncode == 2
    assert stderr.startswith("seaway: unknown service no-such-service (declared: catalog")
