"""The hub's own chain: signed with the hub key, chained like a door's, and written only by its one writer."""

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain, record_for_chain
from hub.db.models import Account, Basis, PendingHubEvent, Resident, StoredEvent
from hub.ingest.store import VerifyKeys, store_batch
from hub.people.preferences import EntryPreferences, record_preferences
from hub.registry import RegistryError, register_device
from protocol.envelope import seal
from protocol.events import event_body
from protocol.hub_events import HUB_SOURCE, HubEventType
from protocol.signing import GENESIS_PREV, chain_hash, generate_private_key, public_key_b64, public_key_from_b64, verify
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import People, received


def test_hub_events_are_signed_and_chained(sessions: sessionmaker[Session]) -> None:
    key = generate_private_key()
    chain = HubChain(key)
    with sessions() as session:
        chain.ensure_source(session)
        chain.append(session, "oakwood", HubEventType.KNOCK_SENT, {"staff": "staff-17", "room": "room-12"})
        record_for_chain(session, "oakwood", HubEventType.PREFERENCES_VERSIONED, {"resident": "r1", "version": 2})
        session.commit()
    with sessions() as session:
        assert chain.sign_pending(session) == 1
        session.commit()
    with sessions() as session:
        rows = session.scalars(select(StoredEvent).where(StoredEvent.device == HUB_SOURCE).order_by(StoredEvent.seq)).all()
        assert session.scalars(select(PendingHubEvent)).all() == []
    assert [row.type for row in rows] == ["hub.knock.sent", "hub.preferences.versioned"]
    prev = GENESIS_PREV
    for row in rows:
        body = json.loads(row.signed)
        assert body["prev"] == prev == row.prev
        verify(public_key_from_b64(public_key_b64(key)), body, row.sig)
        prev = chain_hash(row.signed.encode())
    assert rows[1].site == "oakwood"


def test_a_new_hub_process_continues_the_chain(sessions: sessionmaker[Session]) -> None:
    key = generate_private_key()
    with sessions() as session:
        HubChain(key).append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "s"})
        session.commit()
    with sessions() as session:
        HubChain(key).append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "s"})
        session.commit()
        first, second = session.scalars(
            select(StoredEvent).where(StoredEvent.device == HUB_SOURCE).order_by(StoredEvent.seq)
        ).all()
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev == first.hash


def test_appends_in_one_transaction_and_after_a_rollback_stay_linked(sessions: sessionmaker[Session]) -> None:
    """A decision and its alert are two appends in one transaction, the second on what the first left; a
    transaction rolled back leaves nothing the next one builds on."""
    chain = HubChain(generate_private_key())
    with sessions() as session:
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "a"})
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "b"})
        session.commit()
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "rolled back"})
        session.rollback()
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "c"})
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "d"})
        session.commit()
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "closed uncommitted"})
        session.close()
        session.commit()  # the session, closed, begins again: nothing of before carries over
    with sessions() as session:
        rows = session.scalars(select(StoredEvent).where(StoredEvent.device == HUB_SOURCE).order_by(StoredEvent.seq)).all()
    assert [(row.seq, json.loads(row.signed)["data"]["staff"]) for row in rows] == [
        (1, "a"), (2, "b"), (3, "c"), (4, "d")]
    assert [row.prev for row in rows] == [GENESIS_PREV] + [row.hash for row in rows[:-1]]


def test_two_chains_taking_turns_stay_linked(sessions: sessionmaker[Session]) -> None:
    """A chain remembers the head it last committed; when another writer has moved the head on since, it links
    to the head as stored, not to what it remembers."""
    first, second = HubChain(generate_private_key()), HubChain(generate_private_key())
    for chain, staff in ((first, "a"), (first, "b"), (second, "c"), (first, "d")):
        with sessions() as session:
            chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": staff})
            session.commit()
    with sessions() as session:
        rows = session.scalars(select(StoredEvent).where(StoredEvent.device == HUB_SOURCE)
                               .order_by(StoredEvent.seq)).all()
    assert [json.loads(row.signed)["data"]["staff"] for row in rows] == ["a", "b", "c", "d"]
    assert [row.prev for row in rows] == [GENESIS_PREV] + [row.hash for row in rows[:-1]]


def test_an_append_in_a_savepoint_rolled_back_is_never_written(sessions: sessionmaker[Session]) -> None:
    """Appends are written when the transaction commits; one made inside a savepoint that was rolled back went
    with it, and one inside a savepoint released stays."""
    chain = HubChain(generate_private_key())
    with sessions() as session:
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "a"})
        with session.begin_nested():
            chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "kept"})
        savepoint = session.begin_nested()
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "rolled back"})
        with session.begin_nested():
            chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "inside it"})
        savepoint.rollback()
        chain.append(session, "oakwood", HubEventType.CHECK_IN, {"staff": "b"})
        session.commit()
    with sessions() as session:
        rows = session.scalars(select(StoredEvent).where(StoredEvent.device == HUB_SOURCE)
                               .order_by(StoredEvent.seq)).all()
    assert [(row.seq, json.loads(row.signed)["data"]["staff"]) for row in rows] == [(1, "a"), (2, "kept"), (3, "b")]
    assert [row.prev for row in rows] == [GENESIS_PREV] + [row.hash for row in rows[:-1]]


def test_no_device_may_be_registered_as_the_hub(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(RegistryError) as error:
        register_device(session, site="oakwood", device=HUB_SOURCE,
                        public_key=public_key_b64(generate_private_key()), doors={"d1": "room-1"})
    assert error.value.reason == "reserved_id"


def test_events_sent_over_mqtt_as_the_hub_are_refused(sessions: sessionmaker[Session]) -> None:
    key = generate_private_key()
    chain = HubChain(key)
    with sessions() as session:
        chain.ensure_source(session)
        session.commit()
    body = event_body(device=HUB_SOURCE, seq=1, prev=GENESIS_PREV, boot="b", mono_ms=0, ts_ms=0,
                      type="door.opened", door="d1")
    topic = device_topic(HUB_SOURCE, HUB_SOURCE, DeviceChannel.EVENT)
    with sessions() as session:
        outcome = store_batch(session, [received(topic, seal(key, "event", body))], VerifyKeys())
        session.commit()
    assert [rejection.reason for rejection in outcome.rejected] == ["reserved_device"]


def test_a_preference_version_is_recorded_for_the_hub_chain(sessions: sessionmaker[Session], people: People) -> None:
    with sessions() as session:
        resident = session.get_one(Resident, "ada")
        author = session.scalars(select(Account).where(Account.username == "ada")).one()
        record_preferences(session, resident=resident, author=author, basis=Basis.OWN_CHOICE,
                           preferences=EntryPreferences(wait_s=45))
        session.commit()
    key = generate_private_key()
    with sessions() as session:
        HubChain(key).sign_pending(session)
        session.commit()
        stored = session.scalars(select(StoredEvent).where(StoredEvent.type == "hub.preferences.versioned")).all()
    assert len(stored) == 1
    body = json.loads(stored[0].signed)
    assert body["data"]["resident"] == "ada" and body["data"]["values"]["wait_s"] == 45
    assert stored[0].room == "room-12" and stored[0].site == "oakwood"
