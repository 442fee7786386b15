"""The disk outbox: every event is signed, chained and stored here before it is published.

SQLite in WAL mode with `synchronous=FULL`, so an event the agent has published survives a power cut.
The chain state (last seq, hash of the last signed bytes) lives in the same database and moves in the same
transaction as the event it describes, so a new process continues the chain where the old one stopped.
Rows leave only through `confirm_through`, which the agent calls for the hub's receipts.
"""

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, chain_hash, signed_bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    payload BLOB NOT NULL
);
"""


class EventClock(Protocol):
    def mono_ms(self) -> int: ...

    def ts_ms(self) -> int: ...


@dataclass(frozen=True)
class Pending:
    seq: int
    payload: bytes


class Outbox:
    """Signs, chains and keeps a device's events until a receipt covers them. Safe to use from any thread."""

    def __init__(self, path: Path, device: str, key: Ed25519PrivateKey, boot: str, clock: EventClock) -> None:
        self.device, self._key, self._boot, self._clock = device, key, boot, clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO chain (id, last_seq, last_hash) VALUES (1, 0, ?)", (GENESIS_PREV,))
        # When each seq was last handed to the link, in this process's monotonic seconds; a new process
        # resends everything still pending.
        self._sent_at: dict[int, float] = {}

    def append(self, type: str, door: str | None, data: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """Sign the next event of the chain and store it; returns its seq and the payload to publish now."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last_seq, last_hash = self._db.execute("SELECT last_seq, last_hash FROM chain").fetchone()
                body = event_body(
                    device=self.device, seq=last_seq + 1, prev=last_hash, boot=self._boot,
                    mono_ms=self._clock.mono_ms(), ts_ms=self._clock.ts_ms(), type=type, door=door, data=data,
                )
                payload = seal(self._key, "event", body)
                self._db.execute("INSERT INTO outbox (seq, payload) VALUES (?, ?)", (body["seq"], payload))
                self._db.execute(
                    "UPDATE chain SET last_seq = ?, last_hash = ?", (body["seq"], chain_hash(signed_bytes(body)))
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            # Counted as sent from now: the caller publishes it next, and a resend must not race that.
            self._sent_at[body["seq"]] = time.monotonic()
            return body["seq"], payload

    def mark_sent(self, seq: int, at: float | None = None) -> None:
        with self._lock:
            self._sent_at[seq] = time.monotonic() if at is None else at

    def confirm_through(self, seq: int) -> int:
        """The hub has stored every event up to `seq`: forget them. Returns how many rows left."""
        with self._lock:
            deleted = self._db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount
            for sent in [s for s in self._sent_at if s <= seq]:
                del self._sent_at[sent]
            return deleted

    def due_for_resend(self, older_than_s: float, limit: int = 500, now: float | None = None) -> list[Pending]:
        """Events not receipted and not handed to the link in the last `older_than_s`, oldest first."""
        now = time.monotonic() if now is None else now
        with self._lock:
            due: list[Pending] = []
            for seq, payload in self._db.execute("SELECT seq, payload FROM outbox ORDER BY seq"):
                sent = self._sent_at.get(seq)
                if sent is None or now - sent >= older_than_s:
                    due.append(Pending(seq, bytes(payload)))
                    if len(due) >= limit:
                        break
            return due

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def pending(self) -> list[Pending]:
        """Every event still waiting for a receipt, oldest first."""
        with self._lock:
            return [Pending(s, bytes(p)) for s, p in self._db.execute("SELECT seq, payload FROM outbox ORDER BY seq")]

    def last_seq(self) -> int:
        with self._lock:
            return self._db.execute("SELECT last_seq FROM chain").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
