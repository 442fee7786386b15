"""The migrations build the schema the models describe, on SQLite and PostgreSQL, and events cannot change."""

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.db.migrate import upgrade
from hub.db.models import Base, StoredEvent
from hub.ingest.store import VerifyKeys, store_batch
from tests.hub.conftest import DEVICE, EVENT_TOPIC, received, vector_payload


def test_the_schema_has_the_ingest_tables(engine: Engine) -> None:
    inspector = inspect(engine)
    assert {"devices", "events", "rejected_messages", "device_heads", "alembic_version"} <= set(
        inspector.get_table_names()
    )
    columns = {column["name"] for column in inspector.get_columns("events")}
    assert {"site", "device", "seq", "type", "door", "room", "ts_ms", "mono_ms", "boot", "prev", "hash", "sig",
            "signed", "received_at"} <= columns
    uniques = [set(unique["column_names"]) for unique in inspector.get_unique_constraints("events")]
    assert {"device", "seq"} in uniques
    indexes = {tuple(index["column_names"]) for index in inspector.get_indexes("events")}
    assert {("room", "ts_ms"), ("device", "ts_ms"), ("site", "ts_ms")} <= indexes


def test_the_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(migrated_url: str, engine: Engine) -> None:
    upgrade(migrated_url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0002_people"


@pytest.mark.parametrize("statement", [
    "UPDATE events SET ts_ms = ts_ms + 1",
    "DELETE FROM events",
])
def test_the_database_refuses_to_change_an_event(registered: sessionmaker[Session], statement: str) -> None:
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, vector_payload(0))], VerifyKeys())
        session.commit()
    with registered() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
        session.flush()
    with registered() as session:
        assert session.execute(text("SELECT device, seq, ts_ms FROM events")).all() == [(DEVICE, 1, 1795654800000)]


def test_a_pair_is_unique_in_the_database_itself(registered: sessionmaker[Session]) -> None:
    row = {"site": "oakwood", "device": DEVICE, "seq": 1, "type": "door.opened", "door": None, "room": None,
           "ts_ms": 1, "mono_ms": 1, "boot": "b", "prev": "p", "hash": "h", "sig": "s", "signed": "{}",
           "received_at": datetime.now(UTC)}
    with registered() as session:
        session.execute(StoredEvent.__table__.insert(), [row])
        session.commit()
    with registered() as session, pytest.raises(IntegrityError):
        session.execute(StoredEvent.__table__.insert(), [{**row, "hash": "other"}])
        session.commit()
