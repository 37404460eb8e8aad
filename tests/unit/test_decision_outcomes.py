"""The outcome maths of services/decisions/outcomes.py on simulated data whose truth is known."""

import numpy as np
import pytest

from services.decisions import outcomes
from services.decisions.outcomes import Group, Window


def _window(rng, rate: float, days: int, price: float) -> Window:
    # Baskets: lines ~ Poisson, 1 + Poisson(0.25) units each, as shops sell.
    lines = rng.poisson(rate / 1.25, days)
    units = np.array([n + rng.poisson(0.25 * n) if n else 0 for n in lines], dtype=float)
    return Window(units=units, revenue=units * price)


def _predicted(elasticity: float, old: float, new: float, spread: float = 0.2) -> dict:
    return {"elasticity": elasticity, "ci_low": elasticity - spread, "ci_high": elasticity + spread,
            "old_price": old, "new_price": new}


def test_the_interval_covers_the_true_effect_nine_times_in_ten():
    rng = np.random.default_rng(7)
    covered = []
    for _ in range(400):
        before, after = _window(rng, 6.0, 28, 100.0), _window(rng, 6.0 * (0.9 ** -1.5), 14, 90.0)
        result = outcomes.price_change(before, after, None, None, _predicted(-1.5, 100, 90), cost=50)
        low, high = result["interval"]["units_ratio"]
        covered.append(low <= 0.9 ** -1.5 <= high)
    assert 0.85 <= np.mean(covered) <= 0.96


def test_the_category_removes_a_season_both_share():
    rng = np.random.default_rng(3)
    season = 1.8  # everything sells 80% more after (a festival), the price effect on top
    before, after = _window(rng, 20.0, 28, 100.0), _window(rng, 20.0 * season * 1.2, 28, 90.0)
    peers_before, peers_after = _window(rng, 200.0, 28, 50.0), _window(rng, 200.0 * season, 28, 50.0)
    adjusted = outcomes.price_change(before, after, peers_before, peers_after, _predicted(-1.7, 100, 90), cost=50)
    raw = outcomes.price_change(before, after, None, None, _predicted(-1.7, 100, 90), cost=50)
    assert adjusted["observed"]["units_ratio"] == pytest.approx(1.2, rel=0.15)
    assert raw["observed"]["units_ratio"] == pytest.approx(1.2 * season, rel=0.15)
    assert adjusted["verdict"] == "as_predicted" and raw["verdict"] == "better_than_predicted"


def test_a_thin_category_is_not_used_as_control():
    rng = np.random.default_rng(5)
    before, after = _window(rng, 10.0, 28, 100.0), _window(rng, 10.0, 28, 100.0)
    thin_before, thin_after = Window(np.ones(28), np.ones(28)), Window(np.zeros(28), np.zeros(28))
    result = outcomes.price_change(before, after, thin_before, thin_after, _predicted(-1.5, 100, 100), cost=50)
    assert result["observed"]["category_ratio"] is None


def test_verdicts():
    rng = np.random.default_rng(11)
    before, after = _window(rng, 30.0, 28, 100.0), _window(rng, 30.0 * 0.5, 28, 110.0)  # demand halved
    wrong = outcomes.price_change(before, after, None, None, _predicted(-0.5, 100, 110, 0.1), cost=40)
    assert wrong["verdict"] == "worse_than_predicted" and not wrong["held_up"]
    assert wrong["observed"]["profit_change_pct"] < 0
    right = outcomes.price_change(before, after, None, None, _predicted(np.log(0.5) / np.log(1.1), 100, 110, 0.5),
                                  cost=40)
    assert right["verdict"] == "as_predicted" and right["held_up"]
    few = outcomes.price_change(Window(np.ones(5), np.ones(5) * 100), Window(np.ones(5), np.ones(5) * 90), None, None,
                                _predicted(-1.5, 100, 90), cost=40)
    assert few["verdict"] == "inconclusive"


def test_restock_verdicts():
    band = {"units_p10": 20.0, "units_p50": 30.0, "units_p90": 40.0}
    kept = outcomes.restock(np.full(14, 2.0), 0, {**band, "stockout_date": "2026-12-10"})
    assert (kept["stock"], kept["verdict"], kept["held_up"]) == ("stockout_avoided", "as_predicted", True)
    ran_out = outcomes.restock(np.full(14, 1.0), 3, {**band, "stockout_date": "2026-12-10"})
    assert ran_out["stock"] == "stockout_not_avoided" and ran_out["verdict"] == "worse_than_predicted"
    assert not ran_out["held_up"]
    calm = outcomes.restock(np.full(14, 4.0), 0, {**band, "stockout_date": None})
    assert calm["stock"] == "no_stockout" and calm["verdict"] == "better_than_predicted"


def _group(rng, members: int, rate: float) -> Group:
    bought = rng.random(members) < rate
    revenue = np.where(bought, rng.gamma(2.0, 80.0, members), 0.0)
    return Group(members=members, buyers=int(bought.sum()), revenue=revenue)


def test_campaign_lift_against_the_holdout():
    rng = np.random.default_rng(2)
    lifted = outcomes.campaign(_group(rng, 9000, 0.12), _group(rng, 1000, 0.06), {})
    assert lifted["verdict"] == "lift" and lifted["held_up"]
    low, high = lifted["interval"]["buy_rate_lift"]
    assert low <= 0.06 <= high
    nothing = [outcomes.campaign(_group(rng, 900, 0.08), _group(rng, 100, 0.08), {}) for _ in range(200)]
    covered = [r["interval"]["buy_rate_lift"][0] <= 0 <= r["interval"]["buy_rate_lift"][1] for r in nothing]
    assert 0.84 <= np.mean(covered) <= 0.97
    alone = outcomes.campaign(_group(rng, 100, 0.1), Group(0, 0, np.array([])), {})
    assert alone["verdict"] == "inconclusive" and alone["reason"] == "no_holdout"


def test_holdout_members_are_a_reproducible_random_share():
    users = [f"u{i}" for i in range(1000)]
    held = outcomes.holdout_members(users, 0.1, seed=42)
    assert len(held) == 100 and held <= set(users)
    assert held == outcomes.holdout_members(list(reversed(users)), 0.1, seed=42)
    assert held != outcomes.holdout_members(users, 0.1, seed=43)
    assert outcomes.holdout_members(users, 0.0, seed=1) == set()
    assert len(outcomes.holdout_members(["a", "b"], 0.5, seed=1)) == 1


def test_audit_counts_only_conclusive_outcomes():
    found = [{"verdict": "as_predicted", "held_up": True, "effect": {"predicted": 1.2, "realised": 1.1}},
             {"verdict": "worse_than_predicted", "held_up": False, "effect": {"predicted": 1.2, "realised": 0.7}},
             {"verdict": "inconclusive", "held_up": False, "effect": {"predicted": 1.2, "realised": 3.0}}]
    summary = outcomes.audit(found)
    assert summary == {"measured": 3, "conclusive": 2, "held_up": 1, "held_up_share": 0.5,
                       "mean_predicted_effect": 1.2, "mean_realised_effect": 0.9}
    assert outcomes.audit([])["held_up_share"] is None
