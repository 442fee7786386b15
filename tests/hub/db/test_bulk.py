"""Appending event rows: what goes in comes out byte for byte, and a refusal arrives as SQLAlchemy's error."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.db.bulk import append_events
from hub.db.models import StoredEvent
from tests.hub.conftest import DEVICE, SITE


def row(seq: int, signed: str) -> dict:
    return {"site": SITE, "device": DEVICE, "seq": seq, "type": "x.test", "door": "d1", "room": "room-12",
            "ts_ms": 1, "mono_ms": 2, "boot": "b", "prev": "p", "hash": f"h{seq}", "sig": "s", "signed": signed,
            "received_at": datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC)}


def test_rows_come_back_exactly(registered: sessionmaker[Session]) -> None:
    awkward = '{"a":"tab\\there, new\\nline, back\\\\slash, é, 🚪, \\\\N"}'
    with registered() as session:
        append_events(session.connection(), [row(1, awkward), row(2, "{}")])
        session.commit()
    with registered() as session:
        stored = list(session.scalars(select(StoredEvent).order_by(StoredEvent.seq)))
    assert [event.signed for event in stored] == [awkward, "{}"]
    assert stored[0].received_at == datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC)


def test_a_taken_pair_is_an_integrity_error(registered: sessionmaker[Session]) -> None:
    with registered() as session:
        append_events(session.connection(), [row(1, "{}")])
        session.commit()
    with registered() as session, pytest.raises(IntegrityError):
        append_events(session.connection(), [row(1, "{}")])
