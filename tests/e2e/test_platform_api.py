"""Platform routes through the gateway: shops, keys, roles, tenancy, errors, limits, docs."""

import io

import pytest

from tests.conftest import PLATFORM_TOKEN, make_shop

SHOP_LANGUAGE = "en"  # these tests read the API's messages in English


def test_create_shop_needs_the_platform_token(client):
    body = {"name": "新店", "timezone": "Asia/Shanghai", "currency": "CNY"}
    assert client.post("/v1/shops", json=body).status_code == 401
    assert client.post("/v1/shops", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    reply = client.post("/v1/shops", json=body, headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"})
    assert reply.status_code == 201
    created = reply.get_json()
    assert created["shop"]["name"] == "新店" and created["shop"]["timezone"] == "Asia/Shanghai"
    assert created["api_key"]["role"] == "admin" and created["api_key"]["key"].startswith("sm_")
    # A shop's key is not the platform token, and is told apart from garbage in no way.
    shop_key = {"Authorization": f"Bearer {created['api_key']['key']}"}
    assert client.post("/v1/shops", json=body, headers=shop_key).status_code == 401


def test_create_shop_rejects_bad_fields_with_names(client):
    reply = client.post("/v1/shops", json={"name": "", "timezone": "Mars/Base", "currency": "yuan"},
                        headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"})
    assert reply.status_code == 422
    problem = reply.get_json()
    assert reply.content_type == "application/problem+json"
    assert set(problem["errors"]) == {"name", "timezone", "currency"}
    assert "Mars/Base" in problem["errors"]["timezone"][0]


def test_keys_can_be_created_listed_and_revoked(client, shop):
    reply = client.post("/v1/keys", json={"role": "analyst"}, headers=shop.headers())
    assert reply.status_code == 201
    key = reply.get_json()
    analyst = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/v1/jobs", headers=analyst).status_code == 200
    listed = client.get("/v1/keys", headers=shop.headers()).get_json()["items"]
    assert {k["role"] for k in listed} == {"admin", "analyst"}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert client.delete(f"/v1/keys/{key['id']}", headers=shop.headers()).status_code == 204
    assert client.get("/v1/jobs", headers=analyst).status_code == 401
    assert client.delete(f"/v1/keys/{key['id']}", headers=shop.headers()).status_code == 404


def test_ids_do_not_count_other_shops_activity(client, shop, other_shop):
    """Keys (like model versions, webhooks and deliveries) get random ids: a shop's consecutive
    creations say nothing about how much another shop created in between."""
    def new_key(owner):
        return client.post("/v1/keys", json={"role": "client"}, headers=owner.headers()).get_json()["id"]

    ours = [new_key(shop)]
    theirs = [new_key(other_shop) for _ in range(3)]
    ours.append(new_key(shop))
    ids = ours + theirs
    assert all(2**32 <= i < 2**53 for i in ids), ids
    assert abs(ours[1] - ours[0]) > 1000 and len(set(ids)) == len(ids)
    for key_id in theirs:  # another shop's ids are still nobody's here
        assert client.delete(f"/v1/keys/{key_id}", headers=shop.headers()).status_code == 404


# (method, path, body, least role). Proxied routes count as allowed when the answer is not 401/403.
ROUTES = [
    ("GET", "/v1/jobs", None, "analyst"),
    ("GET", "/v1/models", None, "analyst"),
    ("GET", "/v1/dashboard", None, "analyst"),
    ("GET", "/v1/keys", None, "admin"),
    ("POST", "/v1/keys", {"role": "client"}, "admin"),
    ("POST", "/v1/admin/retrain", {"models": ["all"]}, "admin"),
    ("GET", "/v1/webhooks", None, "admin"),
    ("POST", "/v1/models/recommendation/rollback", None, "admin"),
    ("GET", "/v1/recommendations/popular", None, "client"),
    ("POST", "/v1/events", {"events": []}, "client"),
    ("GET", "/v1/imports/presets", None, "analyst"),
    ("POST", "/v1/imports", None, "admin"),
    ("GET", "/v1/forecasts/backtest", None, "analyst"),
    ("POST", "/v1/ask", {"question": "本月热销商品排名"}, "analyst"),
]
RANK = {"client": 0, "analyst": 1, "admin": 2}


@pytest.mark.parametrize("role", ["client", "analyst", "admin"])
@pytest.mark.parametrize("method,path,body,least", ROUTES)
def test_auth_matrix(client, shop, role, method, path, body, least):
    reply = client.open(path, method=method, json=body, headers=shop.headers(role))
    if RANK[role] >= RANK[least]:
        assert reply.status_code not in (401, 403), reply.get_json()
    else:
        assert reply.status_code == 403
        assert f"needs '{least}'" in reply.get_json()["detail"]


@pytest.mark.parametrize("method,path", [(m, p) for m, p, _b, _l in ROUTES])
def test_every_route_needs_a_key(client, method, path):
    assert client.open(path, method=method).status_code == 401
    assert client.open(path, method=method, headers={"Authorization": "Bearer sm_nope"}).status_code == 401


def test_problem_json_for_framework_errors(client, shop):
    unknown = client.get("/v1/no-such-thing", headers=shop.headers())
    assert unknown.status_code == 404 and unknown.content_type == "application/problem+json"
    wrong_method = client.put("/v1/jobs", headers=shop.headers())
    assert wrong_method.status_code == 405 and wrong_method.get_json()["status"] == 405
    bad_json = client.post("/v1/keys", data="{not json", content_type="application/json", headers=shop.headers())
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.get_json()["detail"]
    unknown_field = client.post("/v1/keys", json={"role": "admin", "rol": 1}, headers=shop.headers())
    assert unknown_field.status_code == 422 and unknown_field.get_json()["errors"] == {"rol": ["Unknown field."]}
    # A service's own 404 is a problem too, with the gateway's request id.
    proxied = client.get("/v1/forecasts/nothing", headers={**shop.headers(), "X-Request-ID": "trace-123"})
    assert proxied.status_code == 404 and proxied.get_json()["request_id"] == "trace-123"
    assert proxied.headers["X-Request-ID"] == "trace-123"


def test_oversized_body_is_413(settings, client):
    from dataclasses import replace

    from services.runtime.allinone import create_app

    small = create_app(replace(settings, max_body_bytes=200)).test_client()
    shop = make_shop(small)
    reply = small.post("/v1/keys", data="x" * 1000, content_type="application/json", headers=shop.headers())
    assert reply.status_code == 413 and reply.content_type == "application/problem+json"
    proxied = small.post("/v1/events", data="x" * 1000, content_type="application/json", headers=shop.headers())
    assert proxied.status_code == 413


def test_rate_limit_answers_429_with_retry_after(settings):
    from dataclasses import replace

    from services.runtime.allinone import create_app

    limited = create_app(replace(settings, rate_limit_per_minute=3)).test_client()
    shop = make_shop(limited)
    codes = [limited.get("/v1/jobs", headers=shop.headers()).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    reply = limited.get("/v1/jobs", headers=shop.headers())
    assert 1 <= int(reply.headers["Retry-After"]) <= 61
    assert reply.get_json()["status"] == 429


def test_tenant_isolation_through_every_id_route(client, shop, other_shop, settings):
    from shared import artifacts, jobs
    from shared.db import session_scope

    with session_scope(shop.id, settings.database_url) as session:
        job = jobs.start(session, settings, shop.id, "tests.progress", {"steps": 1, "step_s": 0})
        model = artifacts.save_version(session, settings, shop.id, "recommendation", params={"k": 1})
        model_id = model.id
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["model_promoted"],
                                             "secret": "s" * 20}, headers=shop.headers()).get_json()
    key = client.post("/v1/keys", json={"role": "client"}, headers=shop.headers()).get_json()
    intruder = other_shop.headers()
    assert client.get(f"/v1/jobs/{job.id}", headers=intruder).status_code == 404
    assert job.id not in {j["id"] for j in client.get("/v1/jobs", headers=intruder).get_json()["items"]}
    assert client.post(f"/v1/models/{model_id}/promote", headers=intruder).status_code == 404
    assert client.get("/v1/models", headers=intruder).get_json()["items"] == []
    assert client.post("/v1/models/recommendation/rollback", headers=intruder).status_code == 404
    assert client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=intruder).status_code == 404
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=intruder).status_code == 404
    assert client.delete(f"/v1/keys/{key['id']}", headers=intruder).status_code == 404
    # ...and the owner still has all of it.
    assert client.get(f"/v1/jobs/{job.id}", headers=shop.headers()).status_code == 200
    assert client.post(f"/v1/models/{model_id}/promote", headers=shop.headers()).status_code == 200
    assert client.get("/v1/jobs", headers={"Authorization": f"Bearer {key['key']}"}).status_code == 403


def test_openapi_merges_every_service_and_docs_render(client):
    spec = client.get("/openapi.json").get_json()
    for path in ["/v1/shops", "/v1/keys", "/v1/keys/{key_id}", "/v1/jobs", "/v1/jobs/{job_id}",
                 "/v1/admin/retrain", "/v1/models", "/v1/models/{model_id}/promote",
                 "/v1/models/{service}/rollback", "/v1/webhooks", "/v1/webhooks/{webhook_id}/deliveries",
                 "/v1/items/{item_id}/overview", "/v1/dashboard", "/v1/imports/presets"]:
        assert path in spec["paths"], path
    assert "Problem" in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert operation.get("summary"), f"{method} {path} has no summary"
    page = client.get("/docs")
    assert page.status_code == 200 and b"/v1/admin/retrain" in page.data


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.get_json()["checks"]
    assert {"database", "broker", "ingestion", "recommendation", "forecasting", "sentiment", "pricing",
            "insights"} <= set(checks)


def test_retrain_says_what_it_could_not_train(client, shop):
    reply = client.post("/v1/admin/retrain", json={"models": ["all"]}, headers=shop.headers())
    body = reply.get_json()
    if reply.status_code == 409:  # no service has a trainable model yet
        assert set(body["errors"]) == {"recommendation", "forecasting", "sentiment", "pricing", "insights"}
    else:
        assert reply.status_code in (200, 202) and body["jobs"]
    bad = client.post("/v1/admin/retrain", json={"models": ["everything"]}, headers=shop.headers())
    assert bad.status_code == 422 and "models.0" in bad.get_json()["errors"]  # names the bad entry


def test_dashboard_degrades_to_partial_answers(client, shop):
    reply = client.get("/v1/dashboard", headers=shop.headers("analyst"))
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == {"kpis", "alerts", "jobs", "models"}
    assert set(body["alerts"]) == {"negative_reviews", "stockout_risk", "anomalies", "competitor_undercuts"}
    for part in body["alerts"].values():
        assert isinstance(part, dict)


def test_database_down_is_a_503_not_a_traceback(settings, tmp_path):
    from dataclasses import replace

    from services.runtime.allinone import create_app

    down = create_app(replace(settings, database_url="postgresql+psycopg2://nobody@127.0.0.1:1/none")).test_client()
    reply = down.get("/v1/jobs", headers={"Authorization": "Bearer sm_anything"})
    assert reply.status_code == 503 and reply.get_json()["type"].endswith("database-unavailable")
    assert reply.headers["Retry-After"] == "5"


@pytest.mark.parametrize("path", [
    "/v1/jobs?cursor=W10=", "/v1/jobs?cursor=WzFd", "/v1/jobs?cursor=WyJ4IiwiMSJd", "/v1/jobs?cursor=WzEsMl0=",
    "/v1/jobs?cursor=WyJ4Il0=", "/v1/models?cursor=W10=", "/v1/models?cursor=W251bGxd", "/v1/models?cursor=W1tdXQ==",
])
def test_crafted_cursors_are_422_not_500(client, shop, path):
    """Regression (review): cursors of the wrong shape reached the SQL and failed with a 500."""
    reply = client.get(path, headers=shop.headers())
    assert reply.status_code == 422 and "cursor" in reply.get_json()["errors"]


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/v1/keys/99999999999999999999"), ("POST", "/v1/models/99999999999999999999/promote"),
    ("GET", "/v1/webhooks/99999999999999999999/deliveries"),
])
def test_huge_ids_are_not_found_not_500(client, shop, method, path):
    assert client.open(path, method=method, headers=shop.headers()).status_code in (404, 405)


def test_nul_characters_are_refused(client, shop):
    assert client.get("/v1/jobs?kind=%00", headers=shop.headers()).status_code == 400
    reply = client.post("/v1/keys", data='{"role": "admin\\u0000"}', content_type="application/json",
                        headers=shop.headers())
    assert reply.status_code == 400 and "NUL" in reply.get_json()["detail"]


def test_chunked_json_is_capped_too(settings):
    from dataclasses import replace

    from services.runtime.allinone import create_app

    small = create_app(replace(settings, max_json_bytes=1000)).test_client()
    shop = make_shop(small)
    body = '{"role": "admin", "pad": "' + "x" * 5000 + '"}'
    reply = small.post("/v1/keys", input_stream=io.BytesIO(body.encode()),
                       headers={**shop.headers(), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})  # as gunicorn sets for chunked bodies
    assert reply.status_code == 413


def test_the_platform_route_answers_a_shop_key_as_it_answers_garbage(client, shop):
    """Regression (h14): a shop key got a 403 and garbage a 401, so the route told real keys apart."""
    as_key = client.post("/v1/shops", json={"name": "x"}, headers=shop.headers(language="en"))
    as_garbage = client.post("/v1/shops", json={"name": "x"},
                             headers={"Authorization": "Bearer sm_garbage", "Accept-Language": "en"})
    assert as_key.status_code == as_garbage.status_code == 401
    # Not even the language differs (a key's answer used to be in its shop's language).
    assert {**as_key.get_json(), "request_id": None} == {**as_garbage.get_json(), "request_id": None}
    assert "platform token" in as_key.get_json()["detail"]


def test_wrong_platform_tokens_are_rate_limited_per_address(settings):
    """Regression (h14): POST /v1/shops took any number of wrong tokens."""
    import random
    from dataclasses import replace

    from services.runtime.allinone import create_app

    limited = create_app(replace(settings, rate_limit_per_minute=3)).test_client()
    # Addresses of this run only: in distributed runs the counters live in Redis, shared with other tests.
    guesser, other, creator = (f"10.{random.randrange(256)}.{random.randrange(256)}.{n}" for n in (1, 2, 3))

    def create(token, address):
        return limited.post("/v1/shops", json={"name": "x"}, headers={"Authorization": f"Bearer {token}"},
                            environ_base={"REMOTE_ADDR": address})

    assert [create("guess", guesser).status_code for _ in range(4)] == [401, 401, 401, 429]
    reply = create("guess", guesser)
    assert reply.status_code == 429 and 1 <= int(reply.headers["Retry-After"]) <= 61
    assert reply.content_type == "application/problem+json"
    # Another address still gets its answer, and the right token is never counted as a guess.
    assert create("guess", other).status_code == 401
    assert [create(PLATFORM_TOKEN, creator).status_code for _ in range(4)] == [201] * 4
