"""Rate limiter windows, cooldowns and the webhook sender's defences against hostile URLs."""

import hashlib
import hmac
import os
import socket
import uuid

import pytest

from shared import webhooks
from shared.config import load_settings
from shared.ratelimit import InProcessCooldown, RateLimiter


def test_in_process_rate_limit_counts_per_key():
    limiter = RateLimiter(3)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    retry_after = limiter.hit("a")
    assert retry_after is not None and 1 <= retry_after <= 61
    assert limiter.hit("b") is None  # another key has its own budget


def test_a_budget_cannot_be_spent_twice_across_a_minute_boundary(monkeypatch):
    """A moving window: three hits at xx:59.9 leave none for xx:00.1, and the budget comes back
    60 s after the first of them, not at the clock minute."""
    clock = [1_800_000_059.9]  # 0.1 s before a whole minute
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock[0])
    monkeypatch.setattr("shared.ratelimit.time.time", lambda: clock[0])
    limiter = RateLimiter(3)
    assert [limiter.hit("k") for _ in range(3)] == [None, None, None]
    clock[0] += 0.2
    assert limiter.spent("k") == 60 and limiter.hit("k") == 60
    clock[0] += 59.9
    assert limiter.spent("k") is None and limiter.hit("k") is None


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
def test_processes_sharing_redis_share_one_budget():
    key = f"test-{uuid.uuid4().hex}"
    first, second = RateLimiter(2, os.environ["REDIS_URL"]), RateLimiter(2, os.environ["REDIS_URL"])
    assert first.hit(key) is None and second.hit(key) is None
    assert first.spent(key) is not None and 1 <= second.hit(key) <= 60


def test_a_limiter_whose_redis_is_down_lets_requests_through():
    limiter = RateLimiter(1, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert [limiter.hit("k") for _ in range(3)] == [None, None, None] and limiter.spent("k") is None


def test_a_cooldown_allows_one_action_per_key_until_it_runs_out(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("shared.ratelimit.time.monotonic", lambda: clock[0])
    cooldown = InProcessCooldown(5)
    assert cooldown.take("hook-1") is None
    assert cooldown.take("hook-1") == 5
    clock[0] += 3.2
    assert cooldown.take("hook-1") == 2  # whole seconds, rounded up
    assert cooldown.take("hook-2") is None  # another key is free
    clock[0] += 1.9
    assert cooldown.take("hook-1") is None  # ran out: claimed again


@pytest.fixture
def strict_settings(tmp_path):
    return load_settings({"SHOPMIND_DATA_DIR": str(tmp_path), "SHOPMIND_WEBHOOK_ALLOW_HOSTS": "",
                          "SHOPMIND_WEBHOOK_ALLOW_HTTP": "0"})


@pytest.mark.parametrize("url,reason", [
    ("http://example.com/hook", "https"),
    ("ftp://example.com/hook", "https"),
    ("https://127.0.0.1/hook", "private or special"),
    ("https://10.1.2.3/hook", "private or special"),
    ("https://169.254.169.254/latest/meta-data", "private or special"),
    ("https://[::1]/hook", "private or special"),
    ("https://user:pw@example.com/hook", "credentials"),
])
def test_hostile_urls_are_refused(strict_settings, url, reason):
    with pytest.raises(webhooks.UnsafeTarget, match=reason):
        webhooks.resolve_target(url, strict_settings)


def test_dns_answer_is_checked_at_send_time(strict_settings, monkeypatch):
    """DNS rebinding: the name resolved publicly when subscribed, privately when sending."""
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))])
    outcome = webhooks.send_signed("https://hooks.example.com/x", b"{}", "s" * 20, "model_promoted", 1,
                                   strict_settings)
    assert not outcome.ok and outcome.permanent and "private or special" in outcome.error


def test_public_address_is_accepted_and_pinned(strict_settings, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))])
    target = webhooks.resolve_target("https://hooks.example.com/in?x=1", strict_settings)
    assert (target.ip, target.host, target.port, target.path) == ("93.184.216.34", "hooks.example.com", 443, "/in?x=1")


def test_allow_list_admits_named_private_hosts(tmp_path):
    settings = load_settings({"SHOPMIND_DATA_DIR": str(tmp_path), "SHOPMIND_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
                              "SHOPMIND_WEBHOOK_ALLOW_HTTP": "1"})
    assert webhooks.resolve_target("http://127.0.0.1:9/x", settings).ip == "127.0.0.1"


def test_signature_is_hmac_sha256_of_the_body():
    body = b'{"event":"model_promoted"}'
    expected = hmac.new(b"topsecret-topsecret", body, hashlib.sha256).hexdigest()
    assert webhooks.sign(body, "topsecret-topsecret") == f"sha256={expected}"


def test_backoff_grows_and_is_capped():
    waits = [webhooks.backoff(n).total_seconds() for n in range(1, 12)]
    assert waits[0] < 40 and waits[3] > waits[1] > waits[0]
    assert max(waits) <= 3600 * 1.2


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::a9fe:a9fe", "fec0::1"])
def test_ipv6_forms_that_reach_private_ipv4_are_refused(strict_settings, monkeypatch, address):
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *a, **k: [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 443, 0, 0))])
    with pytest.raises(webhooks.UnsafeTarget, match="private or special"):
        webhooks.resolve_target("https://hooks.example.com/x", strict_settings)


@pytest.mark.parametrize("url", ["https://example.com:99999/", "https://" + "ü" * 60 + ".com/"])
def test_unusable_urls_are_refused_not_crashed(strict_settings, url):
    with pytest.raises(webhooks.UnsafeTarget):
        webhooks.resolve_target(url, strict_settings)


@pytest.fixture(autouse=True)
def _english():
    """These tests read the messages in English."""
    from shared import i18n

    with i18n.use_language("en"):
        yield
