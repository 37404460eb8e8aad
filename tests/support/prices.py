"""A synthetic shop for the pricing tests and benchmark: Poisson demand with known elasticities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.pricing.elasticity import PricePanel


def synthetic_price_panel(n: int, days: int, categories: int, seed: int = 0, observed_only: bool = True,
                          fixed_share: float = 0.0) -> tuple[PricePanel, np.ndarray, np.ndarray]:
    """(panel, true elasticities, fixed-price flags): per item a regular price that changes level
    every 14–56 days (±5–25%, or back to list), day effects shared by all items, and demand
    base · day · level^β. With ``observed_only`` prices are known only on days with a sale (as in
    real order exports): the panel then carries the last and next sale's price for each day."""
    rng = np.random.default_rng(seed)
    beta = np.clip(rng.normal(-1.6, 0.45, n), -4, -0.2)
    base = np.exp(rng.normal(np.log(0.6), 0.9, n))
    levels = np.ones((n, days))
    for i in range(n):
        day = int(rng.integers(7, 45))
        while day < days:
            length = int(rng.integers(14, 57))
            levels[i, day:day + length] = 1.0 if rng.random() < 0.3 else 1 + rng.choice([-1, 1]) * rng.uniform(.05, .25)
            day += length
    fixed = rng.random(n) < fixed_share
    levels[fixed] = 1.0
    day_effect = np.exp(rng.normal(0, .3, days))[None, :]
    units = rng.poisson(base[:, None] * day_effect * levels ** beta[:, None]).astype(float)
    price = 100 * levels
    before = after = price
    if observed_only:
        seen = pd.DataFrame(np.where(units > 0, price, np.nan).T)
        before, after = seen.ffill().bfill().to_numpy().T, seen.bfill().ffill().to_numpy().T
    panel = PricePanel(np.array([f"SKU{i:05d}" for i in range(n)], dtype=object),
                       np.array([f"cat{i % categories:02d}" for i in range(n)], dtype=object),
                       pd.date_range("2024-11-21", periods=days), units, before, after, ~np.isnan(before))
    return panel, beta, fixed
