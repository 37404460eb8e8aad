"""``shopmind demo``: get a newcomer from nothing to a served, trained demo shop.

Everything goes through the public API (in-process, with the demo shop's admin key), so the
demo exercises exactly what other systems call: imports as jobs, then a retrain of every model.
Every job is followed to its end before the demo serves: the jobs run on this process's
threads, and the server that follows runs in a forked process of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from shared.config import Settings

DEMO_SHOP_NAME = "演示旗舰店 demo"
DEMO_TIMEZONE = "Asia/Shanghai"
DEMO_LOGIN = "owner@demo.shop"
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
POLL_S = 0.3


def prepare_demo(settings: Settings, seed: int, scale: float, end_date: date, generate: Callable,
                 echo: Callable, follow: Callable | None = None) -> dict:
    """Migrate, generate (unless the same shop is already on disk), import and train; returns the
    shop, its keys and the training jobs as they finished.

    ``follow(jobs, poll, label)`` shows long jobs while they run (the CLI draws a progress bar);
    ``poll()`` returns the jobs' latest state and is called until every job has finished.
    """
    from shared import jobs
    from shared.migrate import upgrade

    echo("1/5 migrating the database")
    upgrade(settings.database_url)

    out_dir = settings.data_dir / "demo"
    summary_file = out_dir / "summary.json"
    wanted = {"seed": seed, "scale": scale, "end_date": end_date.isoformat()}
    if summary_file.exists() and {k: json.loads(summary_file.read_text()).get(k) for k in wanted} == wanted:
        echo(f"2/5 the demo shop up to {end_date} is already in {out_dir}")
    else:
        echo(f"2/5 generating the demo shop up to {end_date} into {out_dir}")
        summary = generate(out_dir, seed, scale, end_date)
        summary_file.write_text(json.dumps(summary, ensure_ascii=False, indent=2))

    echo("3/5 creating the demo shop and its keys")
    info = _demo_shop(settings)

    from services.runtime.allinone import create_app

    client = create_app(settings).test_client()
    auth = {"Authorization": f"Bearer {info['keys']['admin']}"}
    follow = follow or _follow_quietly

    def until_finished(started: list[dict], label: str) -> list[dict]:
        def poll() -> list[dict]:
            return [job if job["status"] in jobs.FINISHED else
                    client.get(f"/v1/jobs/{job['id']}", headers=auth).get_json() for job in started]
        return follow(started, poll, label)

    echo("4/5 importing the exports through POST /v1/imports")
    for entity, filename, preset in DEMO_IMPORTS:
        with open(out_dir / filename, "rb") as handle:
            reply = client.post(f"/v1/imports?entity={entity}&preset={preset}&mode=lenient",
                                data={"file": (handle, filename)}, headers=auth)
        body = reply.get_json(silent=True) or {}
        if reply.status_code >= 400:
            echo(f"    {entity}: {reply.status_code} {body.get('detail', '')}")
            continue
        echo("    " + describe_import(entity, until_finished([body["job"]], entity)[0]))

    echo("5/5 training every model through POST /v1/admin/retrain")
    reply = client.post("/v1/admin/retrain", json={"models": ["all"]}, headers=auth)
    trained = until_finished(reply.get_json()["jobs"], "training")
    for job in trained:
        echo("    " + describe_training(job))
    record_past_decisions(client, auth, out_dir, end_date, until_finished, echo)
    # Nothing may still run on this process's threads once the server forks its worker.
    jobs.shutdown_embedded_runner()
    return {**info, "training": trained}


# Past price changes of the demo shop recorded as the decisions they were, so 决策 shows outcomes.
PAST_DECISIONS = 6
PAST_WINDOW_DAYS = 28


def record_past_decisions(client, auth: dict, out_dir: Path, end_date: date, until_finished: Callable,
                          echo: Callable) -> None:
    """Record the shop's latest measurable price changes as back-dated decisions (noted as such)
    and measure them, so a newcomer sees the closed loop's last step, not an empty log."""
    from infra.demo_data import clean_price_changes

    truth = json.loads((out_dir / "ground_truth.json").read_text())
    if client.get("/v1/decisions?limit=1", headers=auth).get_json().get("items"):
        return  # a reused demo shop has them already
    # The best sellers' changes of the last half year: a slow item's fortnight says little (docs/decisions.md).
    demand = {item_id: item["base_daily_demand"] for item_id, item in truth["items"].items()}
    recent = (end_date - timedelta(days=183)).isoformat()
    changes = sorted((c for c in clean_price_changes(truth, end_date, 28, PAST_WINDOW_DAYS) if c[1] >= recent),
                     key=lambda c: -demand[c[0]])
    recorded = 0
    for item_id, day, _old, new in changes:
        reply = client.post("/v1/decisions", headers=auth, json={
            "kind": "price_change", "item_id": item_id, "value": {"price": new}, "effective_at": day,
            "outcome_window_days": PAST_WINDOW_DAYS,
            "note": "演示：店铺过去的一次调价，补记为决策"})
        recorded += reply.status_code == 201
        if recorded == PAST_DECISIONS:
            break
    check = client.post("/v1/decisions/outcomes/check", headers=auth).get_json()["job"]
    [done] = until_finished([check], "outcomes")
    echo(f"    {recorded} past price changes recorded as decisions, "
         f"{(done.get('result') or {}).get('measured', 0)} measured (决策 page)")


def _follow_quietly(started: list[dict], poll: Callable[[], list[dict]], _label: str) -> list[dict]:
    from shared.jobs import FINISHED

    latest = started
    while any(job["status"] not in FINISHED for job in latest):
        time.sleep(POLL_S)
        latest = poll()
    return latest


def describe_import(entity: str, job: dict) -> str:
    result = job.get("result") or {}
    if job["status"] == "succeeded" and "rows_total" in result:
        return (f"{entity}: {result['rows_total']:,} rows ({result['preset']}): {result['rows_loaded']:,} loaded, "
                f"{result['rows_updated']:,} updated, {result['rows_duplicate']:,} duplicate, "
                f"{result['rows_rejected']:,} rejected")
    return f"{entity}: {job['status']} {(job.get('error') or {}).get('detail', '')}".rstrip()


def describe_training(job: dict) -> str:
    service = job["kind"].split(".")[0]
    if job["status"] != "succeeded":
        return f"{service}: failed: {(job.get('error') or {}).get('detail', '')}"
    result = job.get("result") or {}
    version = result.get("version")
    if version and result.get("promoted"):
        return f"{service}: model version {version} is active"
    why = result.get("promotion") or result.get("note") or ""
    return f"{service}: model version {version} trained, not promoted: {why}" if version else f"{service}: {why}"


def _demo_shop(settings: Settings) -> dict:
    """The demo shop, one key per role and a console login, kept in var/demo_keys.json so
    restarts reuse them."""
    info = _demo_shop_and_keys(settings)
    if "login" not in info:  # a keys file from before the console
        info["login"] = _demo_login(settings, info["shop"]["id"])
        keys_file = settings.data_dir / "demo_keys.json"
        keys_file.write_text(json.dumps(info, ensure_ascii=False, indent=2))
        keys_file.chmod(0o600)
    return info


def _demo_login(settings: Settings, shop_id: int) -> dict:
    """An admin console user with a random password (printed, and kept in the keys file)."""
    from services.gateway.accounts import create_user
    from shared.db import session_scope
    from shared.errors import Conflict

    for email in (DEMO_LOGIN, DEMO_LOGIN.replace("@", f"+{shop_id}@")):  # the plain one may be an older shop's
        with session_scope(shop_id, settings.database_url) as session:
            try:
                user = create_user(session, shop_id, email, "admin")
            except Conflict:
                continue
        return {"email": user["email"], "password": user["password"]}
    raise RuntimeError(f"no free demo login for shop {shop_id}: remove the users {DEMO_LOGIN} and "
                       f"{DEMO_LOGIN.replace('@', f'+{shop_id}@')}")


def _demo_shop_and_keys(settings: Settings) -> dict:
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
        shop, _key, admin = create_shop(session, DEMO_SHOP_NAME, DEMO_TIMEZONE, "CNY")
        keys = {"admin": admin}
        for role in ("analyst", "client"):
            keys[role] = create_key(session, shop.id, role)[1]
        info = {"shop": {"id": shop.id, "name": shop.name}, "keys": keys}
    keys_file.write_text(json.dumps(info, ensure_ascii=False, indent=2))
    keys_file.chmod(0o600)
    return info
