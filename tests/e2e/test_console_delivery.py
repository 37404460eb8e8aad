"""How the console's files reach a browser: cached between visits, and gzipped by nginx.

The console benchmark (tests/bench/test_console_speed.py, docs/benchmarks.md "Console") counts on
both: a warm page takes every file from the browser's cache, and behind nginx a cold one moves
about a third of the bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import httpx
import pytest

from services.console.pages import SESSION_COOKIE
from tests.support.edge import Nginx, nginx_binary

STATIC = Path(__file__).resolve().parents[2] / "services" / "gateway" / "static"
CONSOLE_STATIC = Path(__file__).resolve().parents[2] / "services" / "console" / "static"
VEGA = "/static/vendor/vega/build/vega.min.js"


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_the_dashboards_files_are_versioned_kept_a_day_and_revalidated(app):
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, "any")  # a page only looks for the cookie
    page = client.get("/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"  # the page itself: never kept
    urls = _asset_urls(page.get_data(as_text=True))
    assert any("/console/dashboard.js?v=" in u for u in urls) and any(VEGA + "?v=" in u for u in urls)
    for url in urls:
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert "public" in reply.headers["Cache-Control"], url
        assert int(re.search(r"max-age=(\d+)", reply.headers["Cache-Control"]).group(1)) >= 86400, url
        # After the day, the browser asks again with the ETag and gets no body back.
        again = client.get(url, headers={"If-None-Match": reply.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b"", url
        # Our own files' URLs carry a hash of their content: a new release is fetched, not the cached one.
        if url.startswith("/static/console/"):
            path, version = url.removeprefix("/static/console/").split("?v=")
            assert version == hashlib.sha256((CONSOLE_STATIC / path).read_bytes()).hexdigest()[:12], url


@pytest.fixture
def nginx_in_front(live_server, tmp_path):
    nginx = Nginx(tmp_path / "nginx", live_server.url.removeprefix("http://"))
    yield nginx
    nginx.stop()


def _wire(url: str, headers: dict) -> tuple[httpx.Response, bytes]:
    """The reply and its body exactly as it crossed the network (not decompressed)."""
    with httpx.Client() as client, client.stream("GET", url, headers=headers) as reply:
        return reply, b"".join(reply.iter_raw())


@pytest.mark.skipif(nginx_binary() is None, reason="needs the nginx binary (Debian package nginx; .ci/run installs it)")
def test_nginx_gzips_the_static_files_and_nothing_else(nginx_in_front):
    url = nginx_in_front.url
    original = (STATIC / VEGA.removeprefix("/static/")).read_bytes()
    reply, body = _wire(f"{url}{VEGA}", {"Accept-Encoding": "gzip"})
    assert reply.status_code == 200 and reply.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in reply.headers["Vary"]  # a shared cache keeps both forms apart
    assert gzip.decompress(body) == original and len(body) < 0.4 * len(original)
    assert "max-age=86400" in reply.headers["Cache-Control"]  # the gateway's caching passes through
    again = httpx.get(f"{url}{VEGA}", headers={"Accept-Encoding": "gzip", "If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304  # nginx weakened the ETag; the gateway still recognises it

    plain, body = _wire(f"{url}{VEGA}", {"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and body == original  # a client that asks for none
    # Pages and API answers are never compressed (a secret beside chosen text would leak: BREACH),
    # however large: the API's description is 50 KB of JSON.
    for path in ("/openapi.json", "/login"):
        reply, body = _wire(f"{url}{path}", {"Accept-Encoding": "gzip"})
        assert reply.status_code == 200 and "Content-Encoding" not in reply.headers, path
        assert len(body) > 1024, path
