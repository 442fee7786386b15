"""The worker end to end: real Mosquitto, real database, messages published as a device would."""

import json
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import Device, RejectedMessage, StoredEvent
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import (
    DEVICE,
    EVENT_TOPIC,
    SITE,
    VECTOR_KEY,
    VECTORS,
    DeviceSide,
    signed_chain,
    vector_payload,
    wait_until,
)

RECEIPT_TOPIC = device_topic(SITE, DEVICE, DeviceChannel.RECEIPT)


def stored_seqs(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(StoredEvent.seq).where(StoredEvent.device == DEVICE).order_by(StoredEvent.seq)))


def rejected(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(RejectedMessage.reason).order_by(RejectedMessage.id)))


def receipts(side: DeviceSide) -> list[dict]:
    return [json.loads(message.payload) for message in side.on(RECEIPT_TOPIC)]


def test_the_chain_is_stored_once_and_receipted(
    worker: threading.Thread, registered: sessionmaker[Session], devices_side: DeviceSide
) -> None:
    devices_side.subscribe(RECEIPT_TOPIC)
    for index in range(8):
        devices_side.publish(EVENT_TOPIC, vector_payload(index))
    wait_until(lambda: {"acked_seq": 8} in receipts(devices_side), what="a receipt for seq 8")
    assert stored_seqs(registered) == list(range(1, 9))

    # The receipt is retained: a device that connects later still learns it.
    late = DeviceSide(devices_side.port)
    try:
        late.subscribe(RECEIPT_TOPIC)
        retained = wait_until(lambda: late.on(RECEIPT_TOPIC), what="the retained receipt")
        assert json.loads(retained[-1].payload) == {"acked_seq": 8} and retained[-1].retain
    finally:
        late.close()

    # A resend of identical bytes (the device never saw its receipt) is acked, not stored, and receipted again.
    before = len(receipts(devices_side))
    devices_side.publish(EVENT_TOPIC, vector_payload(7))
    wait_until(lambda: len(receipts(devices_side)) > before, what="a second receipt")
    assert receipts(devices_side)[-1] == {"acked_seq": 8}
    assert stored_seqs(registered) == list(range(1, 9))
    assert rejected(registered) == []


def test_bad_messages_are_recorded_and_the_worker_carries_on(
    worker: threading.Thread, registered: sessionmaker[Session], devices_side: DeviceSide
) -> None:
    for index in range(8):
        devices_side.publish(EVENT_TOPIC, vector_payload(index))
    wait_until(lambda: len(stored_seqs(registered)) == 8, what="the chain stored")
    for case in VECTORS["invalid"]:
        devices_side.publish(case.get("topic", EVENT_TOPIC), json.dumps(case["payload"]).encode())
    stranger = signed_chain(VECTOR_KEY, "door-0099", range(1, 2))[1]
    devices_side.publish(f"threshold/v1/{SITE}/device/door-0099/event", stranger)
    devices_side.publish(EVENT_TOPIC, b"\x00not json at all")
    devices_side.publish(EVENT_TOPIC, b'{"event": {}, "sig": "' + b"A" * 20_000 + b'"}')
    expected = ["bad_signature", "device_mismatch", "seq_reuse", "unknown_device", "malformed_json", "oversized"]
    wait_until(lambda: len(rejected(registered)) == len(expected), what="every bad message recorded")
    assert sorted(rejected(registered)) == sorted(expected)
    assert worker.is_alive()
    assert stored_seqs(registered) == list(range(1, 9))


def test_status_updates_the_device(
    worker: threading.Thread, registered: sessionmaker[Session], devices_side: DeviceSide
) -> None:
    status_topic = device_topic(SITE, DEVICE, DeviceChannel.STATUS)
    devices_side.publish(status_topic, json.dumps({"state": "online", "boot": "b7", "fw": "1.2.0"}).encode(),
                         retain=True)

    def status() -> str | None:
        with registered() as session:
            return session.get(Device, DEVICE).status

    wait_until(lambda: status() == "online", what="the device shown online")
    devices_side.publish(status_topic, json.dumps({"state": "offline", "boot": "b7", "fw": "1.2.0"}).encode(),
                         retain=True)
    wait_until(lambda: status() == "offline", what="the device shown offline")
