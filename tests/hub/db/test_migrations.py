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
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0009_active_alerts_by_room"


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


@pytest.mark.parametrize("table", ["entry_decisions", "alert_changes", "check_ins"])
@pytest.mark.parametrize("operation", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_decisions_alert_history_and_check_ins_cannot_change(engine: Engine, table: str, operation: str) -> None:
    with engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        # The trigger fires per row on PostgreSQL; a statement on an empty table must still be refused there,
        # so a row is needed: the refusal, not the row, is what this asserts.
        if table == "check_ins":
            connection.execute(text(
                "INSERT INTO homes (id, name, time_zone, created_at) VALUES ('h', 'H', 'UTC', CURRENT_TIMESTAMP)"))
            connection.execute(text(
                "INSERT INTO staff (id, name, home_id, role, created_at) VALUES ('s', 'S', 'h', 'staff', CURRENT_TIMESTAMP)"))
            connection.execute(text(
                "INSERT INTO check_ins (staff_id, site, room, at) VALUES ('s', 'h', 'r', CURRENT_TIMESTAMP)"))
        elif table == "alert_changes":
            connection.execute(text(
                "INSERT INTO alerts (id, site, type, subject, sentence, rests_on, raised_at, escalated) "
                "VALUES ('a', 'h', 'tamper', 'device:x', 'S', '[]', CURRENT_TIMESTAMP, '[]')"))
            connection.execute(text(
                "INSERT INTO alert_changes (alert_id, action, by, at, status) "
                "VALUES ('a', 'raised', 'hub', CURRENT_TIMESTAMP, 'active_unacknowledged')"))
        else:
            # entry_decisions rows name the door opening they decide, so an event comes first.
            connection.execute(text(
                "INSERT INTO devices (id, site, public_key, doors, config_version, created_at, status) "
                "VALUES ('d', 'h', 'k', '{}', 1, CURRENT_TIMESTAMP, 'unknown')"))
            connection.execute(text(
                "INSERT INTO events (site, device, seq, type, ts_ms, mono_ms, boot, prev, hash, sig, signed, received_at)"
                " VALUES ('h', 'd', 1, 'door.opened', 1, 1, 'b', 'p', 'h', 's', '{}', CURRENT_TIMESTAMP)"))
            connection.execute(text(
                "INSERT INTO entry_decisions (door_opened_event_id, revision, cause, decided_at, site, device, "
                "opened_at, kind, outcome, reason, sentence, rules_version, who, rests_on, review_required) "
                "SELECT id, 1, 'first', CURRENT_TIMESTAMP, 'h', 'd', CURRENT_TIMESTAMP, 'entry', 'permitted', "
                "'consent', 'S', 'entries-v1', 'unidentified', '[]', false FROM events"))
        connection.execute(text(operation.format(table=table)))
