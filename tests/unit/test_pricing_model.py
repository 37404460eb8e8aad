"""The pricing service's pure parts: elasticity recovery on a synthetic panel, advice, competitors."""

import numpy as np
import pandas as pd
import pytest

from services.pricing.competitors import category_index, item_view, undercuts
from services.pricing.elasticity import estimate
from services.pricing.optimise import Guardrails, ItemEconomics, advise, nice_prices, simulate
from tests.support.prices import synthetic_price_panel


@pytest.mark.parametrize("observed_only", [False, True])
def test_elasticities_are_recovered_even_when_prices_are_seen_only_on_sale_days(observed_only):
    panel, beta, fixed = synthetic_price_panel(120, 500, 4, seed=1, observed_only=observed_only, fixed_share=0.1)
    est = estimate(panel)
    measured = est.method == "pooled"
    assert measured.sum() >= 0.8 * (~fixed).sum()
    assert np.all(est.method[fixed] != "pooled")  # a price that never moved is never "measured"
    err = est.value[measured] - beta[measured]
    assert abs(err.mean()) < 0.1 and np.median(np.abs(err)) < 0.3
    covered = (beta >= est.ci_low) & (beta <= est.ci_high)
    assert 0.8 <= covered.mean() <= 0.97


def _economics(**kw):
    values = {"price": 100.0, "cost": 40.0, "daily_units": 5.0, "elasticity": -1.2, "elasticity_sd": 0.1,
              "reference": 130.0}
    values.update(kw)
    return ItemEconomics(**values)


def test_nice_prices_end_in_the_digits_shoppers_expect():
    assert list(nice_prices(90, 110, (9, 8))) == [98.0, 99.0, 108.0, 109.0]
    assert list(nice_prices(8.0, 9.5, (9,))) == [8.9]


def test_inelastic_item_is_raised_within_the_step_and_below_the_reference():
    advice = advise(_economics(elasticity=-0.6))
    assert advice["action"] == "raise" and advice["price"] == 109.0 and advice["expected_profit_change_pct"] > 0
    capped = advise(_economics(elasticity=-0.6, reference=104.0))
    assert capped["price"] <= 104.0
    free = advise(_economics(elasticity=-0.6, reference=104.0), Guardrails(allow_above_reference=True))
    assert free["price"] == 109.0


def test_elastic_cheap_margin_item_is_lowered_but_never_below_the_margin_floor():
    advice = advise(_economics(elasticity=-4.0, cost=20.0))
    assert advice["action"] == "lower" and advice["price"] < 100
    tight = advise(_economics(elasticity=-4.0, cost=88.0))
    assert tight["price"] >= 88.0 / 0.9


def test_uncertain_estimate_holds_the_price_and_says_why():
    advice = advise(_economics(elasticity=-0.9, elasticity_sd=1.2))
    assert advice["action"] == "hold" and advice["price"] == 100.0 and "维持" in str(advice["reason"])
    assert advice["reason"].render("en").startswith("Keep the price")


def test_without_cost_the_advice_maximises_revenue_and_says_so():
    advice = advise(_economics(cost=None, elasticity=-0.5))
    assert advice["objective"] == "revenue" and advice["expected_profit_change_pct"] is None
    assert "revenue" in advice["note"].render("en") and advice["expected_revenue_change_pct"] > 0


def test_simulate_bands_follow_the_interval():
    answer = simulate(_economics(elasticity_sd=0.3), 90.0, days=28)
    assert answer["low"]["units"] < answer["expected"]["units"] < answer["high"]["units"]
    assert answer["expected"]["units"] > answer["at_current_price"]["units"]


def test_competitor_view_index_and_undercuts():
    obs = pd.DataFrame({"item_id": ["A", "A", "A", "B"], "competitor": ["x", "x", "y", "x"],
                        "price": [80.0, 95.0, 99.0, 50.0],
                        "observed_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-02-01", "2026-02-01"])})
    view = item_view(100.0, obs[obs.item_id == "A"])
    assert [c["price"] for c in view["competitors"]] == [95.0, 99.0]
    assert view["price_index"] == pytest.approx(100 / 95, abs=1e-4)
    ours = pd.Series({"A": 100.0, "B": 60.0})
    found = undercuts(ours, obs, share=0.05)
    assert [(u["item_id"], u["competitor"]) for u in found] == [("B", "x")]  # A's 80 is stale, 95 is only 5% below
    index = category_index(ours, pd.Series({"A": "c1", "B": "c1"}), obs)
    assert index[0]["items_watched"] == 2


@pytest.mark.parametrize(("chance", "text"), [(0.996, ">99%"), (0.99, ">99%"), (0.5, "50%"), (0.004, "<1%")])
def test_confidence_is_never_said_to_be_certain(chance, text):
    from services.pricing.optimise import confidence_text

    assert confidence_text(chance) == text
