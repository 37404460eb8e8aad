"""An item's sentiment summary from its stored review scores: positive rate, weekly trend, and the
aspects behind complaints and praise. Pure: the rows come from ``data.item_scores``."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from shared.i18n import t

EXAMPLES = 3
EXAMPLE_CHARS = 200


def item_summary(item_id: str, reviews: int, scores: pd.DataFrame, timezone: str, weeks: int) -> dict:
    answer = {"item_id": item_id, "reviews": reviews, "scored": len(scores), "positive_rate": None,
              "labels": {"positive": 0, "negative": 0, "neutral": 0}, "trend": [], "top_complaints": [],
              "top_praise": []}
    if reviews == 0:
        answer["note"] = t("sentiment.no_reviews")
        return answer
    if scores.empty:
        answer["note"] = t("sentiment.none_scored", reviews=reviews)
        return answer
    if len(scores) < reviews:
        answer["note"] = t("sentiment.some_unscored", unscored=reviews - len(scores))
    labels = scores["label"].value_counts()
    answer["labels"].update({k: int(v) for k, v in labels.items()})
    answer["positive_rate"] = positive_rate(scores["label"])
    answer["trend"] = _weekly_trend(scores, timezone, weeks)
    answer["top_complaints"] = _by_aspect(scores, "negative")
    answer["top_praise"] = _by_aspect(scores, "positive")
    return answer


def positive_rate(labels: pd.Series) -> float | None:
    decided = labels[labels != "neutral"]
    return round(float((decided == "positive").mean()), 4) if len(decided) else None


def _weekly_trend(scores: pd.DataFrame, timezone: str, weeks: int) -> list[dict]:
    dated = scores.dropna(subset=["created_at"])
    if dated.empty:
        return []
    local = pd.to_datetime(dated["created_at"], utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
    monday = (local.dt.normalize() - pd.to_timedelta(local.dt.dayofweek, unit="D"))
    last = monday.max()
    all_weeks = pd.date_range(end=last, periods=weeks, freq="7D")
    trend = []
    for week in all_weeks:
        in_week = dated["label"][monday == week]
        trend.append({"week": week.date().isoformat(), "reviews": int(len(in_week)),
                      "positive_rate": positive_rate(in_week)})
    return trend


def group_summary(name: str, scores: pd.DataFrame, timezone: str, weeks: int) -> dict:
    """A group of items' (a category's) reviews: count, positive rate, weekly trend, complaints."""
    return {"category": name, "reviews": int(len(scores)), "positive_rate": positive_rate(scores["label"]),
            "trend": _weekly_trend(scores, timezone, weeks), "top_complaints": _by_aspect(scores, "negative", 3)}


def _by_aspect(scores: pd.DataFrame, label: str, limit: int = 5) -> list[dict]:
    """Aspects named in clauses with ``label``: how many reviews, their share, recent examples and,
    for each example, the clause the aspect was read from (to highlight it)."""
    counts: Counter = Counter()
    examples: dict[str, list[str]] = {}
    clauses: dict[str, list[str]] = {}
    ordered = scores.sort_values("created_at", ascending=False, na_position="last")
    for aspects, text in zip(ordered["aspects"], ordered["text"], strict=True):
        found = {}
        for a in aspects or []:
            if a.get("label") == label:
                found.setdefault(a["aspect"], a.get("clause") or "")
        for aspect, clause in found.items():
            counts[aspect] += 1
            kept = examples.setdefault(aspect, [])
            if len(kept) < EXAMPLES:
                kept.append(text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…")
                clauses.setdefault(aspect, []).append(clause if clause in kept[-1] else "")
    denominator = max(int((scores["label"] == label).sum()), 1)
    return [{"aspect": aspect, "count": count, "share_of_negative_reviews" if label == "negative"
             else "share_of_positive_reviews": round(count / denominator, 4), "examples": examples[aspect],
             "example_clauses": clauses[aspect]}
            for aspect, count in counts.most_common(limit)]
