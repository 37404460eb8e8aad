"""``shopmind demo``: get a newcomer from nothing to a served, trained demo shop.

Everything goes through the public API (in-process, with the demo shop's admin key), so the
demo exercises exactly what other systems call: imports as jobs, then a retrain of every model.
Steps whose service is not built yet are reported as skipped, not faked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from shared.config import Settings

DEMO_SHOP_NAME = "演示旗舰店 demo"
# (entity, file written by infra/demo_data.py, import preset)
DEMO_IMPORTS = [
    ("products", "products.csv", "generic"),
    ("customers", "customers.csv", "generic"),
    ("orders", "订单报表.csv", "tmall_orders"),
    ("order_items", "宝贝报表.csv", "tmall_order_items"),
    ("events", "user_behavior.csv", "taobao_user_behavior"),
    ("reviews", "reviews.csv", "generic"),
    ("inventory", "inventory.csv", "generic"),
    ("competitor_prices", "competitor_prices.csv", "generic"),
]


def prepare_demo(settings: Settings, seed: int, scale: float, generate: Callable, echo: Callable) -> dict:
    from shared.migrate import upgrade

    echo("1/5 migrating the database")
    upgrade(settings.database_url)

    out_dir = settings.data_dir / "demo"
    summary_file = out_dir / "summary.json"
    wanted = {"seed": seed, "scale": scale}
    if summary_file.exists() and {k: json.loads(summary_file.read_text()).get(k) for k in wanted} == wanted:
        echo(f"2/5 demo files already in {out_dir}")
    else:
        echo(f"2/5 generating the demo shop into {out_dir}")
        summary = generate(out_dir, seed, scale)
        summary_file.write_text(json.dumps(summary, ensure_ascii=False, indent=2))

    echo("3/5 creating the demo shop and its keys")
    info = _demo_shop(settings)

    from services.allinone import create_app

    client = create_app(settings).test_client()
    auth = {"Authorization": f"Bearer {info['keys']['admin']}"}
    echo("4/5 importing the exports through POST /v1/imports")
    for entity, filename, preset in DEMO_IMPORTS:
        with open(out_dir / filename, "rb") as handle:
            reply = client.post(f"/v1/imports?entity={entity}&preset={preset}&mode=lenient&wait=120",
                                data={"file": (handle, filename)}, headers=auth)
        echo("    " + _describe(entity, reply))
    echo("5/5 training every model through POST /v1/admin/retrain")
    reply = client.post("/v1/admin/retrain?wait=120", json={"models": ["all"]}, headers=auth)
    echo("    " + _describe("retrain", reply))
    return info


def _describe(step: str, reply) -> str:
    body = reply.get_json(silent=True) or {}
    if reply.status_code == 404:
        return f"{step}: skipped (that service is not built yet)"
    if reply.status_code >= 400:
        return f"{step}: {reply.status_code} {body.get('detail', '')}"
    job = body.get("job")
    if job and job["status"] == "succeeded" and "rows_total" in (job["result"] or {}):
        r = job["result"]
        return (f"{step}: {r['rows_total']:,} rows ({r['preset']}): {r['rows_loaded']:,} loaded, "
                f"{r['rows_updated']:,} updated, {r['rows_duplicate']:,} duplicate, {r['rows_rejected']:,} rejected")
    if job:
        outcome = (job.get("error") or {}).get("detail") or job["status"]
        return f"{step}: {job['status']} {outcome}"
    return f"{step}: " + ", ".join(f"{j['kind']} {j['status']}" for j in body.get("jobs", []))


def _demo_shop(settings: Settings) -> dict:
    """The demo shop and one key per role, kept in var/demo_keys.json so restarts reuse them."""
    from services.gateway.data import create_key, create_shop
    from shared.db import ALL_SHOPS, session_scope
    from shared.models import Shop

    keys_file: Path = settings.data_dir / "demo_keys.json"
    if keys_file.exists():
        info = json.loads(keys_file.read_text())
        with session_scope(ALL_SHOPS, settings.database_url) as session:
            if session.get(Shop, info["shop"]["id"]) is not None:
                return info
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        shop, _key, admin = create_shop(session, DEMO_SHOP_NAME, "Asia/Shanghai", "CNY")
        keys = {"admin": admin}
        for role in ("analyst", "client"):
            keys[role] = create_key(session, shop.id, role)[1]
        info = {"shop": {"id": shop.id, "name": shop.name}, "keys": keys}
    keys_file.write_text(json.dumps(info, ensure_ascii=False, indent=2))
    keys_file.chmod(0o600)
    return info
