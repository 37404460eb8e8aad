"""Price advice: the price that maximises expected profit under the measured demand curve, within
guardrails, or "hold price" when the evidence cannot carry a change. Pure.

Demand at price p: D(p) = D0 · (p / p0)^β, with D0 the item's recent daily units at its current
price p0 and β ~ N(m, s²) the elasticity estimate. Expected units average over what β could be:
E[(p/p0)^β] = exp(m·r + s²r²/2), r = log(p/p0), so an uncertain estimate never buys a bold move.
Expected profit (p − cost)·E[D(p)] is maximised over a grid of candidate prices that pass the
guardrails: at most ``max_step`` away from p0, a margin of at least ``min_margin`` over cost, not
above the reference price (the highest competitor price, else the item's highest price of the
last year) unless allowed, and ending the way shoppers expect (…9 / …8). Without a cost the
advice maximises revenue and says so. The advice is held when the chance that the move pays
(P(profit at p > profit at p0) under β's distribution) is below ``min_confidence`` or the
expected gain is under ``min_gain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from shared.i18n import Message, t

if TYPE_CHECKING:  # the curves are only read here; elasticity builds them
    from services.pricing.elasticity import DemandCurves


@dataclass(frozen=True)
class Guardrails:
    max_step: float = 0.10
    min_margin: float = 0.10  # (price − cost) / price
    allow_above_reference: bool = False
    endings: tuple[int, ...] = (9, 8)  # last digit of the yuan (or of the jiao under ¥10)
    min_confidence: float = 0.8
    min_gain: float = 0.01  # expected profit (or revenue) change below this: not worth a change


@dataclass(frozen=True)
class ItemEconomics:
    price: float  # current price p0
    cost: float | None
    daily_units: float  # D0, at p0
    elasticity: float  # m
    elasticity_sd: float  # s
    reference: float | None  # a ceiling for the price


def expected_units(e: ItemEconomics, price: float | np.ndarray) -> np.ndarray:
    r = np.log(np.asarray(price, dtype=float) / e.price)
    return e.daily_units * np.exp(e.elasticity * r + 0.5 * e.elasticity_sd ** 2 * r ** 2)


def units_band(e: ItemEconomics, price: float, z: float = 1.645) -> tuple[float, float]:
    """Expected daily units at ``price`` if β sits at the low / high end of its 90% interval."""
    r = math.log(price / e.price)
    ends = [e.daily_units * math.exp((e.elasticity + sign * z * e.elasticity_sd) * r) for sign in (-1, 1)]
    return min(ends), max(ends)


def nice_prices(low: float, high: float, endings: tuple[int, ...]) -> np.ndarray:
    """Prices in [low, high] whose last yuan digit (under ¥10: last jiao digit) is one of ``endings``."""
    if high <= 0:
        return np.zeros(0)
    step = 1.0 if high >= 10 else 0.1
    start, stop = math.floor(low / step), math.ceil(high / step)
    values = np.arange(start, stop + 1) * step
    digits = np.round(values / step).astype(int) % 10
    keep = np.isin(digits, endings) & (values >= low - 1e-9) & (values <= high + 1e-9) & (values > 0)
    return np.round(values[keep], 2)


def advise(e: ItemEconomics, rules: Guardrails = Guardrails()) -> dict:
    """The suggestion for one item: price, range, expected units and change, confidence, reason, and
    the expected profit gain in yuan per day (None without a cost)."""
    answer = _advise(e, rules)
    change = answer["expected_profit_change_pct"]
    answer["expected_profit_gain_per_day"] = (None if e.cost is None or change is None else
                                              round((e.price - e.cost) * e.daily_units * change / 100, 2))
    return answer


def _advise(e: ItemEconomics, rules: Guardrails) -> dict:
    has_cost = e.cost is not None and e.cost > 0
    low, high = e.price * (1 - rules.max_step), e.price * (1 + rules.max_step)
    if has_cost:
        low = max(low, e.cost / (1 - rules.min_margin))
    capped = e.reference is not None and not rules.allow_above_reference
    if capped:
        high = min(high, max(e.reference, e.price))
    grid = nice_prices(low, high, rules.endings) if low <= high else np.zeros(0)
    candidates = np.unique(np.r_[grid, e.price])
    unit_value = candidates - e.cost if has_cost else candidates
    expected = unit_value * expected_units(e, candidates)
    now = (e.price - e.cost if has_cost else e.price) * e.daily_units
    best = int(np.argmax(expected))
    price = float(candidates[best])
    gain = float(expected[best] / now - 1) if now > 0 else 0.0
    confidence = _chance_it_pays(e, price, has_cost)
    objective = "profit" if has_cost else "revenue"
    units = float(expected_units(e, price))
    answer = {"price": round(price, 2), "current_price": round(e.price, 2), "objective": objective,
              "range": [round(float(candidates.min()), 2), round(float(candidates.max()), 2)],
              "expected_units": round(units, 3), "expected_units_now": round(e.daily_units, 3),
              f"expected_{objective}_change_pct": round(100 * gain, 2), "confidence": round(confidence, 3),
              "action": "hold"}
    if has_cost:
        answer["expected_profit_change_pct"] = round(100 * gain, 2)
    else:
        answer["expected_profit_change_pct"] = None
        answer["note"] = t("pricing.no_cost_revenue")
    if price == e.price or gain < rules.min_gain:
        answer.update(price=round(e.price, 2), expected_units=round(e.daily_units, 3),
                      reason=_hold_reason(e, gain, rules))
        answer[f"expected_{objective}_change_pct"] = 0.0
        if has_cost:
            answer["expected_profit_change_pct"] = 0.0
        return answer
    if confidence < rules.min_confidence:
        answer["reason"] = t("pricing.hold_uncertain", elasticity=f"{e.elasticity:.2f}",
                             margin=f"{1.645 * e.elasticity_sd:.2f}", price=f"{price:.2f}",
                             confidence=confidence_text(confidence),
                             gain=t("pricing.word_profit" if has_cost else "pricing.word_revenue"))
        answer.update(suggested_if_confident=round(price, 2), price=round(e.price, 2))
        return answer
    change = price / e.price - 1
    answer["action"] = "lower" if price < e.price else "raise"
    answer["reason"] = t("pricing.change", direction=t(f"pricing.direction_{answer['action']}"),
                         step=f"{abs(change):.0%}", price=f"{price:.2f}", elasticity=f"{e.elasticity:.2f}",
                         units_now=f"{e.daily_units:.2f}", units=f"{units:.2f}",
                         measure=t("pricing.word_profit" if has_cost else "pricing.word_revenue"),
                         gain=f"{gain:+.1%}", confidence=confidence_text(confidence))
    return answer


def confidence_text(chance: float) -> str:
    """A probability as people read it: never "100%" (nothing is certain) nor "0%"."""
    if chance >= 0.99:
        return ">99%"
    if chance <= 0.01:
        return "<1%"
    return f"{chance:.0%}"


def _chance_it_pays(e: ItemEconomics, price: float, has_cost: bool) -> float:
    """P(value at ``price`` > value at p0) with β ~ N(m, s²): value ratio = k·(p/p0)^β, k the unit-value
    ratio, so it pays when β·r > −log k, a normal tail."""
    if price == e.price:
        return 0.5
    r = math.log(price / e.price)
    k = (price - e.cost) / (e.price - e.cost) if has_cost else price / e.price
    if k <= 0:
        return 0.0
    threshold = -math.log(k) / r  # β above (r > 0) or below (r < 0) this pays
    z = (threshold - e.elasticity) / max(e.elasticity_sd, 1e-9)
    return float(1 - norm.cdf(z)) if r > 0 else float(norm.cdf(z))


def _hold_reason(e: ItemEconomics, gain: float, rules: Guardrails) -> Message:
    if e.daily_units <= 0:
        return t("pricing.hold_no_sales")
    return t("pricing.hold_no_better", step=f"{rules.max_step:.0%}", margin=f"{rules.min_margin:.0%}",
             measure=t("pricing.word_profit" if e.cost else "pricing.word_revenue"), gain=f"{rules.min_gain:.0%}",
             elasticity=f"{e.elasticity:.2f}")


def simulate(e: ItemEconomics, price: float, days: int = 28) -> dict:
    """Units, revenue and profit at ``price`` over ``days``, with 90% bands from β's uncertainty."""
    low, high = units_band(e, price)
    units = float(expected_units(e, price))
    margin = price - e.cost if e.cost is not None else None

    def totals(daily: float) -> dict:
        return {"units": round(daily * days, 2), "revenue": round(daily * days * price, 2),
                "profit": round(daily * days * margin, 2) if margin is not None else None}

    now = {"units": round(e.daily_units * days, 2), "revenue": round(e.daily_units * days * e.price, 2),
           "profit": round(e.daily_units * days * (e.price - e.cost), 2) if e.cost is not None else None}
    return {"price": round(price, 2), "current_price": round(e.price, 2), "days": days,
            "expected": totals(units), "low": totals(low), "high": totals(high), "at_current_price": now}


def our_prices(catalogue: pd.DataFrame, curves: DemandCurves | None) -> pd.Series:
    """Our current price per item: the catalogue's, else the last price sold at."""
    prices = catalogue.dropna(subset=["price"]).set_index("item_id")["price"].astype(float)
    if curves is not None:
        sold = pd.Series(curves.at_price, index=curves.estimates.item_ids.astype(str)).dropna()
        prices = prices.combine_first(sold)
    return prices[prices > 0]


def economics(curves: DemandCurves, k: int, price: float | None, cost: float | None,
              rival_prices: pd.Series) -> ItemEconomics:
    """Item k's economics at its current price (the catalogue's, else the last sold at)."""
    e = curves.estimates
    p0 = price if price and price > 0 else float(curves.at_price[k])
    at = curves.at_price[k]
    units = float(curves.daily_units[k] * (p0 / at) ** e.value[k]) if np.isfinite(at) and at > 0 else 0.0
    reference = float(rival_prices.max()) if len(rival_prices) else (
        float(curves.top_price[k]) if np.isfinite(curves.top_price[k]) else None)
    return ItemEconomics(price=p0, cost=cost if cost and cost > 0 else None, daily_units=units,
                         elasticity=float(e.value[k]), elasticity_sd=float(e.sd[k]), reference=reference)


def guardrails(stored: dict) -> Guardrails:
    known = {k: v for k, v in stored.items() if k in Guardrails.__dataclass_fields__}
    if "endings" in known:
        known["endings"] = tuple(known["endings"])
    return Guardrails(**known)
