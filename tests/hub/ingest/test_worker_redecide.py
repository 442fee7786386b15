"""The writer decides new openings first: an entry decided again (its door closing) waits while batches are waiting."""

import queue
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import HubSettings
from hub.db.models import EntryRecord
from hub.ingest import worker as worker_module
from hub.ingest.message import ReceivedMessage
from hub.ingest.mqtt import BrokerLink
from hub.ingest.store import BatchOutcome, CheckedBatch, store_batch
from hub.ingest.worker import IngestWorker
from protocol.signing import generate_private_key
from tests.hub.conftest import People
from tests.hub.decisions.conftest import Door

Stored = Callable[[ReceivedMessage], BatchOutcome]


@pytest.fixture
def writer(hub_settings: HubSettings, registered: sessionmaker[Session], people: People) -> IngestWorker:
    """The worker's writer, driven step by step by the test (not running: the conftest's `worker` runs one)."""
    return IngestWorker(hub_settings, registered, BrokerLink(hub_settings, queue.Queue()), generate_private_key())


@pytest.fixture
def door(writer: IngestWorker, registered: sessionmaker[Session]) -> Door:
    return Door(registered, writer.chain)


@pytest.fixture
def stored(door: Door, registered: sessionmaker[Session]) -> Stored:
    """A door's message stored and committed as the writer stores a batch, before it decides it."""
    def store(message: ReceivedMessage) -> BatchOutcome:
        with registered() as session:
            outcome = store_batch(session, [message], door.keys)
            session.commit()
        return outcome
    return store


def test_a_door_closing_is_decided_again_once_no_batch_is_waiting(
    writer: IngestWorker, door: Door, stored: Stored, registered: sessionmaker[Session]
) -> None:
    def revisions() -> list[tuple[str, bool]]:
        with registered() as session:
            return [(record.cause, record.closed_at is not None) for record in session.scalars(
                select(EntryRecord).where(EntryRecord.door_opened_event_id == door.opened_id(1))
                .order_by(EntryRecord.revision))]

    writer.decide(stored(door.event("door.opened", 0)))
    assert revisions() == [("first", False)]

    writer.checked.put(CheckedBatch([]))  # a batch is waiting behind this one
    writer.decide(stored(door.event("door.closed", 20)))
    assert revisions() == [("first", False)]

    writer.checked.get_nowait()
    writer.decide(BatchOutcome())  # the writer's next pass, nothing waiting
    assert revisions() == [("first", False), ("door_closed", True)]


def test_overdue_re_decisions_go_one_batch_at_a_time_while_batches_wait(
    writer: IngestWorker, door: Door, stored: Stored, registered: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def causes(seq: int) -> list[str]:
        with registered() as session:
            return list(session.scalars(select(EntryRecord.cause).where(
                EntryRecord.door_opened_event_id == door.opened_id(seq)).order_by(EntryRecord.revision)))

    writer.decide(stored(door.event("door.opened", 0)))
    writer.checked.put(CheckedBatch([]))  # batches keep coming from here on
    writer.decide(stored(door.event("door.closed", 20)))
    writer.decide(stored(door.event("door.opened", 100)))
    writer.decide(stored(door.event("door.closed", 120)))
    assert (causes(1), causes(3)) == (["first"], ["first"])

    monkeypatch.setattr(worker_module, "REDECIDE_WAIT_MAX_S", 0.0)
    writer.decide(BatchOutcome())  # overdue, but a batch waits: the first batch's re-decision only
    assert (causes(1), causes(3)) == (["first", "door_closed"], ["first"])

    writer.checked.get_nowait()
    writer.decide(BatchOutcome())  # nothing waiting: the rest
    assert (causes(1), causes(3)) == (["first", "door_closed"], ["first", "door_closed"])
