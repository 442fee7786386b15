"""One batch of received messages into the database: verify, store each `(device, seq)` once, record the rest.

Two steps, so the costly one can run outside the write transaction: `check_batch` reads envelopes and verifies
signatures against the keys the registry held a moment before; `store_checked` then checks each device again in
the transaction, re-verifying only where its key has changed since, and writes. `store_batch` does both at once.
The caller commits, then acks and sends receipts; nothing here talks to the broker. A batch costs a fixed
handful of queries, whatever its size: the devices, the `(device, seq)` pairs already stored, the heads.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from hub.db.bulk import Head, append_events, stored_pairs, write_heads
from hub.db.models import Device, DeviceHead, RejectedMessage, StoredEvent
from hub.environment_export import RoomReading
from hub.ingest.message import ReceivedMessage
from protocol.envelope import load_json_object, split_envelope
from protocol.errors import ProtocolError
from protocol.events import MAX_SAFE_INT, Event, EventType, parse_event
from protocol.hub_events import HUB_SOURCE
from protocol.messages import DeviceStatus
from protocol.signing import b64decode_exact, chain_hash, signed_bytes
from protocol.topics import DeviceChannel, DeviceTopic, parse_device_topic

DETAIL_LIMIT = 500
LAST_SEEN_EVERY = timedelta(seconds=1)
"""A device's last-seen time is written at most this often: a busy door would otherwise update its registry row in
every batch, for a time nobody reads closer than that."""


class VerifyKeys:
    """PyNaCl verify keys by base64 public key, made once each (verification is the hot path)."""

    def __init__(self) -> None:
        self._keys: dict[str, VerifyKey] = {}

    def get(self, public_key: str) -> VerifyKey:
        key = self._keys.get(public_key)
        if key is None:
            key = self._keys[public_key] = VerifyKey(b64decode_exact(public_key, 32, "public key"))
        return key


@dataclass(slots=True)
class Rejection:
    message: ReceivedMessage
    reason: str
    detail: str
    device: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class CheckedEvent:
    """An event whose envelope, fields and topic agree; its signature is checked once its device is known."""

    message: ReceivedMessage
    topic: DeviceTopic
    event: Event
    body: dict[str, Any]
    sig: str
    body_bytes: bytes | None = None
    verified_with: str | None = None
    """The public key the signature verified against in `check_batch`, if it did."""


@dataclass(slots=True)
class CheckedBatch:
    """A batch as `check_batch` left it: events to store, statuses to apply, and what it already refused."""

    messages: list[ReceivedMessage]
    events: list[CheckedEvent] = field(default_factory=list)
    statuses: list[tuple[ReceivedMessage, DeviceTopic]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def extend(self, later: "CheckedBatch") -> None:
        """Take in a batch checked after this one, to be stored in the same transaction."""
        self.messages += later.messages
        self.events += later.events
        self.statuses += later.statuses
        self.rejected += later.rejected


@dataclass(frozen=True, slots=True)
class NewEvent:
    """Where and when an event newly stored by a batch happened, for the rules that follow the commit."""

    device: str
    seq: int
    type: str
    room: str | None
    ts_ms: int


@dataclass(slots=True)
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    statuses: int = 0
    receipts: dict[str, tuple[str, int]] = field(default_factory=dict)
    """device → (site, acked_seq) for every device with a stored or duplicate event in the batch."""
    readings: list[RoomReading] = field(default_factory=list)
    """The `env.reading` events newly stored by the batch (not duplicates), for the environment export."""
    new_events: list[NewEvent] = field(default_factory=list)
    """Every event newly stored by the batch (not duplicates)."""


def _seq_of(body: Any) -> int | None:
    seq = body.get("seq") if isinstance(body, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SAFE_INT else None


def _check_envelope(message: ReceivedMessage, topic: DeviceTopic) -> CheckedEvent | Rejection:
    body: Any = None
    try:
        body, sig = split_envelope(message.payload, "event")
        event = parse_event(body)
    except ProtocolError as error:
        return Rejection(message, error.reason, error.detail, topic.device, _seq_of(body))
    if event.device != topic.device:
        detail = f"the event names device {event.device!r}, its topic {topic.device!r}"
        return Rejection(message, "device_mismatch", detail, topic.device, event.seq)
    if any("\x00" in text for text in (event.boot, event.type, event.door or "")):
        return Rejection(message, "bad_event", "boot, type or door holds a NUL character", topic.device, event.seq)
    return CheckedEvent(message, topic, event, body, sig)


def _verify(checked: CheckedEvent, device: Device | None, keys: VerifyKeys) -> bytes | Rejection:
    """The signed bytes, once the device is known and active and its key verifies them."""
    topic, event = checked.topic, checked.event
    if device is None:
        return Rejection(checked.message, "unknown_device", f"no device {topic.device!r} is registered",
                         topic.device, event.seq)
    if device.id == HUB_SOURCE:
        return Rejection(checked.message, "reserved_device", "only the hub itself writes the hub's chain",
                         topic.device, event.seq)
    if device.retired_at is not None:
        return Rejection(checked.message, "unknown_device", f"device {topic.device!r} is retired",
                         topic.device, event.seq)
    if device.site != topic.site:
        return Rejection(checked.message, "site_mismatch",
                         f"device {device.id!r} belongs to site {device.site!r}, not {topic.site!r}",
                         topic.device, event.seq)
    if checked.body_bytes is not None and checked.verified_with == device.public_key:
        return checked.body_bytes
    try:
        body_bytes = signed_bytes(checked.body)
    except (UnicodeEncodeError, RecursionError, ValueError) as error:
        return Rejection(checked.message, "bad_event", f"cannot form the signed bytes: {type(error).__name__}",
                         topic.device, event.seq)
    try:
        keys.get(device.public_key).verify(body_bytes, b64decode_exact(checked.sig, 64, "signature"))
    except ProtocolError as error:
        return Rejection(checked.message, "bad_signature", error.detail, topic.device, event.seq)
    except BadSignatureError:
        return Rejection(checked.message, "bad_signature", "the signature does not match the signed bytes",
                         topic.device, event.seq)
    return body_bytes


def _apply_status(message: ReceivedMessage, topic: DeviceTopic, device: Device | None) -> Rejection | None:
    try:
        status = DeviceStatus.model_validate(load_json_object(message.payload))
    except ProtocolError as error:
        return Rejection(message, error.reason, error.detail, topic.device)
    except ValidationError as error:
        return Rejection(message, "bad_status", str(error.errors()[0]["msg"]), topic.device)
    if device is None or device.retired_at is not None or device.site != topic.site:
        return Rejection(message, "unknown_device", f"status from unregistered device {topic.device!r}", topic.device)
    unchanged = (device.status, device.status_boot, device.status_fw) == (status.state, status.boot, status.fw)
    # A retained status is redelivered on every reconnect of the hub: it is not news, and not a new time.
    if not (message.retain and unchanged):
        device.status, device.status_boot, device.status_fw = status.state, status.boot, status.fw
        device.status_at = message.received_at
    return None


# Every batch asks these, so each is built once: a fresh expression per batch cost the writer more interpreter time
# than reading the rows. The heads are plain rows, read past the ORM and written back by `write_heads`.
_DEVICES = select(Device).where(Device.id.in_(bindparam("devices", expanding=True)))
_HEADS = select(DeviceHead.device, DeviceHead.acked_seq, DeviceHead.max_seq).where(
    DeviceHead.device.in_(bindparam("devices", expanding=True)))


def _advance_head(session: Session, device: str, head: Head, new_seqs: set[int]) -> Head:
    """The head once these seqs are stored."""
    max_seq = max(head.max_seq, max(new_seqs, default=0))
    acked = head.acked_seq
    while acked + 1 in new_seqs:
        acked += 1
    if acked < max_seq:
        # Events stored earlier beyond a gap this batch may just have filled.
        later = session.scalars(
            select(StoredEvent.seq)
            .where(StoredEvent.device == device, StoredEvent.seq > acked)
            .order_by(StoredEvent.seq)
            .limit(max_seq - acked)
        )
        for seq in later:
            if seq != acked + 1:
                break
            acked = seq
    return Head(acked, max_seq)


def _row(checked: CheckedEvent, device: Device, body_bytes: bytes) -> dict[str, Any]:
    event = checked.event
    return {
        "site": device.site,
        "device": device.id,
        "seq": event.seq,
        "type": event.type,
        "door": event.door,
        "room": device.doors.get(event.door) if event.door is not None else None,
        "ts_ms": event.ts_ms,
        "mono_ms": event.mono_ms,
        "boot": event.boot,
        "prev": event.prev,
        "hash": chain_hash(body_bytes),
        "sig": checked.sig,
        "signed": body_bytes.decode("utf-8"),
        "received_at": checked.message.received_at,
    }


def rejected_row(rejection: Rejection) -> dict[str, Any]:
    message = rejection.message
    return {
        "topic": message.topic,
        "payload": message.payload,
        "reason": rejection.reason,
        # PostgreSQL text cannot hold NUL; the payload keeps the exact bytes.
        "detail": rejection.detail[:DETAIL_LIMIT].replace("\x00", "\\x00"),
        "device": rejection.device,
        "seq": rejection.seq,
        "received_at": message.received_at,
    }


def _pre_verify(checked: CheckedEvent, public_key: str | None, keys: VerifyKeys) -> None:
    """Verify ahead of the transaction; any doubt is left for `_verify` to decide, and to word."""
    if public_key is None:
        return
    try:
        body_bytes = signed_bytes(checked.body)
        keys.get(public_key).verify(body_bytes, b64decode_exact(checked.sig, 64, "signature"))
    except (UnicodeEncodeError, RecursionError, ValueError, ProtocolError, BadSignatureError):
        return
    checked.body_bytes, checked.verified_with = body_bytes, public_key


RegisteredKeys = Callable[[set[str]], Mapping[str, str]]
"""Looks up the public keys (device → key) the registry holds now for the named devices."""


def no_keys(_devices: set[str]) -> Mapping[str, str]:
    return {}


def check_batch(messages: list[ReceivedMessage], registered_keys: RegisteredKeys, keys: VerifyKeys) -> CheckedBatch:
    """Read every message of a batch and verify its events against the keys `registered_keys` finds. Writes
    nothing: the worker runs it for the next batch while it stores this one."""
    batch = CheckedBatch(messages)
    for message in messages:
        try:
            topic = parse_device_topic(message.topic)
        except ProtocolError as error:
            batch.rejected.append(Rejection(message, error.reason, error.detail))
            continue
        if topic.channel is DeviceChannel.EVENT:
            checked = _check_envelope(message, topic)
            if isinstance(checked, Rejection):
                batch.rejected.append(checked)
            else:
                batch.events.append(checked)
        elif topic.channel is DeviceChannel.STATUS:
            batch.statuses.append((message, topic))
        else:
            batch.rejected.append(
                Rejection(message, "unexpected_topic", f"the hub does not take {topic.channel.value!r}", topic.device)
            )
    if batch.events:
        public_keys = registered_keys({checked.topic.device for checked in batch.events})
        for checked in batch.events:
            _pre_verify(checked, public_keys.get(checked.topic.device), keys)
    return batch


def store_batch(session: Session, messages: list[ReceivedMessage], keys: VerifyKeys) -> BatchOutcome:
    """Check and write one batch into `session` (the caller commits). Never raises on what devices sent."""
    return store_checked(session, check_batch(messages, no_keys, keys), keys)


def store_checked(session: Session, batch: CheckedBatch, keys: VerifyKeys) -> BatchOutcome:
    """Write a checked batch into `session` (the caller commits). Never raises on what devices sent."""
    outcome = BatchOutcome(rejected=list(batch.rejected))
    events, statuses, messages = batch.events, batch.statuses, batch.messages
    wanted = {checked.topic.device for checked in events} | {topic.device for _, topic in statuses}
    devices = {device.id: device for device in session.scalars(_DEVICES, {"devices": sorted(wanted)})}

    verified: list[tuple[CheckedEvent, Device, bytes]] = []
    for checked in events:
        result = _verify(checked, devices.get(checked.topic.device), keys)
        if isinstance(result, Rejection):
            outcome.rejected.append(result)
        else:
            verified.append((checked, devices[checked.topic.device], result))

    heads = {device: Head(acked, max_seq) for device, acked, max_seq in session.connection().execute(
        _HEADS, {"devices": sorted({device.id for _, device, _ in verified})})} if verified else {}
    # Only a seq at or below its device's highest stored one can be taken: in the usual run of new events,
    # none is, and the lookup is skipped.
    pairs = {(checked.event.device, checked.event.seq) for checked, _, _ in verified
             if checked.event.device not in heads or checked.event.seq <= heads[checked.event.device].max_seq}
    known: dict[tuple[str, int], str] = {}
    if pairs:
        stored = session.execute(
            select(StoredEvent.device, StoredEvent.seq, StoredEvent.hash).where(
                stored_pairs(pairs)
            )
        )
        known = {(device, seq): hash_ for device, seq, hash_ in stored}

    rows: list[dict[str, Any]] = []
    new_seqs: dict[str, set[int]] = {}
    touched: dict[str, Device] = {}
    heartbeats: dict[str, Event] = {}
    for checked, device, body_bytes in verified:
        event = checked.event
        row = _row(checked, device, body_bytes)
        taken = known.get((device.id, event.seq))
        if taken is not None and taken != row["hash"]:
            outcome.rejected.append(Rejection(
                checked.message, "seq_reuse",
                f"seq {event.seq} of {device.id} is already stored with other bytes (hash {taken})",
                device.id, event.seq,
            ))
            continue
        touched[device.id] = device
        seen = checked.message.received_at
        if device.last_seen_at is None or seen - device.last_seen_at >= LAST_SEEN_EVERY:
            device.last_seen_at = seen
        if taken is not None:
            outcome.duplicates += 1
            continue
        known[(device.id, event.seq)] = row["hash"]
        rows.append(row)
        new_seqs.setdefault(device.id, set()).add(event.seq)
        if event.type == EventType.DEVICE_HEARTBEAT:
            latest = heartbeats.get(device.id)
            if latest is None or event.seq > latest.seq:
                heartbeats[device.id] = event

    if rows:
        append_events(session.connection(), rows)
        outcome.stored = len(rows)
        outcome.readings = [reading for row in rows if (reading := RoomReading.from_stored(row)) is not None]
        outcome.new_events = [NewEvent(row["device"], row["seq"], row["type"], row["room"], row["ts_ms"]) for row in rows]

    for device_id, event in heartbeats.items():
        device = touched[device_id]
        if device.last_heartbeat is None or event.seq > device.last_heartbeat.get("seq", 0):
            device.last_heartbeat = {"seq": event.seq, "ts_ms": event.ts_ms, "boot": event.boot, "data": event.data}

    for message, topic in statuses:
        rejection = _apply_status(message, topic, devices.get(topic.device))
        if rejection is None:
            outcome.statuses += 1
        else:
            outcome.rejected.append(rejection)

    if outcome.rejected:
        arrival = {id(message): index for index, message in enumerate(messages)}
        outcome.rejected.sort(key=lambda rejection: arrival[id(rejection.message)])
        session.connection().execute(
            insert(RejectedMessage.__table__), [rejected_row(rejection) for rejection in outcome.rejected]
        )

    first_heads: list[tuple[str, Head]] = []
    moved_heads: list[tuple[str, Head]] = []
    for device_id, device in touched.items():
        before = heads.get(device_id)
        head = _advance_head(session, device_id, before or Head(0, 0), new_seqs.get(device_id, set()))
        if before is None:
            first_heads.append((device_id, head))
        elif head != before:
            moved_heads.append((device_id, head))
        outcome.receipts[device_id] = (device.site, head.acked_seq)
    write_heads(session.connection(), first_heads, moved_heads)
    session.flush()
    return outcome


def summary(outcome: BatchOutcome) -> str:
    """A one-line summary of a batch for the log."""
    reasons: dict[str, int] = {}
    for rejection in outcome.rejected:
        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1
    return json.dumps({"stored": outcome.stored, "duplicates": outcome.duplicates, "rejected": reasons})
