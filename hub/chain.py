"""The hub's own signed chain: what people do through the hub is evidence too.

A preference version, a remote knock, an alert's every change, a timeline read: each becomes an event signed
with the hub's key and chained like a door's (protocol/hub_events.py), so history about people is as
tamper-evident as history from doors. The worker is the chain's one writer. Anything else (an API process)
leaves a PendingHubEvent in the same transaction as the change it records, and the worker signs it in.
"""

import time
import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from hub.db.bulk import append_events
from hub.db.models import Device, DeviceHead, PendingHubEvent, StoredEvent
from protocol.events import event_body
from protocol.hub_events import HUB_SOURCE, HubEventType
from protocol.signing import GENESIS_PREV, chain_hash, public_key_b64, sign, signed_bytes

PENDING_BATCH = 500
QUEUED = "hub_chain_queued"
"""Key in a session's `info`: the hub events appended in its transaction, not yet written (see `HubChain.append`)."""
WRITTEN = "hub_chain_written"
"""Key in a session's `info`: (the chain, seq, hash) of the head its transaction wrote, until it commits."""


class QueuedHubEvent(NamedTuple):
    """A hub event appended to a transaction, to be signed and stored when it commits."""

    chain: "HubChain"
    savepoint: SessionTransaction | None
    """The savepoint it was appended in: rolled back, it takes the event with it."""
    site: str
    type: HubEventType
    data: dict[str, Any]
    room: str | None
    ts_ms: int
    mono_ms: int


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
        self.committed_head: tuple[int, str] | None = None
        """(seq, hash) of the last event this chain wrote, once committed: the next write, finding the chain's head
        still at that seq, needs no read of its hash."""

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
    ) -> None:
        """Add one hub event to the caller's transaction. It is signed, chained and stored when the transaction
        commits, with every other appended in it, in order: one statement moving the chain's head on and one
        insert for all, because an entry decision, its alert and the alert's first escalation are three appends on
        the writer's way to the alert, and each written at once cost several round trips. Rolled back, it is never
        written."""
        if QUEUED not in session.info:
            session.info[QUEUED] = []
            event.listen(session, "before_commit", _write_appended)
            event.listen(session, "after_soft_rollback", _forget_rolled_back)
            event.listen(session, "after_transaction_end", _forget_unwritten)
            event.listen(session, "after_commit", _remember_head)
        session.connection()  # begins the transaction, if none has: its end (commit or rollback) must be seen
        at = at or datetime.now(UTC)
        session.info[QUEUED].append(QueuedHubEvent(
            self, session.get_nested_transaction(), site, type, data, room, int(at.timestamp() * 1000),
            int((time.monotonic() - self._started) * 1000)))

    def signed_row(self, appended: QueuedHubEvent, seq: int, prev: str) -> dict[str, Any]:
        """The events row of an appended hub event, signed with this chain's key, at `seq` after `prev`."""
        body = event_body(
            device=HUB_SOURCE, seq=seq, prev=prev, boot=self.boot, mono_ms=appended.mono_ms, ts_ms=appended.ts_ms,
            type=appended.type.value, door=None, data=appended.data,
        )
        body_bytes = signed_bytes(body)
        return {
            "site": appended.site, "device": HUB_SOURCE, "seq": seq, "type": appended.type.value, "door": None,
            "room": appended.room, "ts_ms": appended.ts_ms, "mono_ms": appended.mono_ms, "boot": self.boot,
            "prev": prev, "hash": chain_hash(body_bytes), "sig": sign(self.key, body),
            "signed": body_bytes.decode("utf-8"), "received_at": datetime.now(UTC),
        }

    def sign_pending(self, session: Session) -> int:
        """Sign in what API processes left, oldest first; returns how many."""
        pending = list(session.scalars(select(PendingHubEvent).order_by(PendingHubEvent.id).limit(PENDING_BATCH)))
        for item in pending:
            self.append(session, item.site, HubEventType(item.type), item.data, item.room, item.created_at)
        if pending:
            session.execute(delete(PendingHubEvent).where(PendingHubEvent.id.in_([item.id for item in pending])))
        return len(pending)


def _write_appended(session: Session) -> None:
    """Before a transaction commits: its appended hub events, signed and chained on the head. The head moves on
    (and stays locked until the commit) in the same statement that says where it was. A savepoint's commit writes
    nothing: its events wait for the transaction's."""
    appended: list[QueuedHubEvent] = session.info[QUEUED]
    if not appended or session.in_nested_transaction():
        return
    last = _move_head(session, len(appended))
    if last is None:
        appended[0].chain.ensure_source(session)
        last = _move_head(session, len(appended))
        assert last is not None
    head = last - len(appended)
    known = appended[0].chain.committed_head
    prev = GENESIS_PREV
    if known is not None and known[0] == head:
        prev = known[1]
    elif head:
        prev = session.scalar(
            select(StoredEvent.hash).where(StoredEvent.device == HUB_SOURCE, StoredEvent.seq == head)
        ) or GENESIS_PREV
    rows = []
    for seq, item in enumerate(appended, start=head + 1):
        rows.append(item.chain.signed_row(item, seq, prev))
        prev = rows[-1]["hash"]
    append_events(session.connection(), rows)
    session.info[WRITTEN] = (appended[-1].chain, last, prev)
    appended.clear()


def _move_head(session: Session, count: int) -> int | None:
    """Move the hub chain's head on by `count` (locking its row until the transaction ends); the new last seq, or
    None when the hub is not yet a source."""
    moved = DeviceHead.max_seq + count
    return session.scalar(
        update(DeviceHead).where(DeviceHead.device == HUB_SOURCE).values(max_seq=moved, acked_seq=moved)
        .returning(DeviceHead.max_seq), execution_options={"synchronize_session": "fetch"})


def _remember_head(session: Session) -> None:
    """After the commit: the head just written, for the writing chain's next write."""
    written = session.info.pop(WRITTEN, None)
    if written is not None:
        chain, seq, link = written
        chain.committed_head = (seq, link)


def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    """The events appended in a savepoint rolled back, forgotten with it."""
    def inside(savepoint: SessionTransaction | None) -> bool:
        while savepoint is not None:
            if savepoint is rolled_back:
                return True
            savepoint = savepoint.parent
        return False

    if rolled_back.nested:
        session.info[QUEUED][:] = [item for item in session.info[QUEUED] if not inside(item.savepoint)]


def _forget_unwritten(session: Session, ended: SessionTransaction) -> None:
    """A transaction ended without its commit (rolled back, or its session closed): its events with it."""
    if ended.parent is None:
        session.info[QUEUED].clear()
        session.info.pop(WRITTEN, None)
