"""SQL of the sentiment service: reviews to score, their stored scores, and what summaries read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import upsert
from shared.models import Product, Review, ReviewSentiment, ShopSetting


def rated_reviews(session: Session) -> pd.DataFrame:
    """review_id, text, rating of the reviews with a star rating (the shop's own labels)."""
    rows = session.execute(select(Review.review_id, Review.text, Review.rating).where(Review.rating.is_not(None))).all()
    return pd.DataFrame(rows, columns=["review_id", "text", "rating"])


def count_unscored(session: Session, model_version: int) -> int:
    return session.scalar(_unscored(model_version, select(func.count()).select_from(Review)))


def unscored_batches(session: Session, model_version: int, batch: int, everything: bool = False
                     ) -> Iterator[pd.DataFrame]:
    """Reviews without a score from ``model_version`` (``everything``: all reviews), ``batch`` at a
    time (keyset pages by review_id)."""
    after = ""
    while True:
        query = select(Review.review_id, Review.item_id, Review.created_at, Review.text)
        query = query if everything else _unscored(model_version, query)
        rows = session.execute(query.where(Review.review_id > after).order_by(Review.review_id).limit(batch)).all()
        if not rows:
            return
        after = rows[-1][0]
        yield pd.DataFrame(rows, columns=["review_id", "item_id", "created_at", "text"])


def _unscored(model_version: int, query):
    scored = (select(ReviewSentiment.review_id)
              .where(ReviewSentiment.review_id == Review.review_id, ReviewSentiment.model_version == model_version))
    return query.where(~scored.exists())


def save_scores(session: Session, rows: list[dict]) -> None:
    """Upsert scores (one statement per batch); the caller commits."""
    if not rows:
        return
    insert = upsert(session, ReviewSentiment)
    updated = {c: insert.excluded[c] for c in ("item_id", "created_at", "label", "score", "aspects", "model_version")}
    session.execute(insert.on_conflict_do_update(index_elements=["shop_id", "review_id"], set_=updated), rows)


def item_known(session: Session, item_id: str) -> bool:
    return (session.scalar(select(func.count()).select_from(Review).where(Review.item_id == item_id)) > 0
            or session.get(Product, (session.info["tenant"], item_id)) is not None)


def item_scores(session: Session, item_id: str) -> pd.DataFrame:
    """The item's scored reviews: created_at, label, score, aspects, text."""
    rows = session.execute(
        select(ReviewSentiment.created_at, ReviewSentiment.label, ReviewSentiment.score, ReviewSentiment.aspects,
               Review.text)
        .join(Review, (Review.shop_id == ReviewSentiment.shop_id) & (Review.review_id == ReviewSentiment.review_id))
        .where(ReviewSentiment.item_id == item_id)
    ).all()
    return pd.DataFrame(rows, columns=["created_at", "label", "score", "aspects", "text"])


def item_review_count(session: Session, item_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Review).where(Review.item_id == item_id))


def recent_scores(session: Session, since: datetime | None) -> pd.DataFrame:
    """Scored reviews of every item created at or after ``since``: item_id, created_at, label, aspects, text."""
    query = (select(ReviewSentiment.item_id, ReviewSentiment.created_at, ReviewSentiment.label,
                    ReviewSentiment.aspects, Review.text)
             .join(Review, (Review.shop_id == ReviewSentiment.shop_id)
                   & (Review.review_id == ReviewSentiment.review_id))
             .where(ReviewSentiment.created_at.is_not(None)))
    if since is not None:
        query = query.where(ReviewSentiment.created_at >= since)
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["item_id", "created_at", "label", "aspects", "text"])


def item_categories(session: Session) -> dict[str, str]:
    return {item_id: category for item_id, category in session.execute(
        select(Product.item_id, Product.category).where(Product.category.is_not(None)))}


def latest_review_time(session: Session) -> datetime | None:
    return session.scalar(select(func.max(ReviewSentiment.created_at)))


LEXICON_SETTING = "sentiment.aspects"


def lexicon_extension(session: Session) -> dict[str, list[str]]:
    setting = session.get(ShopSetting, (session.info["tenant"], LEXICON_SETTING))
    return dict(setting.value) if setting else {}


def save_lexicon_extension(session: Session, shop_id: int, aspects: dict[str, list[str]]) -> None:
    setting = session.get(ShopSetting, (shop_id, LEXICON_SETTING))
    if setting is None:
        session.add(ShopSetting(shop_id=shop_id, name=LEXICON_SETTING, value=aspects))
    else:
        setting.value = aspects


def count_reviews(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Review))
