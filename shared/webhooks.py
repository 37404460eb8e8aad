"""Webhooks: subscriptions, an outbox of deliveries, signed HTTP posts to hostile URLs.

Services report events through :func:`emit` only: it writes one ``webhook_deliveries`` row per
matching subscription in the caller's transaction (so an event exists exactly when the change
it reports was committed). :func:`deliver_due` sends what is due, signs each body with the
subscription's secret (``X-Shopmind-Signature: sha256=<hex hmac>``) and reschedules failures
with exponential backoff. It runs every few seconds (Celery beat in distributed mode, a thread
in embedded mode).

Target URLs are treated as hostile: https only (unless allowed), no private, loopback,
link-local or otherwise special addresses unless the host is allow-listed, the address is
checked when connecting (the connection goes to the very IP that was checked, so DNS
rebinding cannot swap it), redirects are not followed, and timeouts are short.

:func:`send_test` is the one delivery made outside the outbox: ``POST /v1/webhooks/{id}/test``
sends a signed ``ping`` at once, through the same sender and URL checks, logs it beside the
others and is never retried; :class:`TestThrottle` keeps the button from flooding a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import urllib3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import i18n
from shared.config import Settings
from shared.db import utcnow
from shared.errors import InvalidInput, TooManyRequests
from shared.i18n import Message
from shared.models import SentAlert, Shop, Webhook, WebhookDelivery, new_public_id
from shared.ratelimit import cooldown, rate_limiter

log = logging.getLogger(__name__)

EVENTS = (
    "import_finished", "model_promoted", "stockout_risk", "negative_review_spike",
    "competitor_undercut", "kpi_anomaly", "job_failed",
    # The closed loop (services/decisions): an accepted decision, for the system that carries it out,
    # and later what came of it.
    "price_change_accepted", "restock_accepted", "campaign_accepted", "decision_outcome",
)
MAX_ATTEMPTS = 8
SIGNATURE_HEADER = "X-Shopmind-Signature"
# Sent only by POST /v1/webhooks/{id}/test, to any subscription whatever events it chose.
TEST_EVENT = "ping"
# A test waits at most this long for the receiver (less if SHOPMIND_WEBHOOK_TIMEOUT_S is lower):
# it holds a request open meanwhile.
TEST_TIMEOUT_S = 5.0
# One test per subscription every TEST_COOLDOWN_S, and at most TEST_PER_SHOP_PER_MINUTE per shop.
TEST_COOLDOWN_S = 5
TEST_PER_SHOP_PER_MINUTE = 20


class UnsafeTarget(ValueError):
    """The webhook URL points somewhere we refuse to send to."""


# --- subscriptions and the outbox ----------------------------------------------------------

def check_url(url: str, settings: Settings) -> None:
    """Validate a subscription URL when it is created (a 422 names the problem)."""
    try:
        resolve_target(url, settings)
    except UnsafeTarget as exc:
        raise InvalidInput(i18n.said(exc), errors={"url": [i18n.said(exc)]}) from None


def emit(session: Session, shop_id: int, event: str, payload: dict) -> int:
    """Queue ``event`` for every active subscription of the shop that wants it; returns how many.
    Texts in the payload are written in the language in force (a job's: the shop's)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    payload = i18n.render(payload)
    hooks = session.scalars(select(Webhook).where(Webhook.shop_id == shop_id, Webhook.active.is_(True))).all()
    count = 0
    for hook in hooks:
        if event in hook.events or "*" in hook.events:
            session.add(WebhookDelivery(
                shop_id=shop_id, webhook_id=hook.id, event=event, status="pending", attempts=0,
                payload={"event": event, "shop_id": shop_id, "created_at": utcnow().isoformat(), "data": payload},
                next_attempt_at=utcnow(),
            ))
            count += 1
    return count


def emit_once(session: Session, shop_id: int, event: str, subject: str, state: str, payload: dict,
              covered_by: tuple[str, ...] = ()) -> bool:
    """Emit ``event`` about ``subject`` (an item id, say) unless it was already emitted for ``state``
    or any of ``covered_by``, so an alert goes out once per change, not on every run. Recorded in
    ``sent_alerts`` even without subscribers (a later subscriber is not sent old alerts)."""
    seen = session.scalar(select(func.count()).select_from(SentAlert).where(
        SentAlert.kind == event, SentAlert.subject == subject, SentAlert.state.in_((state, *covered_by))))
    if seen:
        return False
    emit(session, shop_id, event, payload)
    session.add(SentAlert(shop_id=shop_id, kind=event, subject=subject, state=state))
    return True


def deliver_due(session: Session, settings: Settings, limit: int = 100) -> int:
    """Send due deliveries (any shop: call with an all-shops session); the caller commits."""
    query = (select(WebhookDelivery)
             .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
             .order_by(WebhookDelivery.next_attempt_at).limit(limit))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # several workers never send one row twice
    sent = 0
    for delivery in session.scalars(query).all():
        hook = session.get(Webhook, delivery.webhook_id)
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        outcome = send_signed(hook.url, body, hook.secret, delivery.event, delivery.id, settings)
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = outcome.status_code, i18n.dumps_text(outcome.error)
        if outcome.ok:
            delivery.status, delivery.delivered_at = "delivered", utcnow()
            sent += 1
        elif delivery.attempts >= MAX_ATTEMPTS or outcome.permanent:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = utcnow() + backoff(delivery.attempts)
    return sent


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h, with jitter so retries do not arrive in waves."""
    seconds = min(3600, 30 * 2 ** (attempts - 1))
    return timedelta(seconds=seconds * (0.8 + 0.4 * random.random()))


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- test deliveries ----------------------------------------------------------------------------

class TestThrottle:
    """How often a shop may test its subscriptions: the button must not become a way to flood a URL."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, settings: Settings):
        self.per_hook = cooldown(TEST_COOLDOWN_S, settings.redis_url)
        self.per_shop = rate_limiter(TEST_PER_SHOP_PER_MINUTE, settings.redis_url)

    def check(self, shop_id: int, webhook_id: int) -> None:
        if (wait := self.per_hook.take(f"webhook-test:{webhook_id}")) is not None:
            raise TooManyRequests(i18n.t("webhooks.test_too_soon", seconds=wait, every=TEST_COOLDOWN_S),
                                  retry_after=wait)
        if (wait := self.per_shop.hit(f"webhook-tests:{shop_id}")) is not None:
            raise TooManyRequests(i18n.t("webhooks.tests_per_shop", limit=TEST_PER_SHOP_PER_MINUTE, seconds=wait),
                                  retry_after=wait)


def send_test(session: Session, settings: Settings, hook: Webhook, throttle: TestThrottle) -> dict:
    """Send a signed ``ping`` to ``hook`` now and log it as a delivery (the caller commits).

    A receiver that fails is the answer, not an error: ``{"ok": false, "error": <why>}``. The row
    is written after the attempt, already ``delivered`` or ``failed``, so the outbox never sees it
    pending and nothing retries it."""
    throttle.check(hook.shop_id, hook.id)
    now = utcnow()
    shop_name = session.get(Shop, hook.shop_id).name
    payload = {"event": TEST_EVENT, "shop_id": hook.shop_id, "created_at": now.isoformat(), "data": i18n.render({
        "test": True, "webhook_id": hook.id, "shop_name": shop_name,
        "message": i18n.t("webhooks.ping_message", shop=shop_name, webhook_id=hook.id)})}
    delivery = WebhookDelivery(id=new_public_id(), shop_id=hook.shop_id, webhook_id=hook.id, event=TEST_EVENT,
                               payload=payload, attempts=1, created_at=now, next_attempt_at=now)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    outcome = send_signed(hook.url, body, hook.secret, TEST_EVENT, delivery.id, settings,
                          timeout_s=min(settings.webhook_timeout_s, TEST_TIMEOUT_S))
    delivery.status = "delivered" if outcome.ok else "failed"
    delivery.delivered_at = utcnow() if outcome.ok else None
    delivery.last_status_code, delivery.last_error = outcome.status_code, i18n.dumps_text(outcome.error)
    session.add(delivery)
    session.flush()
    return {"ok": outcome.ok, "status_code": outcome.status_code, "duration_ms": outcome.duration_ms,
            "error": i18n.render(outcome.error), "delivery": delivery}


# --- the hostile-URL-safe sender ------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    ip: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: Message | str | None = None  # why it failed, in the reader's language when shown
    permanent: bool = False
    duration_ms: int | None = None  # from resolving the host to the answer's status line


# IPv6 ranges that embed or translate to IPv4 (or are deprecated) and so can reach private hosts.
_TRANSLATING = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96",
                                                   "fec0::/10")]


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global excludes private, loopback, link-local, reserved, unspecified and shared ranges.
    if ip.version == 6 and any(ip in network for network in _TRANSLATING):
        return False
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str, settings: Settings) -> Target:
    """Resolve ``url`` to one IP we are willing to connect to, or raise :class:`UnsafeTarget`."""
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname.encode("idna").decode() if parts.hostname else None
    except (ValueError, UnicodeError) as exc:
        raise UnsafeTarget(i18n.t("webhooks.bad_url", error=str(exc))) from None
    if parts.scheme not in ("https", "http"):
        raise UnsafeTarget(i18n.t("webhooks.https_only"))
    if parts.scheme == "http" and not settings.webhook_allow_http:
        raise UnsafeTarget(i18n.t("webhooks.http_disabled"))
    if not hostname:
        raise UnsafeTarget(i18n.t("webhooks.no_host"))
    if parts.username or parts.password:
        raise UnsafeTarget(i18n.t("webhooks.credentials"))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(i18n.t("webhooks.unresolvable", host=hostname, error=exc.strerror)) from None
    allowed = hostname.lower() in {h.lower() for h in settings.webhook_allow_hosts}
    for *_rest, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0])
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if not allowed and not _is_public(ip):
            raise UnsafeTarget(i18n.t("webhooks.private_address", host=hostname, ip=str(ip)))
    ip = str(ipaddress.ip_address(infos[0][4][0]))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, hostname, port, path, ip)


def send_signed(url: str, body: bytes, secret: str, event: str, delivery_id: int,
                settings: Settings, timeout_s: float | None = None) -> Outcome:
    """POST ``body`` once; never follows redirects; checks the address at connect time.
    ``timeout_s``: the read timeout (default SHOPMIND_WEBHOOK_TIMEOUT_S); connecting gets at most 3 s."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        target = resolve_target(url, settings)
    except UnsafeTarget as exc:
        return Outcome(False, error=i18n.said(exc), permanent=True, duration_ms=took())
    headers = {
        "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": "shopmind-webhooks/1",
        SIGNATURE_HEADER: sign(body, secret),
        "X-Shopmind-Event": event,
        "X-Shopmind-Delivery": str(delivery_id),
    }
    read_timeout = settings.webhook_timeout_s if timeout_s is None else timeout_s
    timeout = urllib3.Timeout(connect=min(3.0, read_timeout), read=read_timeout)
    # Connect to the checked IP; TLS still verifies the certificate against the host name.
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.ip, target.port, timeout=timeout, retries=False,
                                           server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(target.ip, target.port, timeout=timeout, retries=False)
    failure = None
    try:
        response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                preload_content=False)
        status = response.status
        response.close()  # the status is the answer: an endless body is not read
    except urllib3.exceptions.NewConnectionError as exc:  # refused, unreachable (a TimeoutError subclass)
        failure = i18n.t("webhooks.connect_failed", host=target.host, error=str(exc.__cause__ or exc))
    except urllib3.exceptions.TimeoutError:
        failure = i18n.t("webhooks.timed_out", seconds=f"{read_timeout:g}")
    except urllib3.exceptions.HTTPError as exc:
        failure = i18n.t("webhooks.send_failed", error=f"{type(exc).__name__}: {exc}")
    finally:
        pool.close()
    if failure is not None:
        return Outcome(False, error=failure, duration_ms=took())
    if 200 <= status < 300:
        return Outcome(True, status, duration_ms=took())
    if 300 <= status < 400:
        return Outcome(False, status, i18n.t("webhooks.redirect_refused"), duration_ms=took())
    return Outcome(False, status, i18n.t("webhooks.answered_http", status=status), duration_ms=took())
