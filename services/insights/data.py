"""SQL of the insights service: read-only, shop-scoped (the session's tenancy adds shop_id), bounded.

Questions are answered from aggregates the database computes (``order_aggregates``,
``event_aggregates``): a year of orders or ten million events comes back as a few hundred rows,
never as raw rows into Python. Queries take a UTC time window; statements stop after
``STATEMENT_TIMEOUT_MS`` on PostgreSQL and row-returning ones are capped at ``ROW_LIMIT``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Float, String, case, cast, distinct, func, literal, null, select, text
from sqlalchemy.orm import Session

from shared.db import local_bucket, local_weekday
from shared.models import Customer, Event, Order, OrderItem, Product, Review, ReviewSentiment
from shared.sales import BUY_EVENT, VIEW_EVENT, is_sale, line_revenue, line_units, return_flag, sale_flag

ROW_LIMIT = 2_000_000
STATEMENT_TIMEOUT_MS = 10_000


def _bounded(session: Session) -> None:
    """PostgreSQL: a time limit, and no JIT — compiling a question's query took longer (0.46 s,
    measured) than running it over a year of orders."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}; SET LOCAL jit = off"),
                        execution_options={"tenant_checked": True})


# What an order-metric question can group by or filter on: an order column, a product column, a
# local time bucket, and what is derived per order (its local weekday, weekend or workday).
ORDER_KEYS = {"province": Order.province, "city": Order.city, "channel": Order.channel, "user_id": Order.user_id,
              "status": Order.status, "item_id": OrderItem.item_id, "category": Product.category,
              "brand": Product.brand}
LINE_KEYS = {"item_id", "category", "brand"}
TIME_BUCKETS = ("day", "week", "month")
DERIVED_KEYS = ("weekday", "day_type", "customer")
SUM_COLUMNS = ["lines", "revenue", "units", "orders", "buyers", "refunded"]
CUSTOMER_COLUMNS = ["new_buyers", "returning_buyers"]
# Metrics whose sums need the order lines (money and units); the others count orders and buyers.
LINE_METRICS = {"revenue", "units", "aov"}
EVENT_METRIC_TYPES = {"carts": ("cart",), "favs": ("fav",), "conversion": (VIEW_EVENT, BUY_EVENT)}
WEEKEND_DAYS = (6, 7)  # ISO Saturday and Sunday


def _equals(column, value):
    """A filter: one value, or any of several (the values a question compares)."""
    return column.in_(list(value)) if isinstance(value, list | tuple) else column == value


DERIVED_KEYS_SET = set(DERIVED_KEYS)


def _derived_keys(timezone: str, start: datetime):
    """(each buyer's first sale order, the per-order keys derived from it and from the local day)."""
    weekday = local_weekday(Order.created_at, timezone)
    firsts = (select(Order.user_id, func.min(Order.created_at).label("first_at"))
              .where(is_sale(), Order.user_id.is_not(None)).group_by(Order.user_id).subquery("firsts"))
    return firsts, {"weekday": weekday, "day_type": case((weekday.in_(WEEKEND_DAYS), "weekend"), else_="workday"),
                    "customer": case((firsts.c.first_at < start, "returning"), (firsts.c.first_at >= start, "new"))}


def order_aggregates(session: Session, start: datetime, end: datetime, timezone: str, group: tuple[str, ...] = (),
                     filters: dict[str, str | list[str]] | None = None, metric: str | None = None) -> pd.DataFrame:
    """Per group: the sums the order metrics are made of (answer.py), computed in the database.

    One parameterised query over the orders created in [start, end), with ``filters`` (column →
    value, or values) applied first. Columns: the ``group`` keys (``ORDER_KEYS``, a local
    ``TIME_BUCKETS`` key or a ``DERIVED_KEYS`` one), ``lines`` (rows read), ``revenue`` and ``units``
    of sales, ``orders`` and ``buyers`` (distinct, of sales), ``refunded`` (distinct refunded
    orders), ``title`` when grouped by item, ``repeaters`` (buyers with 2+ sale orders in the group)
    when ``metric`` is the repeat rate or not given, and ``new_buyers``/``returning_buyers`` (buyers
    whose first sale order ever is this one / came before ``start``) when ``metric`` is one of those.

    Orders count as sales unless the question names a status (filter or group): then every order
    in that status counts ("被取消的订单" are the closed ones). ``customer`` filters on buyers who are
    new in the range or came back to it. A ``metric`` that needs no money or units, with no
    product group or filter, is counted on the orders alone, without joining their lines (a year's
    question reads 3× less).

    What a sale, a return, revenue and units are: ``shared.sales``; an order imported without
    its lines counts its own paid amount.
    """
    _bounded(session)
    filters = filters or {}
    with_lines = metric is None or metric in LINE_METRICS or bool(LINE_KEYS & {*group, *filters})
    with_repeaters = metric in (None, "repeat_rate")
    with_firsts = metric in CUSTOMER_COLUMNS or "customer" in {*group, *filters}
    firsts, derived = _derived_keys(timezone, start) if with_firsts or DERIVED_KEYS_SET & {*group, *filters} \
        else (None, {})
    order_keys = {key for key in (*group, *filters) if key in ORDER_KEYS and key not in LINE_KEYS}
    counted = literal(1) if "status" in {*group, *filters} else sale_flag()
    customer_columns = [case((Order.created_at == firsts.c.first_at, 1), else_=0).label("is_first"),
                        case((firsts.c.first_at < start, 1), else_=0).label("came_back")] if with_firsts else []
    orders = (select(Order.shop_id, Order.order_id, Order.user_id, Order.paid_amount, counted.label("sale"),
                     return_flag().label("returned"), *customer_columns,
                     *(ORDER_KEYS[key].label(key) for key in sorted(order_keys - {"user_id"})),
                     *(local_bucket(Order.created_at, timezone, key).label(key)
                       for key in group if key in TIME_BUCKETS),
                     *(derived[key].label(key) for key in group if key in DERIVED_KEYS))
              .where(Order.created_at >= start, Order.created_at < end,
                     *(_equals(ORDER_KEYS[key], value) for key, value in filters.items() if key in order_keys),
                     *(_equals(derived[key], value) for key, value in filters.items()
                       if key in DERIVED_KEYS and key != "customer"),
                     *(ORDER_KEYS[key].is_not(None) for key in group if key in order_keys and key != "user_id"),
                     *(derived[key].is_not(None) for key in group if key == "customer")))
    if with_firsts:
        orders = orders.outerjoin(firsts, firsts.c.user_id == Order.user_id)
        customer = filters.get("customer")
        orders = orders.where(firsts.c.first_at.is_not(None)) if customer else orders  # buyers with a sale
        if customer is not None:
            orders = orders.where(_equals(derived["customer"], customer))
    # PostgreSQL would fold this into the join and ask each line for its order's net:
    # computed once per order instead (materialised).
    orders = orders.cte("sales").prefix_with("MATERIALIZED", dialect="postgresql")
    keys = [orders.c[key] if key not in LINE_KEYS else ORDER_KEYS[key].label(key) for key in group]
    if with_lines:
        revenue = case((OrderItem.order_id.is_(None), orders.c.paid_amount),
                       else_=line_revenue())
        amounts = [line_units().label("units"), Product.title.label("title"),
                   cast(revenue, Float).label("revenue")]  # Float: Decimal objects cost more than the query
    else:
        amounts = [cast(null(), Float).label("units"), cast(null(), String).label("title"),
                   cast(null(), Float).label("revenue")]
    firsts_out = [orders.c.is_first, orders.c.came_back] if with_firsts else []
    rows = select(*keys, orders.c.order_id, orders.c.user_id, *amounts, orders.c.sale, orders.c.returned, *firsts_out)
    if with_lines:
        rows = (rows.select_from(orders)
                .outerjoin(OrderItem, (OrderItem.shop_id == orders.c.shop_id)
                           & (OrderItem.order_id == orders.c.order_id))
                .outerjoin(Product, (Product.shop_id == OrderItem.shop_id) & (Product.item_id == OrderItem.item_id)))
    # Lines without an item (or product field) are dropped after grouping, not here: a WHERE on
    # them would have SQLite walk every line of the shop instead of the range's orders.
    lines = rows.where(*(_equals(ORDER_KEYS[key], value) for key, value in filters.items() if key in LINE_KEYS)
                       ).subquery("lines")
    by = [lines.c[key] for key in group]
    sold = lines.c.sale == 1
    customer_sums = [
        func.count(distinct(case((sold & (lines.c.is_first == 1), lines.c.user_id)))).label("new_buyers"),
        func.count(distinct(case((sold & (lines.c.came_back == 1), lines.c.user_id)))).label("returning_buyers"),
    ] if with_firsts else []
    totals = select(*by, func.count().label("lines"),
                    func.sum(case((sold, lines.c.revenue))).label("revenue"),
                    func.sum(case((sold, lines.c.units))).label("units"),
                    func.count(distinct(case((sold, lines.c.order_id)))).label("orders"),
                    func.count(distinct(case((sold, lines.c.user_id)))).label("buyers"),
                    func.count(distinct(case((lines.c.returned == 1, lines.c.order_id)))).label("refunded"),
                    *customer_sums,
                    *([func.max(lines.c.title).label("title")] if "item_id" in group else [])).group_by(*by)
    columns = [*SUM_COLUMNS, *(CUSTOMER_COLUMNS if with_firsts else [])]
    frame = pd.DataFrame(session.execute(totals).all(),
                         columns=[*group, *columns, *(["title"] if "item_id" in group else [])])
    if with_repeaters:
        per_buyer = (select(*by, lines.c.user_id, func.count(distinct(lines.c.order_id)).label("n"))
                     .where(sold, lines.c.user_id.is_not(None)).group_by(*by, lines.c.user_id).subquery("per_buyer"))
        repeaters = select(*(per_buyer.c[key] for key in group), func.count().label("repeaters")).where(
            per_buyer.c.n >= 2).group_by(*(per_buyer.c[key] for key in group))
        repeat = pd.DataFrame(session.execute(repeaters).all(), columns=[*group, "repeaters"])
        frame = frame.merge(repeat, on=list(group), how="left") if group else frame.assign(
            repeaters=repeat["repeaters"].iloc[0] if len(repeat) else 0)
        columns = [*columns, "repeaters"]
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0.0).astype(float)
    line_keys = [key for key in group if key in LINE_KEYS]
    return frame.dropna(subset=line_keys).reset_index(drop=True) if line_keys else frame


def event_aggregates(session: Session, start: datetime, end: datetime, timezone: str, group: str | None,
                     metric: str, filters: dict[str, str] | None = None) -> pd.DataFrame:
    """Per event type (and item, or local time bucket): events, and distinct users where the
    ``metric`` needs them, counted in the database over only the types it needs.

    加购数/收藏数 count cart/fav events; conversion counts distinct pv and buy users, in two steps
    (events per user, then users) rather than with COUNT(DISTINCT): the database can hash and
    parallelise that, where a DISTINCT count sorts every event.
    """
    _bounded(session)
    types = EVENT_METRIC_TYPES[metric]
    key = [] if group is None else [
        (local_bucket(Event.ts, timezone, group) if group in TIME_BUCKETS else Event.item_id).label(group)]
    rows = select(*key, Event.type, Event.user_id).where(Event.ts >= start, Event.ts < end, Event.type.in_(types))
    if filters:  # category or brand (the caller refuses others): the viewed item's, from the catalogue
        rows = rows.join(Product, (Product.shop_id == Event.shop_id) & (Product.item_id == Event.item_id)).where(
            *(ORDER_KEYS[column] == value for column, value in filters.items()))
    rows = rows.subquery("rows")
    by = [rows.c[group]] if group else []
    if metric != "conversion":
        result = session.execute(select(*by, rows.c.type, func.count(), null()).group_by(*by, rows.c.type)).all()
    else:
        per_user = (select(*by, rows.c.type, func.count().label("n"))
                    .group_by(*by, rows.c.type, rows.c.user_id).subquery("per_user"))
        outer = [per_user.c[group]] if group else []
        result = session.execute(select(*outer, per_user.c.type, func.sum(per_user.c.n), func.count())
                                 .group_by(*outer, per_user.c.type)).all()
    frame = pd.DataFrame(result, columns=[*([group] if group else []), "type", "events", "users"])
    frame[["events", "users"]] = frame[["events", "users"]].astype(float)
    return frame

def reviews(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    rows = session.execute(
        select(Review.item_id, Review.rating, Review.created_at, Product.category, Product.brand, Product.title)
        .outerjoin(Product, (Product.shop_id == Review.shop_id) & (Product.item_id == Review.item_id))
        .where(Review.created_at >= start, Review.created_at < end).limit(ROW_LIMIT)).all()
    return pd.DataFrame(rows, columns=["item_id", "rating", "created_at", "category", "brand", "title"])


def known_values(session: Session) -> dict[str, list[str]]:
    """Values a question may filter on: categories and brands of the catalogue, provinces and cities."""
    def values(*columns) -> set[str]:
        return {v for column in columns for (v,) in session.execute(select(column).distinct()).all() if v}

    return {"category": sorted(values(Product.category)), "brand": sorted(values(Product.brand)),
            "province": sorted(values(Order.province, Customer.province)),
            "city": sorted(values(Order.city, Customer.city))}


def catalogue(session: Session) -> pd.DataFrame:
    """item_id, title, category, brand of every listed product (so items that sold nothing still rank)."""
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.brand, Product.status)
                           ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "title", "category", "brand", "status"])
    return frame[~frame["status"].isin(["delisted", "offsale", "下架"])].drop(columns="status")


def latest_order_time(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Order.created_at)))


def buyer_orders(session: Session, end: datetime, start: datetime | None = None) -> pd.DataFrame:
    """user_id, order_id, created_at, revenue of sale orders created before ``end`` (and from
    ``start``, if given): the RFM input, and a segment's recent months."""
    _bounded(session)
    revenue = func.coalesce(func.sum(line_revenue()), Order.paid_amount, 0)
    since = Order.created_at >= start if start is not None else Order.created_at.is_not(None)
    rows = session.execute(
        select(Order.user_id, Order.order_id, Order.created_at, revenue)
        .outerjoin(OrderItem, (OrderItem.shop_id == Order.shop_id) & (OrderItem.order_id == Order.order_id))
        .where(Order.created_at < end, since, Order.user_id.is_not(None), is_sale())
        .group_by(Order.user_id, Order.order_id, Order.created_at, Order.paid_amount).limit(ROW_LIMIT)
    ).all()
    frame = pd.DataFrame(rows, columns=["user_id", "order_id", "created_at", "revenue"])
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce").fillna(0.0)
    return frame


def behaviour_per_user(session: Session) -> pd.DataFrame:
    """user_id with counts of pv, cart, fav events (k-means features)."""
    _bounded(session)
    rows = session.execute(select(Event.user_id, Event.type, func.count()).group_by(Event.user_id, Event.type)).all()
    frame = pd.DataFrame(rows, columns=["user_id", "type", "count"])
    if frame.empty:
        return pd.DataFrame(columns=["user_id", "pv", "cart", "fav"])
    return frame.pivot_table(index="user_id", columns="type", values="count", fill_value=0).reset_index()


def negative_reviews(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """item_id, aspects of reviews scored negative by the sentiment service, created in [start, end)."""
    rows = session.execute(select(ReviewSentiment.item_id, ReviewSentiment.aspects)
                           .where(ReviewSentiment.label == "negative", ReviewSentiment.created_at >= start,
                                  ReviewSentiment.created_at < end)).all()
    return pd.DataFrame(rows, columns=["item_id", "aspects"])

