"""The e2e suites' demo shops: the synthetic shop's files, generated once per data set and test
run, imported (and trained) through the gateway as a real shop's exports would be."""

from __future__ import annotations

import csv
from pathlib import Path

from infra.demo_data import generate
from tests.support import DEMO_END
from tests.support.imports import import_file

# entity -> the file infra/demo_data.py writes for it
DEMO_FILES = {
    "products": "products.csv",
    "customers": "customers.csv",
    "orders": "订单报表.csv",
    "order_items": "宝贝报表.csv",
    "events": "user_behavior.csv",
    "reviews": "reviews.csv",
    "inventory": "inventory.csv",
    "competitor_prices": "competitor_prices.csv",
}


class DemoData:
    """The generated files of each (seed, scale), made on first use: a data set several test
    modules read (the full shop at scale 1.0 takes a while to write) is generated once."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._made: dict[tuple[int, float], Path] = {}

    def files(self, seed: int, scale: float) -> Path:
        if (seed, scale) not in self._made:
            out = self._tmp.mktemp(f"demo-{seed}-{scale}")
            generate(out, seed=seed, scale=scale, end_date=DEMO_END)
            self._made[(seed, scale)] = out
        return self._made[(seed, scale)]


def import_demo(client, shop, out: Path, entities: list[str]) -> dict:
    """Import the demo files of ``entities`` in that order, each to its end; returns the last answer."""
    body = {}
    for entity in entities:
        status, body = import_file(client, shop.headers(), out / DEMO_FILES[entity], entity, wait=120)
        assert status == 200 and body["job"]["status"] == "succeeded", body
    return body


def catalogue_titles(out: Path) -> dict[str, str]:
    """item_id -> title, as the demo's catalogue file lists them."""
    with open(out / DEMO_FILES["products"], encoding="utf-8") as file:
        return {row["item_id"]: row["title"] for row in csv.DictReader(file)}
