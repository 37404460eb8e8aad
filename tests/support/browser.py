"""A real headless Chromium (Debian's chromium + chromedriver) driven by Selenium, for page tests.

The browser reaches nothing but 127.0.0.1: every other host name fails to resolve, so a page that
needs the internet (a CDN script, a web font) shows it here as it would on a shop's private network.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def browser_available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


@contextmanager
def chromium(width: int = 1280, height: int = 900, language: str = "zh-CN") -> Iterator:
    if not browser_available():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver); "
                    ".ci/run installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="shopmind-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 f"--lang={language}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(browser, condition, seconds: float = 30, message: str = ""):
    """Until ``condition(browser)`` is truthy (its value), or a timeout error saying ``message``."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds).until(condition, message)


def log_in(browser, url: str, user: dict, next_path: str = "/") -> None:
    """Open ``next_path``, be sent to the login form, sign in through it as a person would."""
    from selenium.webdriver.common.by import By

    browser.get(f"{url}{next_path}")
    form = wait(browser, lambda b: b.find_elements(By.ID, "login-form") and b.find_element(By.ID, "login-form"))
    form.find_element(By.NAME, "email").send_keys(user["email"])
    form.find_element(By.NAME, "password").send_keys(user["password"])
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda b: "/login" not in b.current_url)


PHONE_WIDTH = 400


def phone(browser) -> None:
    """A phone's viewport (a desktop window cannot be made this narrow in headless Chromium)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": PHONE_WIDTH, "height": 800, "deviceScaleFactor": 2, "mobile": True})


def horizontal_overflow(browser) -> int:
    """How far the page is wider than the viewport (0: nothing to scroll sideways)."""
    return browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")


def console_errors(driver) -> list[str]:
    """Errors the page logged (failed loads, CSP violations, script errors)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


class LiveServer:
    """A WSGI app served on 127.0.0.1 from a thread, for the browser to load."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
