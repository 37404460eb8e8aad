"""The web console in Chromium: time to the figures and the chart, cold and warm, and bytes transferred.

Run alone with `.venv/bin/python -m pytest tests/bench/test_console_speed.py -q -s -p no:cacheprovider`
(`BENCH_CONSOLE_RUNS`, default 5, sets the repetitions).

The shop is the demo's: `shopmind demo --no-serve --scale 0.5` (embedded: SQLite and the in-process
job runner; 20,880 orders, 27,305 lines, 115,523 events; generated, imported and all five models
trained in about a minute), then `shopmind serve all-in-one` (gunicorn, one gthread worker) on
loopback, reached directly and, when Debian's nginx is installed, through nginx with the conf of
infra/nginx as operators deploy it.

Each repetition starts a fresh headless Chromium (new profile), logs in through the /login form
(landing on /settings), empties the browser's cache (cookies stay), then loads a page once ("cold":
every file from the server) and again in the same browser ("warm": what the cache keeps). What it
reads is the page's own Performance API: the navigation entry (DOMContentLoaded, load), every
resource entry (files and /v1 calls: transferSize, decodedBodySize) and the marks the console's
scripts set: "kpis-visible" (dashboard.js, the KPI cards filled), "chart-rendered" (console.js,
once Vega-Embed has drawn a chart), "answer-visible" (ask.js). A page is done when its marks are set,
it has loaded, and no request has finished for QUIET_S; "done" below is the latest of its marks,
its load event and its last response.

Targets (issue "Web console, part 1", Performance), asserted on the median of the runs: the
dashboard warm fully rendered < 1 s; cold, every page < 2 s; < 1.5 MB transferred for any page.
On 2026-12-06 all three are met on the 2-core machine (warm dashboard ~0.4 s; docs/benchmarks.md,
"Console"). Also measured, not a target: the dashboard cold
over an emulated slow link (SLOW_LINK), where nginx's gzip shows.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.bench.fc_data import wait_for_quiet
from tests.bench.servers import ROOT, free_port, server_env, start_server
from tests.support.browser import CHROMIUM, chromium
from tests.support.commands import SHOPMIND
from tests.support.edge import Nginx, nginx_binary
from tests.support.processes import stop_process

SCALE = 0.5
RUNS = int(os.environ.get("BENCH_CONSOLE_RUNS", "5"))
QUIET_S = 0.75  # no request finished for this long: the page has stopped loading
# name, path, the marks it must set before it counts as done
PAGES = [("dashboard", "/", ("kpis-visible", "chart-rendered")),
         ("ask", "/ask?q=本月热销商品排名", ("answer-visible", "chart-rendered")),
         ("imports", "/imports", ()),
         ("admin", "/admin", ())]
TARGETS = {"warm_dashboard_done_ms": 1000, "cold_done_ms": 2000, "transferred_bytes": 1.5e6}
# Informational, not a target: a remote reader's link (10 Mbit/s down, 5 up, 40 ms round trip),
# where what crosses the wire counts; on loopback it barely does.
SLOW_LINK = {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 5e6 / 8}

# What the page measured itself, in ms since its navigation started, and bytes.
MEASURE = """
const nav = performance.getEntriesByType("navigation")[0];
const res = performance.getEntriesByType("resource");
const mark = (name) => { const m = performance.getEntriesByName(name, "mark")[0]; return m ? m.startTime : null; };
const sum = (key) => res.reduce((total, r) => total + r[key], 0);
return {
  path: location.pathname + location.search, response_start: nav.responseStart,
  dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
  kpis_visible: mark("kpis-visible"), chart_rendered: mark("chart-rendered"), answer_visible: mark("answer-visible"),
  last_response: Math.max(0, ...res.map((r) => r.responseEnd)),
  transferred: nav.transferSize + sum("transferSize"), decoded: nav.decodedBodySize + sum("decodedBodySize"),
  requests: res.length + 1,
  resources: res.map((r) => ({name: r.name, type: r.initiatorType, transferred: r.transferSize,
                              encoded: r.encodedBodySize, decoded: r.decodedBodySize,
                              ms: r.responseEnd - r.startTime}))
};
"""


def _wait(browser, condition, seconds: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, poll_frequency=0.05).until(condition)


def _load(browser, url: str, marks: tuple[str, ...]) -> dict:
    """Open ``url``, wait until it is done (its marks set, loaded, the network quiet), and return
    what the page measured."""
    browser.get(url)
    _wait(browser, lambda b: b.execute_script(
        "return document.readyState === 'complete' && arguments[0].every("
        "(name) => performance.getEntriesByName(name, 'mark').length)", list(marks)))
    count = "return performance.getEntriesByType('resource').length"
    seen, since = browser.execute_script(count), time.monotonic()
    while time.monotonic() - since < QUIET_S:
        time.sleep(0.05)
        now = browser.execute_script(count)
        if now != seen:
            seen, since = now, time.monotonic()
    measured = browser.execute_script(MEASURE)
    assert urlparse(measured["path"]).path == urlparse(url).path, f"sent elsewhere: {measured['path']}"
    measured["done"] = max(value for key in ("load", "last_response", "kpis_visible", "chart_rendered",
                                             "answer_visible") if (value := measured[key]) is not None)
    return measured


def _log_in(browser, base: str, login: dict) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/login?next=/settings")
    form = _wait(browser, lambda b: b.find_elements(By.ID, "login-form") and b.find_element(By.ID, "login-form"))
    form.find_element(By.NAME, "email").send_keys(login["email"])
    form.find_element(By.NAME, "password").send_keys(login["password"])
    form.find_element(By.TAG_NAME, "button").click()
    _wait(browser, lambda b: urlparse(b.current_url).path == "/settings"
          and b.execute_script("return document.readyState") == "complete")


def _visit(base: str, login: dict, path: str, marks: tuple[str, ...], link: dict | None = None) -> list[dict]:
    """In a fresh browser: log in, empty the cache, load ``path`` cold, then warm; over ``link``
    (Chromium's network emulation) when given."""
    with chromium() as browser:
        _log_in(browser, base, login)
        browser.execute_cdp_cmd("Network.clearBrowserCache", {})
        if link:
            browser.execute_cdp_cmd("Network.enable", {})
            browser.execute_cdp_cmd("Network.emulateNetworkConditions", link)
        cold = _load(browser, base + path, marks)
        warm = _load(browser, base + path, marks)
    # Cold means cold: every file and call came over the network.
    cached = [r["name"] for r in cold["resources"] if r["transferred"] == 0]
    assert not cached, f"{path}: the cold load took {cached} from the cache"
    return [cold, warm]


def _visits(base: str, login: dict) -> dict[str, dict[str, list[dict]]]:
    """{page: {"cold": [...], "warm": [...]}}, RUNS of each."""
    results = {name: {"cold": [], "warm": []} for name, _path, _marks in PAGES}
    for _run in range(RUNS):
        for name, path, marks in PAGES:
            cold, warm = _visit(base, login, path, marks)
            results[name]["cold"].append(cold)
            results[name]["warm"].append(warm)
    return results


def _ms(values: list[float]) -> dict:
    return {"median": round(statistics.median(values)), "max": round(max(values))}


def _summary(visits: list[dict]) -> dict:
    out = {key: _ms([v[key] for v in visits])
           for key in ("response_start", "dom_content_loaded", "load", "kpis_visible", "chart_rendered",
                       "answer_visible", "last_response", "done") if visits[0][key] is not None}
    out["transferred_kb"] = _ms([v["transferred"] / 1000 for v in visits])
    out["decoded_kb"] = round(statistics.median(v["decoded"] for v in visits) / 1000)
    out["requests"] = visits[0]["requests"]
    out["from_network"] = statistics.median(sum(r["transferred"] > 0 for r in v["resources"]) for v in visits)
    # Where a page waits: its slowest /v1 call, median time from sending it to the answer read.
    calls: dict[str, list[float]] = {}
    for visit in visits:
        for r in visit["resources"]:
            if "/v1/" in r["name"]:
                calls.setdefault(urlparse(r["name"]).path, []).append(r["ms"])
    if calls:
        path, times = max(calls.items(), key=lambda item: statistics.median(item[1]))
        out["slowest_call"] = {"path": path, "ms": _ms(times)}
    return out


def _static_headers(base: str, visits: dict) -> dict:
    """What the server sends for each file the dashboard loads, asked as a browser asks: its size,
    what crossed the wire, the encoding and the caching headers."""
    import httpx

    files = [r["name"] for r in visits["dashboard"]["cold"][0]["resources"] if "/static/" in r["name"]]
    heads = {}
    with httpx.Client() as client:
        for url in files:
            with client.stream("GET", url, headers={"Accept-Encoding": "gzip, deflate, br"}) as reply:
                wire = b"".join(reply.iter_raw())
                encoding = reply.headers.get("content-encoding", "identity")
                heads[urlparse(url).path.rsplit("/", 1)[-1]] = {
                    "bytes": len(gzip.decompress(wire)) if encoding == "gzip" else len(wire), "wire": len(wire),
                    "encoding": encoding, "cache_control": reply.headers.get("cache-control"),
                    "etag": bool(reply.headers.get("etag"))}
    return heads


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "chromium": version, "python": platform.python_version()}


def _table(label: str, pages: dict) -> str:
    lines = [label, "page      visit  DCL ms (med/max)   load ms      KPIs ms      chart ms     done ms"
             "      transferred KB   requests (from network)"]
    for name, runs in pages.items():
        for kind in ("cold", "warm"):
            s = runs[kind]

            def cell(key, s=s):
                return f"{s[key]['median']}/{s[key]['max']}" if key in s else "—"

            lines.append(f"{name:10s} {kind:5s}  {cell('dom_content_loaded'):17s}  {cell('load'):11s}  "
                         f"{cell('kpis_visible'):11s}  {cell('chart_rendered'):11s}  {cell('done'):11s}  "
                         f"{cell('transferred_kb'):15s}  {s['requests']} ({s['from_network']:g})")
    return "\n".join(lines)


def _front(base: str, login: dict) -> dict:
    visits = _visits(base, login)
    slow = [_visit(base, login, "/", PAGES[0][2], SLOW_LINK)[0] for _run in range(RUNS)]
    return {
        "pages": {name: {kind: _summary(runs) for kind, runs in by_kind.items()} for name, by_kind in visits.items()},
        "dashboard_cold_over_slow_link": _summary(slow),
        "static_files": _static_headers(base, visits),
        # What the targets are checked against: medians (the maxima are in "pages").
        "medians": {"warm_dashboard_done_ms": statistics.median(v["done"] for v in visits["dashboard"]["warm"]),
                    "cold_done_ms": max(statistics.median(v["done"] for v in runs["cold"]) for runs in visits.values()),
                    "transferred_bytes": max(statistics.median(v["transferred"] for v in runs[kind])
                                             for runs in visits.values() for kind in runs)}}


@pytest.mark.bench
def test_console_speed(tmp_path):
    from tests.support.browser import browser_available

    if not browser_available():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)")
    env = server_env(tmp_path / "server")
    started = time.monotonic()
    demo = subprocess.run([*SHOPMIND, "demo", "--no-serve", "--scale", str(SCALE)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    prepared_s = round(time.monotonic() - started)
    assert demo.returncode == 0 and "every model trained" in demo.stdout, demo.stdout[-3000:] + demo.stderr[-3000:]
    data_dir = Path(env["SHOPMIND_DATA_DIR"])
    login = json.loads((data_dir / "demo_keys.json").read_text())["login"]
    rows = json.loads((data_dir / "demo" / "summary.json").read_text())["files"]

    port = free_port()
    server = start_server("all-in-one", port, env, tmp_path / "server.log")
    nginx = Nginx(tmp_path / "nginx", f"127.0.0.1:{port}") if nginx_binary() else None
    fronts = {"all-in-one": f"http://127.0.0.1:{port}"} | ({"nginx": nginx.url} if nginx else {})
    try:
        load = wait_for_quiet(max_wait_s=float(os.environ.get("BENCH_QUIET_WAIT_S", "300")))
        report = {front: _front(base, login) for front, base in fronts.items()}
        load_after = [round(x, 2) for x in os.getloadavg()]
    finally:
        if nginx:
            nginx.stop()
        stop_process(server)
    result = {"command": "make bench (tests/bench/test_console_speed.py)", "runs": RUNS,
              "shop": {"demo_scale": SCALE, "rows": rows, "prepared_s": prepared_s,
                       "server": "shopmind serve all-in-one, embedded (SQLite, in-process jobs)"},
              "machine": _machine(), "load_before": load, "load_after": load_after, "slow_link": SLOW_LINK,
              "targets": TARGETS, "fronts": report}
    print("\n" + json.dumps({"console": result}, indent=1, ensure_ascii=False))
    for front, data in report.items():
        print("\n" + _table(f"{front} (median/max of {RUNS} runs)", data["pages"]))
        slow = data["dashboard_cold_over_slow_link"]
        print(f"dashboard cold over the slow link: done {slow['done']['median']}/{slow['done']['max']} ms, "
              f"{slow['transferred_kb']['median']} KB")
    # The targets hold for the typical visit (the median of RUNS); the maxima are printed beside them.
    missed = [f"{front}: {key} {data['medians'][key]:.0f} (target < {target:.0f})"
              for front, data in report.items() for key, target in TARGETS.items() if data["medians"][key] >= target]
    assert not missed, "console targets missed: " + "; ".join(missed)
