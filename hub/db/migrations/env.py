"""Alembic environment: the URL comes from the caller (hub.db.migrate) or else from the hub's settings."""

from alembic import context

from hub.core.config import HubSettings
from hub.db.engine import make_engine
from hub.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    database_url = config.attributes.get("database_url") or HubSettings().database_url
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `threshold-hub migrate`")
run_migrations_online()
