"""Alembic environment: the URL comes from shopmind's settings (or the caller's config)."""

from alembic import context

import shared.models  # noqa: F401  (registers every table on Base.metadata)
from shared.config import load_settings
from shared.db import Base, get_engine

config = context.config
target_metadata = Base.metadata

def include_object(obj, name, type_, reflected, compare_to):
    # Monthly partitions of events are created at load time, not declared as models.
    if type_ == "table" and reflected and compare_to is None and name.startswith("events_"):
        return False
    return True

def database_url() -> str:
    return config.attributes.get("database_url") or load_settings().database_url

def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()

def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = get_engine(database_url()).execution_options()
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connection)

def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

