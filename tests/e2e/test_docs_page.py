"""/docs in a real browser with no network beyond this machine: Swagger UI from our own assets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.browser import chromium, console_errors

VENDOR = Path(__file__).resolve().parents[2] / "services" / "gateway" / "static" / "vendor"


def test_docs_renders_swagger_ui_offline(live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as browser:
        browser.get(f"{live_server.url}/docs")
        title = WebDriverWait(browser, 20).until(
            ready.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title")))
        assert "shopmind API" in title.text
        operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        assert any(op.get_attribute("data-path") == "/v1/ask" for op in operations)
        assert not browser.find_element(By.ID, "plain").is_displayed()  # the fallback list gave way
        styled = browser.execute_script(
            "return getComputedStyle(document.querySelector('.swagger-ui .info .title')).fontFamily")
        assert "sans-serif" in styled  # the vendored stylesheet applied
        assert console_errors(browser) == []


def test_docs_page_loads_nothing_from_elsewhere(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
    assert "script-src 'self'" in client.get("/docs").headers["Content-Security-Policy"]


def test_vendored_assets_match_their_pinned_packages():
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    assert manifest["packages"], "nothing vendored"
    for package, entry in manifest["packages"].items():
        assert entry["version"] and entry["licences"], package
        for name in [*entry["files"], *entry["licences"]]:
            path = VENDOR / package / name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"][name], f"{package}/{name}"
        assert (VENDOR / package / "LICENSE").exists() or any("LICENSE" in n for n in entry["licences"])
