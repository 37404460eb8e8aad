"""ORM models: the platform tables (shops, keys, jobs, models, webhooks) and the shop entities of docs/data-model.md.

Shop entities use their natural key (docs/data-model.md) as primary key, always led by ``shop_id``, so an
upsert is an ``ON CONFLICT`` on the primary key and every index starts with the tenant.
Schema changes go through Alembic (``infra/migrations``); a test checks that the migrations
and these models agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JSONType, ShopOwned, UTCDateTime, utcnow

Money = Numeric(14, 2)

ROLES = ("admin", "analyst", "client")
# Console users are people: the front-end role stays with keys.
USER_ROLES = ("admin", "analyst")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
MODEL_STATUSES = ("training", "ready", "active", "retired", "failed")
# Which of them are sales: shared.sales.
ORDER_STATUSES = ("pending", "paid", "shipped", "completed", "closed", "refunded")
EVENT_TYPES = ("pv", "fav", "cart", "buy")
DECISION_KINDS = ("price_change", "restock", "campaign")
DECISION_STATUSES = ("accepted", "rejected")
ALERT_STATUSES = ("open", "acknowledged", "resolved")


def _shop_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)


def _new_job_id() -> str:
    return uuid.uuid4().hex


# Ids a shop sees of its keys, model versions, webhooks and deliveries are random, not a global
# sequence: a shop must not be able to count another shop's activity from the gaps in its own ids.
# Within 2**32 .. 2**53 (exact in JavaScript numbers; rows from before 0008 keep their small ids).
PUBLIC_ID_MIN, PUBLIC_ID_MAX = 2**32, 2**53 - 1
PublicId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's INTEGER is 64-bit already


def _new_public_id() -> int:
    return PUBLIC_ID_MIN + secrets.randbelow(PUBLIC_ID_MAX - PUBLIC_ID_MIN)


def new_public_id() -> int:
    """A fresh id for a row whose id must be known before the row is written (a webhook test
    delivery names its id in a header before it is logged)."""
    return _new_public_id()


def _public_id() -> Mapped[int]:
    return mapped_column(PublicId, primary_key=True, autoincrement=False, default=_new_public_id)


# --- platform --------------------------------------------------------------------------

class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # What answers, reasons and errors are written in unless a request's Accept-Language says otherwise.
    language: Mapped[str] = mapped_column(String(8), default="zh-CN", server_default="zh-CN")
    # Salt for hashing buyer nicknames into user ids; per shop so ids do not join across shops.
    user_id_salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def shop_timezone(session, shop_id: int | None = None) -> str:
    """The IANA zone a shop's days are counted in (``shop_id``: the session's shop if not given).
    Every reader of a shop's local day asks here."""
    return session.get(Shop, shop_id if shop_id is not None else session.info["tenant"]).timezone


def actor(session, principal) -> str:
    """Who did something, as decisions and alert states record it: ``user:<email>`` for a console
    user, ``key:<id>`` for an API key, ``platform`` for the platform token."""
    if principal.console_user_id is not None:
        email = session.scalar(select(User.email).where(User.id == principal.console_user_id))
        return f"user:{email or principal.console_user_id}"
    return f"key:{principal.key_id}" if principal.key_id is not None else "platform"


class ApiKey(Base, ShopOwned):
    __tablename__ = "api_keys"

    id: Mapped[int] = _public_id()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # sha256 of the key: keys are 256-bit random, so a fast hash is enough and lookups stay O(1).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base, ShopOwned):
    """A person who signs in to the console; belongs to one shop with one role."""

    __tablename__ = "users"

    id: Mapped[int] = _public_id()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    # Lower-cased, and unique across the platform: the sign-in form has no shop field.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # An argon2id hash (algorithm, parameters and salt included).
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN", server_default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSession(Base, ShopOwned):
    """A signed-in console: revocable, so logout and removing a user take effect at once."""

    __tablename__ = "console_sessions"

    # sha256 of the cookie's token: a leaked table opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(PublicId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Sent back in X-CSRF-Token with every state-changing request made with the cookie.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base, ShopOwned):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_shop_created", "shop_id", "created_at"),
        # The sweeper's scan: only the few unfinished jobs, however many finished ones pile up.
        Index("ix_jobs_unfinished", "status", postgresql_where=text("status IN ('queued', 'running')"),
              sqlite_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_new_job_id)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    result: Mapped[dict | None] = mapped_column(JSONType)
    error: Mapped[dict | None] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by POST /v1/jobs/{id}/cancel on a running job; it stops at its next safe point.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Stamped by the running attempt every SHOPMIND_JOB_HEARTBEAT_S, and when the sweeper requeues.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Times the sweeper put the job back in the queue (bounded by SHOPMIND_JOB_MAX_REQUEUES).
    requeues: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ModelVersion(Base, ShopOwned):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("shop_id", "service", "version", name="uq_model_versions_version"),
        Index("ix_model_versions_active", "shop_id", "service", "status"),
        Index("uq_model_versions_one_active", "shop_id", "service", unique=True,
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
    )

    id: Mapped[int] = _public_id()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="training")
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    metrics: Mapped[dict] = mapped_column(JSONType, default=dict)
    data_window: Mapped[dict] = mapped_column(JSONType, default=dict)
    artifact_path: Mapped[str | None] = mapped_column(Text)
    checksum: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(32))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Webhook(Base, ShopOwned):
    __tablename__ = "webhooks"

    id: Mapped[int] = _public_id()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSONType, default=list)
    # Kept in clear: it signs every delivery. Never returned by the API after creation.
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base, ShopOwned):
    """Outbox row: written in the same transaction as the change it reports, sent later."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = _public_id()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    webhook_id: Mapped[int] = mapped_column(PublicId, ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Decision(Base, ShopOwned):
    """A piece of advice accepted or rejected: what was advised (frozen as it was), what was
    decided, and, once enough days have passed, how it turned out (services/decisions)."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_shop_decided", "shop_id", "decided_at"),
        # Accepting the same thing twice records (and sends) it once.
        UniqueConstraint("shop_id", "dedupe_key", name="uq_decisions_dedupe"),
    )

    id: Mapped[int] = _public_id()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(64))
    suggestion_id: Mapped[str | None] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    advice: Mapped[dict] = mapped_column(JSONType, default=dict)
    value: Mapped[dict] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The shop-local day the decision takes effect; outcomes are measured from it.
    effective_on: Mapped[date] = mapped_column(Date)
    outcome_window_days: Mapped[int] = mapped_column(Integer)
    holdout_share: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[dict | None] = mapped_column(JSONType)
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DecisionMember(Base, ShopOwned):
    """A customer a campaign decision targets, or keeps out as its holdout."""

    __tablename__ = "decision_members"

    shop_id: Mapped[int] = _shop_fk()
    decision_id: Mapped[int] = mapped_column(PublicId, ForeignKey("decisions.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertState(Base, ShopOwned):
    """What an operator did about an alert of the alerts centre: acknowledged or resolved it.
    An alert without a row is open; ``alert_id`` names the alert and what makes it new (a later
    spike or stock-out date is another alert)."""

    __tablename__ = "alert_states"

    shop_id: Mapped[int] = _shop_fk()
    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- shop entities (docs/data-model.md) -------------------------------------------------

class Product(Base, ShopOwned):
    __tablename__ = "products"
    __table_args__ = (Index("ix_products_category", "shop_id", "category"),)

    shop_id: Mapped[int] = _shop_fk()
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(200))
    price: Mapped[Decimal | None] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attributes: Mapped[dict | None] = mapped_column(JSONType)


class Customer(Base, ShopOwned):
    __tablename__ = "customers"

    shop_id: Mapped[int] = _shop_fk()
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Order(Base, ShopOwned):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_created", "shop_id", "created_at"),
        Index("ix_orders_user", "shop_id", "user_id"),
    )

    shop_id: Mapped[int] = _shop_fk()
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str | None] = mapped_column(String(16))
    total_amount: Mapped[Decimal | None] = mapped_column(Money)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    shipping_fee: Mapped[Decimal | None] = mapped_column(Money)
    discount: Mapped[Decimal | None] = mapped_column(Money)
    channel: Mapped[str | None] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))


class OrderItem(Base, ShopOwned):
    __tablename__ = "order_items"
    __table_args__ = (Index("ix_order_items_item", "shop_id", "item_id"),)

    shop_id: Mapped[int] = _shop_fk()
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # '' when the export has no SKU, so the natural key never contains NULL.
    sku: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str | None] = mapped_column(String(16))


class Event(Base, ShopOwned):
    """Behaviour log; on PostgreSQL the table is partitioned by month of ``ts`` (see migrations).

    Only the natural key is indexed: it serves a user's events (its leading columns), and every
    extra index makes each imported event dearer to write.
    """

    __tablename__ = "events"

    shop_id: Mapped[int] = _shop_fk()
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    category_id: Mapped[str | None] = mapped_column(String(64))


class Review(Base, ShopOwned):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_item", "shop_id", "item_id", "created_at"),)

    shop_id: Mapped[int] = _shop_fk()
    review_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Inventory(Base, ShopOwned):
    __tablename__ = "inventory"

    shop_id: Mapped[int] = _shop_fk()
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    on_order: Mapped[int | None] = mapped_column(Integer)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)


class CompetitorPrice(Base, ShopOwned):
    __tablename__ = "competitor_prices"

    shop_id: Mapped[int] = _shop_fk()
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    competitor: Mapped[str] = mapped_column(String(200), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    price: Mapped[Decimal] = mapped_column(Money)


class ImportRejection(Base, ShopOwned):
    """A row an import refused: where it was, which column, the raw value and why."""

    __tablename__ = "import_rejections"
    __table_args__ = (Index("ix_import_rejections_job", "shop_id", "job_id", "row_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(32))
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(200))
    raw_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


# --- derived rows written by the model services ----------------------------------------------

class ReviewSentiment(Base, ShopOwned):
    """The sentiment service's reading of one review (scored in batch jobs, so summaries are queries).

    Deleted by ingestion when a review's text changes on re-import, so it is scored again."""

    __tablename__ = "review_sentiment"
    __table_args__ = (Index("ix_review_sentiment_item", "shop_id", "item_id", "created_at"),)

    shop_id: Mapped[int] = _shop_fk()
    review_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Copied from the review so per-item summaries and alerts read one table.
    item_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    # [{"aspect", "label", "clause"}] for the clauses that name an aspect.
    aspects: Mapped[list] = mapped_column(JSONType, default=list)
    model_version: Mapped[int] = mapped_column(Integer)


class SentAlert(Base, ShopOwned):
    """An alert already raised, so a webhook event goes out once per change, not on every run."""

    __tablename__ = "sent_alerts"
    __table_args__ = (UniqueConstraint("shop_id", "kind", "subject", "state", name="uq_sent_alerts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(64))  # e.g. the item id
    state: Mapped[str] = mapped_column(String(200))  # what makes it a new alert, e.g. the window or price
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopSetting(Base, ShopOwned):
    """A shop's own configuration of a service (sentiment aspect terms, pricing guardrails, ...)."""

    __tablename__ = "shop_settings"

    shop_id: Mapped[int] = _shop_fk()
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
