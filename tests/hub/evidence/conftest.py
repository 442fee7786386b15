"""A small home with real signed chains, stored the way the worker stores them, and the attacker's first move:
switching off the database's append-only triggers (as anyone with the database's owner role can)."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain
from hub.db.models import CheckpointRecord
from hub.evidence.check import DatabaseReport, check_database
from hub.evidence.checkpoints import make_checkpoint
from hub.ingest.store import VerifyKeys, store_batch
from hub.registry import register_device
from protocol.envelope import seal
from protocol.events import event_body
from protocol.hub_events import HubEventType
from protocol.signing import GENESIS_PREV, chain_hash, private_key_from_seed, public_key_b64, signed_bytes
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import received

SITE = "oakwood"
T0 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
DOORS = {"door-01": "room-01", "door-02": "room-02"}
HUB_KEY = private_key_from_seed(bytes(range(32)))
TRIGGERS = {  # table → its append-only triggers (migrations 0001, 0004)
    "events": ("events_no_update", "events_no_delete"),
    "checkpoints": ("checkpoints_no_update", "checkpoints_no_delete"),
}


def device_key(device: str) -> Ed25519PrivateKey:
    return private_key_from_seed(bytes([len(device)] * 16 + [ord(device[-1])] * 16))


@dataclass
class EvidenceHome:
    """Two doors and the hub's own chain, each event a minute after the one before from 22:00 UTC."""

    sessions: sessionmaker[Session]
    hub: HubChain = field(default_factory=lambda: HubChain(HUB_KEY))
    prevs: dict[str, str] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    minute: int = 0

    def register(self) -> None:
        with self.sessions() as session:
            for device, room in DOORS.items():
                register_device(session, site=SITE, device=device, public_key=public_key_b64(device_key(device)),
                                doors={"d1": room})
            self.hub.ensure_source(session)
            session.commit()

    def body(self, device: str, type: str = "door.opened", data: dict[str, Any] | None = None,
             key: Ed25519PrivateKey | None = None) -> bytes:
        """The next signed payload of `device`'s chain (not stored)."""
        seq = self.seqs.get(device, 0) + 1
        self.minute += 1
        body = event_body(device=device, seq=seq, prev=self.prevs.get(device, GENESIS_PREV), boot="boot-1",
                          mono_ms=self.minute * 60_000,
                          ts_ms=int((T0 + timedelta(minutes=self.minute)).timestamp() * 1000),
                          type=type, door="d1", data=data or {})
        self.seqs[device] = seq
        self.prevs[device] = chain_hash(signed_bytes(body))
        return seal(key or device_key(device), "event", body)

    def store(self, device: str, payloads: list[bytes]) -> None:
        # Received on the home's own clock, as the checkpoints are made on it: which checkpoint covers an event
        # goes by when the hub received it, and the real clock has nothing to do with this home's night.
        at = T0 + timedelta(minutes=self.minute, seconds=1)
        with self.sessions() as session:
            outcome = store_batch(session, [received(device_topic(SITE, device, DeviceChannel.EVENT), payload, at=at)
                                            for payload in payloads], VerifyKeys())
            assert not outcome.rejected, outcome.rejected
            session.commit()

    def night(self, rounds: int = 3) -> None:
        """A knock by sam at door-01 and its answer, ben's door, a reading, and the hub's own knock record."""
        for _ in range(rounds):
            request = str(uuid.uuid4())
            self.store("door-01", [
                self.body("door-01", "knock.requested", {"request": request, "source": "button", "staff": "sam"}),
                self.body("door-01", "consent.granted", {"request": request}),
                self.body("door-01", "door.opened"),
                self.body("door-01", "env.reading", {"temp_c_x100": 2100, "rh_x100": 4500, "co2_ppm": None}),
            ])
            self.store("door-02", [self.body("door-02", "door.opened"), self.body("door-02", "door.closed")])
            self.minute += 1
            with self.sessions() as session:
                self.hub.append(session, SITE, HubEventType.KNOCK_SENT, {"staff": "sam", "door": "d1"},
                                room="room-01", at=T0 + timedelta(minutes=self.minute))
                session.commit()

    def checkpoint(self) -> CheckpointRecord:
        with self.sessions() as session:
            record = make_checkpoint(session, HUB_KEY, T0 + timedelta(minutes=self.minute, seconds=30))
            session.commit()
            return record

    def check(self, session: Session | None = None) -> DatabaseReport:
        if session is not None:
            return check_database(session, HUB_KEY.public_key())
        with self.sessions() as fresh:
            return check_database(fresh, HUB_KEY.public_key())


def unlock(session: Session, table: str = "events") -> None:
    """What an attacker with the database does first, inside the session's transaction (so a test can roll back)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return
    # pysqlite opens its transaction only at a DML statement; without one a DROP TRIGGER would commit at once.
    session.execute(text("UPDATE device_heads SET acked_seq = acked_seq WHERE 1 = 0"))
    for trigger in TRIGGERS[table]:
        session.execute(text(f"DROP TRIGGER {trigger}"))


@pytest.fixture
def home(sessions: sessionmaker[Session]) -> EvidenceHome:
    made = EvidenceHome(sessions)
    made.register()
    return made
