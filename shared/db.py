"""SQLAlchemy engines and sessions for SQLite (embedded) and PostgreSQL (distributed).

Tenancy is enforced here, once: every session carries a tenant in ``session.info``
(a shop id, or :data:`ALL_SHOPS` for platform code that must see every shop, such as
API-key lookup). Each ORM query on a shop-owned table gets ``shop_id = <tenant>`` added
by a ``do_orm_execute`` hook, and each flush checks that new or changed rows belong to the
session's shop. A session opened without a tenant refuses to touch shop-owned tables, so
a forgotten filter is an error, not a leak.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from sqlalchemy import JSON, Date, DateTime, Engine, Integer, create_engine, event, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker, with_loader_criteria
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.util import find_tables
from sqlalchemy.types import TypeDecorator

from shared.config import Settings, load_settings, normalise_database_url

log = logging.getLogger(__name__)

ALL_SHOPS = "*"


class TenantScopeError(RuntimeError):
    """A shop-owned table was touched from a session that has no shop, or another shop's."""


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: attach a time zone before storing")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ShopOwned:
    """Marker for tables with a ``shop_id`` column: every query on them is scoped by shop."""

    shop_id: int


# --- engines ---------------------------------------------------------------------------

_engines: dict[str, Engine] = {}
_session_factories: dict[str, sessionmaker] = {}
_lock = threading.Lock()


class local_bucket(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """SQL: the shop-local day, ISO week (its Monday) or month (its 1st) of a UTC timestamp column,
    as a DATE: ``local_bucket(Order.created_at, "Asia/Shanghai", "week")``. PostgreSQL computes it
    natively; SQLite through a Python function registered on each connection."""

    type = Date()
    inherit_cache = True


@compiles(local_bucket, "postgresql")
def _local_bucket_postgresql(element, compiler, **kw):
    stamp, zone, unit = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(date_trunc({unit}, timezone({zone}, {stamp})) AS DATE)"


@compiles(local_bucket, "sqlite")
def _local_bucket_sqlite(element, compiler, **kw):
    return f"local_bucket({compiler.process(element.clauses, **kw)})"


class local_weekday(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """SQL: the shop-local ISO day of the week (1 = Monday … 7 = Sunday) of a UTC timestamp column."""

    type = Integer()
    inherit_cache = True


@compiles(local_weekday, "postgresql")
def _local_weekday_postgresql(element, compiler, **kw):
    stamp, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(extract(isodow from timezone({zone}, {stamp})) AS INTEGER)"


@compiles(local_weekday, "sqlite")
def _local_weekday_sqlite(element, compiler, **kw):
    return f"local_weekday({compiler.process(element.clauses, **kw)})"


def _sqlite_local_weekday(stamp: str | None, zone: str) -> int | None:
    day = _sqlite_local_bucket(stamp, zone, "day")
    return None if day is None else date.fromisoformat(day).isoweekday()


def _sqlite_local_bucket(stamp: str | None, zone: str, unit: str) -> str | None:
    if stamp is None:
        return None
    # Usually the whole UTC hour falls on one local day (cached per hour); else ask per minute.
    first, last = _local_bucket_of(stamp[:13] + ":00", zone, unit), _local_bucket_of(stamp[:13] + ":59", zone, unit)
    return first if first == last else _local_bucket_of(stamp[:16], zone, unit)


@functools.lru_cache(maxsize=100_000)
def _local_bucket_of(minute: str, zone: str, unit: str) -> str:
    """Every UTC offset is whole minutes, so the minute decides the local day."""
    day = datetime.fromisoformat(minute).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()
    if unit == "week":
        day -= timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    return day.isoformat()


def _sqlite_pragmas(dbapi_connection, _record):
    dbapi_connection.create_function("local_bucket", 3, _sqlite_local_bucket, deterministic=True)
    dbapi_connection.create_function("local_weekday", 2, _sqlite_local_weekday, deterministic=True)
    cursor = dbapi_connection.cursor()
    # WAL lets the web thread read while the embedded worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def get_engine(database_url: str) -> Engine:
    """The process-wide engine for ``database_url`` (one pool per process)."""
    database_url = normalise_database_url(database_url)
    with _lock:
        engine = _engines.get(database_url)
        if engine is None:
            if database_url.startswith("sqlite"):
                engine = create_engine(
                    database_url, connect_args={"check_same_thread": False, "timeout": 30}
                )
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(
                    database_url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
                )
            _engines[database_url] = engine
            _session_factories[database_url] = sessionmaker(engine, expire_on_commit=False)
        return engine


def dispose_engines() -> None:
    """Forget pooled connections; forked children (Celery, gunicorn) must not share the parent's."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)


def new_session(shop_id: int | str | None, database_url: str | None = None) -> Session:
    """A session scoped to ``shop_id`` (or :data:`ALL_SHOPS`); the caller commits and closes."""
    url = normalise_database_url(database_url or load_settings().database_url)
    get_engine(url)
    session = _session_factories[url]()
    session.info["tenant"] = shop_id
    return session


def upsert(session: Session, entity):
    """``INSERT`` with ``on_conflict_do_update``/``_do_nothing`` for the session's database
    (PostgreSQL and SQLite spell ``ON CONFLICT`` alike; plain ``insert`` has no such clause)."""
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(entity)


@contextmanager
def session_scope(shop_id: int | str | None, database_url: str | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    session = new_session(shop_id, database_url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- tenancy, enforced for every session ------------------------------------------------

@functools.cache
def _shop_owned_classes() -> dict:
    """table -> mapped class, for every shop-owned model."""
    return {m.local_table: m.class_ for m in Base.registry.mappers if issubclass(m.class_, ShopOwned)}


@event.listens_for(Session, "do_orm_execute")
def _scope_queries_by_shop(state: ORMExecuteState) -> None:
    tenant = state.session.info.get("tenant")
    if tenant == ALL_SHOPS:
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        if isinstance(tenant, int) and not state.execution_options.get("tenant_checked"):
            raise TenantScopeError("raw SQL on a shop's session: filter by shop_id yourself and pass "
                                   "execution_options(tenant_checked=True)")
        return
    # Every table the statement reads or writes, including subqueries and select_from():
    # looking only at the selected entities would miss select(func.count()).select_from(Order).
    owned_by_table = _shop_owned_classes()
    owned = {owned_by_table[t] for t in find_tables(statement, include_crud=True) if t in owned_by_table}
    if not owned:
        return
    if tenant is None:
        raise TenantScopeError("statement on shop-owned rows from a session without a shop")
    if not state.is_orm_statement and not state.execution_options.get("tenant_checked"):
        raise TenantScopeError("Core statement on shop-owned tables: use the mapped class so it is scoped")
    if state.is_insert:
        _check_inserted_shop(state, tenant)
        return
    if state.is_update and "shop_id" in {getattr(k, "key", k) for k in getattr(statement, "_values", None) or {}}:
        raise TenantScopeError("an UPDATE may not change shop_id")
    if state.is_select or state.is_update or state.is_delete:
        state.statement = statement.options(
            *(with_loader_criteria(cls, cls.shop_id == tenant, include_aliases=True) for cls in owned)
        )


def _check_inserted_shop(state: ORMExecuteState, tenant: int) -> None:
    """Every inserted row (values() or executemany parameters) must belong to the session's shop."""
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    values = {getattr(k, "key", k): v for k, v in (getattr(state.statement, "_values", None) or {}).items()}
    for row in rows:
        shop = row.get("shop_id", values.get("shop_id"))
        shop = getattr(shop, "value", shop)  # a bound parameter from .values()
        if shop != tenant:
            raise TenantScopeError(f"insert of a row for shop {shop} from shop {tenant}'s session")


@event.listens_for(Session, "before_flush")
def _check_rows_belong_to_shop(session: Session, _ctx, _instances) -> None:
    tenant = session.info.get("tenant")
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if not isinstance(obj, ShopOwned) or tenant == ALL_SHOPS:
            continue
        if tenant is None:
            raise TenantScopeError(f"write of {type(obj).__name__} from a session without a shop")
        if obj.shop_id is None and obj in session.new:
            obj.shop_id = tenant
        elif obj.shop_id != tenant:
            raise TenantScopeError(f"{type(obj).__name__} of shop {obj.shop_id} written by shop {tenant}")


# --- Flask integration (flaskr's get_db / close_db shape) --------------------------------

def init_app(app: Flask) -> None:
    """Bind the database to an app: one engine per URL, one session per request."""
    get_engine(app.config["SETTINGS"].database_url)
    app.teardown_appcontext(_close_request_session)


def request_session() -> Session:
    """The current request's session, scoped to the authenticated shop."""
    if "db_session" not in g:
        from shared.auth import current_principal  # auth imports db; resolve at call time

        settings: Settings = current_app.config["SETTINGS"]
        principal = current_principal(required=False)
        g.db_session = new_session(principal.shop_id if principal else None, settings.database_url)
    return g.db_session


def _close_request_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except DBAPIError as exc:
        # The server went away mid-request: the answer (a 503 already) stands; drop the connection
        # rather than let the rollback's error escape past Flask's handlers as a bare 500.
        log.warning("closing a request's session failed (%s); its connection is discarded", exc.orig)
        session.invalidate()


def newest_first(session: Session, query, time_column, id_column, id_type, limit: int, cursor: str | None):
    """A page of ``query``, newest first, keyset-paginated on (time, id): ids are random, so
    they order nothing by themselves."""
    from shared.schemas import decode_cursor, encode_cursor  # imported late: schemas -> jobs -> db

    if cursor:
        query = query.where(tuple_(time_column, id_column) < tuple(decode_cursor(cursor, datetime, id_type)))
    rows = list(session.scalars(query.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, time_column.key), getattr(last, id_column.key)])
    return rows, next_cursor
