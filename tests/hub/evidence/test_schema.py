"""Migration 0004 goes down and up cleanly, and going down gives events back their strict append-only trigger."""

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from hub.db.migrate import alembic_config, upgrade
from tests.hub.evidence.conftest import EvidenceHome


def test_down_to_0003_and_up_again(home: EvidenceHome, migrated_url: str, engine: Engine) -> None:
    home.night(1)
    command.downgrade(alembic_config(migrated_url), "0003_entries_alerts")
    engine.dispose()
    assert not {"checkpoints", "cases", "purged_events"} & set(inspect(engine).get_table_names())
    with engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("UPDATE events SET signed = '' WHERE seq = 1"))
    upgrade(migrated_url)
    engine.dispose()
    assert {"checkpoints", "cases", "purged_events"} <= set(inspect(engine).get_table_names())
    home.checkpoint()
    assert home.check().ok
