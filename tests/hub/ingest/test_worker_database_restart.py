"""The worker carries on through a PostgreSQL restart (an update, a failover): every connection it held is dropped,
and what comes after is stored once and receipted, nothing lost or stored twice."""

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import LocalPostgres
from tests.hub.conftest import EVENT_TOPIC, DeviceSide, vector_payload, wait_until
from tests.hub.ingest.test_worker import RECEIPT_TOPIC, receipts, rejected, stored_seqs


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A cluster of this test's own: restarting the run's shared one would drop other tests' connections."""
    cluster = LocalPostgres().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def database_url(own_postgres: LocalPostgres) -> str:
    return own_postgres.create_database("restarted")


def test_events_after_a_database_restart_are_stored_once_and_receipted(
    worker: threading.Thread, registered: sessionmaker[Session], devices_side: DeviceSide, own_postgres: LocalPostgres
) -> None:
    devices_side.subscribe(RECEIPT_TOPIC)
    for index in range(4):
        devices_side.publish(EVENT_TOPIC, vector_payload(index))
    wait_until(lambda: {"acked_seq": 4} in receipts(devices_side), what="a receipt for seq 4")

    own_postgres.restart()
    for index in range(4, 8):
        devices_side.publish(EVENT_TOPIC, vector_payload(index))
    wait_until(lambda: {"acked_seq": 8} in receipts(devices_side), timeout_s=30, what="a receipt for seq 8")
    assert worker.is_alive()
    assert stored_seqs(registered) == list(range(1, 9))
    assert rejected(registered) == []
