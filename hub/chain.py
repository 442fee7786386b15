"""The hub's own signed chain: what people do through the hub is evidence too.

A preference version, a remote knock, an alert's every change, a timeline read: each becomes an event signed
with the hub's key and chained like a door's (protocol/hub_events.py), so history about people is as
tamper-evident as history from doors. The worker is the chain's one writer. Anything else (an API process)
leaves a PendingHubEvent in the same transaction as the change it records, and the worker signs it in.
"""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.db.bulk import append_events
from hub.db.models import Device, DeviceHead, PendingHubEvent, StoredEvent
from protocol.events import event_body
from protocol.hub_events import HUB_SOURCE, HubEventType
from protocol.signing import GENESIS_PREV, chain_hash, public_key_b64, sign, signed_bytes

PENDING_BATCH = 500
APPENDED = "hub_chain_appended"
"""Key in a session's `info`: (the transaction, the last hash) of the session's last append to the hub's chain."""


def record_for_chain(
    session: Session, site: str, type: HubEventType, data: dict[str, Any], room: str | None = None
) -> None:
    """Leave an event for the worker to sign into the hub's chain, in the caller's transaction."""
    session.add(PendingHubEvent(site=site, room=room, type=type.value, data=data, created_at=datetime.now(UTC)))


class HubChain:
    """Appends to the hub's chain. Only the worker holds one."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.boot = uuid.uuid4().hex
        self._started = time.monotonic()

    def ensure_source(self, session: Session) -> None:
        """Register the hub as a source beside the devices, with its public key, once."""
        if session.get(Device, HUB_SOURCE) is None:
            now = datetime.now(UTC)
            session.add(Device(id=HUB_SOURCE, site=HUB_SOURCE, public_key=public_key_b64(self.key), doors={},
                               created_at=now, status="online"))
            session.add(DeviceHead(device=HUB_SOURCE, acked_seq=0, max_seq=0))
            session.flush()

    def append(
        self,
        session: Session,
        site: str,
        type: HubEventType,
        data: dict[str, Any],
        room: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Sign and store one hub event in the caller's transaction; returns its seq."""
        return self._append_all(session, [(site, type, data, room, at)])

    def _append_all(self, session: Session,
                    events: list[tuple[str, HubEventType, dict[str, Any], str | None, datetime | None]]) -> int:
        """Sign and store events in order, each chained on the one before, with one read of the chain's head and
        one insert for all; returns the last seq."""
        connection = session.connection()  # begins the transaction, if none has begun, so it can be told apart
        transaction = session.get_transaction()
        appended = session.info.get(APPENDED)
        if appended is not None and appended[0] is transaction:
            # Appended to already in this transaction (a decision, then its alert): the head is locked and known.
            head, prev = session.get_one(DeviceHead, HUB_SOURCE), appended[1]
        else:
            head = session.get(DeviceHead, HUB_SOURCE, with_for_update=True)
            if head is None:
                self.ensure_source(session)
                head = session.get(DeviceHead, HUB_SOURCE, with_for_update=True)
                assert head is not None
            prev = GENESIS_PREV
            if head.max_seq:
                prev = session.scalar(
                    select(StoredEvent.hash).where(StoredEvent.device == HUB_SOURCE, StoredEvent.seq == head.max_seq)
                ) or GENESIS_PREV
        seq, rows = head.max_seq, []
        for site, type, data, room, at in events:
            seq += 1
            now = at or datetime.now(UTC)
            body = event_body(
                device=HUB_SOURCE, seq=seq, prev=prev, boot=self.boot,
                mono_ms=int((time.monotonic() - self._started) * 1000), ts_ms=int(now.timestamp() * 1000),
                type=type.value, door=None, data=data,
            )
            body_bytes = signed_bytes(body)
            link = chain_hash(body_bytes)
            rows.append({
                "site": site, "device": HUB_SOURCE, "seq": seq, "type": type.value, "door": None, "room": room,
                "ts_ms": body["ts_ms"], "mono_ms": body["mono_ms"], "boot": self.boot, "prev": prev,
                "hash": link, "sig": sign(self.key, body), "signed": body_bytes.decode("utf-8"),
                "received_at": datetime.now(UTC),
            })
            prev = link
        append_events(connection, rows)
        head.max_seq = head.acked_seq = seq
        session.info[APPENDED] = (transaction, prev)
        return seq

    def sign_pending(self, session: Session) -> int:
        """Sign in what API processes left, oldest first; returns how many."""
        pending = list(session.scalars(select(PendingHubEvent).order_by(PendingHubEvent.id).limit(PENDING_BATCH)))
        if pending:
            self._append_all(session, [(item.site, HubEventType(item.type), item.data, item.room, item.created_at)
                                       for item in pending])
            session.execute(delete(PendingHubEvent).where(PendingHubEvent.id.in_([item.id for item in pending])))
        return len(pending)
