"""Recommendations through the gateway on the demo shop: trained by a job (a real worker in CI)."""

import csv
import time

import pytest

from services.recommendation.candidates import RETRIEVERS
from tests.conftest import make_shop
from tests.support.demo_shops import catalogue_titles, import_demo
from tests.support.imports import import_file, retrain, wait_for_job


@pytest.fixture(scope="module")
def demo(app, demo_data):
    """A shop with the demo data imported and a recommendation model trained through the API."""
    client = app.test_client()
    out = demo_data.files(seed=11, scale=0.1)
    shop = make_shop(client, "推荐测试店")
    import_demo(client, shop, out, ["products", "customers", "orders", "order_items", "events"])
    job = retrain(client, shop.headers(), "recommendation")
    assert job["status"] == "succeeded", job
    users = [row["user_id"] for row in csv.DictReader(open(out / "customers.csv", encoding="utf-8"))]
    return {"shop": shop, "client": client, "job": job, "users": users, "dir": out, "titles": catalogue_titles(out)}


def test_training_job_evaluates_against_baselines_and_promotes(demo):
    result = demo["job"]["result"]
    assert result["promoted"] and result["version"] == 1
    metrics = result["metrics"]
    for name in ("precision@10", "recall@10", "recall@20", "ndcg@10", "map@10", "hr@10", "coverage@10"):
        assert 0 <= metrics[name] <= 1, name
    assert set(metrics["baselines"]) >= {"popularity", "item_knn", "split"}
    models = demo["client"].get("/v1/models?service=recommendation", headers=demo["shop"].headers()).get_json()
    newest = models["items"][0]
    assert newest["status"] == "active" and newest["metrics"]["recall@20"] == metrics["recall@20"]


def _personal(client, user, headers, query="n=7"):
    reply = client.get(f"/v1/recommendations/users/{user}?{query}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _user_token(client, shop, user, ttl=600):
    reply = client.post("/v1/user-tokens", json={"user_id": user, "ttl_seconds": ttl}, headers=shop.headers())
    assert reply.status_code == 201, reply.get_json()
    return {**shop.headers("client"), reply.get_json()["header"]: reply.get_json()["token"]}


def test_personal_recommendations_with_reasons(demo):
    """Staff keys, and a front-end key that proves it is this user, see why: what they bought or viewed."""
    client, shop = demo["client"], demo["shop"]
    user = demo["users"][0]
    for headers in (shop.headers("analyst"), _user_token(client, shop, user)):
        body = _personal(client, user, headers)
        assert body["user_id"] == user and body["model_version"] == 1
        assert len(body["items"]) == 7 and body["fallback"] is None
        assert all(p["reason"].startswith("因为您") or p["reason"].startswith("与您的兴趣") for p in body["items"])
        assert any(p["reason"].startswith("因为您") for p in body["items"])
        scores = [p["score"] for p in body["items"]]
        assert scores == sorted(scores, reverse=True)
        assert all(p["title"] == demo["titles"][p["item_id"]] for p in body["items"])  # named, no lookup needed


def test_a_buyers_history_is_for_staff_and_the_buyer(demo):
    client, shop = demo["client"], demo["shop"]
    user = demo["users"][0]
    body = client.get(f"/v1/recommendations/users/{user}/history?limit=50", headers=shop.headers("analyst")).get_json()
    assert body["user_id"] == user and (body["events"] or body["purchases"])
    stamps = [e["ts"] for e in body["events"]]
    assert stamps == sorted(stamps, reverse=True) and len(body["events"]) <= 50
    assert {e["type"] for e in body["events"]} <= {"pv", "fav", "cart", "buy"}
    # The reasons staff see name what the history holds.
    bought = {p["item_id"] for p in body["purchases"]} | {e["item_id"] for e in body["events"]}
    assert bought
    assert all(row["title"] == demo["titles"].get(row["item_id"]) for row in body["purchases"] + body["events"])
    own = client.get(f"/v1/recommendations/users/{user}/history", headers=_user_token(client, shop, user))
    assert own.status_code == 200
    assert client.get(f"/v1/recommendations/users/{user}/history", headers=shop.headers("client")).status_code == 403
    assert client.get(f"/v1/recommendations/users/{user}/history?limit=0",
                      headers=shop.headers("analyst")).status_code == 422
    other = client.get(f"/v1/recommendations/users/{demo['users'][1]}/history", headers=_user_token(client, shop, user))
    assert other.status_code == 403


def test_a_public_key_never_reveals_a_buyers_history(demo):
    """The front-end key is public: anyone can send any user id with it. Without the user's token
    the picks stay personal but no reason names an item, and nothing already seen comes back."""
    client, shop = demo["client"], demo["shop"]
    user = demo["users"][0]
    with open(demo["dir"] / "products.csv", encoding="utf-8") as products:
        titles = {row["item_id"]: row["title"] for row in csv.DictReader(products)}
    staff = _personal(client, user, shop.headers("analyst"), "n=20&exclude_seen=false")
    public = _personal(client, user, shop.headers("client"), "n=20&exclude_seen=false")
    assert public["items"] and {p["reason"] for p in public["items"]} == {"为您精选"}
    assert not any(title in p["reason"] for p in public["items"] for title in titles.values())
    seen_by_staff = {p["item_id"] for p in staff["items"]} - {p["item_id"] for p in _personal(
        client, user, shop.headers("analyst"), "n=20")["items"]}
    assert seen_by_staff and not seen_by_staff & {p["item_id"] for p in public["items"]}  # exclude_seen forced


def test_user_tokens_are_checked(demo):
    client, shop = demo["client"], demo["shop"]
    user, other = demo["users"][0], demo["users"][1]
    token_headers = _user_token(client, shop, user)
    header = next(h for h in token_headers if h.startswith("X-Shopmind-User"))
    # Another user's recommendations with this user's token: refused, not quietly generic.
    reply = client.get(f"/v1/recommendations/users/{other}", headers=token_headers)
    assert reply.status_code == 403 and "另一位用户" in reply.get_json()["detail"]
    # Altered, malformed, another shop's: 401 that says what to do.
    signed = token_headers[header]
    forged = {**token_headers, header: signed[:-2] + ("00" if signed[-2:] != "00" else "11")}  # always altered
    assert client.get(f"/v1/recommendations/users/{user}", headers=forged).status_code == 401
    garbage = client.get(f"/v1/recommendations/users/{user}", headers={**token_headers, header: "x"})
    assert garbage.status_code == 401 and "/v1/user-tokens" in garbage.get_json()["detail"]
    elsewhere = make_shop(client, "别家店")
    theirs = client.post("/v1/user-tokens", json={"user_id": user}, headers=elsewhere.headers()).get_json()["token"]
    assert client.get(f"/v1/recommendations/users/{user}",
                      headers={**shop.headers("client"), header: theirs}).status_code == 401
    # Minting needs an admin key and a sane lifetime.
    assert client.post("/v1/user-tokens", json={"user_id": user}, headers=shop.headers("client")).status_code == 403
    too_long = client.post("/v1/user-tokens", json={"user_id": user, "ttl_seconds": 10**6}, headers=shop.headers())
    assert too_long.status_code == 422 and "ttl_seconds" in too_long.get_json()["errors"]


def test_an_expired_user_token_is_refused():
    from shared.auth import mint_user_token, read_user_token
    from shared.errors import Unauthorized

    token, expires = mint_user_token("secret", 7, "买家A", ttl_s=60, now=1_000_000)
    assert expires == 1_000_060 and read_user_token("secret", 7, token, now=1_000_059) == "买家A"
    for shop_id, secret, now in ((7, "secret", 1_000_061), (8, "secret", 1_000_000), (7, "other", 1_000_000)):
        with pytest.raises(Unauthorized):
            read_user_token(secret, shop_id, token, now=now)


def test_unknown_users_and_items_fall_back_never_404(demo):
    client, h = demo["client"], demo["shop"].headers("client")
    stranger = client.get("/v1/recommendations/users/never-seen-anyone?n=5", headers=h).get_json()
    assert stranger["fallback"] == "popular" and len(stranger["items"]) == 5
    category = client.get("/v1/recommendations/users/never-seen-anyone?category=女装", headers=h).get_json()
    assert category["fallback"] == "category_popular"
    for route in ("similar", "bought-together"):
        path = f"/v1/recommendations/items/no-such-item/{route}"
        reply = client.get(path, headers=h)
        assert reply.status_code == 200 and reply.get_json()["fallback"] in ("popular", "similar", "content")


def test_item_routes_popular_and_session(demo):
    client, h = demo["client"], demo["shop"].headers("client")
    top = client.get("/v1/recommendations/popular?n=5&window_days=30", headers=h).get_json()["items"]
    assert len(top) == 5 and "热销第1" in top[0]["reason"]
    item = top[0]["item_id"]
    similar = client.get(f"/v1/recommendations/items/{item}/similar?n=5", headers=h).get_json()
    assert similar["items"] and item not in [p["item_id"] for p in similar["items"]]
    together = client.get(f"/v1/recommendations/items/{item}/bought-together?n=5", headers=h).get_json()
    assert together["items"] and ("一起购买" in together["items"][0]["reason"] or together["fallback"])
    session = client.post("/v1/recommendations/session", json={"item_ids": [item], "n": 5}, headers=h).get_json()
    assert session["items"] and "刚看过" in session["items"][0]["reason"]


def test_events_change_the_next_recommendations_without_a_retrain(demo):
    client, h = demo["client"], demo["shop"].headers("client")
    user = demo["users"][1]
    before = [p["item_id"] for p in client.get(f"/v1/recommendations/users/{user}?n=5", headers=h).get_json()["items"]]
    reply = client.post("/v1/events", json={"events": [{"user_id": user, "item_id": before[0], "type": "buy"}]},
                        headers=h)
    assert reply.status_code == 202
    # An analyst may ask for seen items back; what was just bought still never comes back.
    after = client.get(f"/v1/recommendations/users/{user}?n=5&exclude_seen=false",
                       headers=demo["shop"].headers("analyst")).get_json()
    assert before[0] not in [p["item_id"] for p in after["items"]] and after["model_version"] == 1


@pytest.mark.parametrize("query,field", [("n=0", "n"), ("n=101", "n"), ("category=火星", "category"),
                                         ("exclude_seen=maybe", "exclude_seen")])
def test_bad_arguments_are_422(demo, query, field):
    reply = demo["client"].get(f"/v1/recommendations/users/x?{query}", headers=demo["shop"].headers("client"))
    assert reply.status_code == 422 and field in reply.get_json()["errors"]


def test_bad_session_bodies(demo):
    client, h = demo["client"], demo["shop"].headers("client")
    assert client.post("/v1/recommendations/session", json={"item_ids": []}, headers=h).status_code == 422
    assert client.post("/v1/recommendations/session", json={"items": ["1"]}, headers=h).status_code == 422
    assert client.post("/v1/recommendations/session", json={"item_ids": "1"}, headers=h).status_code == 422


def test_an_empty_shop_answers_with_a_clear_fallback(client):
    shop = make_shop(client, "空店")
    body = client.get("/v1/recommendations/users/anyone", headers=shop.headers("client", "en")).get_json()
    assert body["items"] == [] and body["fallback"] == "popular" and "no recommendation model" in body["message"]
    job = retrain(client, shop.headers(), "recommendation")
    assert job["status"] == "failed" and "还没有行为数据或已付款订单" in job["error"]["detail"]  # the shop's zh-CN
    again = client.get(f"/v1/jobs/{job['id']}", headers=shop.headers(language="en")).get_json()
    assert "no behaviour events or paid orders" in again["error"]["detail"]  # the same job, read in English


def test_retrain_tune_promote_rollback_and_hot_swap(demo):
    client, shop = demo["client"], demo["shop"]
    h = shop.headers()
    reply = client.post("/v1/recommendations/tune", json={"budget_s": 20, "max_trials": 2}, headers=h)
    assert reply.status_code == 202
    job = wait_for_job(client, h, reply.get_json()["job"])
    assert job["status"] == "succeeded" and len(job["result"]["trials"]) == 2
    versions = client.get("/v1/models?service=recommendation", headers=h).get_json()["items"]
    newest = versions[0]
    assert newest["version"] == 2 and "tuning" in newest["metrics"]
    # Make v2 the active one explicitly, then roll back to v1: serving follows within the check interval.
    client.post(f"/v1/models/{newest['id']}/promote", headers=h)
    served = client.get("/v1/recommendations/popular", headers=shop.headers("client")).get_json()
    assert served["model_version"] == 2
    rolled = client.post("/v1/models/recommendation/rollback", headers=h).get_json()
    assert rolled["version"] == 1
    import time

    time.sleep(0.1)
    served = client.get("/v1/recommendations/popular", headers=shop.headers("client")).get_json()
    assert served["model_version"] == 1


def test_what_ships_never_loses_to_a_baseline_it_measured(demo):
    """Per mode (exclude_seen true/false), what serves scored at least as well as every retriever
    alone on the holdout, and the job says which it is and why."""
    result = demo["job"]["result"]
    metrics = result["metrics"]
    assert set(metrics["serve"]) == {"new", "all"} and result["serve"] == metrics["serve"]
    for mode, shipped in metrics["serve"].items():
        scores = metrics["modes"][mode]
        assert set(scores) >= {*RETRIEVERS, "ranked"}
        for name in RETRIEVERS:
            assert scores[shipped]["recall@20"] >= scores[name]["recall@20"], (mode, shipped, name)
    assert metrics["recall@20"] == pytest.approx(metrics["modes"]["new"][metrics["retriever"]]["recall@20"], abs=1e-5)
    names = {"als": "矩阵分解（ALS）", "item_knn": "相似商品（`item-kNN`）", "popularity": "热销榜",
             "repeat": "回购", "category_popular": "品类热销", "ranked": "排序模型"}
    for mode, why in result["serve_choice"].items():
        assert names[metrics["serve"][mode]] in why, (mode, why)


def test_a_live_event_today_does_not_move_the_training_window(demo):
    """The shop's history ends on DEMO_END; one front-end event "now" must not shift the holdout to
    today (which would evaluate nobody and refuse to promote)."""
    client, shop = demo["client"], demo["shop"]
    before = demo["job"]["result"]["data_window"]["to"]
    reply = client.post("/v1/events", json={"events": [{"user_id": demo["users"][0], "item_id": "x", "type": "pv"}]},
                        headers=shop.headers("client"))
    assert reply.status_code == 202
    again = retrain(client, shop.headers(), "recommendation")
    assert again["status"] == "succeeded", again
    assert again["result"]["data_window"]["to"] == before
    assert again["result"]["metrics"]["users"] > 0 and again["result"]["promoted"], again["result"]["promotion"]
    # Served as soon as the job says so.
    answer = client.get(f"/v1/recommendations/users/{demo['users'][1]}", headers=shop.headers("client")).get_json()
    assert answer["model_version"] == again["result"]["version"]


def test_a_promotion_is_served_at_once_even_with_a_long_model_check(demo, base_env):
    """Serving processes re-check the active version every few seconds; a promotion (in the job's
    process: a Celery worker in CI) tells them at once, so the job's "promoted" is true when it returns."""
    from services.runtime.allinone import create_app

    slow_check = create_app({**base_env, "SHOPMIND_MODEL_CHECK_INTERVAL_S": "3600"}).test_client()
    shop, user = demo["shop"], demo["users"][2]
    path = f"/v1/recommendations/users/{user}"
    first = slow_check.get(path, headers=shop.headers("client")).get_json()["model_version"]
    job = retrain(slow_check, shop.headers(), "recommendation")
    assert job["status"] == "succeeded" and job["result"]["promoted"], job
    assert job["result"]["version"] > first
    deadline = time.monotonic() + 1.0  # Redis delivers in milliseconds; never 3600 s
    while slow_check.get(path, headers=shop.headers("client")).get_json()["model_version"] != job["result"]["version"]:
        assert time.monotonic() < deadline, "the promoted model is not served"
    rolled = slow_check.post("/v1/models/recommendation/rollback", headers=shop.headers()).get_json()
    deadline = time.monotonic() + 1.0
    while slow_check.get(path, headers=shop.headers("client")).get_json()["model_version"] != rolled["version"]:
        assert time.monotonic() < deadline, "the rolled-back model is not served"


def test_a_worker_preloads_every_shops_active_model(demo, settings):
    """What a gunicorn worker does before its first request (infra/gunicorn.conf.py)."""
    from services.recommendation.recommender import Recommender
    from shared.artifacts import ActiveModelCache

    fresh = ActiveModelCache("recommendation", lambda a: Recommender.from_arrays(a.arrays, a.params))
    assert demo["shop"].id in fresh.preload(settings)
    loaded = fresh.get(demo["shop"].id, settings)
    assert loaded is not None and loaded.model.for_user(_stored_id(demo, settings), {"item_id": [], "type": []},
                                                        3).items


def _stored_id(demo, settings) -> str:
    """The demo's first buyer as the shop stores them (pseudonymised as imports do)."""
    from shared.db import session_scope
    from shared.models import Shop
    from shared.privacy import pseudonymise

    with session_scope(demo["shop"].id, settings.database_url) as session:
        return pseudonymise(session.get(Shop, demo["shop"].id).user_id_salt, demo["users"][0])


def test_live_and_imported_events_both_reach_the_next_answer(demo, tmp_path):
    """Serving skips the events query for users whose activity marks show nothing new
    (shared.activity); both ways events arrive must mark, or the top pick would stay. One event
    each: more events today would make today "data" for the retrain test above."""
    client, analyst = demo["client"], demo["shop"].headers("analyst")

    def picks(user):
        reply = client.get(f"/v1/recommendations/users/{user}?n=5&exclude_seen=false", headers=analyst)
        return [p["item_id"] for p in reply.get_json()["items"]]

    live_user, imported_user = demo["users"][2], demo["users"][3]
    live_top, imported_top = picks(live_user)[0], picks(imported_user)[0]
    reply = client.post("/v1/events", json={"events": [{"user_id": live_user, "item_id": live_top, "type": "buy"}]},
                        headers=demo["shop"].headers("client"))
    assert reply.status_code == 202
    assert live_top not in picks(live_user)  # just bought: it does not come back today

    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
    path = tmp_path / "more_events.csv"
    path.write_text(f"user_id,item_id,type,ts\n{imported_user},{imported_top},buy,{now}\n", encoding="utf-8")
    status, body = import_file(client, demo["shop"].headers(), path, "events", wait=120)
    assert status == 200 and body["job"]["status"] == "succeeded", body
    assert imported_top not in picks(imported_user)


def test_out_of_stock_items_are_never_offered_and_return_when_restocked(demo, tmp_path, monkeypatch):
    """An inventory import with nothing on hand hides an item from every recommendation route
    (within STOCK_CHECK_S; here 0); a later snapshot with stock brings it back."""
    from services.recommendation import service

    monkeypatch.setattr(service, "STOCK_CHECK_S", 0.0)
    client, shop = demo["client"], demo["shop"]
    analyst, public = shop.headers("analyst"), shop.headers("client")
    user = demo["users"][4]

    def routes():
        picks = {
            "user": client.get(f"/v1/recommendations/users/{user}?n=10&exclude_seen=false", headers=analyst),
            "popular": client.get("/v1/recommendations/popular?n=10", headers=public),
        }
        anchor = picks["popular"].get_json()["items"][-1]["item_id"]
        picks["similar"] = client.get(f"/v1/recommendations/items/{anchor}/similar?n=10", headers=public)
        picks["together"] = client.get(f"/v1/recommendations/items/{anchor}/bought-together?n=10", headers=public)
        picks["session"] = client.post("/v1/recommendations/session", json={"item_ids": [anchor], "n": 10},
                                       headers=public)
        assert all(reply.status_code == 200 for reply in picks.values())
        return {name: [p["item_id"] for p in reply.get_json()["items"]] for name, reply in picks.items()}

    before = routes()
    gone = {items[0] for items in before.values() if items}
    today = time.strftime("%Y-%m-%d", time.gmtime())

    def stock(on_hand: int) -> None:
        path = tmp_path / f"inventory_{on_hand}.csv"
        path.write_text("item_id,date,on_hand,on_order,lead_time_days\n" +
                        "".join(f"{item},{today},{on_hand},0,7\n" for item in sorted(gone)), encoding="utf-8")
        status, body = import_file(client, shop.headers(), path, "inventory", wait=120)
        assert status == 200 and body["job"]["status"] == "succeeded", body

    stock(0)
    hidden = routes()
    for name, items in hidden.items():
        assert not set(items) & gone, (name, items)
        assert len(items) == len(before[name]), name  # the gap is filled, not left empty
    stock(5)
    assert routes()["popular"][0] == before["popular"][0]
