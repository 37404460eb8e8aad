"""SQL of the decisions service: the decision log, campaign members, and the sales an outcome is
measured on (what a sale is: shared.sales). Never commits."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shared import sales
from shared.calendar import local_window
from shared.db import newest_first
from shared.errors import NotFound
from shared.i18n import t
from shared.models import Decision, DecisionMember, Product


def find_by_dedupe_key(session: Session, dedupe_key: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.dedupe_key == dedupe_key))


def get(session: Session, decision_id: int) -> Decision:
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound(t("decisions.not_found", decision_id=decision_id))
    return decision


def page(session: Session, filters: dict, limit: int, cursor: str | None) -> tuple[list[Decision], str | None]:
    """Decisions newest first, filtered by kind, status, item, segment and whether measured."""
    query = select(Decision)
    for name in ("kind", "status", "item_id", "segment"):
        if filters.get(name):
            query = query.where(getattr(Decision, name) == filters[name])
    if filters.get("measured") is not None:
        measured_at = Decision.measured_at
        query = query.where(measured_at.is_not(None) if filters["measured"] else measured_at.is_(None))
    return newest_first(session, query, Decision.decided_at, Decision.id, int, limit, cursor)


def measured(session: Session, kind: str | None = None) -> list[Decision]:
    query = select(Decision).where(Decision.measured_at.is_not(None))
    if kind:
        query = query.where(Decision.kind == kind)
    return list(session.scalars(query))


def unmeasured_accepted(session: Session) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.status == "accepted",
                                                       Decision.measured_at.is_(None))
                                .order_by(Decision.effective_on)))


def add_members(session: Session, shop_id: int, decision_id: int, user_ids: list[str], holdout: set[str]) -> None:
    rows = [{"shop_id": shop_id, "decision_id": decision_id, "user_id": user_id, "holdout": user_id in holdout}
            for user_id in user_ids]
    for start in range(0, len(rows), 5000):
        session.execute(insert(DecisionMember), rows[start:start + 5000])


def member_counts(session: Session, decision_id: int) -> dict[str, int]:
    rows = session.execute(select(DecisionMember.holdout, func.count()).where(DecisionMember.decision_id == decision_id)
                           .group_by(DecisionMember.holdout)).all()
    counts = {"treatment": 0, "holdout": 0}
    for holdout, count in rows:
        counts["holdout" if holdout else "treatment"] = int(count)
    return counts


def members_page(session: Session, decision_id: int, holdout: bool, after: str | None, limit: int) -> list[str]:
    """User ids of one group, in id order, after ``after`` (keyset paging)."""
    query = select(DecisionMember.user_id).where(DecisionMember.decision_id == decision_id,
                                                 DecisionMember.holdout.is_(holdout))
    if after is not None:
        query = query.where(DecisionMember.user_id > after)
    return list(session.scalars(query.order_by(DecisionMember.user_id).limit(limit)))


def members(session: Session, decision_id: int) -> pd.DataFrame:
    rows = session.execute(select(DecisionMember.user_id, DecisionMember.holdout)
                           .where(DecisionMember.decision_id == decision_id)).all()
    return pd.DataFrame(rows, columns=["user_id", "holdout"])


def category_peers(session: Session, item_id: str) -> list[str]:
    """The other items of the item's category (none when it has no category)."""
    category = select(Product.category).where(Product.item_id == item_id).scalar_subquery()
    return list(session.scalars(select(Product.item_id).where(Product.category == category,
                                                               Product.item_id != item_id)))


def item_days(session: Session, timezone: str, item_ids: list[str], span: tuple[date, date]) -> pd.DataFrame:
    return sales.item_days(session, timezone, item_ids, local_window(span, timezone))


def out_of_stock_dates(session: Session, item_id: str, span: tuple[date, date]) -> set[date]:
    return {day.date() for day in sales.out_of_stock_days(session, [item_id], span)["date"]}


def buyer_totals(session: Session, timezone: str, span: tuple[date, date]) -> pd.DataFrame:
    return sales.buyer_totals(session, local_window(span, timezone))


def data_through(session: Session, timezone: str) -> date | None:
    """The shop's last local day with a sale: outcomes are measured only on days its data covers."""
    latest = sales.last_sale_time(session)
    return pd.Timestamp(latest).tz_convert(timezone).date() if latest is not None else None
