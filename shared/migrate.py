"""Run the Alembic migrations of ``infra/migrations`` from code (``shopmind migrate``, tests)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.db import get_engine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "infra" / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def wait_for_database(database_url: str, timeout_s: float = 60.0) -> None:
    """Retry until the database answers, so a container started before Postgres does not crash.
    A SQLite file's directory is created first: there is nothing to wait for, only a file to make."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            with get_engine(database_url).connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"database at {_redact(database_url)} is not reachable after {timeout_s:.0f}s: "
                    f"{exc.orig}. Is it running, and is DATABASE_URL right?"
                ) from None
            log.warning("database not reachable yet (%s); retrying in %.1fs", exc.orig, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def upgrade(database_url: str, revision: str = "head") -> None:
    wait_for_database(database_url)
    command.upgrade(alembic_config(database_url), revision)


def pending(database_url: str) -> list[str]:
    """Revisions the database has not applied yet (its schema is older than this code)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(database_url))
    with get_engine(database_url).connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    applied = {rev.revision for head in current for rev in script.iterate_revisions(head, "base")}
    return [rev.revision for rev in script.walk_revisions() if rev.revision not in applied][::-1]


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def _redact(url: str) -> str:
    """Hide the password of a database URL in messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
