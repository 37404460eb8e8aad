"""The console's pages through the gateway: who is sent to /login, the labels in each language, the
CSP, and the assets the pages load (ours and the vendored ones, checked against the manifest)."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from shared import i18n

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "services" / "gateway" / "static" / "vendor"
CONSOLE = ROOT / "services" / "console"
PAGES = ["/", "/imports", "/ask", "/admin", "/settings"]
PAGE_NAMES = ["dashboard", "imports", "ask", "admin", "settings"]
NAV = {"zh-CN": ["首页", "数据导入", "问答", "管理"], "en": ["Home", "Imports", "Ask", "Admin"]}


class Page(HTMLParser):
    """The scripts, stylesheets and form fields of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.scripts: list[dict] = []
        self.links: list[str] = []
        self.inputs: dict[str, dict] = {}
        self.data: str | None = None
        self._in_data = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs)
            self._in_data = attrs.get("id") == "console-data"
        elif tag == "link" and attrs.get("rel") == "stylesheet":
            self.links.append(attrs["href"])
        elif tag == "input":
            self.inputs[attrs.get("name")] = attrs

    def handle_data(self, data):
        if self._in_data:
            self.data = (self.data or "") + data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_data = False


def _logged_in(client, language: str | None = None):
    # The pages only look for the session cookie; the /v1 calls they make are what check it.
    client.set_cookie("shopmind_session", "a-session")
    if language:
        client.set_cookie("shopmind_language", language)
    return client


@pytest.mark.parametrize("path", [*PAGES, "/ask?q=本月热销商品排名"])
def test_a_page_without_a_session_goes_to_login_and_comes_back(client, path):
    reply = client.get(path)
    assert reply.status_code == 302
    location = urlsplit(reply.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_pages_render_their_labels_in_the_readers_language(client, path, language):
    reply = _logged_in(client, language).get(path)
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    html = reply.get_data(as_text=True)
    assert f'<html lang="{language}">' in html and reply.headers["Content-Language"] == language
    for label in NAV[language]:
        assert f">{label}</a>" in html
    page = Page(html)
    data = json.loads(page.data)
    assert data["language"] == language
    assert data["messages"]["error_network"] == i18n.catalogue(language)["console.js_error_network"]


def test_chinese_is_the_default_whatever_the_browser_says(client):
    html = _logged_in(client).get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and ">首页</a>" in html


def test_the_dashboard_has_its_kpi_cards_chart_top_items_and_alerts(client):
    html = _logged_in(client, "zh-CN").get("/").get_data(as_text=True)
    for key in ["revenue", "orders", "buyers", "average_order_value"]:
        assert f'data-kpi="{key}"' in html
    for label in ["销售额", "订单数", "买家数", "客单价", "每日销售额", "热销商品", "提醒"]:
        assert label in html
    assert 'id="revenue-chart"' in html and 'id="top-items"' in html and 'id="alerts"' in html


def test_ask_opens_the_question_in_the_link_and_its_field_is_named_question(client):
    question = '本月热销商品排名</script><script>alert(1)</script>'
    html = _logged_in(client).get("/ask", query_string={"q": question}).get_data(as_text=True)
    page = Page(html)
    assert page.inputs["question"]["value"] == question  # escaped in the attribute, read back intact
    assert json.loads(page.data)["question"] == question  # and in the page data, which it cannot close
    assert "<script>alert(1)</script>" not in html
    assert json.loads(page.data)["suggestions"] == i18n.entries("insights.example_questions", "zh-CN")
    assert Page(_logged_in(client).get("/ask?question=上周的客单价").get_data(as_text=True)).inputs[
        "question"]["value"] == "上周的客单价"


def test_login_is_a_form_with_email_and_password_and_returns_only_to_this_site(client):
    reply = client.get("/login?next=/ask%3Fq%3D%E6%9C%AC%E6%9C%88")
    assert reply.status_code == 200
    page = Page(reply.get_data(as_text=True))
    assert page.inputs["email"]["type"] == "email" and page.inputs["password"]["type"] == "password"
    assert page.inputs["csrf_token"]["type"] == "hidden" and page.inputs["csrf_token"]["value"]  # login CSRF
    assert json.loads(page.data)["next"] == "/ask?q=本月"
    for elsewhere in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]:
        data = json.loads(Page(client.get("/login", query_string={"next": elsewhere}).get_data(as_text=True)).data)
        assert data["next"] == "/", elsewhere


@pytest.mark.parametrize("path", [*PAGES, "/login"])
def test_pages_forbid_inline_and_foreign_scripts(client, path):
    reply = _logged_in(client).get(path)
    policy = dict(part.strip().split(" ", 1) for part in reply.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert "'none'" in policy["frame-ancestors"] and "'none'" in policy["object-src"]
    page = Page(reply.get_data(as_text=True))
    for script in page.scripts:  # every script is a file of ours, or data the browser never runs
        assert script.get("src", "").startswith("/static/") or script.get("type") == "application/json", script
    html = reply.get_data(as_text=True)
    assert "https://" not in html and "http://" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers either


def test_every_asset_a_page_loads_is_served_and_vendored_ones_match_the_manifest(client):
    manifest = json.loads((VENDOR / "manifest.json").read_text())["packages"]
    seen = set()
    for path in [*PAGES, "/login"]:
        page = Page(_logged_in(client).get(path).get_data(as_text=True))
        seen |= {s["src"] for s in page.scripts if "src" in s} | set(page.links)
    vendored = 0
    for url in sorted(seen):
        reply = client.get(url)
        assert reply.status_code == 200, url
        if url.startswith("/static/vendor/"):
            package, name = urlsplit(url).path.removeprefix("/static/vendor/").split("/", 1)
            assert hashlib.sha256(reply.get_data()).hexdigest() == manifest[package]["sha256"][name], url
            assert parse_qs(urlsplit(url).query)["v"] == [manifest[package]["version"]]
            vendored += 1
        else:  # ours: the URL changes with the content, so a cached copy never outlives a release
            version = parse_qs(urlsplit(url).query)["v"][0]
            assert version == hashlib.sha256(reply.get_data()).hexdigest()[:12], url
    assert vendored == 4  # vega, vega-lite, vega-interpreter, vega-embed


def test_every_label_the_console_uses_is_in_both_catalogues():
    """Literal keys in the templates (``_("key")``) and scripts (``msg("key")``), and the keys built
    from a prefix (``"job_" + status``) for every value that prefix is given."""
    from services.console.pages import IMPORT_ENTITIES
    from services.decisions import outcomes
    from services.ingestion.presets import ENTITY_FIELDS
    from shared.calendar import KPI_PERIODS
    from shared.models import ALERT_STATUSES, DECISION_KINDS, DECISION_STATUSES, EVENT_TYPES

    fields = sorted({f for required, optional in ENTITY_FIELDS.values() for f in required + optional})

    built = {"title_": [*PAGE_NAMES, "login"],
             "kpi_": ["revenue", "orders", "buyers", "average_order_value", "conversion"],
             "period_": KPI_PERIODS, "js_compare_": KPI_PERIODS, "js_question_": KPI_PERIODS,
             "entity_": IMPORT_ENTITIES, "js_job_": ["queued", "running", "succeeded", "failed", "cancelled"],
             "js_report_": ["rows_total", "rows_loaded", "rows_updated", "rows_duplicate", "rows_rejected"],
             "js_column_": ["rank", "key", "label", "value", "share"],
             "js_field_": fields,
             "js_role_": ["hashed", "personal", "address", "close_reason"],
             "js_risk_": ["high", "medium", "low"], "js_kind_": DECISION_KINDS, "js_status_": DECISION_STATUSES,
             "js_verdict_": [*outcomes.VERDICTS, "lift", "no_detectable_lift", "negative"],
             "js_stock_": ["stockout_avoided", "stockout_not_avoided", "no_stockout"],
             "js_alerts_none_": ALERT_STATUSES, "js_alerts_action_": ["acknowledge", "resolve", "reopen"],
             "js_alert_kind_": ["stockout_risk", "negative_review_spike", "kpi_anomaly", "competitor_undercut",
                                "decision_outcome", "job_failed"],
             "js_source_": ["stockout_risk", "negative_reviews", "anomalies", "competitor_undercuts", "decisions"],
             "js_label_": ["positive", "negative", "neutral"], "js_recs_fallback_": ["popular", "category_popular"],
             "js_event_": EVENT_TYPES}  # an answer's columns (POST /v1/ask)
    keys = {f"console.{prefix}{value}" for prefix, values in built.items() for value in values}
    for template in (CONSOLE / "templates").glob("*.html"):
        keys |= {f"console.{k}" for k in re.findall(r"_\([\"']([a-z_0-9]+)[\"']\)", template.read_text())}
    for script in (CONSOLE / "static").glob("*.js"):
        named = set(re.findall(r'msg\("([a-z_0-9]+)"', script.read_text()))
        named |= set(re.findall(r'"((?:alert|metric)_[a-z_]+)"', script.read_text()))
        keys |= {f"console.js_{k}" for k in named if not k.endswith("_")}
        # headings: a sortable table's column labels, and the columns a plain table is given
        keys |= {f"console.js_{k}" for k in re.findall(r'label: "([a-z_0-9]+)"', script.read_text())}
        for columns in re.findall(r"c\.table\(\[([^\]]*)\]", script.read_text()):
            keys |= {f"console.js_column_{k}" for k in re.findall(r'(?<!msg\()"([a-z_0-9]+)"', columns)}
        assert {f"js_{k}" for k in named if k.endswith("_")} <= set(built), script.name
    assert len(keys) > 80
    for language in i18n.LANGUAGES:
        assert keys - set(i18n.catalogue(language)) == set(), language


def test_no_vendored_file_is_ignored_by_git():
    """A vendored file git ignores would work here and be missing from every checkout."""
    import shutil
    import subprocess

    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    manifest = json.loads((VENDOR / "manifest.json").read_text())["packages"]
    paths = [str(VENDOR / package / name) for package, entry in manifest.items() for name in entry["sha256"]]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True,
                             text=True).stdout
    assert ignored.split() == []
