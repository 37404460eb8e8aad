"""Forecasting on synthetic shops whose demand pattern is known."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from services.forecasting import model as m
from services.forecasting.forecasts import (
    DEFAULT_HORIZON,
    EXPLAINED_FEATURES,
    EXPLAINED_HORIZONS,
    Forecasts,
    expected,
    sampled_days,
)
from services.forecasting.replenish import pack_sizes, plan_item, plan_stock
from shared import calendar as cal

FAST = {"n_rounds": 60, "max_depth": 4, "origin_step": 14, "nthread": 1}
WEEKLY = np.array([0.7, 0.8, 0.9, 1.0, 1.1, 1.6, 1.9])  # Monday first


def synthetic(days=260, items=24, seed=1, end="2026-11-20"):
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=end, periods=days, freq="D")
    rows = []
    for i in range(items):
        level = rng.uniform(0.5, 8)
        lam = level * WEEKLY[dates.dayofweek] * np.where((dates.month == 11) & (dates.day == 11), 5.0, 1.0)
        units = rng.poisson(lam)
        rows += [(f"i{i}", d, u, u * 100.0) for d, u in zip(dates, units, strict=True) if u > 0]
    lines = pd.DataFrame(rows, columns=["item_id", "date", "units", "revenue"])
    catalogue = pd.DataFrame({"item_id": [f"i{i}" for i in range(items)], "category": ["女装" if i % 2 else "数码"
                                                                                        for i in range(items)]})
    return lines, catalogue


def test_festival_calendar():
    days = cal.festival_days(2026)
    assert days["double11"][1] == date(2026, 11, 11) and days["spring_festival"][1] == date(2026, 2, 17)
    features = cal.calendar_features(pd.DatetimeIndex(["2026-11-08", "2026-11-11", "2026-07-15"]))
    assert features["fest_double11"].tolist() == [1, 1, 0]
    assert features["days_to_festival"].tolist()[:2] == [3, 0]
    assert features["dow"].tolist()[1] == 2  # a Wednesday


def test_history_marks_stockouts_as_censored_not_zero():
    lines = pd.DataFrame({"item_id": ["a", "a"], "date": pd.to_datetime(["2026-01-01", "2026-01-04"]),
                          "units": [2.0, 1.0], "revenue": [20.0, 9.0]})
    stock = pd.DataFrame({"item_id": ["a", "a"], "date": pd.to_datetime(["2026-01-02", "2026-01-03"]),
                          "on_hand": [0, 5]})
    history = m.build_history(lines, stock, pd.DataFrame({"item_id": ["a", "b"], "category": ["x", "y"]}))
    assert np.isnan(history.units[0, 1]) and history.units[0, 2] == 0  # day 2 censored, day 3 a true zero
    assert history.item_ids.tolist() == ["a", "b"] and np.nansum(history.units[1]) == 0
    assert history.price[0, 3] == pytest.approx(9.0) and history.price[0, 2] == pytest.approx(10.0)


def test_origin_features_never_look_past_the_origin():
    lines, catalogue = synthetic(days=120)
    history = m.build_history(lines, pd.DataFrame(columns=["item_id", "date", "on_hand"]), catalogue)
    before = m.origin_features(history, 80)
    history.units[:, 81:] = 999.0  # change the future
    assert np.allclose(np.nan_to_num(before), np.nan_to_num(m.origin_features(history, 80)))


@pytest.fixture(scope="module")
def fitted():
    lines, catalogue = synthetic()
    history = m.build_history(lines, pd.DataFrame(columns=["item_id", "date", "on_hand"]), catalogue)
    return history, m.QuantileForecaster(FAST).fit(history)


def test_quantiles_are_ordered_and_learn_the_weekly_pattern(fitted):
    history, model = fitted
    quantiles = model.predict(history, history.days - 1, 14)
    assert (quantiles[:, :, 0] <= quantiles[:, :, 1]).all() and (quantiles[:, :, 1] <= quantiles[:, :, 2]).all()
    days = pd.DatetimeIndex([history.date(history.days - 1 + h) for h in range(1, 15)])
    weekend = quantiles[:, days.dayofweek >= 5, 1].mean()
    early_week = quantiles[:, days.dayofweek <= 1, 1].mean()
    assert weekend > 1.5 * early_week


def test_backtest_beats_seasonal_naive_and_covers(fitted):
    history, _ = fitted
    report = m.backtest(history, FAST, cutoffs=2)
    overall = report["overall"]
    assert overall["model"]["wape"] < overall["seasonal_naive"]["wape"]
    assert 0.6 <= overall["model"]["coverage"] <= 0.97
    assert set(report["horizons"]) == {"1", "7", "14", "28"} and len(report["cutoffs"]) == 2


def test_too_little_history_is_refused():
    lines, catalogue = synthetic(days=40)
    history = m.build_history(lines, pd.DataFrame(columns=["item_id", "date", "on_hand"]), catalogue)
    with pytest.raises(m.NotEnoughHistory):
        m.backtest(history, FAST)


def test_bundle_round_trip_explains_and_zero_for_never_sold(fitted):
    history, model = fitted
    history.item_ids = np.append(history.item_ids, "new")
    history.categories = np.append(history.categories, "女装")
    for name in ("units", "price"):
        setattr(history, name, np.vstack([getattr(history, name), np.full((1, history.days), np.nan)]))
    history.stockout = np.vstack([history.stockout, np.zeros((1, history.days), dtype=bool)])
    bundle = Forecasts.from_history(model, history, {"overall": {}})
    arrays, files, params = bundle.to_artifact()
    again = Forecasts.from_artifact(arrays, files, params)
    answer = again.item("i3", 7)
    assert len(answer["points"]) == 7 and answer["points"][0]["date"] == "2026-11-21"
    assert answer["explanation"] and all("text" in e for e in answer["explanation"])
    # each day's mean lies in its band and the means add up to the total the console states
    assert all(p["p10"] <= p["expected"] <= p["p90"] for p in answer["points"])
    assert sum(p["expected"] for p in answer["points"]) == pytest.approx(answer["total"]["expected"], abs=0.01)
    assert answer == bundle.item("i3", 7)
    fresh = again.item("new", 5)
    assert all(p["p50"] == 0 for p in fresh["points"]) and "no sales yet" in fresh["note"].render("en")
    outlook = again.categories_outlook(28)
    assert {c["category"] for c in outlook} == {"女装", "数码"}


def test_default_horizon_explanation_is_precomputed_and_matches_the_live_one(fitted):
    history, model = fitted
    bundle = Forecasts.from_history(model, history, {"overall": {}})
    arrays, files, params = bundle.to_artifact()
    again = Forecasts.from_artifact(arrays, files, params)
    assert {f"explained{h}_features" for h in EXPLAINED_HORIZONS} <= set(arrays)
    i = again.row("i3")
    looked_up = again.explain(i, DEFAULT_HORIZON)
    again.explained = {}  # what a version trained before the precompute does: compute per request
    live = again.explain(i, DEFAULT_HORIZON)
    assert [e["feature"] for e in looked_up] == [e["feature"] for e in live]
    assert [e["contribution"] for e in looked_up] == pytest.approx([e["contribution"] for e in live], abs=1e-4)
    assert [e["text"].render("en") for e in looked_up] == [e["text"].render("en") for e in live]
    assert len(looked_up) == EXPLAINED_FEATURES


@pytest.mark.parametrize("horizon", [1, 6, 7, 13, 14, 28, 49, 90])
def test_explanations_sample_every_weekday(horizon):
    days = sampled_days(horizon)
    assert days[0] == 1 and days[-1] <= horizon and len(days) <= 13  # about a week of rows at most
    assert len({int(d) % 7 for d in days}) == min(7, horizon)


def test_replenishment_math():
    p50 = np.full(30, 10.0)
    plan = plan_item("a", p50 - 5, p50, p50 + 5, on_hand=50, on_order=0, lead_time_days=7, service_level=0.95,
                     as_of=date(2026, 11, 20), pack_size=12)
    assert plan.forecast_over_lead_time == pytest.approx(70.0)
    sigma = 10 / 2.5631 * np.sqrt(7)
    assert plan.safety_stock == pytest.approx(1.6449 * sigma, rel=1e-3)
    assert plan.reorder_qty % 12 == 0 and plan.reorder_qty >= 70 + plan.safety_stock - 50
    assert plan.stockout_date == "2026-11-26" and plan.risk == "high"  # 50 units last 5 days < 7-day lead
    calm = plan_item("b", p50 * 0, p50 * 0 + 1, p50 * 0 + 2, on_hand=500, on_order=0, lead_time_days=7,
                     service_level=0.95, as_of=date(2026, 11, 20))
    assert calm.risk == "low" and calm.reorder_qty == 0 and calm.stockout_date is None


def test_stockout_rule_reads_stock_rows_one_way():
    """The replenishment route and the stock-out alerts share this rule. They used to differ: the
    alerts ignored pack sizes (their reorder_qty disagreed with the route's) and failed on a
    missing on-hand count. Missing on hand / on order count as 0, a missing lead time is 7 days,
    pack sizes always round the order up, and days of cover say how long the stock lasts."""
    p50 = np.full(30, 10.0)
    quantiles = np.stack([p50 - 5, p50, p50 + 5], axis=1)[None].repeat(3, axis=0)
    stock = pd.DataFrame({"item_id": ["a", "b", "gone"], "on_hand": [50, np.nan, 5],
                          "on_order": [np.nan, 20, 0], "lead_time_days": [np.nan, 3, 7]})
    catalogue = pd.DataFrame({"item_id": ["a", "b"], "attributes": [{"pack_size": "12"}, None]})
    plans = plan_stock({"a": 0, "b": 1}, quantiles, date(2026, 11, 20), stock, 0.95, pack_sizes(catalogue))
    assert [p.item_id for p in plans] == ["b", "a"]  # "gone" is not forecast; soonest stock-out first
    b, a = plans
    assert (a.on_order, a.lead_time_days, a.risk) == (0, 7, "high")
    assert a.reorder_qty % 12 == 0 and a.reorder_qty > 0
    assert (a.days_of_cover, a.stockout_date, a.daily_demand) == (5, "2026-11-26", 10.0)
    assert (b.on_hand, b.on_order, b.lead_time_days, b.days_of_cover, b.risk) == (0, 20, 3, 0, "high")
    what_if = plan_stock({"a": 0}, quantiles, date(2026, 11, 20), stock, 0.95, {}, lead_time_days=3)
    assert what_if[0].lead_time_days == 3 and what_if[0].risk == "medium"


def test_expected_value_sits_above_the_median_of_skewed_counts():
    quantiles = np.array([[[0.0, 1.0, 5.0]]])
    assert expected(quantiles)[0, 0] == pytest.approx(1.9)


def test_row_statistics_skip_censored_days_and_stay_silent_on_empty_rows():
    import warnings

    from services.forecasting.model import row_mean, row_median, row_std

    values = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2.0, 2.0, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's nanmean would warn "Mean of empty slice" on row 2
        mean, median, std = row_mean(values), row_median(values), row_std(values)
        empty = row_mean(np.empty((2, 0)))
    np.testing.assert_allclose(mean, [2.0, np.nan, 3.0])
    np.testing.assert_allclose(median, [2.0, np.nan, 2.0])
    np.testing.assert_allclose(std, [1.0, np.nan, np.std([2.0, 2.0, 5.0])])
    assert np.isnan(empty).all() and empty.shape == (2,)


@pytest.mark.parametrize("feature", [*m.ORIGIN_FEATURES, *(f"{n}_rel" for n in m.ORIGIN_FEATURES[:10]), "horizon",
                                     "dow", "dom", "woy", "month", "fest_double11", "fest_spring_festival",
                                     "days_to_festival", "days_since_festival", "not_a_feature"])
def test_every_feature_reads_as_words_in_both_languages(feature):
    """No code name ("std28") ever reaches an explanation."""
    from services.forecasting.model import explain_words

    words = explain_words(feature, 3.0, 0.46)
    for language in ("zh-CN", "en"):
        text = words.render(language)
        code = feature.removesuffix("_rel")
        looks_like_code = any(c.isdigit() or c == "_" for c in code)
        assert "+46%" in text and not (looks_like_code and code in text), text



def test_a_feature_and_its_relative_twin_are_explained_once(fitted, monkeypatch):
    """"zero_share28" and "zero_share28_rel" read the same to a person: one line, their summed sway."""
    history, model = fitted
    bundle = Forecasts.from_history(model, history, {"overall": {}})
    names = model.feature_names
    base, twin = names.index("zero_share28"), names.index("zero_share28_rel")

    def twins(X):
        row = np.zeros(len(names) + 1)
        row[[base, twin, names.index("mean91")]] = [-0.2, -0.3, 0.4]
        return np.tile(row, (len(X), 1))

    monkeypatch.setattr(bundle.model, "contributions", twins)
    bundle.explained = {}
    explained = bundle.explain(bundle.row("i3"), 7)
    texts = [e["text"].render("en") for e in explained]
    assert len(texts) == len(set(texts)) and not any(e["feature"].endswith("_rel") for e in explained)
    assert [e["feature"] for e in explained] == ["zero_share28", "mean91"]  # -0.5 outweighs +0.4; no 0% lines
    assert explained[0]["contribution"] == pytest.approx(-0.5 / 0.9, abs=1e-3)


def test_explanations_stay_within_the_whole_for_an_item_forecast_to_sell_nothing(fitted, monkeypatch):
    """Features that sway a lot but sum to a p50 of almost nothing: their shares stay within ±100%
    (they were ±30,000,000% of a near-zero p50 on the demo shop's out-of-stock items)."""
    history, model = fitted
    bundle = Forecasts.from_history(model, history, {"overall": {}})
    width = len(model.feature_names)

    def cancelling(X):
        row = np.zeros(width + 1)
        row[:3] = [5.0, -4.0, -0.999]
        return np.tile(row, (len(X), 1))

    monkeypatch.setattr(bundle.model, "contributions", cancelling)
    bundle.explained = {}
    shares = [e["contribution"] for e in bundle.explain(bundle.row("i3"), 7)]
    assert shares and max(abs(x) for x in shares) <= 1.0
    assert shares[0] == pytest.approx(5.0 / 9.999, abs=1e-3)  # of the features' summed sway
