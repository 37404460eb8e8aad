"""The public data sets some tests and benchmarks read (never copied into the repository).

Point ``SHOPMIND_PUBLIC_DATA`` at a directory holding them by their usual names:
``taobao_userbehavior`` (Tianchi UserBehavior samples), ``uci_online_retail`` (UCI Online Retail,
CC BY 4.0), ``online_shopping_10_cats``, ``chnsenticorp_htl_all`` and ``waimai_10k`` (labelled
Chinese reviews). Without it, the tests that need them skip and say so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV = "SHOPMIND_PUBLIC_DATA"
PUBLIC_DATA = Path(os.environ[ENV]).expanduser() if os.environ.get(ENV) else Path("/nonexistent-public-data")
MISSING = f"needs the public data sets: set {ENV} to their directory"


def data_set(name: str) -> Path:
    """Where a named data set is (it may not exist: check, or use :func:`needs`)."""
    return PUBLIC_DATA / name


def needs(*names: str) -> pytest.MarkDecorator:
    """Skip unless every named data set is present."""
    return pytest.mark.skipif(not all(data_set(n).exists() for n in names), reason=MISSING)
