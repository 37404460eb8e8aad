"""The recommendation training pipeline on ~1M interactions, stage by stage, from PostgreSQL.

Run alone with `.venv/bin/python -m pytest tests/bench/test_recommendation_training.py -q -s -p no:cacheprovider`.
Needs PostgreSQL (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test; skips without it).

A synthetic shop (rec_data.synthetic_shop: 100k users, 100k products, 1M behaviour events with
power-law item popularity and clustered users; each user-day's buys also a paid order) is
copied with psycopg2 COPY (bypassing the importer) into a throwaway, migrated database: the
partitioned ``events`` table, ``orders``, ``order_items`` and ``products``. Then the train job's
work runs in-process with the functions ``services.recommendation.service`` uses, in its order
(``_load``, then ``fit_and_register``): data.load_interactions / load_baskets /
load_event_categories / load_catalogue, evaluate() on the job's holdout, recommender.train(),
to_arrays + artifacts.save_version + promote_if_better. Each stage is timed, and inside them
implicit's own ``AlternatingLeastSquares.fit`` (and the other named helpers, rec_timing.py) by
wrapping them with a clock; the code itself runs unchanged. Figures: total wall time, and the time
outside implicit's ALS fit as a share and a multiple of the fit time (issue target: overhead <= 1x).
"""

import io
import json
import os
import time

import numpy as np
import pandas as pd
import psycopg2
import pytest
from sqlalchemy import create_engine

from tests.bench.rec_data import pseudonymised, synthetic_shop
from tests.bench.rec_timing import Stages, pipeline_targets
from tests.bench.servers import bench_settings, new_shop, server_env, throwaway_database

USERS, ITEMS, EVENTS = 100_000, 100_000, 1_000_000


def _copy(cursor, table: str, frame: pd.DataFrame, not_null: tuple[str, ...] = ()) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    force = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""  # '' stays '', not NULL
    cursor.copy_expert(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv{force})", buffer)


def _load_database(url_s: str, dsn: str, shop_id: int, shop: dict) -> dict:
    from services.ingestion.loader import ensure_event_partitions

    events, orders, lines = shop["events"], shop["orders"], shop["lines"]
    engine = create_engine(url_s)
    with engine.begin() as connection:
        partitions = ensure_event_partitions(connection, events["ts"].min().to_pydatetime(),
                                             events["ts"].max().to_pydatetime())
    engine.dispose()
    iso = lambda s: s.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")  # noqa: E731
    started = time.perf_counter()
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        products = shop["catalogue"].assign(shop_id=shop_id)
        _copy(cursor, "products", products[["shop_id", "item_id", "title", "category"]])
        _copy(cursor, "events", pd.DataFrame({
            "shop_id": shop_id, "user_id": events["user_id"], "item_id": events["item_id"], "type": events["type"],
            "ts": iso(events["ts"]), "category_id": events["category_id"]}))
        _copy(cursor, "orders", pd.DataFrame({"shop_id": shop_id, "order_id": orders["order_id"],
                                              "user_id": orders["user_id"], "created_at": iso(orders["created_at"]),
                                              "paid_at": iso(orders["created_at"]), "status": "paid"}))
        _copy(cursor, "order_items", pd.DataFrame({"shop_id": shop_id, "order_id": lines["order_id"],
                                                   "item_id": lines["item_id"], "sku": "", "quantity": 1,
                                                   "unit_price": "19.90"}), not_null=("sku",))
        cursor.execute("ANALYZE")
    copy_s = time.perf_counter() - started
    return {"events": len(events), "orders": len(orders), "order_lines": len(lines),
            "products": len(shop["catalogue"]), "partitions_created": partitions, "copy_s": round(copy_s, 1)}


@pytest.mark.bench
def test_recommendation_training(tmp_path):
    url, drop = throwaway_database()
    url_s = url.render_as_string(hide_password=False)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = server_env(tmp_path, url_s)
    load_before = os.getloadavg()[0]
    try:
        from services.recommendation import data
        from services.recommendation.evaluate import evaluate
        from services.recommendation.model import DEFAULT_PARAMS, NotEnoughData
        from services.recommendation.recommender import train
        from services.recommendation.service import PROMOTION_METRIC, SERVICE, holdout_days
        from shared import artifacts
        from shared.db import session_scope
        from shared.models import Shop

        shop_id = new_shop(env, "bench-train")["shop"]["id"]
        settings = bench_settings(env)
        with session_scope(shop_id, url_s) as session:
            salt = session.get(Shop, shop_id).user_id_salt
        started = time.perf_counter()
        shop = pseudonymised(synthetic_shop(USERS, ITEMS, EVENTS, seed=11), salt)
        generate_s = time.perf_counter() - started
        database = _load_database(url_s, dsn, shop_id, shop)
        catalogue_ids = shop["catalogue"]["item_id"].to_numpy()
        del shop

        stages = Stages()
        params = {**DEFAULT_PARAMS}
        with stages.watching(pipeline_targets()):
            with stages.stage("load"):  # tasks._load
                with stages.stage("load.load_interactions"), session_scope(shop_id, url_s) as session:
                    interactions = data.load_interactions(session)
                with stages.stage("load.load_baskets"), session_scope(shop_id, url_s) as session:
                    baskets = data.load_baskets(session)
                with stages.stage("load.load_event_categories"), session_scope(shop_id, url_s) as session:
                    categories = data.load_event_categories(session)
                with stages.stage("load.merge_categories"):
                    interactions = interactions.merge(categories.drop_duplicates("item_id"), on="item_id",
                                                      how="left")
                with stages.stage("load.load_catalogue"), session_scope(shop_id, url_s) as session:
                    catalogue = data.load_catalogue(session, interactions)
            window = holdout_days(interactions)
            with stages.stage("evaluate"):  # service.fit_and_register
                try:
                    evaluation = evaluate(interactions, window, params)
                    metrics = {**evaluation.pop("als"), "baselines": evaluation, "holdout_days": window}
                except NotEnoughData as exc:
                    metrics = {"evaluation": f"skipped: {exc}", "holdout_days": window}
            with stages.stage("train"):
                model = train(interactions, baskets, catalogue, params)
            with stages.stage("save"):
                with stages.stage("save.to_arrays"):
                    arrays = model.to_arrays()
                with stages.stage("save.save_version_promote"), session_scope(shop_id, url_s) as session:
                    row = artifacts.save_version(session, settings, shop_id, SERVICE, arrays=arrays,
                                                 params=json.loads(json.dumps(params)), metrics=metrics,
                                                 data_window={"interactions": int(len(interactions))})
                    promoted = artifacts.promote_if_better(session, row, PROMOTION_METRIC, higher_is_better=True)
                    artifact_dir = settings.artifact_dir / row.artifact_path
        # Diagnostic only: the set difference train() computes (catalogue ids not in the interaction
        # matrix), with the catalogue ids as a unicode array instead of pandas' object array.
        interacted = np.unique(interactions["item_id"].to_numpy().astype(str))
        started = time.perf_counter()
        np.setdiff1d(catalogue["item_id"].astype(str).to_numpy().astype(str), interacted)
        unicode_setdiff_s = time.perf_counter() - started
        n_users, n_items, nnz = len(model.user_ids), len(model.item_ids), int(model.matrix.nnz)
        del model, arrays
    finally:
        drop()

    seconds = stages.seconds
    total = sum(seconds[s] for s in ("load", "evaluate", "train", "save"))
    fit = sum(v for k, v in seconds.items() if k.endswith(".implicit_als_fit"))
    overhead = total - fit
    breakdown = stages.rounded()
    report = {
        "data": {"users": USERS, "items": ITEMS, "events_generated": EVENTS, **database,
                 "interactions_loaded": int(len(interactions)), "baskets_lines": int(len(baskets)),
                 "catalogue_rows": int(len(catalogue)), "catalogue_ids_generated": int(len(catalogue_ids)),
                 "model_users": n_users, "model_items": n_items, "matrix_nnz": nnz, "generate_s": round(generate_s, 1)},
        "params": {k: v for k, v in params.items() if k != "weights"},
        "holdout_days": window,
        "evaluation": {k: metrics.get(k) for k in ("recall@20", "ndcg@10", "users")} | (
            {"split": metrics["baselines"]["split"]} if "baselines" in metrics
            else {"note": metrics.get("evaluation")}),
        "promoted": promoted,
        "artifact_mb_on_disk": round(sum(f.stat().st_size for f in artifact_dir.rglob("*") if f.is_file()) / 1e6, 1),
        "stages_s": {k: round(seconds[k], 2) for k in ("load", "evaluate", "train", "save")},
        "breakdown_s": {k: v for k, v in breakdown.items() if k not in ("load", "evaluate", "train", "save")},
        "total_s": round(total, 1),
        "implicit_als_fit_s": round(fit, 1),
        "outside_fit_s": round(overhead, 1),
        "outside_fit_share": round(overhead / total, 3),
        "overhead_vs_fit": round(overhead / fit, 2),
        "target_overhead_vs_fit": 1.0,
        "diagnostic_same_setdiff1d_on_unicode_ids_s": round(unicode_setdiff_s, 3),
        "loadavg_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }
    print("\n" + json.dumps({"recommendation_training": report}, indent=2, ensure_ascii=False))
    assert report["data"]["interactions_loaded"] > 0 and report["data"]["matrix_nnz"] > 0
    assert fit > 0 and total > fit
