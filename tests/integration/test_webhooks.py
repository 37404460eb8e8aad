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
