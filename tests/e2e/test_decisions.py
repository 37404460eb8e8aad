"""Decisions through the gateway on the demo shop: accepted advice reaches a receiver as one signed
event, bad input is a 4xx naming the field, and the outcome check agrees with the truth the demo
generator planted (its elasticities) within its interval for most price changes."""

import csv
import hashlib
import hmac
import io
import json
from datetime import date, timedelta

import numpy as np
import pytest

from infra.demo_data import clean_price_changes
from shared.calendar import shop_today
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.models import WebhookDelivery
from shared.platform_tasks import deliver_webhooks_once
from tests.conftest import make_shop
from tests.support import DEMO_END
from tests.support.demo_shops import catalogue_titles, import_demo
from tests.support.imports import retrain, wait_for_job

SECRET = "whsec-decisions-0123456789"
EVENTS = ["price_change_accepted", "restock_accepted", "campaign_accepted", "decision_outcome"]
END = date.fromisoformat(DEMO_END)


@pytest.fixture(scope="module")
def demo(app, demo_data, webhook_receiver):
    client = app.test_client()
    out = demo_data.files(seed=42, scale=0.3)
    truth = json.loads((out / "ground_truth.json").read_text())
    shop = make_shop(client, "决策测试店")
    hook = client.post("/v1/webhooks", json={"url": webhook_receiver.url + "/erp", "events": EVENTS, "secret": SECRET},
                       headers=shop.headers())
    assert hook.status_code == 201, hook.get_json()
    import_demo(client, shop, out, ["products", "orders", "order_items", "inventory"])
    for model in ("pricing", "forecasting", "insights"):
        job = retrain(client, shop.headers(), model)
        assert job["status"] == "succeeded", job
    return {"client": client, "shop": shop, "truth": truth, "out": out, "hook_id": hook.get_json()["id"]}


def _events(webhook_receiver, event: str) -> list[dict]:
    found = []
    for request in webhook_receiver.requests:
        payload = json.loads(request["body"])
        if payload["event"] == event:
            found.append({"payload": payload, "headers": request["headers"], "body": request["body"]})
    return found


def _post(demo, body, role="admin", **headers):
    return demo["client"].post("/v1/decisions", json=body, headers={**demo["shop"].headers(role), **headers})


def _check(client, headers) -> dict:
    """Run the outcome check and return its job once finished (polled: the worker may be busy)."""
    reply = client.post("/v1/decisions/outcomes/check?wait=120", headers=headers)
    assert reply.status_code in (200, 202), reply.get_json()
    return wait_for_job(client, headers, reply.get_json()["job"])


def test_accepting_a_price_suggestion_sends_one_signed_event(demo, settings, webhook_receiver):
    client, h = demo["client"], demo["shop"].headers("analyst")
    advice = client.get("/v1/pricing/suggestions?action=change&limit=5", headers=h).get_json()
    row = advice["items"][0]
    body = {"kind": "price_change", "suggestion_id": row["suggestion_id"], "note": "试试看"}
    first = _post(demo, body)
    assert first.status_code == 201, first.get_json()
    decision = first.get_json()
    assert decision["item_id"] == row["item_id"] and decision["status"] == "accepted"
    assert decision["item_title"] == row["title"] == catalogue_titles(demo["out"])[row["item_id"]]
    assert decision["value"]["price"] == row["price"] and decision["decided_by"].startswith("key:")
    assert decision["advice"]["model_version"] == advice["model_version"]
    predicted = decision["advice"]["predicted"]
    assert predicted["ci_low"] <= predicted["elasticity"] <= predicted["ci_high"]
    low, high = predicted["units_per_day_interval"]
    assert low <= predicted["units_per_day"] <= high
    assert decision["outcome"] is None and decision["effective_on"] == shop_today("Asia/Shanghai").isoformat()
    # Accepting the same suggestion again records and sends nothing new.
    again = _post(demo, body)
    assert again.status_code == 200 and again.get_json()["id"] == decision["id"]
    deliver_webhooks_once(settings)
    sent = [e for e in _events(webhook_receiver, "price_change_accepted")
            if e["payload"]["data"]["decision_id"] == decision["id"]]
    assert len(sent) == 1
    expected = "sha256=" + hmac.new(SECRET.encode(), sent[0]["body"], hashlib.sha256).hexdigest()
    assert sent[0]["headers"]["X-Shopmind-Signature"] == expected
    data = sent[0]["payload"]["data"]
    assert data["item_id"] == row["item_id"] and data["new_price"] == row["price"]
    assert data["old_price"] == row["current_price"] and data["effective_on"] == decision["effective_on"]
    assert data["effective_at"] == f"{decision['effective_on']}T00:00:00+08:00"  # the shop's day starts
    assert data["model"] == {"service": "pricing", "version": advice["model_version"]}
    listed = client.get(f"/v1/decisions?kind=price_change&item_id={row['item_id']}", headers=h).get_json()
    assert [(d["id"], d["item_title"]) for d in listed["items"]] == [(decision["id"], decision["item_title"])]


def test_a_decision_may_differ_from_the_advice_and_be_rejected(demo, settings, webhook_receiver):
    client, h = demo["client"], demo["shop"].headers("analyst")
    row = client.get("/v1/pricing/suggestions?action=change&limit=5", headers=h).get_json()["items"][1]
    own = _post(demo, {"kind": "price_change", "item_id": row["item_id"],
                       "value": {"price": row["current_price"] * 1.05}}, **{"Idempotency-Key": "erp-42"})
    assert own.status_code == 201
    assert own.get_json()["value"]["price"] == round(row["current_price"] * 1.05, 2)
    assert own.get_json()["advice"]["predicted"]["new_price"] == pytest.approx(row["current_price"] * 1.05)
    # The same Idempotency-Key is the same decision, whatever the body now says.
    replay = _post(demo, {"kind": "price_change", "item_id": row["item_id"], "value": {"price": 1.0}},
                   **{"Idempotency-Key": "erp-42"})
    assert replay.status_code == 200 and replay.get_json()["id"] == own.get_json()["id"]
    rejected = _post(demo, {"kind": "price_change", "status": "rejected", "suggestion_id": row["suggestion_id"],
                            "note": "大促前不改价"})
    assert rejected.status_code == 201 and rejected.get_json()["status"] == "rejected"
    deliver_webhooks_once(settings)
    ids = {e["payload"]["data"]["decision_id"] for e in _events(webhook_receiver, "price_change_accepted")}
    assert own.get_json()["id"] in ids and rejected.get_json()["id"] not in ids
    listed = client.get("/v1/decisions?status=rejected", headers=h).get_json()["items"]
    assert [d["note"] for d in listed] == ["大促前不改价"]


def test_restock_with_a_changed_quantity(demo, settings, webhook_receiver):
    client, h = demo["client"], demo["shop"].headers("analyst")
    plan = client.get("/v1/replenishment?risk=high&limit=3", headers=h).get_json()
    row = plan["items"][0]
    reply = _post(demo, {"kind": "restock", "suggestion_id": row["suggestion_id"],
                         "value": {"quantity": row["reorder_qty"] + 7, "supplier": "义乌仓"}})
    assert reply.status_code == 201, reply.get_json()
    decision = reply.get_json()
    assert decision["value"]["quantity"] == row["reorder_qty"] + 7
    assert decision["advice"]["suggested"]["quantity"] == row["reorder_qty"]
    predicted = decision["advice"]["predicted"]
    assert predicted["units_p10"] <= predicted["units_p50"] <= predicted["units_p90"]
    deliver_webhooks_once(settings)
    [event] = [e["payload"]["data"] for e in _events(webhook_receiver, "restock_accepted")
               if e["payload"]["data"]["decision_id"] == decision["id"]]
    arrival = date.fromisoformat(decision["effective_on"]) + timedelta(days=row["lead_time_days"])
    assert event["quantity"] == row["reorder_qty"] + 7 and event["supplier"] == "义乌仓"
    assert event["lead_time_days"] == row["lead_time_days"] and event["expected_arrival"] == arrival.isoformat()


def test_a_decision_event_the_receiver_refused_is_retried_with_the_same_body(demo, settings, webhook_receiver):
    client, h = demo["client"], demo["shop"].headers()
    item_id = client.get("/v1/replenishment?limit=5", headers=h).get_json()["items"][4]["item_id"]
    webhook_receiver.status = 503
    try:
        decision = _post(demo, {"kind": "restock", "item_id": item_id, "value": {"quantity": 5}}).get_json()
        deliver_webhooks_once(settings)
    finally:
        webhook_receiver.status = 200
    log = client.get(f"/v1/webhooks/{demo['hook_id']}/deliveries?limit=100", headers=h).get_json()["items"]
    [pending] = [d for d in log if d["event"] == "restock_accepted" and d["status"] == "pending"]
    assert pending["attempts"] == 1 and pending["last_status_code"] == 503
    with session_scope(ALL_SHOPS, settings.database_url) as session:  # the backoff has passed
        for row in session.query(WebhookDelivery).filter(WebhookDelivery.status == "pending"):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
    deliver_webhooks_once(settings)
    sent = [e for e in _events(webhook_receiver, "restock_accepted")
            if e["payload"]["data"]["decision_id"] == decision["id"]]
    assert len(sent) == 2 and sent[0]["body"] == sent[1]["body"]
    log = client.get(f"/v1/webhooks/{demo['hook_id']}/deliveries?limit=100", headers=h).get_json()["items"]
    [done] = [d for d in log if d["id"] == pending["id"]]
    assert done["status"] == "delivered" and done["attempts"] == 2


def test_a_campaign_keeps_a_random_holdout(demo, settings, webhook_receiver):
    client, h = demo["client"], demo["shop"].headers("analyst")
    segments = client.get("/v1/segments", headers=h).get_json()
    segment = max(segments["rfm"], key=lambda s: s["customers"])
    reply = _post(demo, {"kind": "campaign", "segment": segment["name"], "holdout_share": 0.2,
                         "value": {"offer": "满199减20", "channel": "sms"}})
    assert reply.status_code == 201, reply.get_json()
    decision = reply.get_json()
    counts = decision["members"]
    assert counts["treatment"] + counts["holdout"] == segment["customers"]
    assert counts["holdout"] == round(0.2 * segment["customers"])
    treated = _all_members(client, h, decision["id"], "treatment")
    held = _all_members(client, h, decision["id"], "holdout")
    assert len(treated) == counts["treatment"] and not set(treated) & set(held)
    exported = client.get(f"/v1/decisions/{decision['id']}/members?group=holdout&format=csv", headers=h)
    assert exported.mimetype == "text/csv"
    assert [r[0] for r in csv.reader(io.StringIO(exported.get_data(as_text=True)))][1:] == sorted(held)
    deliver_webhooks_once(settings)
    [event] = [e["payload"]["data"] for e in _events(webhook_receiver, "campaign_accepted")
               if e["payload"]["data"]["decision_id"] == decision["id"]]
    assert event["members"] == counts["treatment"] and event["offer"] == "满199减20"
    assert client.get(event["members_url"], headers=h).get_json()["items"] == treated[:1000]


def _all_members(client, headers, decision_id, group):
    found, cursor = [], None
    while True:
        url = f"/v1/decisions/{decision_id}/members?group={group}&limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


@pytest.mark.parametrize("body, field", [
    ({"kind": "discount"}, "kind"),
    ({"kind": "campaign", "item_id": "x", "segment": "y"}, "item_id"),
    ({"kind": "price_change"}, "item_id"),
    ({"kind": "price_change", "item_id": "x", "value": {"price": -3}}, "value.price"),
    ({"kind": "price_change", "item_id": "x", "value": {"qty": 3}}, "value.qty"),
    ({"kind": "restock", "item_id": "x", "value": {"quantity": 1.5}}, "value.quantity"),
    ({"kind": "price_change", "item_id": "x", "holdout_share": 0.1}, "holdout_share"),
    ({"kind": "campaign", "segment": "y", "holdout_share": 0.9}, "holdout_share"),
    ({"kind": "price_change", "item_id": "x", "effective_at": "next tuesday"}, "effective_at"),
    ({"kind": "price_change", "item_id": "x", "effective_at": "1999-01-01"}, "effective_at"),
    ({"kind": "restock", "suggestion_id": "pricing:1:x"}, "suggestion_id"),
    ({"kind": "price_change", "item_id": "x", "suggestion_id": "pricing:1:y"}, "suggestion_id"),
    ({"kind": "price_change", "item_id": "x", "status": "maybe"}, "status"),
    ({"kind": "price_change", "suggestion_id": "pricing:1:" + "x" * 100}, "suggestion_id"),
])
def test_bad_input_names_the_field(demo, body, field):
    reply = _post(demo, body)
    assert reply.status_code == 422, reply.get_json()
    problem = reply.get_json()
    assert reply.mimetype == "application/problem+json" and field in problem["errors"], problem


def test_times_without_an_offset_are_the_shops_and_a_rejected_campaign_keeps_no_list(demo):
    client, h = demo["client"], demo["shop"].headers()
    row = client.get("/v1/pricing/suggestions?limit=3", headers=h).get_json()["items"][2]
    late = _post(demo, {"kind": "price_change", "item_id": row["item_id"], "effective_at": "2026-11-01T23:30:00"})
    assert late.status_code == 201 and late.get_json()["effective_on"] == "2026-11-01"
    assert late.get_json()["value"]["effective_at"] == "2026-11-01T23:30:00+08:00"
    utc = _post(demo, {"kind": "price_change", "item_id": row["item_id"], "effective_at": "2026-11-01T20:00:00+00:00"})
    assert utc.status_code == 201 and utc.get_json()["effective_on"] == "2026-11-02"  # 04:00 in Shanghai
    segment = client.get("/v1/segments", headers=h).get_json()["rfm"][0]["name"]
    rejected = _post(demo, {"kind": "campaign", "segment": segment, "status": "rejected", "note": "预算不够"})
    assert rejected.status_code == 201 and rejected.get_json()["members"] == {"treatment": 0, "holdout": 0}
    assert rejected.get_json()["holdout_share"] is None
    assert _post(demo, {"kind": "campaign", "segment": "no-such-segment", "status": "rejected"}).status_code == 404


def test_refusals(demo, other_shop):
    client, h = demo["client"], demo["shop"].headers()
    item_id = client.get("/v1/pricing/suggestions?limit=1", headers=h).get_json()["items"][0]["item_id"]
    absurd = _post(demo, {"kind": "price_change", "item_id": item_id, "value": {"price": 0.01}})
    assert absurd.status_code == 422 and "value.price" in absurd.get_json()["errors"], absurd.get_json()
    assert _post(demo, {"kind": "price_change", "item_id": "no-such-item"}).status_code == 404
    stale = _post(demo, {"kind": "price_change", "item_id": "x", "suggestion_id": "pricing:999:x"})
    assert stale.status_code == 404  # no item "x": nothing to be stale about
    row = client.get("/v1/pricing/suggestions?limit=1", headers=h).get_json()["items"][0]
    old = row["suggestion_id"].replace(":", ":9", 1)  # a version that never advised
    assert _post(demo, {"kind": "price_change", "suggestion_id": old}).status_code == 409
    assert _post(demo, {"kind": "price_change", "item_id": row["item_id"]}, role="analyst").status_code == 403
    decision = _post(demo, {"kind": "price_change", "item_id": item_id, "status": "rejected",
                            "note": "refusals"}).get_json()
    assert client.get(f"/v1/decisions/{decision['id']}", headers=other_shop.headers()).status_code == 404
    not_campaign = client.get(f"/v1/decisions/{decision['id']}/members", headers=h)
    assert not_campaign.status_code == 409 and str(decision["id"]) in not_campaign.get_json()["detail"]
    assert client.get("/v1/decisions/99999999999/members", headers=h).status_code == 404


def test_outcome_check_agrees_with_the_planted_truth(demo, settings, webhook_receiver):
    client, h, truth = demo["client"], demo["shop"].headers(), demo["truth"]
    changes = clean_price_changes(truth, END)
    demand = {i: t["base_daily_demand"] for i, t in truth["items"].items()}
    # The best-selling ones: a slow seller's fortnight cannot show anything (it would be inconclusive).
    changes = sorted(changes, key=lambda c: -demand[c[0]])[:40]
    assert len(changes) >= 20
    decided = {}
    for item_id, day, old, new in changes:
        reply = _post(demo, {"kind": "price_change", "item_id": item_id, "value": {"price": new}, "effective_at": day,
                             "outcome_window_days": 28})
        if reply.status_code == 409:  # the pricing model has no estimate of this item
            continue
        assert reply.status_code == 201, reply.get_json()
        decided[reply.get_json()["id"]] = (item_id, old, new)
    check = _check(client, h)
    assert check["status"] == "succeeded", check
    assert check["result"]["measured"] >= len(decided)
    covered, conclusive = [], 0
    for decision_id, (item_id, old, new) in decided.items():
        outcome = client.get(f"/v1/decisions/{decision_id}", headers=h).get_json()["outcome"]
        assert outcome is not None and outcome["verdict"] in ("as_predicted", "better_than_predicted",
                                                              "worse_than_predicted", "inconclusive")
        assert outcome["observed"]["price_before"] == pytest.approx(old, abs=0.01)
        assert outcome["observed"]["price_after"] == pytest.approx(new, abs=0.01)
        true_ratio = (new / old) ** truth["items"][item_id]["elasticity"]
        low, high = outcome["interval"]["units_ratio"]
        covered.append(low <= true_ratio <= high)
        conclusive += outcome["verdict"] != "inconclusive"
    assert np.mean(covered) >= 0.75, (np.mean(covered), len(covered))
    assert conclusive >= len(decided) / 2
    deliver_webhooks_once(settings)
    sent = {e["payload"]["data"]["decision_id"] for e in _events(webhook_receiver, "decision_outcome")}
    assert set(decided) <= sent
    audit = client.get("/v1/decisions/audit?service=pricing", headers=h).get_json()
    [pricing] = [m for m in audit["models"] if m["service"] == "pricing"]
    assert pricing["measured"] >= len(decided) and 0 <= pricing["held_up"] <= pricing["conclusive"]
    # Measured once: a second check finds nothing more to do.
    again = _check(client, h)["result"]
    assert again["measured"] == 0


def test_restock_and_campaign_outcomes(demo):
    client, h, truth = demo["client"], demo["shop"].headers(), demo["truth"]
    effective = END - timedelta(days=20)
    item_id = next(i for i, days in truth["stockout_days"].items()
                   if any(effective.isoformat() <= d <= (effective + timedelta(days=13)).isoformat() for d in days))
    restock = _post(demo, {"kind": "restock", "item_id": item_id, "value": {"quantity": 10},
                           "effective_at": effective.isoformat()})
    assert restock.status_code == 201, restock.get_json()
    segment = max(client.get("/v1/segments", headers=h).get_json()["rfm"], key=lambda s: s["customers"])["name"]
    campaign = _post(demo, {"kind": "campaign", "segment": segment, "effective_at": effective.isoformat(),
                            "value": {"offer": "back-dated"}})
    assert campaign.status_code == 201, campaign.get_json()
    assert _check(client, h)["status"] == "succeeded"
    measured = client.get(f"/v1/decisions/{restock.get_json()['id']}", headers=h).get_json()["outcome"]
    # The generator ran this item out of stock in the window: the check must see it.
    assert measured["stock"] == "stockout_not_avoided" and measured["observed"]["out_of_stock_days"] >= 1
    assert measured["window"] == [effective.isoformat(), (effective + timedelta(days=13)).isoformat()]
    outcome = client.get(f"/v1/decisions/{campaign.get_json()['id']}", headers=h).get_json()["outcome"]
    observed = outcome["observed"]
    assert observed["treated"] + observed["holdout"] == campaign.get_json()["members"]["treatment"] + \
        campaign.get_json()["members"]["holdout"]
    low, high = outcome["interval"]["buy_rate_lift"]
    # Nobody was really contacted: the two groups differ by chance alone.
    assert low <= 0 <= high and outcome["verdict"] in ("no_detectable_lift", "inconclusive")


def test_the_alerts_centre_lists_every_kind_and_keeps_what_was_done(demo, other_shop):
    client, h, analyst = demo["client"], demo["shop"].headers(), demo["shop"].headers("analyst")
    body = client.get("/v1/alerts", headers=analyst).get_json()
    kinds = {a["kind"] for a in body["items"]}
    assert "stockout_risk" in kinds and not body["unavailable"], body["unavailable"]
    high = client.get("/v1/replenishment?risk=high&limit=200", headers=analyst).get_json()["items"]
    assert len([a for a in body["items"] if a["kind"] == "stockout_risk"]) == len(high)
    assert all(a["status"] == "open" and a["title"] and a["link"].startswith("/") for a in body["items"])
    titles = catalogue_titles(demo["out"])
    for alert in (a for a in body["items"] if a["kind"] == "stockout_risk"):  # named as people know the item
        assert titles[alert["subject"]] in alert["title"] and alert["subject"] in alert["title"]
    first = body["items"][0]
    # Reading again gives the same ids: an alert is the same alert until what makes it new changes.
    assert [a["id"] for a in client.get("/v1/alerts", headers=analyst).get_json()["items"]] == \
        [a["id"] for a in body["items"]]
    done = client.post(f"/v1/alerts/{first['id']}/acknowledge", headers=analyst)
    assert done.status_code == 200 and done.get_json()["status"] == "acknowledged"
    assert done.get_json()["status_by"].startswith("key:")
    listed = client.get("/v1/alerts?status=open", headers=analyst).get_json()
    assert first["id"] not in {a["id"] for a in listed["items"]}
    assert listed["counts"]["acknowledged"] == 1 and listed["counts"]["open"] == len(body["items"]) - 1
    assert client.post(f"/v1/alerts/{first['id']}/resolve", headers=h).get_json()["status"] == "resolved"
    assert client.post(f"/v1/alerts/{first['id']}/reopen", headers=h).get_json()["status"] == "open"
    assert client.get("/v1/alerts?status=resolved", headers=h).get_json()["items"] == []
    assert client.post("/v1/alerts/not-an-alert/acknowledge", headers=h).status_code == 404
    assert client.post(f"/v1/alerts/{first['id']}/delete", headers=h).status_code == 404
    assert client.get("/v1/alerts?status=maybe", headers=h).status_code == 422
    # Another shop's list is its own.
    assert client.get("/v1/alerts", headers=other_shop.headers()).get_json()["counts"]["acknowledged"] == 0
    bad = [a for a in body["items"] if a["kind"] == "decision_outcome"]
    assert all(a["link"].startswith("/decisions#") for a in bad)
