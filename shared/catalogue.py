"""The catalogue as people read it: every answer that lists items names them by their title too,
so an operator never has to look up what "685579235196" is."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Product


def titles(session: Session, item_ids: Iterable[str]) -> dict[str, str]:
    """The catalogue titles of these items (items not in the catalogue, or untitled, are left out)."""
    wanted = {str(item_id) for item_id in item_ids if item_id}
    if not wanted:
        return {}
    rows = session.execute(select(Product.item_id, Product.title).where(Product.item_id.in_(wanted))).all()
    return {item_id: title for item_id, title in rows if title}


def with_titles(session: Session, rows: list[dict]) -> list[dict]:
    """Each row (a dict with ``item_id``) with its item's catalogue ``title`` (None when it has none)."""
    names = titles(session, (row["item_id"] for row in rows))
    return [{**row, "title": names.get(row["item_id"])} for row in rows]
