"""A summer night at Oakwood's room-12 door (the vector device), stored as the worker stores it: signed events in
the device's chain, and the entry decision about its one opening.

London is on BST in July, so a time on the home's clock is an hour ahead of UTC: what a page shows must say 22:02
for an event at 21:02 UTC. The door's events from 21:00 UTC: heartbeats, a knock by sam and, 15 s later (of the
30 s asked for), the door opening; then seqs 8 and 9 never arrive and no heartbeat comes from 21:04 to 21:40; then
the door closes and the device is heard from once more at 21:42.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import EntryRecord, StoredEvent
from hub.ingest.message import ReceivedMessage
from hub.ingest.store import VerifyKeys, store_batch
from hub.registry import register_device
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, chain_hash, public_key_b64, signed_bytes
from tests.hub.conftest import DEVICE, EVENT_TOPIC, SITE, VECTOR_DEVICE, VECTOR_KEY

NIGHT = date(2026, 7, 15)
"""The evening the night starts: 20:00 BST (19:00 UTC) that day to 08:00 BST the next."""
T0 = datetime(2026, 7, 15, 21, 0, tzinfo=UTC)
MISSING = (8, 9)


def _beat(minute: float) -> tuple[str, float, dict[str, Any] | None, str | None]:
    return ("device.heartbeat", minute,
            {"uptime_s": 1, "clock_synced": True, "clock_offset_ms": 0, "outbox": 0, "fw": "1"}, None)


EVENTS: list[tuple[str, float, dict[str, Any] | None, str | None]] = [
    _beat(0), _beat(1),
    ("knock.requested", 2, {"request": "r1", "source": "button", "staff": "sam"}, "d1"),
    ("indicator.changed", 2.01, {"state": "waiting"}, "d1"),
    ("door.opened", 2.25, None, "d1"),
    _beat(3), _beat(4),
    _beat(5), _beat(6),  # seqs 8 and 9: made by the device, never received
    _beat(40),
    ("door.closed", 41, None, "d1"),
    _beat(42),
]


def store_night(sessions: sessionmaker[Session]) -> int:
    """Register the door, store its night and decide its opening; returns the door.opened event's id."""
    with sessions() as session:
        register_device(session, site=SITE, device=DEVICE, public_key=VECTOR_DEVICE["public_key"],
                        doors={"d1": "room-12"})
        session.commit()
    prev, payloads = GENESIS_PREV, []
    for seq, (type, minute, data, door) in enumerate(EVENTS, start=1):
        body = event_body(device=DEVICE, seq=seq, prev=prev, boot="b1", mono_ms=seq,
                          ts_ms=int((T0 + timedelta(minutes=minute)).timestamp() * 1000), type=type, door=door,
                          data=data)
        prev = chain_hash(signed_bytes(body))
        if seq not in MISSING:
            arrived = T0 + timedelta(minutes=minute, milliseconds=300)
            payloads.append(ReceivedMessage(EVENT_TOPIC, seal(VECTOR_KEY, "event", body), seq, 1, False, arrived))
    with sessions() as session:
        assert not store_batch(session, payloads, VerifyKeys()).rejected
        session.commit()
        ids = {row.type: row.id for row in session.scalars(select(StoredEvent).where(StoredEvent.device == DEVICE))}
        opened = T0 + timedelta(minutes=2.25)
        session.add(EntryRecord(
            door_opened_event_id=ids["door.opened"], revision=1, cause="first", decided_at=opened, site=SITE,
            room="room-12", device=DEVICE, door="d1", resident_id="ada", opened_at=opened, kind="entry",
            outcome="unpermitted", reason="did_not_wait",
            sentence="Entry recorded without an answer from the resident: waited 15 s of 30 s.",
            rules_version="entries-v1", preference_version=None, who="sam", knock_event_id=ids["knock.requested"],
            answer_event_id=None, waited_ms=15_000, wait_s=30, closed_at=T0 + timedelta(minutes=41),
            inside_ms=38 * 60_000 + 45_000,
            rests_on=[str(ids["knock.requested"]), str(ids["door.opened"])], review_required=False))
        session.commit()
        return ids["door.opened"]


def decided_entry(sessions: sessionmaker[Session], opened: datetime, who: str, *, outcome: str = "unpermitted",
                  reason: str = "no_knock", review: bool = False, sentence: str = "", waited_ms: int | None = None,
                  inside_ms: int | None = None) -> int:
    """An opening of Oakwood room-12's door by `who`, on a door device of its own, and its decision; returns the
    door.opened event's id."""
    with sessions() as session:
        device = f"door-{who}-{int(opened.timestamp())}"
        register_device(session, site="oakwood", device=device, doors={"d1": "room-12"},
                        public_key=public_key_b64(Ed25519PrivateKey.generate()))
        session.flush()
        event = StoredEvent(site="oakwood", device=device, seq=1, type="door.opened", door="d1", room="room-12",
                            ts_ms=int(opened.timestamp() * 1000), mono_ms=1, boot="b", prev="p", hash=f"h-{device}",
                            sig="s", signed="{}", received_at=opened)
        session.add(event)
        session.flush()
        session.add(EntryRecord(
            door_opened_event_id=event.id, revision=1, cause="first", decided_at=opened, site="oakwood",
            room="room-12", device=device, door="d1", resident_id="ada", opened_at=opened, kind="entry",
            outcome=outcome, reason=reason, sentence=sentence or f"{reason} by {who}",
            rules_version="entries-v1", preference_version=None, who=who, knock_event_id=None, answer_event_id=None,
            waited_ms=waited_ms, wait_s=30, closed_at=None, inside_ms=inside_ms, rests_on=[str(event.id)],
            review_required=review))
        session.commit()
        return event.id
