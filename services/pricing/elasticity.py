"""Price elasticity per item from its own order history, pooled toward its category. Pure.

The panel: one row per item, one column per day; units sold on paid order lines, the selling
price (units-weighted unit price of the day's lines), and whether the day is usable (listed,
not a stock-out). Prices are seen only on days with a sale, so a day without one takes the price
of the nearest day with one *within the same run of campaign / normal days* (a campaign price
is never carried into normal days or back); a run with no sale at all has no known price and is
left out.

The model, per category: units_it ~ Poisson(exp(α_i + δ_t + β_i · x_it)), x_it = log price_it −
the item's mean log price. δ_t, a category-day effect, absorbs everything the category shares on
a day: weekday, season, trend, campaign uplift (618, 双11 ...), so β_i is read from price moves
*relative to the rest of the category that day*. Fitted by alternating exact updates of α and δ
and Newton steps on β. Standard errors are the robust (sandwich) kind, Σx²(y−λ)² / (Σx²λ)², so
overdispersed sales widen them as much as they actually vary.

Then partial pooling (empirical Bayes): the estimates of items with real price variation form a
normal distribution per category, N(μ, τ²) (DerSimonian–Laird); each item's estimate is shrunk
toward μ in proportion to its noise. An item whose price never moved, or with too few sales,
borrows its category's μ (or the shop's, in a category with too few measured items) with an
interval as wide as the spread of items, and says so in ``method``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from shared import i18n
from shared.calendar import calendar_features

Z90 = float(norm.ppf(0.95))  # a 90% interval
MIN_PRICE_SPREAD = 0.02  # sd of log price on usable days below this: the price did not really move
MIN_UNITS = 20  # fewer units in the window: too little to measure
MIN_MEASURED_IN_CATEGORY = 3  # fewer measured items: the category borrows the shop's distribution
PRIOR_ELASTICITY = -1.5  # only for a shop where no item can be measured at all
PRIOR_SD = 1.0
TAU_FLOOR = 0.3


@dataclass
class PricePanel:
    item_ids: np.ndarray
    categories: np.ndarray
    dates: pd.DatetimeIndex
    units: np.ndarray  # items × days
    price: np.ndarray  # items × days: the price before (at the last sale), NaN where unknown
    price_next: np.ndarray  # items × days: the price after (at the next sale); differs inside a change gap
    usable: np.ndarray  # items × days, bool


def build_panel(lines: pd.DataFrame, stock: pd.DataFrame, catalogue: pd.DataFrame) -> PricePanel:
    """lines: item_id, date, units, price (unit price); stock: item_id, date, on_hand; catalogue: item_id, category."""
    lines = lines[(lines["units"] > 0) & (lines["price"] > 0)]
    if lines.empty:
        raise ValueError(i18n.t("pricing.no_priced_lines"))
    dates = pd.date_range(lines["date"].min(), lines["date"].max(), freq="D")
    items = np.array(sorted(set(lines["item_id"])), dtype=object)
    row = pd.Index(items)
    i = row.get_indexer(lines["item_id"])
    t = (lines["date"] - dates[0]).dt.days.to_numpy()
    units = np.zeros((len(items), len(dates)))
    spent = np.zeros_like(units)
    np.add.at(units, (i, t), lines["units"].to_numpy(float))
    np.add.at(spent, (i, t), (lines["units"] * lines["price"]).to_numpy(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(units > 0, spent / units, np.nan)

    first_sale = np.argmax(units > 0, axis=1)
    usable = np.arange(len(dates))[None, :] >= first_sale[:, None]
    if not stock.empty:
        out = stock[(stock["on_hand"] <= 0) & stock["item_id"].isin(row)]
        oi = row.get_indexer(out["item_id"])
        ot = (pd.to_datetime(out["date"]) - dates[0]).dt.days.to_numpy()
        keep = (ot >= 0) & (ot < len(dates))
        stockout = np.zeros_like(usable)
        stockout[oi[keep], ot[keep]] = True
        usable &= ~stockout  # sales on a stock-out day were capped by stock: not demand
    campaign = calendar_features(dates).filter(like="fest_").to_numpy().any(axis=1)
    before, after = _fill_within_runs(observed, campaign)
    usable &= ~np.isnan(before)
    categories = (catalogue.drop_duplicates("item_id").set_index("item_id")["category"]
                  .reindex(items).fillna("(none)").astype(str).to_numpy())
    return PricePanel(items, categories, dates, units, before, after, usable)


def _fill_within_runs(observed: np.ndarray, campaign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(price at the last sale, price at the next sale) for each day, inside runs of equal
    ``campaign``; at a run's ends, where one side is missing, both are the side that exists."""
    before, after = np.full_like(observed, np.nan), np.full_like(observed, np.nan)
    edges = np.flatnonzero(np.diff(campaign.astype(int))) + 1
    for start, end in zip(np.r_[0, edges], np.r_[edges, len(campaign)], strict=True):
        block = pd.DataFrame(observed[:, start:end].T)
        before[:, start:end] = block.ffill().bfill().to_numpy().T
        after[:, start:end] = block.bfill().ffill().to_numpy().T
    return before, after


@dataclass
class Estimates:
    item_ids: np.ndarray
    categories: np.ndarray
    value: np.ndarray
    sd: np.ndarray
    own: np.ndarray  # the item's own (unpooled) estimate, NaN when not measured
    own_se: np.ndarray
    n_obs: np.ndarray  # usable days
    price_points: np.ndarray  # distinct prices seen on days with a sale
    units: np.ndarray  # units sold in the window
    method: np.ndarray  # pooled | borrowed_category | borrowed_shop | prior

    @property
    def ci_low(self) -> np.ndarray:
        return self.value - Z90 * self.sd

    @property
    def ci_high(self) -> np.ndarray:
        return self.value + Z90 * self.sd


def estimate(panel: PricePanel, iterations: int = 60) -> Estimates:
    """Elasticities for every item of the panel (see the module docstring)."""
    n = len(panel.item_ids)
    own, own_se = np.full(n, np.nan), np.full(n, np.nan)
    logp = np.log(np.where(panel.usable, panel.price, 1.0))
    logp_next = np.log(np.where(panel.usable, panel.price_next, 1.0))
    counts = np.where(panel.usable, panel.units, 0.0)
    mean_logp = np.array([logp[k, panel.usable[k]].mean() if panel.usable[k].any() else 0.0 for k in range(n)])
    x = np.where(panel.usable, logp - mean_logp[:, None], 0.0)
    x_next = np.where(panel.usable, logp_next - mean_logp[:, None], 0.0)
    spread = np.array([x[k, panel.usable[k]].std() if panel.usable[k].any() else 0.0 for k in range(n)])
    sold = counts.sum(axis=1)
    measurable = (spread >= MIN_PRICE_SPREAD) & (sold >= MIN_UNITS)
    for category in np.unique(panel.categories):
        rows = np.flatnonzero(panel.categories == category)
        beta, se = _fit_category(counts[rows], x[rows], x_next[rows], panel.usable[rows], measurable[rows],
                                 iterations)
        own[rows], own_se[rows] = beta, se

    value, sd = np.full(n, np.nan), np.full(n, np.nan)
    method = np.empty(n, dtype=object)
    shop = _pool(own[measurable], own_se[measurable])
    for category in np.unique(panel.categories):
        rows = np.flatnonzero(panel.categories == category)
        measured = rows[measurable[rows]]
        level = "category"
        mu, tau, mu_se = _pool(own[measured], own_se[measured]) if len(measured) >= MIN_MEASURED_IN_CATEGORY \
            else (None, None, None)
        if mu is None:
            mu, tau, mu_se, level = (*shop, "shop") if shop[0] is not None else (PRIOR_ELASTICITY, PRIOR_SD, 0.0,
                                                                                  "prior")
        precision = 1 / own_se[measured] ** 2 + 1 / tau ** 2
        value[measured] = (own[measured] / own_se[measured] ** 2 + mu / tau ** 2) / precision
        pull = (1 / tau ** 2) / precision  # how much of the answer is μ: its own error counts that much
        sd[measured] = np.sqrt(1 / precision + (pull * mu_se) ** 2)
        method[measured] = "pooled"
        borrowed = rows[~measurable[rows]]
        value[borrowed], sd[borrowed] = mu, np.sqrt(tau ** 2 + mu_se ** 2)
        method[borrowed] = "prior" if level == "prior" else f"borrowed_{level}"
    price_points = np.array([len(np.unique(np.round(panel.price[k, (panel.units[k] > 0) & panel.usable[k]], 2)))
                             for k in range(n)])
    return Estimates(panel.item_ids, panel.categories, value, sd, own, own_se, panel.usable.sum(axis=1),
                     price_points, sold, method)


def _fit_category(y: np.ndarray, x: np.ndarray, x_next: np.ndarray, usable: np.ndarray, measurable: np.ndarray,
                  iterations: int, refresh_every: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Poisson with item and day effects and item slopes on ``measurable`` items (others: slope 0,
    they still inform the day effects). A cell inside a change gap (x ≠ x_next) is exposed at both
    prices with weights 1 − w and w, w = P(the change came on or before that day), refreshed every
    ``refresh_every`` iterations. Returns (β, se) with NaN for items not measured."""
    mask = usable.astype(float)
    gaps = _gaps(x, x_next, usable)
    w = np.zeros_like(x)
    for row, start, end in gaps:
        w[row, start:end] = 0.5
    alpha = np.log((y.sum(axis=1) + 0.5) / (mask.sum(axis=1) + 1.0))
    delta = np.zeros(y.shape[1])
    beta = np.where(measurable, PRIOR_ELASTICITY, 0.0)

    def exposures():
        base = np.exp(alpha[:, None] + delta[None, :]) * mask
        return base * (1 - w) * np.exp(beta[:, None] * x), base * w * np.exp(beta[:, None] * x_next)

    for iteration in range(iterations):
        if gaps and iteration and iteration % refresh_every == 0:
            w = _change_weights(gaps, *exposures(), w)
        lo, hi = exposures()
        delta += np.log((y.sum(axis=0) + 0.05) / ((lo + hi).sum(axis=0) + 0.05))
        lo, hi = exposures()
        alpha += np.log((y.sum(axis=1) + 1e-9) / ((lo + hi).sum(axis=1) + 1e-9))
        lo, hi = exposures()
        score = (x * y - x * lo - x_next * hi).sum(axis=1)  # gap cells have y = 0
        information = (x ** 2 * lo + x_next ** 2 * hi).sum(axis=1)
        step = np.where(measurable & (information > 0), score / np.maximum(information, 1e-9), 0)
        beta += np.clip(step, -1.0, 1.0)
    lo, hi = exposures()
    information = np.maximum((x ** 2 * lo + x_next ** 2 * hi).sum(axis=1), 1e-9)
    residual_x = x * (y - lo) - x_next * hi
    robust = (residual_x ** 2).sum(axis=1) / information ** 2
    se = np.sqrt(np.maximum(robust, 1 / information))  # never below the plain Poisson error
    return np.where(measurable, beta, np.nan), np.where(measurable, se, np.nan)


def _gaps(x: np.ndarray, x_next: np.ndarray, usable: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, start, end) of each run of usable days between two sales at different prices."""
    ambiguous = usable & ~np.isclose(x, x_next)
    gaps = []
    for row in np.flatnonzero(ambiguous.any(axis=1)):
        flags = np.r_[False, ambiguous[row], False].astype(int)
        starts, ends = np.flatnonzero(np.diff(flags) == 1), np.flatnonzero(np.diff(flags) == -1)
        gaps += [(int(row), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
    return gaps


def _change_weights(gaps, lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> np.ndarray:
    """w[d] = P(change on or before day d | no sale in the gap), from the expected sales at each price.

    With the change on day c, the gap's days before c sell at the old price and the rest at the new
    one, so P(c) ∝ exp(−Σ_{t<c} λ_old,t − Σ_{t≥c} λ_new,t) (c = end: the change came with the next sale)."""
    w = w.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_old = np.where(w < 1, lo / (1 - w), 0.0)  # exposures are weighted: undo the weights
        rate_new = np.where(w > 0, hi / w, 0.0)
    for row, start, end in gaps:
        old, new = rate_old[row, start:end], rate_new[row, start:end]
        before = np.r_[0.0, np.cumsum(old)]  # Σ λ_old over days before c, c = start..end
        after = np.r_[np.cumsum(new[::-1])[::-1], 0.0]  # Σ λ_new over days from c on
        log_p = -(before + after)
        p = np.exp(log_p - log_p.max())
        p /= p.sum()
        w[row, start:end] = np.cumsum(p)[:-1]
    return w


def _pool(estimates: np.ndarray, se: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """(μ, τ, se of μ) of the items' true elasticities, DerSimonian–Laird; Nones without estimates."""
    ok = np.isfinite(estimates) & np.isfinite(se) & (se > 0)
    b, v = estimates[ok], se[ok] ** 2
    if len(b) == 0:
        return None, None, None
    w = 1 / v
    fixed = np.sum(w * b) / np.sum(w)
    q = np.sum(w * (b - fixed) ** 2)
    tau2 = max(0.0, (q - (len(b) - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w))) if len(b) > 1 else 0.0
    # DerSimonian-Laird underestimates τ when the items' own errors are large (it often says 0);
    # items of one category differ by ±0.3 at least (the demo truth: 0.4), so that is the floor.
    tau2 = max(tau2, TAU_FLOOR ** 2)
    w = 1 / (v + tau2)
    return float(np.sum(w * b) / np.sum(w)), float(np.sqrt(tau2)), float(np.sqrt(1 / np.sum(w)))


BASELINE_DAYS = 56


@dataclass
class DemandCurves:
    """What serving needs per item: the elasticity estimate and the recent demand at a known price.

    ``daily_units`` is the mean of the last ``BASELINE_DAYS`` usable non-campaign days' units,
    each rescaled to ``at_price`` (the last price sold at) with the item's elasticity, so a price
    change inside the window does not bias the level. ``top_price`` is the highest price sold at
    in the last 365 days (the reference when no competitor price is known)."""

    estimates: Estimates
    daily_units: np.ndarray
    at_price: np.ndarray
    top_price: np.ndarray
    as_of: pd.Timestamp

    @classmethod
    def from_panel(cls, panel: PricePanel, estimates: Estimates) -> DemandCurves:
        campaign = calendar_features(panel.dates).filter(like="fest_").to_numpy().any(axis=1)
        n = len(panel.item_ids)
        daily, at_price, top = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
        sold = panel.units > 0
        last_year = np.arange(len(panel.dates)) >= len(panel.dates) - 365
        for k in range(n):
            seen = np.flatnonzero(sold[k] & panel.usable[k])
            if len(seen) == 0:
                continue
            at_price[k] = panel.price[k, seen[-1]]
            top[k] = np.nanmax(np.where(sold[k] & last_year, panel.price[k], np.nan)) if (sold[k] & last_year).any() \
                else at_price[k]
            days = np.flatnonzero(panel.usable[k] & ~campaign)[-BASELINE_DAYS:]
            if len(days):
                rescale = (at_price[k] / panel.price[k, days]) ** estimates.value[k]
                daily[k] = float(np.mean(panel.units[k, days] * rescale))
        return cls(estimates, daily, at_price, top, panel.dates[-1])

    def index_of(self, item_id: str) -> int | None:
        found = np.flatnonzero(self.estimates.item_ids == item_id)
        return int(found[0]) if len(found) else None

    def to_artifact(self) -> tuple[dict[str, np.ndarray], dict]:
        e = self.estimates
        arrays = {"item_ids": e.item_ids.astype(str), "categories": e.categories.astype(str), "value": e.value,
                  "sd": e.sd, "own": e.own, "own_se": e.own_se, "n_obs": e.n_obs, "price_points": e.price_points,
                  "units": e.units, "method": e.method.astype(str), "daily_units": self.daily_units,
                  "at_price": self.at_price, "top_price": self.top_price}
        return arrays, {"as_of": self.as_of.date().isoformat(), "baseline_days": BASELINE_DAYS}

    @classmethod
    def from_artifact(cls, arrays: dict[str, np.ndarray], params: dict) -> DemandCurves:
        a = {k: np.asarray(v) for k, v in arrays.items()}
        estimates = Estimates(a["item_ids"].astype(object), a["categories"].astype(object), a["value"], a["sd"],
                              a["own"], a["own_se"], a["n_obs"], a["price_points"], a["units"],
                              a["method"].astype(object))
        return cls(estimates, a["daily_units"], a["at_price"], a["top_price"], pd.Timestamp(params["as_of"]))
