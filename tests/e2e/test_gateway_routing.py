"""The gateway over real HTTP: a service reached by URL, down, or too slow."""

import threading
import time
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from services.gateway.app import create_app as create_gateway
from services.ingestion.app import create_app as create_ingestion
from tests.conftest import make_shop
from tests.support.http_servers import Recorder

SHOP_LANGUAGE = "en"  # these tests read the API's messages in English


@pytest.fixture
def ingestion_url(settings):
    server = make_server("127.0.0.1", 0, create_ingestion(settings), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _gateway(settings, **urls):
    return create_gateway(replace(settings, service_urls=urls, service_timeout_s=0.5)).test_client()


def test_routes_over_http_with_a_signed_principal(settings, ingestion_url):
    gateway = _gateway(settings, ingestion=ingestion_url)
    shop = make_shop(gateway)
    reply = gateway.get("/v1/imports/presets", headers={**shop.headers("analyst"), "X-Request-ID": "abc-1"})
    assert reply.status_code == 200, reply.get_json()
    assert {e["entity"] for e in reply.get_json()["entities"]} >= {"orders", "order_items", "events"}
    assert reply.headers["X-Request-ID"] == "abc-1"


def test_services_refuse_calls_that_bypass_the_gateway(ingestion_url):
    import httpx

    reply = httpx.get(ingestion_url + "/v1/imports/presets")
    assert reply.status_code == 401 and reply.headers["content-type"] == "application/problem+json"
    forged = httpx.get(ingestion_url + "/v1/imports/presets",
                       headers={"X-Shopmind-Principal": "e30=", "X-Shopmind-Principal-Signature": "00"})
    assert forged.status_code == 401
    assert httpx.get(ingestion_url + "/healthz").status_code == 200


def test_a_service_that_is_down_is_a_quick_503(settings):
    gateway = _gateway(settings, recommendation="http://127.0.0.1:9")  # nothing listens on port 9
    shop = make_shop(gateway, language="en")
    started = time.monotonic()
    reply = gateway.get("/v1/recommendations/popular", headers=shop.headers())
    assert reply.status_code == 503 and "recommendation service is unavailable" in reply.get_json()["detail"]
    assert time.monotonic() - started < 3
    ready = gateway.get("/readyz")
    assert ready.status_code == 503 and "recommendation" in ready.get_json()["detail"]


def test_a_slow_service_is_a_504_within_the_timeout(settings):
    slow = Recorder(delay_s=3)
    try:
        gateway = _gateway(settings, forecasting=slow.url)
        shop = make_shop(gateway)
        started = time.monotonic()
        reply = gateway.get("/v1/forecasts/backtest", headers=shop.headers())
        assert reply.status_code == 504 and reply.content_type == "application/problem+json"
        assert time.monotonic() - started < 2
    finally:
        slow.stop()


def test_an_unconfigured_service_is_named(settings):
    gateway = _gateway(settings)
    shop = make_shop(gateway)
    reply = gateway.get("/v1/pricing/suggestions", headers=shop.headers())
    assert reply.status_code == 503 and "SHOPMIND_PRICING_URL" in reply.get_json()["detail"]


def test_overview_parts_fail_independently(settings, client):
    """One slow service costs its own part of the overview, not the whole answer."""
    from shared.db import session_scope
    from shared.models import Product

    slow = Recorder(delay_s=5)
    try:
        gateway_settings = replace(settings, service_urls={"pricing": slow.url}, aggregate_budget_s=0.5)
        gateway = create_gateway(gateway_settings).test_client()
        shop = make_shop(gateway)
        with session_scope(shop.id, settings.database_url) as session:
            session.add(Product(item_id="100", title="羊毛针织衫", category="女装"))
        started = time.monotonic()
        reply = gateway.get("/v1/items/100/overview", headers=shop.headers("analyst"))
        body = reply.get_json()
        assert reply.status_code == 200 and body["product"]["title"] == "羊毛针织衫"
        assert body["pricing"]["error"]["status"] == 504
        assert body["forecast"]["error"]["status"] == 503  # not configured at all
        assert time.monotonic() - started < 2
        assert gateway.get("/v1/items/nope/overview", headers=shop.headers()).status_code == 404
    finally:
        slow.stop()


@pytest.fixture
def recommendation_url(settings):
    from services.recommendation.app import create_app as create_recommendation

    server = make_server("127.0.0.1", 0, create_recommendation(settings), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("user_id", ["a?b=c", "a#b", "a b", "小红薯/2024", "tb_8f3k2"])
def test_ids_with_reserved_characters_reach_the_service_intact(settings, recommendation_url, user_id):
    """Regression (review): the decoded path was forwarded, so a%3Fb arrived as user "a"."""
    from urllib.parse import quote

    gateway = _gateway(settings, recommendation=recommendation_url)
    shop = make_shop(gateway)
    reply = gateway.get(f"/v1/recommendations/users/{quote(user_id, safe='')}", headers=shop.headers("client"))
    assert reply.status_code == 200 and reply.get_json()["user_id"] == user_id


@pytest.mark.parametrize(("method", "path", "status", "says"), [
    ("GET", "/v1/webhooks/null/deliveries", 404, "no route"),   # a client's unset id is not a method problem
    ("DELETE", "/v1/keys/abc", 404, "no route"),
    ("POST", "/v1/models/99999999999999999/promote", 404, "at most 9007199254740991"),
    ("POST", "/v1/models/x/rollback", 404, "no service 'x'"),
    ("POST", "/v1/models/7/promote", 404, "no model version 7"),
    ("GET", "/v1/models/7/promote", 405, "takes POST"),          # the route exists, for POST
    ("PUT", "/v1/jobs/abc", 405, "takes GET"),
])
def test_gateway_paths_that_do_not_exist_are_404_and_wrong_methods_405(client, shop, method, path, status, says):
    reply = client.open(path, method=method, headers=shop.headers())
    assert reply.status_code == status, reply.get_json()
    assert reply.mimetype == "application/problem+json" and says in reply.get_json()["detail"]
    if status == 405:
        assert reply.headers.get("Allow")
