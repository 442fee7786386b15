"""The batch logic against a real database (SQLite and PostgreSQL), without a broker."""

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import Device, DeviceHead, RejectedMessage, StoredEvent
from hub.ingest.gaps import find_gaps
from hub.ingest.store import BatchOutcome, VerifyKeys, check_batch, store_batch, store_checked
from hub.registry import retire_device
from protocol.signing import chain_hash, generate_private_key, public_key_b64, signed_bytes
from tests.hub.conftest import (
    DEVICE,
    EVENT_TOPIC,
    SITE,
    VECTOR_KEY,
    VECTORS,
    received,
    signed_chain,
    vector_payload,
)

STATUS_TOPIC = f"threshold/v1/{SITE}/device/{DEVICE}/status"


def store(sessions: sessionmaker[Session], messages: list, keys: VerifyKeys | None = None) -> BatchOutcome:
    with sessions() as session:
        outcome = store_batch(session, messages, keys or VerifyKeys())
        session.commit()
    return outcome


def reasons(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(RejectedMessage.reason).order_by(RejectedMessage.id)))


def count_events(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(StoredEvent))


def test_the_vector_chain_is_stored_with_its_signed_bytes(registered: sessionmaker[Session]) -> None:
    outcome = store(registered, [received(EVENT_TOPIC, vector_payload(i), mid=i) for i in range(8)])
    assert (outcome.stored, outcome.duplicates, outcome.rejected) == (8, 0, [])
    assert outcome.receipts == {DEVICE: (SITE, 8)}
    with registered() as session:
        rows = list(session.scalars(select(StoredEvent).order_by(StoredEvent.seq)))
        head = session.get(DeviceHead, DEVICE)
    assert [row.seq for row in rows] == list(range(1, 9))
    for row, vector in zip(rows, VECTORS["chain"], strict=True):
        body = vector["payload"]["event"]
        assert row.signed.encode() == signed_bytes(body)
        assert row.hash == chain_hash(signed_bytes(body))
        assert row.sig == vector["payload"]["sig"]
        assert row.received_at.tzinfo is not None
    assert rows[1].room == "room-12" and rows[0].room is None  # the heartbeat names no door
    assert [row.prev for row in rows[1:]] == [row.hash for row in rows[:-1]]
    assert (head.acked_seq, head.max_seq) == (8, 8)


def test_an_identical_resend_is_acknowledged_not_stored_again(registered: sessionmaker[Session]) -> None:
    store(registered, [received(EVENT_TOPIC, vector_payload(i)) for i in range(8)])
    again = store(registered, [received(EVENT_TOPIC, vector_payload(7)), received(EVENT_TOPIC, vector_payload(7))])
    assert (again.stored, again.duplicates, again.rejected) == (0, 2, [])
    assert again.receipts == {DEVICE: (SITE, 8)}
    assert count_events(registered) == 8


def test_a_resend_within_one_batch_is_stored_once(registered: sessionmaker[Session]) -> None:
    outcome = store(registered, [received(EVENT_TOPIC, vector_payload(0))] * 3)
    assert (outcome.stored, outcome.duplicates) == (1, 2)
    assert count_events(registered) == 1


def test_each_invalid_vector_is_rejected_with_its_reason(registered: sessionmaker[Session]) -> None:
    store(registered, [received(EVENT_TOPIC, vector_payload(i)) for i in range(8)])
    invalid = [
        received(case.get("topic", EVENT_TOPIC), json.dumps(case["payload"]).encode()) for case in VECTORS["invalid"]
    ]
    outcome = store(registered, invalid)
    assert outcome.stored == 0
    assert reasons(registered) == ["bad_signature", "device_mismatch", "seq_reuse"]
    with registered() as session:
        reuse = session.scalars(select(RejectedMessage).where(RejectedMessage.reason == "seq_reuse")).one()
        stored_six = session.scalars(select(StoredEvent).where(StoredEvent.seq == 6)).one()
    assert (reuse.device, reuse.seq) == (DEVICE, 6)
    assert reuse.payload == invalid[2].payload
    assert stored_six.signed.encode() == signed_bytes(VECTORS["chain"][5]["payload"]["event"])
    assert count_events(registered) == 8


def test_a_taken_seq_with_other_bytes_in_the_same_batch_is_refused(registered: sessionmaker[Session]) -> None:
    reuse = json.dumps(VECTORS["invalid"][2]["payload"]).encode()
    store(registered, [received(EVENT_TOPIC, vector_payload(i)) for i in range(8)] + [received(EVENT_TOPIC, reuse)])
    assert reasons(registered) == ["seq_reuse"]
    assert count_events(registered) == 8


def test_unknown_and_retired_devices_are_refused(registered: sessionmaker[Session]) -> None:
    other_topic = f"threshold/v1/{SITE}/device/door-0099/event"
    chain = signed_chain(VECTOR_KEY, "door-0099", range(1, 2))
    store(registered, [received(other_topic, chain[1])])
    with registered() as session:
        retire_device(session, DEVICE)
        session.commit()
    store(registered, [received(EVENT_TOPIC, vector_payload(0))])
    assert reasons(registered) == ["unknown_device", "unknown_device"]
    assert count_events(registered) == 0


def test_an_event_from_the_wrong_site_is_refused(registered: sessionmaker[Session]) -> None:
    store(registered, [received(EVENT_TOPIC.replace(SITE, "elsewhere"), vector_payload(0))])
    assert reasons(registered) == ["site_mismatch"]


def test_malformed_and_oversized_payloads_are_recorded_and_the_rest_stored(
    registered: sessionmaker[Session],
) -> None:
    bad = [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b'{"event": {}, "sig": 5}', "bad_envelope"),
        (json.dumps({"event": {"v": 1}, "sig": "x"}).encode(), "bad_event"),
        (b"[" * 5000 + b"]" * 5000, "malformed_json"),
        (b'{"event": {"pad": "' + b"x" * 17000 + b'"}, "sig": ""}', "oversized"),
    ]
    outcome = store(registered, [received(EVENT_TOPIC, payload) for payload, _ in bad]
                    + [received(EVENT_TOPIC, vector_payload(0))])
    assert outcome.stored == 1
    assert reasons(registered) == [reason for _, reason in bad]
    with registered() as session:
        oversized = session.scalars(select(RejectedMessage).where(RejectedMessage.reason == "oversized")).one()
    assert oversized.payload == bad[-1][0] and oversized.topic == EVENT_TOPIC and oversized.detail


def test_a_gap_holds_the_receipt_back_until_it_is_filled(registered: sessionmaker[Session]) -> None:
    chain = signed_chain(VECTOR_KEY, DEVICE, range(1, 5))
    outcome = store(registered, [received(EVENT_TOPIC, chain[seq]) for seq in (1, 2, 4)])
    assert outcome.receipts == {DEVICE: (SITE, 2)}
    with registered() as session:
        assert find_gaps(session, DEVICE) == [(3, 3)]
        head = session.get(DeviceHead, DEVICE)
        assert (head.acked_seq, head.max_seq) == (2, 4)
    outcome = store(registered, [received(EVENT_TOPIC, chain[3])])
    assert outcome.receipts == {DEVICE: (SITE, 4)}
    with registered() as session:
        assert find_gaps(session, DEVICE) == []


def test_a_missing_start_is_a_gap_from_seq_one(registered: sessionmaker[Session]) -> None:
    chain = signed_chain(VECTOR_KEY, DEVICE, range(1, 9))
    outcome = store(registered, [received(EVENT_TOPIC, chain[seq]) for seq in (3, 4, 7, 8)])
    assert outcome.receipts == {DEVICE: (SITE, 0)}
    with registered() as session:
        assert find_gaps(session, DEVICE) == [(1, 2), (5, 6)]


def test_status_and_heartbeat_update_the_device(registered: sessionmaker[Session]) -> None:
    online = json.dumps({"state": "online", "boot": "b1", "fw": "1.0.0"}).encode()
    store(registered, [received(STATUS_TOPIC, online, retain=True), received(EVENT_TOPIC, vector_payload(0))])
    with registered() as session:
        device = session.get(Device, DEVICE)
        assert (device.status, device.status_boot, device.status_fw) == ("online", "b1", "1.0.0")
        assert device.last_seen_at is not None
        assert device.last_heartbeat["seq"] == 1 and device.last_heartbeat["data"]["clock_synced"] is True
        first_status_at = device.status_at
    offline = json.dumps({"state": "offline", "boot": "b1", "fw": "1.0.0"}).encode()
    store(registered, [received(STATUS_TOPIC, online, retain=True), received(STATUS_TOPIC, offline)])
    with registered() as session:
        device = session.get(Device, DEVICE)
        assert device.status == "offline" and device.status_at > first_status_at


def test_a_bad_status_is_recorded(registered: sessionmaker[Session]) -> None:
    store(registered, [received(STATUS_TOPIC, b'{"state": "asleep"}'), received(STATUS_TOPIC, b"")])
    assert reasons(registered) == ["bad_status", "malformed_json"]
    with registered() as session:
        assert session.get(Device, DEVICE).status == "unknown"


def test_a_topic_outside_the_contract_is_recorded(registered: sessionmaker[Session]) -> None:
    store(registered, [received("threshold/v1/oakwood/device/door-0007/receipt", b"{}"),
                       received("elsewhere/thing", b"{}")])
    assert reasons(registered) == ["unexpected_topic", "bad_topic"]


def test_the_writer_verifies_again_when_the_checker_read_another_key(registered: sessionmaker[Session]) -> None:
    """The worker's checker verifies ahead with keys it read up to a second before; what the writer stores rests on
    the key the registry holds in its own transaction."""
    keys = VerifyKeys()
    old_key = generate_private_key()
    signed_with_old = signed_chain(old_key, DEVICE, range(1, 2))[1]
    passed_ahead = check_batch([received(EVENT_TOPIC, signed_with_old)],
                               lambda _devices: {DEVICE: public_key_b64(old_key)}, keys)
    with registered() as session:
        outcome = store_checked(session, passed_ahead, keys)
        session.commit()
    assert [rejection.reason for rejection in outcome.rejected] == ["bad_signature"]

    failed_ahead = check_batch([received(EVENT_TOPIC, vector_payload(0))],
                               lambda _devices: {DEVICE: public_key_b64(old_key)}, keys)
    with registered() as session:
        outcome = store_checked(session, failed_ahead, keys)
        session.commit()
    assert (outcome.stored, outcome.rejected) == (1, [])  # the registry's key, read by the writer, holds
