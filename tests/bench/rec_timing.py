"""Wall time per stage of the recommendation pipeline, without touching service code.

``Stages.stage(name)`` times a block; ``Stages.watch(owner, attr, label)`` temporarily replaces a
function or method with a wrapper that adds its wall time to ``<current stage>.<label>`` and then
calls the original unchanged (so the service code runs exactly as it would, plus a clock read).
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager


class Stages:
    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.current = "other"

    @contextmanager
    def stage(self, name: str):
        previous, self.current = self.current, name
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1
            self.current = previous

    @contextmanager
    def watch(self, owner, attr: str, label: str):
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            key = f"{self.current}.{label}"
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - started
                self.calls[key] += 1

        setattr(owner, attr, timed)
        try:
            yield
        finally:
            setattr(owner, attr, original)

    @contextmanager
    def watching(self, targets):
        """``targets``: (owner, attribute, label) triples, all watched at once."""
        with ExitStack() as stack:
            for owner, attr, label in targets:
                stack.enter_context(self.watch(owner, attr, label))
            yield

    def rounded(self, digits: int = 2) -> dict[str, float]:
        return {k: round(v, digits) for k, v in sorted(self.seconds.items())}


def pipeline_targets():
    """The functions of train() and evaluate() worth a line each, and implicit's own ALS fit."""
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import CosineRecommender

    from services.recommendation import evaluate as evaluate_module
    from services.recommendation import recommender as recommender_module

    return [
        (AlternatingLeastSquares, "fit", "implicit_als_fit"),
        (CosineRecommender, "fit", "implicit_cosine_fit"),
        (np, "setdiff1d", "np_setdiff1d_catalogue_items"),
        (recommender_module, "build_interactions", "build_interactions"),
        (recommender_module, "_strongest_types", "strongest_types"),
        (recommender_module, "item_neighbours", "item_neighbours"),
        (recommender_module, "co_purchase_lift", "co_purchase_lift"),
        (recommender_module, "popularity", "popularity"),
        (recommender_module, "_token_matrix", "title_tokens_jieba"),
        (recommender_module.Recommender, "__init__", "recommender_init"),
        (evaluate_module, "build_interactions", "build_interactions"),
        (evaluate_module, "item_neighbours", "item_neighbours"),
        (evaluate_module, "ranking_metrics", "ranking_metrics"),
        (evaluate_module.ALSModel, "recommend_known", "als_recommend_known_per_user"),
    ]
