"""nginx in front of the gateway: its own refusals are problem documents like the gateway's, and
the gateway takes the client's address from nginx's X-Forwarded-For only when told to trust it."""

from __future__ import annotations

import secrets
from dataclasses import replace

import httpx
import pytest

from tests.support.edge import Nginx, free_port, nginx_binary

needs_nginx = pytest.mark.skipif(nginx_binary() is None,
                                 reason="needs the nginx binary (Debian package nginx; .ci/run installs it)")


def _unknown_key_codes(client, addresses: list[str]) -> list[int]:
    return [client.get("/v1/jobs", headers={"Authorization": "Bearer sm_not-a-key", "X-Forwarded-For": address},
                       environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code for address in addresses]


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(settings):
    from services.gateway.app import create_app

    # Unknown keys are limited per client address; random documentation addresses keep runs apart.
    first, second = (f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}" for _ in range(2))
    behind_nginx = create_app(replace(settings, rate_limit_per_minute=2, trusted_proxies=1)).test_client()
    assert _unknown_key_codes(behind_nginx, [first, first, first]) == [401, 401, 429]
    assert _unknown_key_codes(behind_nginx, [second]) == [401]  # another client behind the same nginx

    # Without a trusted proxy the header is the client's own word: changing it escapes nothing.
    direct = create_app(replace(settings, rate_limit_per_minute=2, trusted_proxies=0)).test_client()
    spoofed = [f"2001:db8::{secrets.token_hex(2)}" for _ in range(3)]
    assert _unknown_key_codes(direct, spoofed)[-1] == 429


@pytest.fixture
def nginx_without_gateway(tmp_path):
    """nginx pointed at a port where nothing listens, with a 1 KB body limit."""
    nginx = Nginx(tmp_path / "nginx", f"127.0.0.1:{free_port()}", {"client_max_body_size": "1k"})
    yield nginx
    nginx.stop()


@needs_nginx
def test_nginx_answers_its_own_errors_as_problems_in_the_readers_language(nginx_without_gateway):
    url = nginx_without_gateway.url
    down = httpx.get(f"{url}/healthz", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert down.status_code == 502 and down.headers["content-type"] == "application/problem+json"
    body = down.json()
    assert body["status"] == 502 and "gateway is not answering" in body["detail"]
    assert body["request_id"] == down.headers["X-Request-ID"] and len(body["request_id"]) == 32
    assert down.headers["Retry-After"] == "5" and down.headers["Content-Language"] == "en"

    chinese = httpx.get(f"{url}/v1/jobs")
    assert chinese.status_code == 502 and "网关没有响应" in chinese.json()["detail"]

    too_big = httpx.post(f"{url}/v1/imports?entity=orders", content=b"x" * 4096,
                         headers={"Accept-Language": "en", "Content-Type": "text/csv"})
    assert too_big.status_code == 413 and too_big.headers["content-type"] == "application/problem+json"
    assert "(1k)" in too_big.json()["detail"] and too_big.json()["title"] == "Request body too large"

    # Headers nginx could not read: it cannot see Accept-Language either, so the default language.
    long_header = httpx.get(f"{url}/healthz", headers={"X-Padding": "x" * 9000, "Accept-Language": "en"})
    assert long_header.status_code == 400 and "最多 8 KB" in long_header.json()["detail"]
