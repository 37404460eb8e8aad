"""Webhook deliveries: emitted through the outbox, signed, retried with backoff, never redirected."""

import hashlib
import hmac
import json
from datetime import timedelta

import numpy as np
import pytest

from shared import artifacts
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.models import WebhookDelivery
from shared.platform_tasks import deliver_webhooks_once
from tests.support.http_servers import Recorder

SHOP_LANGUAGE = "en"  # these tests read the API's messages in English

SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def receiver():
    server = Recorder()
    yield server
    server.stop()


def _subscribe(client, shop, url, events=("model_promoted",)):
    reply = client.post("/v1/webhooks", json={"url": url, "events": list(events), "secret": SECRET},
                        headers=shop.headers())
    assert reply.status_code == 201, reply.get_json()
    assert "secret" not in reply.get_json()
    return reply.get_json()["id"]


def _promote_a_model(client, shop, settings):
    with session_scope(shop.id, settings.database_url) as session:
        row = artifacts.save_version(session, settings, shop.id, "sentiment", arrays={"w": np.ones(3)})
        model_id = row.id
    assert client.post(f"/v1/models/{model_id}/promote", headers=shop.headers()).status_code == 200
    return model_id


def _make_due(settings):
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        for row in session.query(WebhookDelivery).filter(WebhookDelivery.status == "pending"):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)


def test_signed_delivery_of_a_promotion(client, shop, settings, receiver):
    hook_id = _subscribe(client, shop, receiver.url + "/hooks/shopmind")
    model_id = _promote_a_model(client, shop, settings)
    assert deliver_webhooks_once(settings) >= 1
    [request] = [r for r in receiver.requests if r["path"] == "/hooks/shopmind"]
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Shopmind-Signature"] == expected
    payload = json.loads(request["body"])
    assert payload["event"] == "model_promoted" and payload["shop_id"] == shop.id
    assert payload["data"]["model_id"] == model_id and payload["data"]["service"] == "sentiment"
    log = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers()).get_json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("delivered", 1, 200)]


def test_failures_are_retried_with_backoff(client, shop, settings, receiver):
    receiver.status = 500
    hook_id = _subscribe(client, shop, receiver.url + "/flaky")
    _promote_a_model(client, shop, settings)
    deliver_webhooks_once(settings)
    [delivery] = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers()).get_json()["items"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1 and delivery["last_status_code"] == 500
    # Not due yet: a second round sends nothing.
    deliver_webhooks_once(settings)
    assert len([r for r in receiver.requests if r["path"] == "/flaky"]) == 1
    receiver.status = 204
    _make_due(settings)
    deliver_webhooks_once(settings)
    [delivery] = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers()).get_json()["items"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2


def test_redirects_are_not_followed(client, shop, settings, receiver):
    target = Recorder()
    try:
        receiver.status, receiver.location = 302, target.url + "/stolen"
        hook_id = _subscribe(client, shop, receiver.url + "/moved")
        _promote_a_model(client, shop, settings)
        deliver_webhooks_once(settings)
        [delivery] = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers()).get_json()["items"]
        assert delivery["last_status_code"] == 302 and "redirects are not followed" in delivery["last_error"]
        assert target.requests == []
    finally:
        target.stop()


def test_only_subscribed_events_are_queued(client, shop, settings, receiver):
    hook_id = _subscribe(client, shop, receiver.url + "/other", events=("stockout_risk",))
    _promote_a_model(client, shop, settings)
    assert client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers()).get_json()["items"] == []


def test_private_targets_are_refused_unless_allow_listed(client, shop):
    reply = client.post("/v1/webhooks", json={"url": "https://10.0.0.8/hook", "events": ["model_promoted"],
                                              "secret": SECRET}, headers=shop.headers())
    assert reply.status_code == 422 and "private or special" in reply.get_json()["errors"]["url"][0]
    short_secret = client.post("/v1/webhooks", json={"url": "https://example.com/h", "events": ["model_promoted"],
                                                     "secret": "x"}, headers=shop.headers())
    assert short_secret.status_code == 422 and "secret" in short_secret.get_json()["errors"]
    unknown_event = client.post("/v1/webhooks", json={"url": "https://example.com/h", "events": ["nope"],
                                                      "secret": SECRET}, headers=shop.headers())
    assert unknown_event.status_code == 422


# --- POST /v1/webhooks/{id}/test: a signed ping, sent at once, logged, never retried ----------------

PROBLEM_JSON = "application/problem+json"


def _test(client, shop, hook_id, role="admin", **headers):
    return client.post(f"/v1/webhooks/{hook_id}/test", headers={**shop.headers(role), **headers})


def _log(client, shop, hook_id):
    return client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers()).get_json()["items"]


def test_a_test_delivery_is_a_signed_ping_sent_at_once_and_logged(client, shop, settings, receiver):
    hook_id = _subscribe(client, shop, receiver.url + "/hooks/test", events=("stockout_risk",))
    reply = _test(client, shop, hook_id)
    assert reply.status_code == 200, reply.get_json()
    result = reply.get_json()
    assert result["ok"] is True and result["status_code"] == 200 and result["error"] is None
    assert isinstance(result["duration_ms"], int) and 0 <= result["duration_ms"] < 5000
    [request] = receiver.requests  # sent during the request, not by a later round
    assert request["path"] == "/hooks/test"
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Shopmind-Signature"] == expected
    assert request["headers"]["X-Shopmind-Event"] == "ping"
    assert request["headers"]["X-Shopmind-Delivery"] == str(result["delivery"]["id"])
    payload = json.loads(request["body"])
    assert payload["event"] == "ping" and payload["shop_id"] == shop.id
    assert payload["data"]["test"] is True and payload["data"]["webhook_id"] == hook_id
    assert payload["data"]["shop_name"] == "店铺A"
    assert "test delivery" in payload["data"]["message"] and "店铺A" in payload["data"]["message"]
    [logged] = _log(client, shop, hook_id)
    assert logged["id"] == result["delivery"]["id"] and logged["event"] == "ping"
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("delivered", 1, 200)
    assert logged["payload"] == payload
    _make_due(settings)
    deliver_webhooks_once(settings)
    assert len(receiver.requests) == 1  # the outbox never sends it again


def test_a_receiver_that_fails_is_a_200_with_ok_false_and_the_reason(client, shop, settings, receiver):
    receiver.status = 500
    hook_id = _subscribe(client, shop, receiver.url + "/broken")
    result = _test(client, shop, hook_id).get_json()
    assert result["ok"] is False and result["status_code"] == 500 and "HTTP 500" in result["error"]
    [logged] = _log(client, shop, hook_id)
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("failed", 1, 500)
    assert "HTTP 500" in logged["last_error"]
    zh = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=shop.headers(language="zh-CN")).get_json()
    assert zh["items"][0]["last_error"] == "对方返回 HTTP 500"  # the reason reads in the reader's language
    _make_due(settings)
    deliver_webhooks_once(settings)
    assert len(receiver.requests) == 1  # a failed test is not retried


def test_a_receiver_that_is_down_is_ok_false_with_the_reason(client, shop):
    gone = Recorder()
    url = gone.url + "/nobody-home"
    gone.stop()
    hook_id = _subscribe(client, shop, url)
    reply = _test(client, shop, hook_id)
    assert reply.status_code == 200
    result = reply.get_json()
    assert result["ok"] is False and result["status_code"] is None
    assert "could not connect to 127.0.0.1" in result["error"] and "refused" in result["error"].lower()
    [logged] = _log(client, shop, hook_id)
    assert logged["status"] == "failed" and logged["last_status_code"] is None


def test_a_test_keeps_to_the_url_rules(client, shop, settings):
    """A subscription whose URL breaks the rules now (a host that resolves elsewhere since, a rule
    tightened) is refused before anything is sent, as a real delivery would be."""
    from shared.models import Webhook

    with session_scope(shop.id, settings.database_url) as session:
        hook = Webhook(shop_id=shop.id, url="https://10.0.0.8/hook", events=["*"], secret=SECRET, active=True)
        session.add(hook)
        session.flush()
        hook_id = hook.id
    result = _test(client, shop, hook_id).get_json()
    assert result["ok"] is False and result["status_code"] is None
    assert "private or special" in result["error"]
    assert _log(client, shop, hook_id)[0]["status"] == "failed"


def test_only_admins_test_and_only_their_own_shops_webhooks(client, shop, other_shop, receiver):
    hook_id = _subscribe(client, shop, receiver.url + "/mine")
    for role in ("analyst", "client"):
        reply = _test(client, shop, hook_id, role)
        assert reply.status_code == 403 and reply.content_type == PROBLEM_JSON, role
    theirs = _test(client, other_shop, hook_id)
    assert theirs.status_code == 404 and theirs.content_type == PROBLEM_JSON
    unknown = _test(client, shop, 4294967296)
    assert unknown.status_code == 404 and "4294967296" in unknown.get_json()["detail"]
    assert receiver.requests == [] and _log(client, shop, hook_id) == []


def test_tests_of_one_webhook_are_spaced_out(client, shop, receiver):
    from shared.webhooks import TEST_COOLDOWN_S

    hook_id = _subscribe(client, shop, receiver.url + "/spaced")
    assert _test(client, shop, hook_id).status_code == 200
    again = _test(client, shop, hook_id)
    assert again.status_code == 429 and again.content_type == PROBLEM_JSON
    assert 1 <= int(again.headers["Retry-After"]) <= TEST_COOLDOWN_S
    assert f"one test every {TEST_COOLDOWN_S} s" in again.get_json()["detail"]
    assert len(receiver.requests) == 1 and len(_log(client, shop, hook_id)) == 1
    other = _subscribe(client, shop, receiver.url + "/another")
    assert _test(client, shop, other).status_code == 200  # the limit is per webhook
