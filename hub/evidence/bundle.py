"""The evidence bundle of a case: one zip an outside body can verify without the hub (verify_bundle.py, inside it).

Per source with an event in the case's scope, every event from the first in scope to the head of the first
checkpoint that covers the last one: in full (signed bytes and signature) when in scope, otherwise only as its
hash and prev — another resident's night stays private and the chain still verifies end to end. With them: the
sources' public keys and the hub's, the checkpoints that pin those heads (and the ones between, so their chain
verifies too), the gaps in those ranges, the case, and a manifest of every file's SHA-256 signed by the hub.
"""

import hashlib
import json
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import CheckpointRecord, Device, StoredEvent
from hub.evidence import verify_bundle
from hub.evidence.cases import case_summary, get_case, in_scope, window_ms
from hub.evidence.checkpoints import checkpoint_envelope
from hub.ingest.gaps import find_gaps
from hub.timelines.cases import case_timeline_pdf
from protocol.hub_events import HUB_SOURCE
from protocol.signing import public_key_b64, sign

Progress = Callable[[int, int], None]
BUNDLE_VERSION = 1
STREAM_ROWS = 2000
CHECKPOINT_ROWS = 50
# The manifest names the timeline PDF's member here; its hash is in `files` like every other member's.
TIMELINE_PDF_SLOT = "timeline_pdf"
TIMELINE_PDF = "timeline.pdf"


def _no_progress(_done: int, _total: int) -> None:
    pass


def export_bundle(
    session: Session, case_id: int, out_path: Path, hub_key: Ed25519PrivateKey, now: datetime,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Write the case's bundle to `out_path`; returns its manifest. `progress(done, total)` counts events."""
    case = get_case(session, case_id)
    start, end = window_ms(case)
    candidates = session.execute(
        select(StoredEvent.device, StoredEvent.seq, StoredEvent.room, StoredEvent.ts_ms, StoredEvent.signed,
               StoredEvent.received_at)
        .where(StoredEvent.site == case.site, StoredEvent.ts_ms >= start, StoredEvent.ts_ms <= end)
    )
    scoped: dict[str, set[int]] = defaultdict(set)
    earliest: datetime | None = None
    for row in candidates:
        if in_scope(case, case.site, row.room, row.ts_ms, row.signed):
            scoped[row.device].add(row.seq)
            earliest = row.received_at if earliest is None else min(earliest, row.received_at)
    covered, shown = _covering(session, {source: max(seqs) for source, seqs in scoped.items()}, earliest)
    ranges = {
        source: (min(seqs), *covered.get(source, (max(seqs), None))) for source, seqs in sorted(scoped.items())
    }
    total = sum(top - first + 1 for first, top, _n in ranges.values())
    keys = {HUB_SOURCE: public_key_b64(hub_key)}
    keys |= {source: key for source, key in session.execute(
        select(Device.id, Device.public_key).where(Device.id.in_(list(ranges)), Device.id != HUB_SOURCE))}
    gaps = {
        source: [[a, b] for a, b in find_gaps(session, source) if b >= first and a <= top]
        for source, (first, top, _n) in ranges.items()
    }
    files: dict[str, str] = {}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("events.jsonl", "w") as raw:
            events = _Hashing(raw)
            done = 0
            for source, (first, top, _n) in ranges.items():
                for line in _event_lines(session, source, first, top, scoped[source]):
                    events.write(line)
                    done += 1
                    if done % 500 == 0 or done == total:
                        progress(done, total)
            files["events.jsonl"] = events.hexdigest()
        progress(total, total)
        documents: dict[str, Any] = {
            "case.json": case_summary(case),
            "keys.json": keys,
            "checkpoints.json": [checkpoint_envelope(record) for record in shown],
            "gaps.json": gaps,
        }
        for name, document in documents.items():
            files[name] = _write(archive, name, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"))
        files["verify_bundle.py"] = _write(archive, "verify_bundle.py", Path(verify_bundle.__file__).read_bytes())
        files[TIMELINE_PDF] = _write(archive, TIMELINE_PDF, case_timeline_pdf(session, case, now))
        manifest = {
            "v": BUNDLE_VERSION, "kind": "bundle", "case": case.id, "created_ms": int(now.timestamp() * 1000),
            "files": files, TIMELINE_PDF_SLOT: TIMELINE_PDF,
            "ranges": {source: [first, top] for source, (first, top, _n) in ranges.items()},
            "unanchored": sorted(source for source, (_first, _top, n) in ranges.items() if n is None),
        }
        _write(archive, verify_bundle.MANIFEST, json.dumps(
            {"manifest": manifest, "sig": sign(hub_key, manifest)}, indent=1, ensure_ascii=False).encode("utf-8"))
    return manifest


def _covering(
    session: Session, lasts: dict[str, int], earliest: datetime | None
) -> tuple[dict[str, tuple[int, int]], list[CheckpointRecord]]:
    """For each source, the head seq and number of the first checkpoint pinning its last event in scope; and the
    checkpoints from the first such to the last, so their own chain verifies. Only checkpoints made after the
    earliest of those events arrived can cover it, and the search stops once every source is covered."""
    covered: dict[str, tuple[int, int]] = {}
    shown: list[CheckpointRecord] = []
    if earliest is None:
        return covered, shown
    pending = dict(lasts)
    records = session.scalars(
        select(CheckpointRecord).where(CheckpointRecord.created_at >= earliest).order_by(CheckpointRecord.n)
        .execution_options(yield_per=CHECKPOINT_ROWS)
    )
    for record in records:
        for head in record.leaves:
            last = pending.get(head["source"])
            if last is not None and head["seq"] >= last:
                covered[head["source"]] = (head["seq"], record.n)
                del pending[head["source"]]
        if covered:
            shown.append(record)
        if not pending:
            break
    last_n = max((n for _seq, n in covered.values()), default=0)
    return covered, [record for record in shown if record.n <= last_n]


def _event_lines(session: Session, source: str, first: int, top: int, scoped: set[int]) -> Iterator[bytes]:
    rows = session.execute(
        select(StoredEvent.seq, StoredEvent.prev, StoredEvent.hash, StoredEvent.sig, StoredEvent.signed)
        .where(StoredEvent.device == source, StoredEvent.seq >= first, StoredEvent.seq <= top)
        .order_by(StoredEvent.seq)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for row in rows:
        if row.seq in scoped and row.signed:
            entry: dict[str, Any] = {"source": source, "seq": row.seq, "signed": row.signed, "sig": row.sig}
        else:
            withheld = "purged" if not row.signed else "outside the case"
            entry = {"source": source, "seq": row.seq, "hash": row.hash, "prev": row.prev, "withheld": withheld}
        yield json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n"


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> str:
    archive.writestr(name, data)
    return hashlib.sha256(data).hexdigest()


class _Hashing:
    """Writes through to a zip member while hashing what it writes."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.target.write(data)
        self.digest.update(data)

    def hexdigest(self) -> str:
        return self.digest.hexdigest()
