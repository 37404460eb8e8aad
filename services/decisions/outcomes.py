"""How a decision turned out: the maths of the outcome check, pure (no Flask, no SQL).

Each check compares what was observed after the decision's effective day with what the model
predicted when the decision was taken, and says how sure it is. docs/decisions.md explains the
formulas and their limits; the names below follow it.

- price change: the item's units per day after vs before, divided by the same ratio of its
  category's other items whose price held still (a difference in differences on the log scale, so
  the season, the trend and a festival that lift the whole category cancel out); a 90% interval
  from the counts, widened by their overdispersion. Compared with ``(new / old) ** elasticity``.
- restock: whether the item ran out in the window the forecast said it would, and units sold
  against the forecast's p10..p90 over the window.
- campaign: the buy rate and revenue per member of the treated customers against the holdout kept
  out of the campaign, with a 90% interval of the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z90 = 1.6448536269514722  # two-sided 90%
# Fewer units than this across both windows cannot say anything about a price effect.
MIN_UNITS = 20
# An interval wider than this factor (high / low) is reported but called inconclusive.
MAX_RATIO_SPREAD = 4.0
# The category's other items adjust for the season only when they sold at least this many units in
# each window: a thin control adds more noise than the season it removes.
MIN_CONTROL_UNITS = 30
# A control's price "held still" when its median price after is within this share of before.
STILL_PRICE_SHARE = 0.02

VERDICTS = ("as_predicted", "better_than_predicted", "worse_than_predicted", "inconclusive")


@dataclass(frozen=True)
class Window:
    """Daily series of one window: units sold, revenue, and the days counted (in stock)."""

    units: np.ndarray
    revenue: np.ndarray

    @property
    def days(self) -> int:
        return int(len(self.units))

    @property
    def total(self) -> float:
        return float(self.units.sum())

    @property
    def per_day(self) -> float:
        return self.total / self.days if self.days else 0.0

    @property
    def price(self) -> float | None:
        """The mean price paid: revenue ÷ units (None without sales)."""
        return float(self.revenue.sum() / self.units.sum()) if self.units.sum() > 0 else None


def overdispersion(*windows: Window) -> float:
    """Variance ÷ mean of the daily units around each window's own mean (at least 1: Poisson).
    Units come in baskets and days differ, so counts vary more than a Poisson count would."""
    residual, mean, n = 0.0, 0.0, 0
    for window in windows:
        if window.days < 2:
            continue
        residual += float(((window.units - window.units.mean()) ** 2).sum())
        mean += window.total
        n += window.days - 1
    if n == 0 or mean <= 0:
        return 1.0
    variance = residual / n
    daily_mean = mean / sum(w.days for w in windows if w.days >= 2)
    return max(1.0, variance / daily_mean) if daily_mean > 0 else 1.0


def log_ratio(before: Window, after: Window) -> tuple[float, float]:
    """log(after per day ÷ before per day) and its standard error (Poisson counts times their
    overdispersion; half a unit added to each count so a window without sales stays finite)."""
    phi = overdispersion(before, after)
    a, b = after.total + 0.5, before.total + 0.5
    value = math.log((a / after.days) / (b / before.days))
    return value, math.sqrt(phi * (1 / a + 1 / b))


def price_change(before: Window, after: Window, control_before: Window | None, control_after: Window | None,
                 predicted: dict, cost: float | None) -> dict:
    """Observed effect of a price change against ``predicted`` (the advice as it was: ``elasticity``
    with ``ci_low``/``ci_high``, ``old_price``, ``new_price``, ``profit_change_pct``).

    The effect is measured at the prices really paid in the two windows (the shop may have set a
    price other than the one decided), and the prediction is restated at those prices."""
    own, own_se = log_ratio(before, after)
    usable = control_before is not None and control_after is not None and \
        min(control_before.total, control_after.total) >= MIN_CONTROL_UNITS
    if usable:
        common, common_se = log_ratio(control_before, control_after)
    else:
        common, common_se = 0.0, 0.0
    effect, effect_se = own - common, math.hypot(own_se, common_se)
    low, high = effect - Z90 * effect_se, effect + Z90 * effect_se

    old_price = before.price or predicted.get("old_price")
    new_price = after.price or predicted.get("new_price")
    ratio = (new_price / old_price) if old_price and new_price else None
    elasticity = predicted.get("elasticity")
    expected = _units_ratio(ratio, elasticity)
    expected_band = sorted(r for r in (_units_ratio(ratio, predicted.get("ci_low")),
                                       _units_ratio(ratio, predicted.get("ci_high"))) if r is not None)

    observed = {"units_per_day_before": round(before.per_day, 3), "units_per_day_after": round(after.per_day, 3),
                "days_before": before.days, "days_after": after.days,
                "price_before": _round(before.price), "price_after": _round(after.price),
                "units_ratio_raw": round(math.exp(own), 4),
                "category_ratio": round(math.exp(common), 4) if usable else None,
                "units_ratio": round(math.exp(effect), 4)}
    profit = _profit_change(before, after, math.exp(common), cost)
    if profit is not None:
        observed["profit_change_pct"] = profit
    interval = {"units_ratio": [round(math.exp(low), 4), round(math.exp(high), 4)], "level": 0.9}
    if (elasticity is not None and ratio) and not math.isclose(ratio, 1.0, abs_tol=1e-9):
        observed["implied_elasticity"] = round(effect / math.log(ratio), 3)
        ends = sorted(((low / math.log(ratio)), (high / math.log(ratio))))
        interval["elasticity"] = [round(ends[0], 3), round(ends[1], 3)]

    verdict = "inconclusive"
    if before.total + after.total >= MIN_UNITS and math.exp(high - low) <= MAX_RATIO_SPREAD and expected:
        # The prediction has its own 90% band (from the elasticity's): the two disagree when the
        # gap is beyond what both uncertainties together allow.
        predicted_se = (math.log(expected_band[-1]) - math.log(expected_band[0])) / (2 * Z90) \
            if len(expected_band) == 2 else 0.0
        gap = effect - math.log(expected)
        if abs(gap) <= Z90 * math.hypot(effect_se, predicted_se):
            verdict = "as_predicted"
        else:
            gained_more = gap > 0
            # Selling more than predicted is better only when the margin is positive.
            verdict = "better_than_predicted" if gained_more == _margin_positive(new_price, cost) \
                else "worse_than_predicted"
    return {"verdict": verdict, "observed": observed, "interval": interval,
            "predicted": {"units_ratio": _round(expected, 4),
                          "units_ratio_interval": [round(r, 4) for r in expected_band],
                          "elasticity": elasticity, "price_ratio": _round(ratio, 4),
                          "profit_change_pct": predicted.get("profit_change_pct")},
            "effect": {"predicted": _round(expected, 4), "realised": round(math.exp(effect), 4)},
            "held_up": verdict in ("as_predicted", "better_than_predicted")}


def restock(units: np.ndarray, out_of_stock_days: int, predicted: dict) -> dict:
    """Did the restock keep the item in stock, and did it sell what the forecast said?

    ``predicted``: ``stockout_date`` (without the order, or None), ``units_p10/p50/p90`` over the
    window. Quantiles of a sum are not sums of quantiles; the band is the sum of the daily bands,
    wider than the true one (docs/decisions.md), so "as predicted" is a lenient test."""
    sold = float(units.sum())
    expected_out = predicted.get("stockout_date") is not None
    low, mid, high = (predicted.get(k) for k in ("units_p10", "units_p50", "units_p90"))
    within = low is not None and high is not None and low <= sold <= high
    if out_of_stock_days > 0:
        stock_verdict = "stockout_not_avoided"
    elif expected_out:
        stock_verdict = "stockout_avoided"
    else:
        stock_verdict = "no_stockout"
    verdict = "as_predicted" if within else ("inconclusive" if low is None else
                                             ("better_than_predicted" if sold > high else "worse_than_predicted"))
    return {"verdict": verdict, "stock": stock_verdict,
            "observed": {"units": sold, "out_of_stock_days": int(out_of_stock_days), "days": int(len(units))},
            "predicted": {"units": mid, "stockout_expected": expected_out},
            "interval": {"units": [low, high], "level": 0.8},
            "effect": {"predicted": mid, "realised": sold},
            "held_up": out_of_stock_days == 0 and verdict != "inconclusive"}


@dataclass(frozen=True)
class Group:
    """A campaign group's result over the window: members, buyers among them, their revenue each."""

    members: int
    buyers: int
    revenue: np.ndarray  # one value per member (0 for those who did not buy)


def campaign(treated: Group, holdout: Group, predicted: dict) -> dict:
    """Buy-rate and revenue-per-member lift of the treated group over the holdout, with 90%
    intervals (normal approximation for the rates, Welch for the revenue)."""
    if treated.members == 0 or holdout.members == 0:
        return {"verdict": "inconclusive", "observed": {"treated": treated.members, "holdout": holdout.members},
                "predicted": predicted, "interval": {}, "effect": {"predicted": None, "realised": None},
                "held_up": False, "reason": "no_holdout"}
    p1, p0 = treated.buyers / treated.members, holdout.buyers / holdout.members
    rate_se = math.sqrt(p1 * (1 - p1) / treated.members + p0 * (1 - p0) / holdout.members)
    lift = p1 - p0
    if rate_se == 0:  # nobody or everybody bought in both groups: no spread to measure against
        rate_low = rate_high = lift
    else:
        rate_low, rate_high = lift - Z90 * rate_se, lift + Z90 * rate_se
    r1, r0 = float(treated.revenue.mean()), float(holdout.revenue.mean())
    rev_se = math.sqrt(_var(treated.revenue) / treated.members + _var(holdout.revenue) / holdout.members)
    if rate_low > 0:
        verdict = "lift"
    elif rate_high < 0:
        verdict = "negative"
    elif holdout.members < 30:
        verdict = "inconclusive"
    else:
        verdict = "no_detectable_lift"
    return {"verdict": verdict,
            "observed": {"treated": treated.members, "holdout": holdout.members,
                         "buy_rate_treated": round(p1, 4), "buy_rate_holdout": round(p0, 4),
                         "buy_rate_lift": round(lift, 4), "revenue_per_member_treated": round(r1, 2),
                         "revenue_per_member_holdout": round(r0, 2), "revenue_per_member_lift": round(r1 - r0, 2)},
            "predicted": predicted,
            "interval": {"buy_rate_lift": [round(rate_low, 4), round(rate_high, 4)],
                         "revenue_per_member_lift": [round(r1 - r0 - Z90 * rev_se, 2),
                                                     round(r1 - r0 + Z90 * rev_se, 2)],
                         "level": 0.9},
            "effect": {"predicted": predicted.get("buy_rate_lift"), "realised": round(lift, 4)},
            "held_up": verdict == "lift"}


def holdout_members(user_ids: list[str], share: float, seed: int) -> set[str]:
    """A random ``share`` of ``user_ids`` (at least one when there are two or more and share > 0),
    drawn with ``seed`` so the same decision always splits the same way."""
    if share <= 0 or len(user_ids) < 2:
        return set()
    rng = np.random.default_rng(seed)
    count = max(1, round(len(user_ids) * share))
    chosen = rng.choice(len(user_ids), size=min(count, len(user_ids) - 1), replace=False)
    ordered = sorted(user_ids)
    return {ordered[i] for i in chosen}


def audit(outcomes: list[dict]) -> dict:
    """Across measured decisions of one model: how many held up, and the mean predicted against the
    mean realised effect (of those that have both)."""
    measured = [o for o in outcomes if o.get("verdict") != "inconclusive"]
    pairs = [(o["effect"]["predicted"], o["effect"]["realised"]) for o in measured
             if o.get("effect", {}).get("predicted") is not None and o.get("effect", {}).get("realised") is not None]
    held = sum(1 for o in measured if o.get("held_up"))
    return {"measured": len(outcomes), "conclusive": len(measured), "held_up": held,
            "held_up_share": round(held / len(measured), 4) if measured else None,
            "mean_predicted_effect": round(float(np.mean([p for p, _ in pairs])), 4) if pairs else None,
            "mean_realised_effect": round(float(np.mean([r for _, r in pairs])), 4) if pairs else None}


def _units_ratio(price_ratio: float | None, elasticity: float | None) -> float | None:
    if price_ratio is None or elasticity is None or price_ratio <= 0:
        return None
    return float(price_ratio ** elasticity)


def _profit_change(before: Window, after: Window, common: float, cost: float | None) -> float | None:
    """Profit per day after vs the before-window's, the latter carried forward by the category's own
    change, in percent; None without a cost or without sales before."""
    if cost is None or before.price is None or after.price is None:
        return None
    base = (before.price - cost) * before.per_day * common
    if base <= 0:
        return None
    return round(100 * ((after.price - cost) * after.per_day / base - 1), 2)


def _margin_positive(price: float | None, cost: float | None) -> bool:
    return cost is None or price is None or price > cost


def _var(values: np.ndarray) -> float:
    return float(values.var(ddof=1)) if len(values) > 1 else 0.0


def _round(value: float | None, digits: int = 2) -> float | None:
    return round(float(value), digits) if value is not None else None
