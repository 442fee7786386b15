"""A door to play events on, stored through the real ingest path and decided as the worker does, on each engine."""

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain
from hub.db.models import StoredEvent
from hub.decisions.batch import BatchDecisions, decide_batch, find_redecisions, plan_batch, redecide_batch
from hub.decisions.entries import EntryContext
from hub.ingest.message import ReceivedMessage
from hub.ingest.store import VerifyKeys, store_batch
from hub.rules.alerts import DEFAULT_LADDER
from protocol.envelope import seal
from protocol.events import event_body
from protocol.hub_events import HUB_SOURCE
from protocol.signing import (
    GENESIS_PREV,
    chain_hash,
    generate_private_key,
    public_key_b64,
    public_key_from_b64,
    signed_bytes,
    verify,
)
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import DEVICE, VECTOR_KEY, People

CONTEXT = EntryContext(default_zone="Europe/London", ladder=DEFAULT_LADDER)


@dataclass
class Door:
    """Door d1 of a device of oakwood — by default the vector device's (room-12, where ada lives): signs events with
    chosen times, stores them through store_batch and decides them with plan_batch, decide_batch, find_redecisions
    and redecide_batch, committing each as the worker does."""

    sessions: sessionmaker[Session]
    chain: HubChain
    start_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    device: str = DEVICE
    key: Ed25519PrivateKey = VECTOR_KEY
    seq: int = 0
    prev: str = GENESIS_PREV
    keys: VerifyKeys = field(default_factory=VerifyKeys)

    def event(self, type: str, at_s: float, data: dict[str, Any] | None = None) -> ReceivedMessage:
        self.seq += 1
        body = event_body(device=self.device, seq=self.seq, prev=self.prev, boot="b", mono_ms=self.seq,
                          ts_ms=self.start_ms + int(at_s * 1000), type=type,
                          door=None if type in ("device.heartbeat", "env.reading") else "d1", data=data)
        self.prev = chain_hash(signed_bytes(body))
        topic = device_topic("oakwood", self.device, DeviceChannel.EVENT)
        return ReceivedMessage(topic, seal(self.key, "event", body), self.seq, 1, False, datetime.now(UTC))

    def knock(self, at_s: float, request: str = "r1") -> ReceivedMessage:
        return self.event("knock.requested", at_s, {"request": request, "source": "button", "staff": None})

    def answer(self, at_s: float, granted: bool, request: str = "r1") -> ReceivedMessage:
        return self.event("consent.granted" if granted else "consent.declined", at_s, {"request": request})

    def play(self, *messages: ReceivedMessage, now: datetime | None = None) -> BatchDecisions:
        with self.sessions() as session:
            outcome = store_batch(session, list(messages), self.keys)
            session.commit()
        at = now or datetime.now(UTC)
        with self.sessions() as session:
            plan = plan_batch(session, outcome.new_events, outcome.rejected)
            decided = decide_batch(session, self.chain, plan, at, CONTEXT)
            session.commit()
            find_redecisions(session, plan)
            redecided = redecide_batch(session, self.chain, plan, at, CONTEXT)
            session.commit()
        return decided.joined(redecided)

    def opened_id(self, seq: int) -> int:
        with self.sessions() as session:
            return session.scalar(select(StoredEvent.id).where(StoredEvent.device == self.device, StoredEvent.seq == seq))


@pytest.fixture
def hub_key():  # type: ignore[no-untyped-def]
    return generate_private_key()


@pytest.fixture
def door(registered: sessionmaker[Session], people: People, hub_key) -> Door:  # type: ignore[no-untyped-def]
    return Door(registered, HubChain(hub_key))


def hub_events(sessions: sessionmaker[Session], hub_key) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The hub's own chain, checked: every event signed by the hub key and linked to the one before."""
    public = public_key_from_b64(public_key_b64(hub_key))
    with sessions() as session:
        rows = session.scalars(select(StoredEvent).where(StoredEvent.device == HUB_SOURCE)
                               .order_by(StoredEvent.seq)).all()
    prev, bodies = GENESIS_PREV, []
    for expected_seq, row in enumerate(rows, start=1):
        body = json.loads(row.signed)
        assert row.seq == expected_seq and body["prev"] == prev == row.prev
        verify(public, body, row.sig)
        prev = chain_hash(row.signed.encode())
        bodies.append(body)
    return bodies
