"""Loading cleaned rows: a temporary staging table, then one set-based upsert.

Cleaned chunks go into a TEMP table on the import's own connection (``COPY`` on PostgreSQL,
``executemany`` on SQLite); temp tables take no locks on the real tables, so the job can report
progress while it stages. :meth:`StagingLoader.apply` then, in one transaction, drops in-file
duplicates (last row wins), drops rows identical to what is stored (``rows_duplicate``: a
re-import changes nothing), counts the rest as updates or inserts, and upserts them on the
natural key (docs/data-model.md) with a single ``INSERT ... SELECT ... ON CONFLICT``. An update writes only
the columns the file has: a partial re-import (``item_id,title``) leaves price and the rest as
they were, and so does an empty cell unless the import asks for ``empty_cells=clear``.
SQL only: no Flask.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, delete, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.ingestion.cleaning import Rejection, clean_datetime
from shared import activity, i18n
from shared.db import get_engine, session_scope, upsert
from shared.errors import InvalidInput
from shared.i18n import t
from shared.models import (
    CompetitorPrice,
    Customer,
    Event,
    ImportRejection,
    Inventory,
    Job,
    Order,
    OrderItem,
    Product,
    Review,
    Shop,
)
from shared.privacy import pseudonymise_many

TABLES: dict[str, Table] = {
    "products": Product.__table__, "customers": Customer.__table__, "orders": Order.__table__,
    "order_items": OrderItem.__table__, "events": Event.__table__, "reviews": Review.__table__,
    "inventory": Inventory.__table__, "competitor_prices": CompetitorPrice.__table__,
}
EMPTY_CELLS = ("keep", "clear")
"""What an empty cell of a column the file has does to a stored value: keep it, or clear it."""
# Stored rejections per import; beyond this they are counted, not kept.
MAX_STORED_REJECTIONS = 100_000
LIVE_EVENT_DAYS = 90
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def _q(name: str) -> str:
    return f'"{name}"'


class StagingLoader:
    """Stage cleaned frames for one entity and shop, then apply them at once."""

    def __init__(self, connection: Connection, entity: str, shop_id: int, columns: Iterable[str] | None = None,
                 empty_cells: str = "keep"):
        """``columns``: the fields the file has (default: all); an update writes only those.
        ``empty_cells``: ``keep`` (an empty cell leaves the stored value) or ``clear`` (sets NULL)."""
        if empty_cells not in EMPTY_CELLS:
            raise ValueError(f"empty_cells must be one of {EMPTY_CELLS}")
        self.connection = connection
        self.entity = entity
        self.shop_id = shop_id
        self.table = TABLES[entity]
        self.columns = [c.name for c in self.table.columns]
        self.keys = [c.name for c in self.table.primary_key.columns]
        wanted = set(self.columns if columns is None else columns)
        self.updated_columns = [c for c in self.columns if c not in self.keys and c in wanted]
        self.keep_empty = empty_cells == "keep"
        self.is_pg = connection.dialect.name == "postgresql"
        self.stage_name = f"stage_{entity}"
        self._seq = 0
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.stage_name}")
        if self.is_pg:
            self.connection.exec_driver_sql(
                f"CREATE TEMP TABLE {self.stage_name} (LIKE {self.table.name} INCLUDING DEFAULTS, _seq bigint)")
        else:
            self.connection.exec_driver_sql(
                f"CREATE TEMP TABLE {self.stage_name} AS SELECT * FROM main.{self.table.name} WHERE 0")
            self.connection.exec_driver_sql(f"ALTER TABLE {self.stage_name} ADD COLUMN _seq INTEGER")

    # -- staging ----------------------------------------------------------------------------

    def stage(self, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        frame = frame.assign(shop_id=self.shop_id)
        frame["_seq"] = np.arange(self._seq, self._seq + len(frame))
        self._seq += len(frame)
        columns = [*self.columns, "_seq"]
        values = pd.DataFrame({c: _storable(frame[c], self.table.columns[c].type if c in self.table.columns else None,
                                            self.is_pg) for c in columns})
        if self.is_pg:
            buffer = io.StringIO()
            values.to_csv(buffer, header=False, index=False, na_rep="\\N")
            buffer.seek(0)
            cursor = self.connection.connection.dbapi_connection.cursor()
            cursor.copy_expert(
                f"COPY {self.stage_name} ({', '.join(map(_q, columns))}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                buffer)
            cursor.close()
        else:
            rows = list(zip(*(values[c].astype(object).where(values[c].notna(), None).tolist() for c in columns),
                            strict=True))
            placeholders = ", ".join("?" for _ in columns)
            self.connection.connection.dbapi_connection.executemany(
                f"INSERT INTO {self.stage_name} ({', '.join(map(_q, columns))}) VALUES ({placeholders})", rows)
        return len(frame)

    # -- applying ---------------------------------------------------------------------------

    def _scalar(self, sql: str):
        return self.connection.exec_driver_sql(sql).scalar()

    def dedupe(self) -> int:
        """Keep the last row of each natural key in the file; return how many were dropped."""
        keys = ", ".join(map(_q, self.keys))
        result = self.connection.exec_driver_sql(
            f"DELETE FROM {self.stage_name} WHERE _seq NOT IN "
            f"(SELECT max(_seq) FROM {self.stage_name} GROUP BY {keys})")
        return result.rowcount

    def lock_for_write(self) -> None:
        """SQLite: end the reading snapshot and take the write lock before applying.

        In WAL mode a transaction that has read cannot start writing once another connection
        (a progress update, say) has committed; it fails at once with "database is locked".
        Starting the applying transaction with a write waits for the lock instead.
        """
        if not self.is_pg:
            self.connection.commit()
            self.connection.exec_driver_sql(f"DELETE FROM main.{self.table.name} WHERE 0")

    def apply(self) -> dict[str, int]:
        """Upsert what changed; the caller owns the transaction (nothing is committed here)."""
        stage, table = self.stage_name, self.table.name
        eq = " IS NOT DISTINCT FROM " if self.is_pg else " IS "
        key_match = " AND ".join(f"t.{_q(k)} = {stage}.{_q(k)}" for k in self.keys)
        # Unchanged: every column the update would write already holds what it would write.
        if self.keep_empty:
            same = " AND ".join(f"({stage}.{_q(c)} IS NULL OR t.{_q(c)}{eq}{stage}.{_q(c)})"
                                for c in self.updated_columns)
        else:
            same = " AND ".join(f"t.{_q(c)}{eq}{stage}.{_q(c)}" for c in self.updated_columns)
        same = same or "1 = 1"
        unchanged = self.connection.exec_driver_sql(
            f"DELETE FROM {stage} WHERE EXISTS (SELECT 1 FROM {table} t WHERE {key_match} AND {same})").rowcount
        updated = self._scalar(
            f"SELECT count(*) FROM {stage} WHERE EXISTS (SELECT 1 FROM {table} t WHERE {key_match})")
        remaining = self._scalar(f"SELECT count(*) FROM {stage}")
        if remaining:
            self.write(only_new_keys=not updated)
        if self.entity == "reviews":  # a changed review must be scored again by the sentiment service
            self.connection.execute(
                text(f"DELETE FROM review_sentiment WHERE shop_id = :shop "
                     f"AND review_id IN (SELECT review_id FROM {stage})"),
                {"shop": self.shop_id})
        return {"inserted": remaining - updated, "updated": updated, "unchanged": unchanged}

    def write(self, only_new_keys: bool) -> None:
        """Write the staged rows; ``only_new_keys``: none of their keys was stored when counted.

        Then a plain INSERT skips the per-row conflict check, about half the cost of writing a
        first import of history. Should a concurrent writer (a live event, another import) have
        added one of those keys since, the INSERT fails as a whole and the upsert runs instead.
        """
        stage, table = self.stage_name, self.table.name
        columns = ", ".join(map(_q, self.columns))
        insert_all = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} WHERE true"
        if self.keep_empty:
            assignments = [f"{_q(c)} = COALESCE(excluded.{_q(c)}, {table}.{_q(c)})" for c in self.updated_columns]
        else:
            assignments = [f"{_q(c)} = excluded.{_q(c)}" for c in self.updated_columns]
        conflict = f"DO UPDATE SET {', '.join(assignments)}" if assignments else "DO NOTHING"
        upsert_all = f"{insert_all} ON CONFLICT ({', '.join(map(_q, self.keys))}) {conflict}"
        if only_new_keys:
            try:
                with self.connection.begin_nested():
                    self.connection.exec_driver_sql(insert_all)
                return
            except IntegrityError:
                pass
        self.connection.exec_driver_sql(upsert_all)

    def refresh_statistics(self) -> None:
        """PostgreSQL: re-sample the table after a load, so the next queries (questions, training)
        are planned for the rows now there, not for the empty table autovacuum last saw."""
        if self.is_pg:
            self.connection.exec_driver_sql(f"ANALYZE {self.table.name}")
            self.connection.commit()

    def latest_event_by_user(self) -> Iterator[tuple[str, datetime]]:
        """(user, newest event time) for every user among the staged events, streamed."""
        result = self.connection.exec_driver_sql(f"SELECT user_id, max(ts) FROM {self.stage_name} GROUP BY user_id",
                                                 execution_options={"stream_results": True, "yield_per": 10_000})
        for user, ts in result:
            yield user, ts if isinstance(ts, datetime) else datetime.fromisoformat(str(ts))

    def event_months(self) -> tuple[datetime | None, datetime | None]:
        row = self.connection.exec_driver_sql(f"SELECT min(ts), max(ts) FROM {self.stage_name}").one()
        return row[0], row[1]

    def orphan_order_items(self, sample: int = 5) -> dict:
        """order_items whose order is not (yet) imported: kept, but flagged."""
        stage = self.stage_name
        where = (f"NOT EXISTS (SELECT 1 FROM orders o WHERE o.shop_id = {stage}.shop_id "
                 f"AND o.order_id = {stage}.order_id)")
        count = self._scalar(f"SELECT count(*) FROM {stage} WHERE {where}")
        ids = [r[0] for r in self.connection.exec_driver_sql(
            f"SELECT DISTINCT order_id FROM {stage} WHERE {where} LIMIT {sample}")]
        return {"order_items_without_order": count, "example_order_ids": ids}

    def quality(self) -> dict:
        """Per field: null rate, distinct count, range; plus outliers. Read from the staged rows."""
        stage = self.stage_name
        fields = [c for c in self.columns if c != "shop_id"]
        parts = ["count(*)"]
        for c in fields:
            parts += [f"count({_q(c)})", f"count(DISTINCT {_q(c)})" if c != "attributes" else "0"]
            ranged = _is_ranged(self.table.columns[c].type)
            parts += [f"min({_q(c)})", f"max({_q(c)})"] if ranged else ["NULL", "NULL"]
        row = self.connection.exec_driver_sql(f"SELECT {', '.join(parts)} FROM {stage}").one()
        total = row[0]
        report: dict = {"rows": total, "fields": {}}
        for i, c in enumerate(fields):
            non_null, distinct, low, high = row[1 + 4 * i: 5 + 4 * i]
            entry = {"null_rate": round(1 - non_null / total, 4) if total else 0.0, "distinct": distinct}
            if low is not None:
                entry["min"], entry["max"] = _jsonable(low), _jsonable(high)
            report["fields"][c] = entry
        report["outliers"] = self._outliers()
        return report

    def _outliers(self) -> dict:
        stage = self.stage_name
        outliers = {}
        if "quantity" in self.columns:
            outliers["negative_quantity"] = self._scalar(f"SELECT count(*) FROM {stage} WHERE quantity < 0")
        price = next((c for c in ("unit_price", "price") if c in self.columns), None)
        if price and "item_id" in self.columns:
            prices = pd.read_sql_query(text(f"SELECT item_id, {price} AS price FROM {stage} WHERE {price} IS NOT NULL"),
                                       self.connection)
            # SQLite hands NUMERIC back as Decimal objects: make them numbers before the median.
            prices["price"] = pd.to_numeric(prices["price"], errors="coerce").astype(float)
            prices = prices.dropna(subset=["price"])
            if not prices.empty:
                median = prices.groupby("item_id")["price"].transform("median")
                outliers["price_over_100x_item_median"] = int((prices["price"] > 100 * median).sum())
        return outliers

    def close(self) -> None:
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.stage_name}")


@contextmanager
def staging_connection(database_url: str) -> Iterator[Connection]:
    """The import's own connection. If the import stops before it commits (cancelled, failed,
    a lost database), what it staged is dropped with it: the real tables were never touched, and
    the pooled connection does not carry the temporary table to the next user."""
    with get_engine(database_url).connect() as connection:
        try:
            yield connection
        except BaseException:
            try:
                connection.rollback()
                for entity in TABLES:
                    connection.exec_driver_sql(f"DROP TABLE IF EXISTS stage_{entity}")
                connection.commit()
            except Exception:  # the connection itself is gone: so are its temporary tables
                connection.invalidate()
            raise


def _is_ranged(column_type) -> bool:
    return column_type.__class__.__name__ in ("Numeric", "UTCDateTime", "Date", "Integer", "SmallInteger")


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return float(value)


def _storable(series: pd.Series, column_type, is_pg: bool) -> pd.Series:
    """A column as the database takes it: COPY text for PostgreSQL, driver values for SQLite."""
    kind = column_type.__class__.__name__ if column_type is not None else ""
    if kind == "UTCDateTime":
        if not pd.api.types.is_datetime64_any_dtype(series):  # a field the file did not have
            return pd.Series([None] * len(series), index=series.index, dtype=object)
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        text = np.datetime_as_string(naive, unit="us")  # vectorised, unlike strftime
        text = np.char.add(text, "+00:00") if is_pg else np.char.replace(text, "T", " ")
        return pd.Series(text, index=series.index, dtype=object).where(series.notna().to_numpy(), None)
    if kind == "Date":
        return series.map(lambda v: v.isoformat() if isinstance(v, date) else None)
    if kind == "JSON":
        return series.map(lambda v: json.dumps(v) if v is not None else None)
    if kind in ("Integer", "SmallInteger"):
        return pd.array(series, dtype="Int64") if is_pg else series.astype(object).where(series.notna(), None)
    if kind == "Numeric":
        return pd.to_numeric(series) if is_pg else series.astype(object).where(series.notna(), None)
    return series


def ensure_event_partitions(connection: Connection, start: datetime | None, end: datetime | None) -> list[str]:
    """Create the monthly partitions of ``events`` that [start, end] needs (PostgreSQL only)."""
    if connection.dialect.name != "postgresql" or start is None:
        return []
    created = []
    month = date(start.year, start.month, 1)
    last = date(end.year, end.month, 1)
    while month <= last:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        name = f"events_p{month:%Y_%m}"
        exists = connection.exec_driver_sql("SELECT to_regclass(%(n)s)", {"n": name}).scalar()
        if exists is None:
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events "
                f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{following.isoformat()} 00:00:00+00')")
            created.append(name)
        month = following
    return created


def forget_rejections(session: Session, job_id: str) -> None:
    """Drop what an earlier attempt of this import kept, so a rerun reports each row once."""
    session.execute(delete(ImportRejection).where(ImportRejection.job_id == job_id))


def save_rejections(session: Session, shop_id: int, job_id: str, rejections: Iterable[Rejection],
                    already: int) -> int:
    """Keep rejected rows for the report (up to MAX_STORED_REJECTIONS per import)."""
    room = max(0, MAX_STORED_REJECTIONS - already)
    rows = [{"shop_id": shop_id, "job_id": job_id, "row_number": r.row,
             "column": i18n.dumps_text(r.column) if isinstance(r.column, i18n.Message) else r.column[:200],
             "raw_value": r.value, "reason": i18n.dumps_text(r.reason)} for r in list(rejections)[:room]]
    if rows:
        session.execute(insert(ImportRejection), rows)
    return len(rows)


def rejection_report(database_url: str, shop_id: int, job_id: str, language: str) -> Iterator[str]:
    """The rejections of one import as CSV lines in ``language``; cells that a spreadsheet would run
    as a formula (=, +, -, @) are prefixed with ' so opening the report never executes anything."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([i18n.t(f"ingestion.report_{name}").render(language) for name in ("row", "column", "value",
                                                                                       "reason")])
    yield "\ufeff" + buffer.getvalue()  # BOM: Excel opens UTF-8 Chinese text correctly
    query = (select(ImportRejection.row_number, ImportRejection.column, ImportRejection.raw_value,
                    ImportRejection.reason)
             .where(ImportRejection.job_id == job_id).order_by(ImportRejection.row_number, ImportRejection.id))
    with session_scope(shop_id, database_url) as session:
        for row in session.execute(query).yield_per(5000):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([row[0], _defuse(i18n.loads_text(row[1], language)), _defuse(row[2]),
                             _defuse(i18n.loads_text(row[3], language))])
            yield buffer.getvalue()


def _defuse(value: str | None) -> str:
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def get_import_job(session: Session, job_id: str) -> Job | None:
    job = session.get(Job, job_id)
    return job if job is not None and job.kind == "ingestion.import" else None


def record_events(session: Session, shop_id: int, events: list[dict], redis_url: str | None) -> tuple[int, int]:
    """Append real-time events (already validated by the schema); returns (accepted, duplicates).

    User ids are pseudonymised exactly as imports do, so live events join imported history.
    Commits: the recommender reads a user's events since training on their next request.
    """
    shop = session.get(Shop, shop_id)
    frame = pd.DataFrame(events)
    stamps, reasons = clean_datetime(frame["ts"].astype(str).where(frame["ts"].notna(), ""), shop.timezone)
    if reasons.notna().any():
        bad = {f"events.{i}.ts": [reason] for i, reason in reasons.dropna().items()}
        raise InvalidInput(t("ingestion.bad_event_times"), errors=bad)
    now = pd.Timestamp.now(tz="UTC")
    stamps = stamps.where(stamps.notna(), now)
    # Live events are recent by nature; this also keeps a public client key from creating
    # partitions for arbitrary months. History goes through POST /v1/imports.
    outside = (stamps < now - pd.Timedelta(days=LIVE_EVENT_DAYS)) | (stamps > now + pd.Timedelta(days=1))
    if outside.any():
        raise InvalidInput(t("ingestion.live_window", days=LIVE_EVENT_DAYS),
                           errors={f"events.{i}.ts": [t("ingestion.outside_live_window")]
                                                       for i in outside[outside].index})
    users = pseudonymise_many(shop.user_id_salt, frame["user_id"])
    rows = [{"shop_id": shop_id, "user_id": users[u], "item_id": i, "type": t, "ts": ts.to_pydatetime(),
             "category_id": c} for u, i, t, ts, c in zip(frame["user_id"], frame["item_id"], frame["type"], stamps,
                                                          frame.get("category_id", [None] * len(frame)), strict=True)]
    ensure_event_partitions(session.connection(), stamps.min(), stamps.max())
    inserted = session.execute(upsert(session, Event).on_conflict_do_nothing().returning(Event.ts), rows).all()
    activity.mark(redis_url, shop_id, ((row["user_id"], row["ts"]) for row in rows))  # before the commit
    session.commit()
    return len(rows), len(rows) - len(inserted)
