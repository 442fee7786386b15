"""Gaps: seqs the hub has not seen while it holds later ones from the same device (PROTOCOL.md §7)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db.models import StoredEvent


def find_gaps(session: Session, device: str) -> list[tuple[int, int]]:
    """Missing seq ranges `(first, last)`, inclusive and in order; a missing start counts from seq 1."""
    seqs = (
        select(
            StoredEvent.seq.label("seq"),
            func.coalesce(func.lag(StoredEvent.seq).over(order_by=StoredEvent.seq), 0).label("before"),
        )
        .where(StoredEvent.device == device)
        .subquery()
    )
    rows = session.execute(
        select(seqs.c.before + 1, seqs.c.seq - 1).where(seqs.c.seq - seqs.c.before > 1).order_by(seqs.c.seq)
    )
    return [(int(first), int(last)) for first, last in rows]
