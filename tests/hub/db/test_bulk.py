"""Writing many rows at once: what goes in comes out byte for byte, a refusal arrives as SQLAlchemy's error, and
every head written is the one read back."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.db.bulk import DOORS_PER_STATEMENT, append_events, newest_seqs, write_heads
from hub.db.models import DeviceHead, StoredEvent
from hub.registry import register_device
from tests.hub.conftest import DEVICE, SITE


def row(seq: int, signed: str, type: str = "x.test", door: str | None = "d1") -> dict:
    return {"site": SITE, "device": DEVICE, "seq": seq, "type": type, "door": door, "room": "room-12",
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


def test_heads_are_written_first_and_moved_many_at_once(registered: sessionmaker[Session]) -> None:
    def heads() -> dict[str, tuple[int, int]]:
        with registered() as session:
            return {device: (acked, max_seq) for device, acked, max_seq in session.execute(
                select(DeviceHead.device, DeviceHead.acked_seq, DeviceHead.max_seq))}

    with registered() as session:
        for number in (8, 9):
            register_device(session, site=SITE, device=f"door-000{number}", public_key="A" * 43 + "=",
                            doors={"d1": f"room-{number}"})
        write_heads(session.connection(), [(DEVICE, (3, 5)), ("door-0008", (1, 1)), ("door-0009", (2, 2))], [])
        session.commit()
    with registered() as session:
        write_heads(session.connection(), [], [(DEVICE, (5, 5)), ("door-0009", (2, 7))])
        session.commit()
    assert heads() == {DEVICE: (5, 5), "door-0008": (1, 1), "door-0009": (2, 7)}


def test_the_newest_of_each_type_on_each_door(registered: sessionmaker[Session]) -> None:
    """What the rounds ask of every door at once: the newest opening and closing per door, by seq."""
    with registered() as session:
        append_events(session.connection(), [
            row(1, "{}", "door.opened", "d1"), row(2, "{}", "door.closed", "d1"), row(3, "{}", "door.opened", "d1"),
            row(4, "{}", "door.opened", "d2"), row(5, "{}", "door.closed", "d2"), row(6, "{}", "env.reading", None),
        ])
        session.commit()
    with registered() as session:
        newest = newest_seqs(session, [(DEVICE, "d1"), (DEVICE, "d2"), (DEVICE, "d3"), ("unheard-of", "d1")],
                             ["door.opened", "door.closed"])
        readings = newest_seqs(session, [(DEVICE, None)], ["env.reading", "door.closed"])
    assert newest == {(DEVICE, "d1"): [3, 2], (DEVICE, "d2"): [4, 5], (DEVICE, "d3"): [None, None],
                      ("unheard-of", "d1"): [None, None]}
    assert readings == {(DEVICE, None): [6, 5]}  # no door named: on any door


def test_more_doors_than_one_statement_asks_are_all_answered(registered: sessionmaker[Session]) -> None:
    """SQLite allows at most 500 parts in a compound select: a hub's every door is asked in several statements."""
    with registered() as session:
        append_events(session.connection(), [row(1, "{}", "door.opened", "d1")])
        session.commit()
    doors = [(DEVICE, "d1"), *((f"other-{n:04d}", "d1") for n in range(DOORS_PER_STATEMENT + 100))]
    with registered() as session:
        newest = newest_seqs(session, doors, ["door.opened"])
    assert len(newest) == len(doors)
    assert newest[(DEVICE, "d1")] == [1]
    assert {seqs[0] for door, seqs in newest.items() if door != (DEVICE, "d1")} == {None}
