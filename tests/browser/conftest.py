"""Every browser test needs Debian's chromium and chromium-driver: a failure under CI, a skip elsewhere."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import unavailable

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(autouse=True)
def _chromium() -> None:
    """First of every browser test's fixtures, so no stack starts for a test that cannot run."""
    if not (CHROMIUM and CHROMEDRIVER):
        unavailable("chromium and chromedriver not found: install the Debian packages chromium and chromium-driver")


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
