"""`threshold-hub check-db`: re-verify everything the database holds as evidence, and name each row that is wrong.

Per chain, oldest first: the hash of each row's signed bytes, its signature with the source's key, that the row's
columns and its signed bytes agree (a row moved to another seq still carries its own seq inside), and that each
prev links to the hash before it. Per checkpoint: its signature, its Merkle root, its link to the one before, and
that each head it pinned is still there with the same hash and key. A missing seq is a gap, listed and not an
error, unless a checkpoint or a receipt says the hub had stored it: then it was dropped.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import CheckpointRecord, Device, DeviceHead, PurgedEvent, StoredEvent
from hub.evidence.checkpoints import CheckpointError, checkpoint_envelope, open_checkpoint
from protocol.errors import ProtocolError
from protocol.signing import GENESIS_PREV, chain_hash, public_key_from_b64, verify_bytes

STREAM_ROWS = 2000
SIGNED_COLUMNS = ("type", "door", "ts_ms", "mono_ms", "boot", "prev")


@dataclass(frozen=True, order=True)
class Finding:
    """One thing wrong, named by where it is: "door-01 seq 17" or "checkpoint 4"."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class DatabaseReport:
    findings: list[Finding] = field(default_factory=list)
    gaps: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    events: int = 0
    purged: int = 0
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _Pinned:
    """What the checkpoints say about one source."""

    heads: dict[int, tuple[str, int]] = field(default_factory=dict)  # seq → (hash, first checkpoint pinning it)
    keys: dict[str, int] = field(default_factory=dict)  # key → first checkpoint naming it
    acked: tuple[int, int] = (0, 0)  # (highest acked seq, the checkpoint that says so)


def check_database(session: Session, hub_public_key: Ed25519PublicKey) -> DatabaseReport:
    report = DatabaseReport()
    pinned = _check_checkpoints(session, hub_public_key, report)
    receipts = {device: acked for device, acked in session.execute(select(DeviceHead.device, DeviceHead.acked_seq))}
    for device in session.scalars(select(Device).order_by(Device.id)):
        _check_chain(session, device, pinned.get(device.id, _Pinned()), receipts.get(device.id, 0), report)
    for source in sorted(set(pinned) - set(report.gaps)):
        report.findings.append(Finding(source, "named by a checkpoint but no longer registered"))
    report.findings.sort(key=_finding_order)
    return report


def _finding_order(finding: Finding) -> tuple[str, int, str]:
    name, _, seq = finding.where.rpartition(" seq ")
    return (name, int(seq), finding.what) if name and seq.isdigit() else (finding.where, 0, finding.what)


def _check_checkpoints(session: Session, hub_public_key: Ed25519PublicKey, report: DatabaseReport) -> dict[str, _Pinned]:
    pinned: dict[str, _Pinned] = defaultdict(_Pinned)
    previous: CheckpointRecord | None = None
    for record in session.scalars(select(CheckpointRecord).order_by(CheckpointRecord.n)):
        report.checkpoints += 1
        where = f"checkpoint {record.n}"
        expected_n = previous.n + 1 if previous else 1
        if record.n != expected_n:
            report.findings.append(Finding(where, f"checkpoints {expected_n}–{record.n - 1} are missing"))
        try:
            body = open_checkpoint(checkpoint_envelope(record), hub_public_key)
        except (CheckpointError, ValueError) as error:
            report.findings.append(Finding(where, f"does not verify ({error})"))
            previous = record
            continue
        expected_prev = chain_hash(previous.body.encode("utf-8")) if previous else GENESIS_PREV
        if record.n == expected_n and body["prev_checkpoint"] != expected_prev:
            report.findings.append(Finding(where, f"does not link to checkpoint {expected_n - 1}"))
        if (body["n"], body["root"], body["heads"], body["prev_checkpoint"], len(body["heads"])) != (
            record.n, record.root, record.leaves, record.prev, record.tree_size
        ):
            report.findings.append(Finding(where, "its columns differ from its signed body"))
        for head in body["heads"]:
            _pin(pinned[head["source"]], head, record.n, report)
        previous = record
    return pinned


def _pin(pin: _Pinned, head: dict[str, Any], n: int, report: DatabaseReport) -> None:
    seen = pin.heads.setdefault(head["seq"], (head["hash"], n))
    if seen[0] != head["hash"]:
        report.findings.append(Finding(
            f"checkpoint {n}", f"head of {head['source']} at seq {head['seq']} differs from checkpoint {seen[1]}'s"
        ))
    pin.keys.setdefault(head["key"], n)
    if head["acked"] > pin.acked[0]:
        pin.acked = (head["acked"], n)


def _check_chain(session: Session, device: Device, pin: _Pinned, receipt: int, report: DatabaseReport) -> None:
    source = device.id
    purged = set(session.scalars(select(PurgedEvent.seq).where(PurgedEvent.device == source)))
    try:
        key: Ed25519PublicKey | None = public_key_from_b64(device.public_key)
    except (ProtocolError, ValueError):
        key = None
        report.findings.append(Finding(source, "its registered public key is not an Ed25519 key"))
    for stored_key, n in pin.keys.items():
        if stored_key != device.public_key:
            report.findings.append(Finding(source, f"its public key has changed since checkpoint {n}"))
    gaps: list[tuple[int, int]] = []
    last_seq, last_hash = 0, GENESIS_PREV
    rows = session.execute(
        select(StoredEvent.seq, StoredEvent.type, StoredEvent.door, StoredEvent.ts_ms, StoredEvent.mono_ms,
               StoredEvent.boot, StoredEvent.prev, StoredEvent.hash, StoredEvent.sig, StoredEvent.signed)
        .where(StoredEvent.device == source)
        .order_by(StoredEvent.seq)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for row in rows:
        report.events += 1
        where = f"{source} seq {row.seq}"
        prev = row.prev
        if row.signed == "":
            report.purged += 1
            if row.seq not in purged:
                report.findings.append(Finding(where, "signed bytes removed without a purge record"))
        else:
            prev = _check_row(row, source, key, where, report)
        if row.seq > last_seq + 1:
            gaps.append((last_seq + 1, row.seq - 1))
        elif prev != last_hash:
            link = "the genesis" if row.seq == 1 else f"seq {last_seq}"
            report.findings.append(Finding(where, f"prev does not link to {link}"))
        pinned_head = pin.heads.pop(row.seq, None)
        if pinned_head and pinned_head[0] != row.hash:
            report.findings.append(Finding(
                f"checkpoint {pinned_head[1]}", f"head of {source} at seq {row.seq} no longer matches"
            ))
        last_seq, last_hash = row.seq, row.hash
    for seq, (_hash, n) in sorted(pin.heads.items()):
        report.findings.append(Finding(f"checkpoint {n}", f"head of {source} at seq {seq} is missing"))
    acked, acked_by = max(pin.acked, (receipt, 0))
    if acked > last_seq:
        gaps.append((last_seq + 1, acked))
    report.gaps[source] = gaps
    for first, last in gaps:
        if first <= acked:
            seqs = f"seq {first}" if first == min(last, acked) else f"seqs {first}–{min(last, acked)}"
            said = f"checkpoint {acked_by}" if acked_by else "its receipt"
            report.findings.append(Finding(
                f"{source} seq {first}", f"{seqs} dropped: {said} says every seq up to {acked} was stored"
            ))


def _check_row(row: Any, source: str, key: Ed25519PublicKey | None, where: str, report: DatabaseReport) -> str:
    """The row's own checks; returns the prev its signed bytes carry (the column's if they cannot be read)."""
    signed = row.signed.encode("utf-8")
    if chain_hash(signed) != row.hash:
        report.findings.append(Finding(where, "signed bytes changed (hash mismatch)"))
    try:
        body = json.loads(signed)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        report.findings.append(Finding(where, "signed bytes are not a JSON object"))
        return str(row.prev)
    if body.get("device") != source or body.get("seq") != row.seq:
        report.findings.append(Finding(
            where, f"the row is seq {row.seq} but its signed bytes are {body.get('device')} seq {body.get('seq')}"
        ))
    if key is not None:
        try:
            verify_bytes(key, signed, row.sig)
        except ProtocolError:
            report.findings.append(Finding(where, f"signature does not verify with {source}'s key"))
    differing = [column for column in SIGNED_COLUMNS if body.get(column) != getattr(row, column)]
    if differing:
        report.findings.append(Finding(where, f"column {', '.join(differing)} differs from its signed bytes"))
    return str(body.get("prev"))


def describe(report: DatabaseReport) -> Iterable[str]:
    """The lines `check-db` prints."""
    for finding in report.findings:
        yield str(finding)
    for source, gaps in sorted(report.gaps.items()):
        for first, last in gaps:
            yield f"gap: {source} seq {first}" + (f"–{last}" if last > first else "") + " not stored"
    verdict = "OK" if report.ok else f"{len(report.findings)} finding(s)"
    yield (f"{verdict}: {report.events} events ({report.purged} purged), {report.checkpoints} checkpoints, "
           f"{sum(len(gaps) for gaps in report.gaps.values())} gap(s)")
