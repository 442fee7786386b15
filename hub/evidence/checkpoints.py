"""Signed checkpoints: every few minutes the hub signs the head of every chain — each device's and its own — as
the leaves of an RFC 6962 Merkle tree, and chains each checkpoint to the one before.

A leaf is the canonical JSON (protocol.signing.signed_bytes) of one head: `source`, `seq` (the highest stored),
`hash` (of the event at that seq), `acked` (the highest seq with none missing below it — everything up to it was
stored when the checkpoint was made, so a seq missing there later was dropped) and `key` (the source's public key:
re-signing history with another key changes no event hash, so the key itself has to be pinned). Once a copy of a
checkpoint lives outside the hub (retained on MQTT, with a witness, in a bundle), rewriting what it covers shows.
"""

import base64
import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db.models import CheckpointRecord, Device, DeviceHead, StoredEvent
from hub.evidence.merkle import tree_head
from protocol.errors import ProtocolError
from protocol.signing import GENESIS_PREV, chain_hash, sign, signed_bytes, verify_bytes

CHECKPOINT_VERSION = 1
CHECKPOINT_KIND = "checkpoint"


class CheckpointError(ValueError):
    """A checkpoint that is not what it claims to be."""


def leaf_data(head: dict[str, Any]) -> bytes:
    return signed_bytes(head)


def merkle_root(heads: list[dict[str, Any]]) -> str:
    return base64.b64encode(tree_head([leaf_data(head) for head in heads])).decode("ascii")


def chain_heads(session: Session) -> list[dict[str, Any]]:
    """The head of every chain with at least one stored event, sorted by source."""
    tops = (
        select(StoredEvent.device.label("device"), func.max(StoredEvent.seq).label("seq"))
        .group_by(StoredEvent.device)
        .subquery()
    )
    rows = session.execute(
        select(StoredEvent.device, StoredEvent.seq, StoredEvent.hash, Device.public_key, DeviceHead.acked_seq)
        .join(tops, (tops.c.device == StoredEvent.device) & (tops.c.seq == StoredEvent.seq))
        .join(Device, Device.id == StoredEvent.device)
        .outerjoin(DeviceHead, DeviceHead.device == StoredEvent.device)
        .order_by(StoredEvent.device)
    )
    return [
        {"source": source, "seq": seq, "hash": hash_, "acked": min(acked or 0, seq), "key": key}
        for source, seq, hash_, key, acked in rows
    ]


def make_checkpoint(session: Session, hub_key: Ed25519PrivateKey, now: datetime) -> CheckpointRecord:
    """Sign a checkpoint over the current heads and add it to the session; the caller commits. Two hub processes
    racing here collide on the checkpoint number, and the loser's transaction fails rather than forking the chain."""
    last = session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.n.desc()).limit(1)).first()
    heads = chain_heads(session)
    body = {
        "v": CHECKPOINT_VERSION,
        "kind": CHECKPOINT_KIND,
        "n": last.n + 1 if last else 1,
        "created_ms": int(now.timestamp() * 1000),
        "heads": heads,
        "root": merkle_root(heads),
        "prev_checkpoint": chain_hash(last.body.encode("utf-8")) if last else GENESIS_PREV,
    }
    record = CheckpointRecord(
        n=body["n"], created_at=now, tree_size=len(heads), root=body["root"], leaves=heads,
        prev=body["prev_checkpoint"], body=signed_bytes(body).decode("utf-8"), sig=sign(hub_key, body),
    )
    session.add(record)
    session.flush()
    return record


def checkpoint_envelope(record: CheckpointRecord) -> dict[str, Any]:
    return {"checkpoint": json.loads(record.body), "sig": record.sig}


def checkpoint_payload(record: CheckpointRecord) -> bytes:
    """The retained MQTT payload: the same `{"checkpoint": …, "sig": …}` envelope protocol.envelope.seal makes."""
    return json.dumps(checkpoint_envelope(record), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def export_checkpoints(session: Session, after: int = 0) -> list[dict[str, Any]]:
    """Every checkpoint numbered above `after`, oldest first, as envelopes: what the API serves for download."""
    records = session.scalars(select(CheckpointRecord).where(CheckpointRecord.n > after).order_by(CheckpointRecord.n))
    return [checkpoint_envelope(record) for record in records]


def open_checkpoint(envelope: Any, hub_public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The body of a checkpoint envelope whose signature and Merkle root hold; CheckpointError says what does not."""
    # Not protocol.envelope.split_envelope: a home's checkpoint can be larger than the 16 KiB a device may send.
    body = envelope.get(CHECKPOINT_KIND) if isinstance(envelope, dict) else None
    sig = envelope.get("sig") if isinstance(envelope, dict) else None
    if not isinstance(body, dict) or not isinstance(sig, str):
        raise CheckpointError(f'checkpoint {_number(envelope)}: expected {{"checkpoint": {{…}}, "sig": "…"}}')
    try:
        verify_bytes(hub_public_key, signed_bytes(body), sig)
    except ProtocolError as error:
        raise CheckpointError(f"checkpoint {_number(envelope)}: {error.detail}") from None
    heads = body.get("heads")
    if body.get("kind") != CHECKPOINT_KIND or not isinstance(heads, list) or not isinstance(body.get("n"), int):
        raise CheckpointError(f"checkpoint {_number(envelope)}: not a checkpoint body")
    if merkle_root(heads) != body.get("root"):
        raise CheckpointError(f"checkpoint {body['n']}: its root is not the Merkle root of its heads")
    return body


def _number(envelope: Any) -> Any:
    inner = envelope.get("checkpoint") if isinstance(envelope, dict) else None
    return inner.get("n", "?") if isinstance(inner, dict) else "?"


def body_hash(body: dict[str, Any]) -> str:
    """What the next checkpoint's `prev_checkpoint` must be."""
    return chain_hash(signed_bytes(body))
