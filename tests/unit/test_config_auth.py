"""Config loading, role policy and the gateway -> service signature."""

import time

import pytest

from shared import auth
from shared.config import load_settings, normalise_database_url
from shared.errors import Forbidden, Unauthorized


def test_embedded_defaults_come_from_api_md(tmp_path):
    settings = load_settings({"SHOPMIND_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""})
    assert settings.database_url == f"sqlite:///{tmp_path / 'shopmind.db'}"
    assert settings.embedded and settings.is_sqlite
    assert settings.artifact_dir == tmp_path / "artifacts"
    # Generated secrets persist, so a restart keeps the same tokens.
    again = load_settings({"SHOPMIND_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""})
    assert again.internal_token == settings.internal_token and len(settings.internal_token) > 30


def test_overrides_win_and_postgres_urls_use_psycopg2(tmp_path):
    settings = load_settings({"SHOPMIND_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@h/db",
                              "REDIS_URL": "redis://r:6379/0", "SHOPMIND_RECOMMENDATION_URL": "http://rec:8000"})
    assert settings.database_url == "postgresql+psycopg2://u@h/db"
    assert not settings.embedded
    assert settings.service_urls == {"recommendation": "http://rec:8000"}
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_ended_sessions_are_kept_a_week_unless_configured(tmp_path):
    base = {"SHOPMIND_DATA_DIR": str(tmp_path)}
    assert load_settings(base).session_purge_after_days == 7
    assert load_settings({**base, "SHOPMIND_SESSION_PURGE_AFTER_DAYS": "0"}).session_purge_after_days == 0
    with pytest.raises(ValueError, match="SHOPMIND_SESSION_PURGE_AFTER_DAYS"):
        load_settings({**base, "SHOPMIND_SESSION_PURGE_AFTER_DAYS": "-1"})


@pytest.mark.parametrize("method,path,role", [
    ("GET", "/v1/recommendations/users/u1", "client"),
    ("POST", "/v1/recommendations/session", "client"),
    ("POST", "/v1/events", "client"),
    ("GET", "/v1/jobs", "analyst"),
    ("GET", "/v1/forecasts/items/1", "analyst"),
    ("POST", "/v1/ask", "analyst"),
    ("POST", "/v1/pricing/simulate", "analyst"),
    ("POST", "/v1/imports", "admin"),
    ("POST", "/v1/keys", "admin"),
    ("GET", "/v1/me", "client"),
    ("PATCH", "/v1/me", "analyst"),
    ("POST", "/v1/users/me/password", "analyst"),
    ("DELETE", "/v1/sessions/current", "analyst"),
    ("GET", "/v1/users", "admin"),
    ("POST", "/v1/users", "admin"),
    ("DELETE", "/v1/users/4294967296", "admin"),
    ("DELETE", "/v1/keys/3", "admin"),
    ("POST", "/v1/admin/retrain", "admin"),
    ("GET", "/v1/webhooks", "admin"),
    ("POST", "/v1/webhooks/4294967296/test", "admin"),
    ("POST", "/v1/some/future/route", "admin"),
])
def test_required_role_table(method, path, role):
    assert auth.required_role(method, path) == role


def test_check_role_refuses_lower_roles():
    client = auth.Principal(1, "client", 1)
    with pytest.raises(Forbidden, match="needs 'analyst'"):
        auth.check_role(client, "GET", "/v1/jobs")
    auth.check_role(auth.Principal(1, "admin", 2), "POST", "/v1/imports")


def test_signed_principal_round_trip_and_forgery():
    principal = auth.Principal(7, "analyst", 3)
    headers = auth.principal_headers(principal, "secret-a", "GET", "/v1/jobs")
    assert auth.verify_principal(headers, "secret-a", "GET", "/v1/jobs") == principal
    with pytest.raises(Unauthorized, match="signature"):
        auth.verify_principal(headers, "secret-b", "GET", "/v1/jobs")
    forged = auth.principal_headers(auth.Principal(8, "admin", 3), "secret-a", "GET", "/v1/jobs")
    tampered = {auth.PRINCIPAL_HEADER: forged[auth.PRINCIPAL_HEADER],
                auth.SIGNATURE_HEADER: headers[auth.SIGNATURE_HEADER]}
    with pytest.raises(Unauthorized):
        auth.verify_principal(tampered, "secret-a", "GET", "/v1/jobs")
    with pytest.raises(Unauthorized, match="gateway"):
        auth.verify_principal({}, "secret-a", "GET", "/v1/jobs")
    # A header captured from one request cannot be replayed against another route or method.
    with pytest.raises(Unauthorized, match="another request"):
        auth.verify_principal(headers, "secret-a", "POST", "/v1/jobs")
    with pytest.raises(Unauthorized, match="another request"):
        auth.verify_principal(headers, "secret-a", "GET", "/v1/keys")


def test_stale_signature_is_refused(monkeypatch):
    headers = auth.principal_headers(auth.Principal(1, "admin", 1), "k", "GET", "/v1/jobs")
    monkeypatch.setattr(time, "time", lambda: 10**10)
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify_principal(headers, "k", "GET", "/v1/jobs")


def test_api_keys_are_random_and_hashed():
    a, b = auth.generate_api_key(), auth.generate_api_key()
    assert a != b and a.startswith("sm_") and len(a) > 40
    assert auth.hash_api_key(a) != a and len(auth.hash_api_key(a)) == 64


@pytest.fixture(autouse=True)
def _english():
    """These tests read the messages in English."""
    from shared import i18n

    with i18n.use_language("en"):
        yield
