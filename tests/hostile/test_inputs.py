"""Hostile input through the gateway, one regression each (h14): each was a 500, or worse, a quiet success."""

import base64
import io
import json

import pytest

from tests.conftest import PLATFORM_TOKEN

SHOP_LANGUAGE = "en"  # these tests read the API's messages in English
PROBLEM_JSON = "application/problem+json"


@pytest.mark.parametrize("role,path", [("client", "/v1/events"), ("client", "/v1/recommendations/session"),
                                       ("admin", "/v1/keys"), ("analyst", "/v1/ask")])
def test_deep_nesting_is_a_400_on_every_json_route(client, shop, role, path):
    reply = client.post(path, data="[" * 100_000 + "]" * 100_000, content_type="application/json",
                        headers=shop.headers(role))
    assert reply.status_code == 400 and reply.content_type == PROBLEM_JSON
    assert "nested too deeply" in reply.get_json()["detail"] and "32" in reply.get_json()["detail"]


def test_nesting_within_the_limit_is_read_as_usual(client, shop):
    reply = client.post("/v1/keys", data='{"role": "client", "x": ' + "[" * 30 + "]" * 30 + "}",
                        content_type="application/json", headers=shop.headers())
    assert reply.status_code == 422 and set(reply.get_json()["errors"]) == {"x"}  # an unknown field, as ever


@pytest.mark.parametrize("role,path,body,field", [
    ("client", "/v1/events", '{"events": [{"user_id": "u1", "item_id": "\\ud800", "type": "cart"}]}',
     "events.0.item_id"),
    ("admin", "/v1/pricing/simulate", '{"item_id": "a\\udfffb", "price": 1}', "item_id"),
    ("admin", "/v1/webhooks",
     '{"url": "https://127.0.0.1/\\ud800", "events": ["*"], "secret": "s\\ud800ssssssssssssssss"}', "secret"),
    ("admin", "/v1/keys", '{"\\ud800": 1}', "\\ud800"),
])
def test_lone_surrogates_are_a_422_naming_the_field(client, shop, role, path, body, field):
    reply = client.post(path, data=body, content_type="application/json", headers=shop.headers(role))
    assert reply.status_code == 422 and reply.content_type == PROBLEM_JSON
    problem = reply.get_json()
    assert field in problem["errors"] and "not valid Unicode" in problem["errors"][field][0]


def test_a_shop_name_with_a_lone_surrogate_is_refused_and_nothing_is_written(client, shop):
    platform = {"Authorization": f"Bearer {PLATFORM_TOKEN}", "Content-Type": "application/json"}
    reply = client.post("/v1/shops", data='{"name": "店\\ud800"}', headers=platform)
    assert reply.status_code == 422 and set(reply.get_json()["errors"]) == {"name"}
    renamed = client.patch("/v1/shops/current", data='{"name": "\\udc00"}', headers={
        **shop.headers(), "Content-Type": "application/json"})
    assert renamed.status_code == 422
    assert client.get("/v1/shops/current", headers=shop.headers()).get_json()["name"] == "店铺A"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_route_refuses_another_media_type_with_415(client, shop, content_type):
    reply = client.post("/v1/keys", data='{"role": "client"}', headers={**shop.headers(), "Content-Type": content_type})
    assert reply.status_code == 415 and reply.content_type == PROBLEM_JSON
    assert "application/json" in reply.get_json()["detail"]
    proxied = client.post("/v1/ask", data='{"question": "本月销售额"}',
                          headers={**shop.headers(), "Content-Type": content_type})
    assert proxied.status_code == 415
    keys = client.get("/v1/keys", headers=shop.headers()).get_json()["items"]
    assert [k for k in keys if k["role"] == "client"] == []


@pytest.mark.parametrize("form,query", [({"mapping": "{\"a\x00\": \"item_id\"}"}, ""), ({}, "&x=%00"),
                                        ({"file": (io.BytesIO(b"item_id\n1\n"), "a\x00.csv")}, "")])
def test_nul_is_refused_in_multipart_requests_too(client, shop, form, query):
    form = {"file": (io.BytesIO(b"item_id,title\n1,a\n"), "p.csv"), **form}
    reply = client.post(f"/v1/imports?entity=products{query}", data=form, headers=shop.headers(),
                        content_type="multipart/form-data")
    assert reply.status_code == 400 and reply.content_type == PROBLEM_JSON and "NUL" in reply.get_json()["detail"]


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize("path", [
    f"/v1/models?cursor={_cursor([10**30])}", f"/v1/models?cursor={_cursor([2**63])}",
    f"/v1/jobs?cursor={_cursor(['0001-01-01T00:00:00+14:00', 'x'])}",
    f"/v1/jobs?cursor={_cursor(['9999-12-31T23:59:59-12:00', 'x'])}",
    f"/v1/jobs?cursor={_cursor(['2026-01-01T00:00:00', 'x'])}",
    f"/v1/jobs?cursor={_cursor(['2026-01-01T00:00:00+00:00', chr(0)])}",
])
def test_cursors_with_extreme_values_are_422(client, shop, path):
    reply = client.get(path.replace("=", "%3D").replace("cursor%3D", "cursor="), headers=shop.headers())
    assert reply.status_code == 422 and "cursor" in reply.get_json()["errors"]


def test_cursors_the_api_returns_still_page(client, shop, settings):
    from shared import jobs
    from shared.db import session_scope

    with session_scope(shop.id, settings.database_url) as session:
        for _ in range(3):
            jobs.start(session, settings, shop.id, "tests.progress", {"steps": 1, "step_s": 0})
    first = client.get("/v1/jobs?limit=2", headers=shop.headers()).get_json()
    second = client.get(f"/v1/jobs?limit=2&cursor={first['next_cursor']}", headers=shop.headers()).get_json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert {j["id"] for j in first["items"]}.isdisjoint(j["id"] for j in second["items"])


@pytest.mark.parametrize("timezone", ["A" * 3000, "Asia", "../../../../etc/passwd"])
def test_a_timezone_that_is_no_zone_is_a_422_naming_it(client, timezone):
    reply = client.post("/v1/shops", json={"name": "x", "timezone": timezone},
                        headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"})
    assert reply.status_code == 422 and set(reply.get_json()["errors"]) == {"timezone"}
    assert len(reply.get_data()) < 2000  # a 3,000-character name is not echoed back


@pytest.mark.parametrize("body,field", [({"question": "本月销售额", "as_of": "9999-12-31"}, "as_of"),
                                        ({"question": "本月销售额", "as_of": "0001-01-01"}, "as_of")])
def test_ask_refuses_an_as_of_outside_the_calendar(client, shop, body, field):
    reply = client.post("/v1/ask", json=body, headers=shop.headers("analyst"))
    assert reply.status_code == 422 and set(reply.get_json()["errors"]) == {field}


@pytest.mark.parametrize("question,named", [
    ("2024年2月30日的销售额", "2024年2月30日"), ("最近9999999天的销售额", "9999999"), ("2024年13月的销量", "13月"),
    ("今年 XYZ123 的销量", "XYZ123")])
def test_ask_names_the_part_it_could_not_read(client, shop, question, named):
    reply = client.post("/v1/ask", json={"question": question}, headers=shop.headers("analyst", "en"))
    assert reply.status_code == 422 and reply.content_type == PROBLEM_JSON
    assert named in reply.get_json()["detail"] and named in reply.get_json()["errors"]["question"][0]


def test_the_last_admin_key_cannot_be_revoked(client, shop):
    reply = client.delete(f"/v1/keys/{shop.admin_key_id}", headers=shop.headers())
    assert reply.status_code == 409 and "create another admin key" in reply.get_json()["detail"]
    assert client.get("/v1/keys", headers=shop.headers()).status_code == 200  # still in
    second = client.post("/v1/keys", json={"role": "admin"}, headers=shop.headers()).get_json()
    assert client.delete(f"/v1/keys/{shop.admin_key_id}", headers=shop.headers()).status_code == 204
    new_admin = {"Authorization": f"Bearer {second['key']}"}
    assert client.delete(f"/v1/keys/{second['id']}", headers=new_admin).status_code == 409
    # Non-admin keys are never the last admin key.
    analyst = client.post("/v1/keys", json={"role": "analyst"}, headers=new_admin).get_json()
    assert client.delete(f"/v1/keys/{analyst['id']}", headers=new_admin).status_code == 204
