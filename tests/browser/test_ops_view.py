"""The ops view of ``seaway up`` in a real headless Chromium, over the real stack ``seaway up`` starts: sign in by
the printed URL, every resource ready, an order placed on the storefront page by a signed-in demo customer found
as one trace across the four services (the SNS->SQS hop included), its logs by trace id, its metrics, catalog
restarted, and a service that exits shown as exited while the others keep running. Saves a screenshot
(``SEAWAY_UPDATE_SCREENSHOT=1`` also writes it to docs/ops-view.png for the README)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.integration.test_seaway_up import PORTS, SEAWAY, alive, descendants, free_offset
from tests.processes import free_port, wait_for

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "ops-view.png"
SERVICES = ("gateway", "catalog", "orders", "fulfillment")


@pytest.fixture
def stack(tmp_path):
    """``seaway up`` with its ops view on free ports; its output in files; stopped with Ctrl-C afterwards."""
    offset, emulator_port, view_port = free_offset(*PORTS.values()), free_port(), free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OTEL_"))}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        runner = subprocess.Popen(
            [
                *(str(SEAWAY), "up", "--port-offset", str(offset)),
                *("--emulator-port", str(emulator_port), "--dashboard-port", str(view_port)),
            ],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )

    def login_url() -> str | None:
        assert runner.poll() is None, err.read_text()
        found = re.search(r"ops view\s+(http://127\.0\.0\.1:\d+/login\?token=\S+)", out.read_text(errors="replace"))
        return found and found[1]

    stack = {
        "login": wait_for(login_url, timeout=90, interval=0.5, message="the table with the ops view's login URL"),
        "view": f"http://127.0.0.1:{view_port}",
        "gateway": f"http://127.0.0.1:{PORTS['gateway'] + offset}",
        "runner": runner,
        "stderr": err,
    }
    try:
        yield stack
    finally:
        children = descendants(runner.pid)
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=60)
    assert runner.returncode == 0, err.read_text()
    assert not [pid for pid in children if alive(pid)]


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6, in hex)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for listening sockets and processes")
def test_the_ops_view_shows_an_order_across_services_and_restarts_catalog(stack, browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The page redraws its tables every two seconds: an element found just before may be gone.
    wait = WebDriverWait(browser, 60, ignored_exceptions=(StaleElementReferenceException,))
    view_port = int(stack["view"].rsplit(":", 1)[1])
    assert listening_addresses(view_port) == {"0100007F"}  # 127.0.0.1, and nothing else
    assert requests.get(stack["view"] + "/api/resources", timeout=5).status_code == 401
    assert requests.get(stack["view"] + "/", timeout=5).status_code == 401

    browser.set_window_size(1500, 950)
    browser.get(stack["login"])

    def resources() -> dict[str, dict[str, str]]:
        return {row["data-resource"]: row for row in read(browser, "#resource-rows tr[data-resource]")}

    def states() -> dict[str, str]:
        return {name: row["data-state"] for name, row in resources().items()}

    wait.until(lambda _: states() == dict.fromkeys(("emulator", *SERVICES), "ready"))

    # A rate needs a scrape from before the order, as Prometheus's rate() needs two samples: the order is placed
    # once the view has scraped the gateway (its order route is listed from the first scrape, at zero).
    browser.get(stack["view"] + "/#metrics")
    wait.until(lambda _: read(browser, '.card[data-service="gateway"] tr[data-route="POST /api/orders"]'))
    order_id = place_order_on_the_page(browser, stack["gateway"], wait)

    # Its metrics, first: the rate is over the last minute of scrapes, so a check made after the trace and log
    # steps on a slow machine could find the order outside it. The order route above zero, fulfillment's
    # processed event, the topology.
    browser.get(stack["view"] + "/#metrics")

    def order_rate() -> float:
        rows = read(browser, '.card[data-service="gateway"] tr[data-route="POST /api/orders"]')
        found = re.search(r"POST /api/orders\s+(\d+\.\d+)/s", rows[0]["text"]) if rows else None
        return float(found[1]) if found else 0.0

    wait.until(lambda _: order_rate() > 0)
    wait.until(lambda _: read(browser, '.card[data-service="fulfillment"] table.events tr'))
    assert any(
        "order.placed processed" in row["text"]
        for row in read(browser, '.card[data-service="fulfillment"] table.events tr')
    )
    assert read(browser, '#topology path[data-source="gateway"][data-target="orders"]')
    assert read(browser, '#topology path[data-source="queue:fulfillment"][data-target="fulfillment"]')

    # The order's trace: one waterfall with spans of the four services, fulfillment's from the SQS message.
    browser.get(stack["view"] + "/#traces")

    def order_trace() -> str | None:
        for row in read(browser, "#trace-rows tr[data-trace-id]"):
            if "gateway: POST /api/orders" in row["text"] and all(name in row["text"] for name in SERVICES):
                return row["data-trace-id"]
        return None

    trace_id = wait.until(lambda _: order_trace())
    row = f'#trace-rows tr[data-trace-id="{trace_id}"]'
    wait.until(lambda _: click(browser, row))
    waterfall = f'#trace-detail .waterfall[data-trace-id="{trace_id}"]'

    def drawn() -> list[dict[str, str]]:
        return read(browser, f"{waterfall} .span-row")

    wait.until(lambda _: {span["data-service"] for span in drawn()} >= set(SERVICES))
    kinds = {(span["data-service"], span["data-kind"]) for span in drawn()}
    assert ("orders", "producer") in kinds and ("fulfillment", "consumer") in kinds  # the SNS->SQS hop
    shot = tmp_path / "ops-view.png"
    browser.save_screenshot(str(shot))

    # Its logs, by trace id: lines of at least three services.
    wait.until(lambda _: click(browser, "#trace-logs"))

    def logged() -> list[dict[str, str]]:
        return read(browser, "#log-rows tr[data-service]")

    wait.until(lambda _: len({line["data-service"] for line in logged()}) >= 3)
    assert {line["data-trace-id"] for line in logged()} == {trace_id}
    assert any(order_id in line["text"] for line in logged())

    # Restart catalog from the view: a new process, ready again.
    browser.get(stack["view"] + "/#resources")
    wait.until(lambda _: states().get("catalog") == "ready")
    before = resources()["catalog"]["data-pid"]
    wait.until(lambda _: click(browser, 'button[data-resource="catalog"][data-action="restart"]'))
    wait.until(lambda _: states().get("catalog") == "ready" and resources()["catalog"]["data-pid"] not in ("", before))
    assert resources()["catalog"]["data-restarts"] == "1"

    # A service that exits by itself shows as exited with its last lines; the others keep running.
    os.kill(int(resources()["catalog"]["data-pid"]), signal.SIGKILL)
    wait.until(lambda _: states().get("catalog") == "exited")
    assert "exited (-9)" in resources()["catalog"]["text"]
    assert read(browser, 'tr[data-resource="catalog"] pre.last-lines')[0]["text"].strip()
    assert all(states()[name] in ("ready", "failing") for name in ("emulator", "gateway", "orders", "fulfillment"))
    wait.until(lambda _: click(browser, 'button[data-resource="catalog"][data-action="start"]'))
    wait.until(lambda _: states().get("catalog") == "ready")
    assert "seaway: catalog exited with status -9; the others keep running" in stack["stderr"].read_text()

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SEAWAY_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(shot.read_bytes())


def read(browser, selector: str) -> list[dict[str, str]]:
    """Every element matching ``selector``: its data-* attributes and its text, read at one instant."""
    return browser.execute_script(
        """return [...document.querySelectorAll(arguments[0])].map((element) => {
            const found = {text: element.innerText};
            for (const name of element.getAttributeNames()) found[name] = element.getAttribute(name);
            return found;
        });""",
        selector,
    )


def click(browser, selector: str) -> bool:
    """Click the element matching ``selector`` now (the page may redraw it at any moment); False if absent."""
    return browser.execute_script(
        "const element = document.querySelector(arguments[0]); if (element) element.click(); return !!element;",
        selector,
    )


def place_order_on_the_page(browser, gateway: str, wait) -> str:
    """A demo customer signs in on the storefront page and orders espresso beans, as
    the storefront page test does; the order's id once fulfilled."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    from seaway_tools.resources import demo_customers
    from tests.browser import storefront_page as page

    username, password = demo_customers()[0]
    browser.get(gateway + "/")
    row = page.product_row(browser, wait)
    page.sign_in(browser, username, password)
    wait.until(expected_conditions.visibility_of_element_located((By.ID, "signed-in")))
    return page.order_and_wait_until_fulfilled(browser, wait, row, 1).get_attribute("data-order-id")
