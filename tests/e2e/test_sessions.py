"""Console users and sessions through the gateway: sign-in, cookies, CSRF, roles, tenancy,
revocation, throttling (docs/api.md, "Console and sessions")."""

import json
import re
import secrets
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner

from services.runtime.cli import main
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.models import ConsoleSession
from tests.conftest import make_shop

SHOP_LANGUAGE = "en"
PASSWORD = "correct horse battery"
PROBLEM_JSON = "application/problem+json"


def _address() -> str:
    """A client address of its own: failed sign-ins count per address, across tests and runs."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _new_user(shop, role="admin", password=PASSWORD) -> str:
    email = f"User.{uuid.uuid4().hex[:12]}@Example.com"
    reply = shop.client.post("/v1/users", json={"email": email, "role": role, "password": password},
                             headers=shop.headers("admin"))
    assert reply.status_code == 201, reply.get_json()
    return email.lower()


class Console:
    """A browser: its own cookie jar, the CSRF token it was given at sign-in."""

    def __init__(self, app, email, password=PASSWORD, address=None):
        self.http = app.test_client()
        self.address = address or _address()
        # Before sign-in nobody is known: answers are in the asked language (else the default, zh-CN).
        self.reply = self.http.post("/v1/sessions", json={"email": email, "password": password},
                                    headers={"Accept-Language": "en"}, environ_base={"REMOTE_ADDR": self.address})
        self.csrf = (self.reply.get_json() or {}).get("csrf_token")

    def call(self, method, path, csrf=True, **kwargs):
        headers = kwargs.pop("headers", {})
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.http.open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": self.address},
                              **kwargs)

    def me(self):
        return self.call("GET", "/v1/me")


def test_sign_in_sets_an_httponly_lax_cookie_and_me_names_the_user(app, shop):
    email = _new_user(shop, "analyst")
    console = Console(app, email.upper())  # emails are matched lower-cased
    assert console.reply.status_code == 201, console.reply.get_json()
    body = console.reply.get_json()
    assert body["user"]["email"] == email and body["user"]["role"] == "analyst" and body["csrf_token"]
    cookie = console.http.get_cookie("shopmind_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    assert cookie.value not in json.dumps(body)  # the token travels in the cookie only
    me = console.me()
    assert me.status_code == 200
    expected = {"kind": "user", "shop": shop.id, "role": "analyst", "email": email, "language": "en",
                "csrf_token": body["csrf_token"]}
    assert expected.items() <= me.get_json().items()


def test_the_cookie_is_secure_over_https_and_not_for_an_untrusted_forwarded_proto(app, shop):
    email = _new_user(shop)
    https = app.test_client()
    assert https.post("https://localhost/v1/sessions", json={"email": email, "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": _address()}).status_code == 201
    assert https.get_cookie("shopmind_session", domain="localhost").secure
    spoofed = app.test_client()
    assert spoofed.post("/v1/sessions", json={"email": email, "password": PASSWORD},
                        headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": _address()}
                        ).status_code == 201
    assert not spoofed.get_cookie("shopmind_session").secure  # SHOPMIND_TRUSTED_PROXIES is 0 here


def test_the_cookie_is_secure_behind_a_trusted_proxy_that_says_https(settings, shop):
    from services.gateway.app import create_app

    behind_nginx = create_app(replace(settings, trusted_proxies=1)).test_client()
    reply = behind_nginx.post("/v1/sessions", json={"email": _new_user(shop), "password": PASSWORD},
                              headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": _address()})
    assert reply.status_code == 201
    assert behind_nginx.get_cookie("shopmind_session").secure


@pytest.mark.parametrize("column,age", [("last_seen_at", "session_idle_s"), ("created_at", "session_max_s")])
def test_idle_and_old_sessions_end(app, shop, settings, column, age):
    console = Console(app, _new_user(shop))
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        row = session.get(ConsoleSession, _token_hash(console))
        setattr(row, column, utcnow() - timedelta(seconds=getattr(settings, age) + 5))
    assert console.me().status_code == 401
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        assert session.get(ConsoleSession, _token_hash(console)) is None  # and it is gone


def _token_hash(console) -> str:
    from services.gateway.passwords import hash_session_token

    return hash_session_token(console.http.get_cookie("shopmind_session").value)


def test_console_routes_answer_other_methods_with_405(app, shop):
    console = Console(app, _new_user(shop))
    reply = console.call("PUT", "/v1/me", json={})
    assert reply.status_code == 405 and "PATCH" in reply.headers["Allow"]


def test_logout_ends_the_session_on_the_server(app, shop):
    console = Console(app, _new_user(shop))
    token = console.http.get_cookie("shopmind_session").value
    reply = console.call("DELETE", "/v1/sessions/current")
    assert reply.status_code == 204
    assert console.http.get_cookie("shopmind_session") is None  # the browser drops it
    replay = app.test_client()
    replay.set_cookie("shopmind_session", token)
    reply = replay.get("/v1/me", headers={"Accept-Language": "en"})
    assert reply.status_code == 401 and reply.content_type == PROBLEM_JSON
    assert "sign in again" in reply.get_json()["detail"]


def test_unknown_email_and_wrong_password_get_the_same_answer(app, shop):
    email = _new_user(shop)
    wrong = Console(app, email, "not the password")
    unknown = Console(app, f"nobody.{uuid.uuid4().hex}@example.com")
    assert wrong.reply.status_code == unknown.reply.status_code == 401
    assert wrong.reply.content_type == PROBLEM_JSON
    assert wrong.reply.get_json()["detail"] == unknown.reply.get_json()["detail"]
    assert wrong.http.get_cookie("shopmind_session") is None


def test_state_changing_requests_with_the_cookie_need_the_csrf_token(app, shop):
    console = Console(app, _new_user(shop))
    new_user = {"email": f"n.{uuid.uuid4().hex[:10]}@example.com", "role": "analyst"}
    missing = console.call("POST", "/v1/users", csrf=False, json=new_user)
    wrong = console.call("POST", "/v1/users", csrf=False, json=new_user, headers={"X-CSRF-Token": "x" * 43})
    for reply in (missing, wrong):
        assert reply.status_code == 403 and reply.content_type == PROBLEM_JSON
        assert "X-CSRF-Token" in reply.get_json()["detail"]
    assert console.call("GET", "/v1/users", csrf=False).status_code == 200  # reads need none
    assert console.call("POST", "/v1/users", json=new_user).status_code == 201


def test_bearer_keys_are_unaffected(client, shop):
    reply = client.post("/v1/keys", json={"role": "analyst"}, headers=shop.headers("admin"))
    assert reply.status_code == 201  # no cookie, no CSRF token
    me = client.get("/v1/me", headers=shop.headers("admin")).get_json()
    assert me["kind"] == "key" and me["shop"] == shop.id and me["role"] == "admin" and me["key_id"] == shop.admin_key_id
    reply = client.patch("/v1/me", json={"language": "en"}, headers=shop.headers("admin"))
    assert reply.status_code == 403 and reply.content_type == PROBLEM_JSON


def test_an_explicit_key_wins_over_a_cookie(app, shop):
    console = Console(app, _new_user(shop, "analyst"))
    reply = console.call("POST", "/v1/keys", csrf=False, json={"role": "client"}, headers=shop.headers("admin"))
    assert reply.status_code == 201
    assert console.call("GET", "/v1/me", headers=shop.headers("admin")).get_json()["kind"] == "key"


def test_session_users_have_their_roles(app, shop):
    analyst = Console(app, _new_user(shop, "analyst"))
    for method, path, body in [("POST", "/v1/keys", {"role": "admin"}), ("GET", "/v1/keys", None),
                               ("GET", "/v1/users", None), ("POST", "/v1/users",
                                                            {"email": "x@example.com", "role": "admin"})]:
        reply = analyst.call(method, path, json=body)
        assert reply.status_code == 403, (method, path, reply.get_json())
        assert "your user has role 'analyst'" in reply.get_json()["detail"]
    assert analyst.call("GET", "/v1/jobs").status_code == 200
    admin = Console(app, _new_user(shop, "admin"))
    assert admin.call("POST", "/v1/keys", json={"role": "client"}).status_code == 201
    assert admin.call("POST", "/v1/shops", json={"name": "mine now"}).status_code == 401  # the platform's only


def test_a_user_sees_only_their_own_shop(app, shop, other_shop):
    mine, theirs = _new_user(shop), _new_user(other_shop)
    console = Console(app, mine)
    emails = [u["email"] for u in console.call("GET", "/v1/users").get_json()["items"]]
    assert mine in emails and theirs not in emails
    assert console.call("GET", "/v1/shops/current").get_json()["id"] == shop.id
    their_id = other_shop.client.get("/v1/users", headers=other_shop.headers()).get_json()["items"][0]["id"]
    assert console.call("DELETE", f"/v1/users/{their_id}").status_code == 404
    assert Console(app, theirs).me().status_code == 200  # still there


def test_a_removed_users_session_ends_at_once(app, shop):
    email = _new_user(shop, "analyst")
    removed = Console(app, email)
    assert removed.me().status_code == 200
    user_id = removed.me().get_json()["id"]
    admin = Console(app, _new_user(shop))
    assert admin.call("DELETE", f"/v1/users/{user_id}").status_code == 204
    assert removed.me().status_code == 401
    assert Console(app, email).reply.status_code == 401
    assert admin.call("DELETE", f"/v1/users/{user_id}").status_code == 404


def test_changing_the_password_ends_the_users_other_sessions(app, shop):
    email = _new_user(shop, "analyst")
    laptop, phone = Console(app, email), Console(app, email)
    wrong = laptop.call("POST", "/v1/users/me/password", json={"current": "guess guess", "new": "a new passphrase"})
    assert wrong.status_code == 422 and "current" in wrong.get_json()["errors"]
    short = laptop.call("POST", "/v1/users/me/password", json={"current": PASSWORD, "new": "short"})
    assert short.status_code == 422 and "new" in short.get_json()["errors"]
    assert phone.me().status_code == 200  # nothing changed yet
    reply = laptop.call("POST", "/v1/users/me/password", json={"current": PASSWORD, "new": "a new passphrase"})
    assert reply.status_code == 204
    assert laptop.me().status_code == 200 and phone.me().status_code == 401
    assert Console(app, email).reply.status_code == 401
    assert Console(app, email, "a new passphrase").reply.status_code == 201


def test_failed_sign_ins_are_throttled_per_account(app, shop, settings):
    email = _new_user(shop)
    for _ in range(settings.login_failures_per_account):
        assert Console(app, email, "wrong password").reply.status_code == 401
    blocked = Console(app, email)  # the right password, from a fresh address
    assert blocked.reply.status_code == 429 and blocked.reply.content_type == PROBLEM_JSON
    assert int(blocked.reply.headers["Retry-After"]) > 0
    assert "this email" in blocked.reply.get_json()["detail"]
    assert Console(app, _new_user(shop)).reply.status_code == 201  # other accounts sign in


def test_failed_sign_ins_are_throttled_per_address(app, shop, settings):
    address = _address()
    for _ in range(settings.login_failures_per_address):
        unknown = f"nobody.{uuid.uuid4().hex}@example.com"
        assert Console(app, unknown, address=address).reply.status_code == 401
    blocked = Console(app, _new_user(shop), address=address)
    assert blocked.reply.status_code == 429 and "your address" in blocked.reply.get_json()["detail"]
    assert Console(app, _new_user(shop)).reply.status_code == 201  # other addresses sign in


def test_new_users_are_checked_and_a_generated_password_is_shown_once(app, shop, other_shop):
    admin = shop.headers("admin")
    email = f"New.{uuid.uuid4().hex[:10]}@Example.com"
    reply = shop.client.post("/v1/users", json={"email": email, "role": "analyst"}, headers=admin)
    assert reply.status_code == 201
    created = reply.get_json()
    assert created["email"] == email.lower() and len(created["password"]) >= 16
    assert Console(app, email, created["password"]).reply.status_code == 201
    listed = shop.client.get("/v1/users", headers=admin).get_json()["items"]
    assert all("password" not in u and "password_hash" not in u for u in listed)
    taken = other_shop.client.post("/v1/users", json={"email": email.upper(), "role": "admin"},
                                   headers=other_shop.headers("admin"))
    assert taken.status_code == 409 and taken.content_type == PROBLEM_JSON
    for body, field in [({"email": "not-an-email", "role": "admin"}, "email"),
                        ({"email": "c@example.com", "role": "client"}, "role"),
                        ({"email": "s@example.com", "role": "admin", "password": "short"}, "password")]:
        reply = shop.client.post("/v1/users", json=body, headers=admin)
        assert reply.status_code == 422 and field in reply.get_json()["errors"], body


def test_a_session_answers_in_the_users_language(app, client):
    shop = make_shop(client, "语言店", "zh-CN")
    console = Console(app, _new_user(shop))
    assert console.me().get_json()["language"] == "zh-CN"  # the shop's, to begin with
    missing = console.call("DELETE", "/v1/users/4294967296")
    assert "本店没有用户" in missing.get_json()["detail"]
    assert console.call("PATCH", "/v1/me", json={"language": "en"}).get_json()["language"] == "en"
    assert "no user" in console.call("DELETE", "/v1/users/4294967296").get_json()["detail"]
    asked = console.call("DELETE", "/v1/users/4294967296", headers={"Accept-Language": "zh-CN"})
    assert "本店没有用户" in asked.get_json()["detail"]
    assert console.call("PATCH", "/v1/me", json={"language": "fr"}).status_code == 422
    # A page the browser opens itself (the weekly report's frame, a CSV link) sends the browser's own
    # language; the user's setting wins there, as on the console's pages.
    browser = {"Accept-Language": "zh-CN,zh;q=0.9"}
    fetched = console.call("GET", "/v1/jobs/no-such-job", headers=browser).get_json()["detail"]
    opened = console.call("GET", "/v1/jobs/no-such-job", headers={**browser, "Sec-Fetch-Mode": "navigate"})
    assert re.search(r"[\u4e00-\u9fff]", fetched) and not re.search(r"[\u4e00-\u9fff]", opened.get_json()["detail"])


def test_create_user_command(app, shop, base_env, monkeypatch):
    for name, value in base_env.items():
        monkeypatch.setenv(name, value)
    email = f"cli.{uuid.uuid4().hex[:10]}@example.com"
    result = CliRunner().invoke(main, ["create-user", "--shop", str(shop.id), "--email", email, "--role", "analyst"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["email"] == email and created["role"] == "analyst" and created["shop"] == shop.id
    assert Console(app, email, created["password"]).reply.status_code == 201
    again = CliRunner().invoke(main, ["create-user", "--shop", str(shop.id), "--email", email, "--role", "admin",
                                      "--password", "long enough password"])
    assert again.exit_code != 0 and email in again.output
    bad = CliRunner().invoke(main, ["create-user", "--shop", str(shop.id), "--email", "nope", "--role", "admin"])
    assert bad.exit_code != 0


@pytest.mark.parametrize("path", ["/v1/me", "/v1/users"])
def test_a_forged_cookie_is_refused(app, path):
    browser = app.test_client()
    browser.set_cookie("shopmind_session", "forged")
    reply = browser.get(path)
    assert reply.status_code == 401 and reply.content_type == PROBLEM_JSON


# --- the login form's CSRF token (login CSRF) ----------------------------------------------------

def _login_page(browser, **kwargs):
    """GET /login as a browser: the page's hidden csrf_token and the pre-session cookie it set."""
    import re

    reply = browser.get("/login", **kwargs)
    assert reply.status_code == 200
    [token] = re.findall(r'<input type="hidden" name="csrf_token" value="([^"]+)">', reply.get_data(as_text=True))
    return token, browser.get_cookie("shopmind_login")


def test_the_login_form_carries_a_token_for_its_pre_session_cookie(app):
    browser = app.test_client()
    token, cookie = _login_page(browser)
    assert token and cookie.value and cookie.value not in token
    assert cookie.http_only and cookie.same_site == "Strict"
    _again, same = _login_page(browser)  # a second tab: the cookie stays, so both forms work
    assert same.value == cookie.value


def test_a_browser_login_without_the_forms_token_is_refused(app, shop, settings):
    from shared.login_form import mint_login_token

    email = _new_user(shop)
    browser = app.test_client()
    token, cookie = _login_page(browser)
    other_browsers_token, _ = _login_page(app.test_client())
    expired = mint_login_token(settings.internal_token, cookie.value, now=1_000_000_000)
    for sent in [None, "", "1999999999.forged", other_browsers_token, expired,
                 mint_login_token("another-secret", cookie.value), "١٢٣.é"]:
        body = {"email": email, "password": PASSWORD} if sent is None else {
            "email": email, "password": PASSWORD, "csrf_token": sent}
        reply = browser.post("/v1/sessions", json=body, headers={"Accept-Language": "en"},
                             environ_base={"REMOTE_ADDR": _address()})
        assert reply.status_code == 403 and reply.content_type == PROBLEM_JSON, (sent, reply.get_json())
        assert "reload the login page" in reply.get_json()["detail"]
        assert browser.get_cookie("shopmind_session") is None
    reply = browser.post("/v1/sessions", json={"email": email, "password": PASSWORD, "csrf_token": token},
                         environ_base={"REMOTE_ADDR": _address()})
    assert reply.status_code == 201, reply.get_json()
    assert browser.get_cookie("shopmind_session") and browser.get_cookie("shopmind_login") is None  # done with


def test_api_clients_sign_in_with_json_and_no_cookie_as_before(app, shop):
    console = Console(app, _new_user(shop))  # no GET /login, no cookie, no csrf_token
    assert console.reply.status_code == 201 and console.me().status_code == 200


def test_the_sign_in_route_takes_no_form_posts(app, shop):
    """What another site's page could post without the browser asking first (a form) is refused."""
    email = _new_user(shop)
    browser = app.test_client()
    token, _cookie = _login_page(browser)
    reply = browser.post("/v1/sessions", data={"email": email, "password": PASSWORD, "csrf_token": token},
                         environ_base={"REMOTE_ADDR": _address()})
    assert reply.status_code == 415 and reply.content_type == PROBLEM_JSON
    assert browser.get_cookie("shopmind_session") is None


def test_the_login_form_posted_without_scripts_says_they_are_needed(app):
    browser = app.test_client()
    token, _cookie = _login_page(browser)
    reply = browser.post("/login", data={"email": "a@example.com", "password": PASSWORD, "csrf_token": token})
    assert reply.status_code == 400 and reply.mimetype == "text/html"
    html = reply.get_data(as_text=True)
    assert "请允许浏览器为本站运行脚本" in html and 'role="alert"' in html
    assert 'name="csrf_token"' in html and browser.get_cookie("shopmind_session") is None
