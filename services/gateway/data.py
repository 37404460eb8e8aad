"""SQL for the platform routes: shops, keys, jobs, model versions, webhooks. Never commits."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import i18n, sales
from shared.auth import generate_api_key, hash_api_key
from shared.calendar import KPI_PERIODS, kpi_period, local_window, shop_today
from shared.db import newest_first, utcnow
from shared.errors import Conflict, NotFound
from shared.i18n import DEFAULT_LANGUAGE, t
from shared.models import (
    AlertState,
    ApiKey,
    Job,
    ModelVersion,
    Order,
    Product,
    Shop,
    Webhook,
    WebhookDelivery,
    actor,
    shop_timezone,
)

# A shop whose last order is older than this is an export of the past: its dashboard is read on
# the day after that order rather than on today, which would show nothing.
STALE_AFTER_DAYS = 7


def create_shop(session: Session, name: str, timezone: str, currency: str,
                language: str = DEFAULT_LANGUAGE) -> tuple[Shop, ApiKey, str]:
    """A shop and its first admin key (the only time the key is seen in clear)."""
    shop = Shop(name=name, timezone=timezone, currency=currency, language=language,
                user_id_salt=secrets.token_hex(16), created_at=utcnow())
    session.add(shop)
    session.flush()
    key, secret = create_key(session, shop.id, "admin")
    return shop, key, secret


def update_shop(session: Session, shop_id: int, changes: dict) -> Shop:
    """Rename the shop or change its timezone or language (the caller commits)."""
    shop = session.get(Shop, shop_id)
    for name, value in changes.items():
        setattr(shop, name, value)
    session.flush()
    return shop


def create_key(session: Session, shop_id: int, role: str) -> tuple[ApiKey, str]:
    secret = generate_api_key()
    key = ApiKey(shop_id=shop_id, role=role, key_hash=hash_api_key(secret), prefix=secret[:10],
                 created_at=utcnow())
    session.add(key)
    session.flush()
    return key, secret


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key, unless it is the shop's last active admin key: without one nobody could
    manage the shop again (the platform's ``shopmind create-key`` is the way back)."""
    # The shop's active admin keys are locked (PostgreSQL), so two admins revoking each other's
    # keys at once cannot both succeed and leave none.
    admins = set(session.scalars(select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
                                 .with_for_update()))
    key = session.scalars(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))).first()
    if key is None:
        raise NotFound(t("gateway.no_key", key_id=key_id))
    if admins == {key.id}:
        raise Conflict(t("gateway.last_admin_key", key_id=key_id))
    key.revoked_at = utcnow()
    return key


def list_keys(session: Session) -> list[ApiKey]:
    active = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(active.order_by(ApiKey.created_at, ApiKey.id)))


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(t("gateway.no_job", job_id=job_id))
    return job


def list_jobs(session: Session, status: str | None, kind: str | None, limit: int,
              cursor: str | None) -> tuple[list[Job], str | None]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(Job)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return newest_first(session, query, Job.created_at, Job.id, str, limit, cursor)


def list_models(session: Session, service: str | None, limit: int,
                cursor: str | None) -> tuple[list[ModelVersion], str | None]:
    query = select(ModelVersion)
    if service:
        query = query.where(ModelVersion.service == service)
    return newest_first(session, query, ModelVersion.trained_at, ModelVersion.id, int, limit, cursor)


def get_model(session: Session, model_id: int) -> ModelVersion:
    row = session.get(ModelVersion, model_id)
    if row is None:
        raise NotFound(t("gateway.no_model_version", model_id=model_id))
    return row


def create_webhook(session: Session, shop_id: int, url: str, events: list[str], secret: str) -> Webhook:
    hook = Webhook(shop_id=shop_id, url=url, events=events, secret=secret, active=True, created_at=utcnow())
    session.add(hook)
    session.flush()
    return hook


def list_webhooks(session: Session) -> list[Webhook]:
    active = select(Webhook).where(Webhook.active.is_(True))
    return list(session.scalars(active.order_by(Webhook.created_at, Webhook.id)))


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound(t("gateway.no_webhook", webhook_id=webhook_id))
    return hook


def list_deliveries(session: Session, webhook_id: int, limit: int,
                    cursor: str | None) -> tuple[list[WebhookDelivery], str | None]:
    get_webhook(session, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    return newest_first(session, query, WebhookDelivery.created_at, WebhookDelivery.id, int, limit, cursor)


def describe_product(product: Product) -> dict:
    return {
        "item_id": product.item_id, "title": product.title, "category": product.category,
        "brand": product.brand, "price": float(product.price) if product.price is not None else None,
        "status": product.status,
    }


def shop_kpis(session: Session) -> dict:
    """Sales KPIs of yesterday, this week, this month and the last 30 days, each against the period
    before it (shared.calendar.kpi_period), read as /v1/ask reads the same words on ``as_of``.

    ``as_of`` is the shop's today; a shop whose data ended more than a week ago (an export of last
    year) is read on the day after its last order instead, so it still sees its numbers. What a
    sale is: ``shared.sales``.
    """
    last = session.scalar(select(func.max(Order.created_at)))
    timezone = shop_timezone(session)
    today = shop_today(timezone)
    if last is None:
        return {"as_of": today.isoformat(), "today": today.isoformat(), "data_through": None, "periods": {},
                "window_days": 30, "current": None, "previous": None, "change": {}}
    data_through = last.astimezone(ZoneInfo(timezone)).date()
    as_of = today if data_through >= today - timedelta(days=STALE_AFTER_DAYS) else data_through + timedelta(days=1)
    spans = {period: kpi_period(period, as_of) for period in KPI_PERIODS}
    figures = iter(_sales_between(session, [span for pair in spans.values() for span in pair], timezone))
    periods = {}
    for period, (span, before) in spans.items():
        current, previous = next(figures), next(figures)
        periods[period] = {"range": [d.isoformat() for d in span], "previous_range": [d.isoformat() for d in before],
                           "current": current, "previous": previous,
                           "change": {key: _change(previous[key], current[key]) for key in current}}
    month = periods["last_30_days"]  # the fields the dashboard answered before it had periods
    return {"as_of": as_of.isoformat(), "today": today.isoformat(), "data_through": data_through.isoformat(),
            "periods": periods, "window_days": 30, "current": month["current"], "previous": month["previous"],
            "change": month["change"]}


def _change(old: float | None, new: float | None) -> float | None:
    return round((new - old) / old, 4) if old and new is not None else None


def _sales_between(session: Session, spans: list[tuple[date, date]], timezone: str) -> list[dict]:
    """The KPIs of each span of local days (both ends included)."""
    windows = [local_window(span, timezone) for span in spans]
    rates = sales.conversion(session, windows)
    out = []
    for totals, rate in zip(sales.sales_totals(session, windows), rates, strict=True):
        revenue, orders = totals["revenue"], totals["orders"]
        out.append({"revenue": round(revenue, 2), "orders": orders, "buyers": totals["buyers"],
                    # no orders, no average (as /v1/ask answers it): not a 0 that looks like free orders
                    "average_order_value": round(revenue / orders, 2) if orders else None,
                    "conversion": round(rate, 4) if rate is not None else None})
    return out


def job_summary(session: Session) -> dict:
    counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    recent = session.scalars(select(Job).order_by(Job.created_at.desc()).limit(5)).all()
    return {"counts": counts,
            "recent": [{"id": j.id, "kind": j.kind, "status": j.status, "progress": j.progress} for j in recent]}


def failed_jobs(session: Session, days: int) -> list[dict]:
    """The jobs that failed in the last ``days`` days, newest first (at most 50)."""
    since = utcnow() - timedelta(days=days)
    rows = session.scalars(select(Job).where(Job.status == "failed", Job.created_at >= since)
                           .order_by(Job.created_at.desc()).limit(50)).all()
    return [{"id": j.id, "kind": j.kind, "finished_at": j.finished_at.isoformat() if j.finished_at else None,
             "reason": (i18n.render(j.error) or {}).get("detail")} for j in rows]


def alert_states(session: Session) -> dict[str, dict]:
    return {row.alert_id: {"status": row.status, "changed_by": row.changed_by,
                           "changed_at": row.changed_at.isoformat()}
            for row in session.scalars(select(AlertState))}


def set_alert_state(session: Session, principal, alert_id: str, status: str) -> dict:
    """Record what was done about an alert; reopening forgets it (an alert without a row is open)."""
    row = session.get(AlertState, (principal.shop_id, alert_id))
    who = actor(session, principal)
    if status == "open":
        if row is not None:
            session.delete(row)
        return {"status": "open", "status_by": None, "status_at": None}
    if row is None:
        row = AlertState(shop_id=principal.shop_id, alert_id=alert_id)
        session.add(row)
    row.status, row.changed_by, row.changed_at = status, who, utcnow()
    return {"status": status, "status_by": who, "status_at": row.changed_at.isoformat()}


def active_models(session: Session) -> list[dict]:
    rows = session.scalars(select(ModelVersion).where(ModelVersion.status == "active")
                           .order_by(ModelVersion.service)).all()
    return [{"service": r.service, "version": r.version, "id": r.id, "metrics": r.metrics,
             "promoted_at": r.promoted_at.isoformat() if r.promoted_at else None} for r in rows]
