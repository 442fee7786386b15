"""Appending many event rows at once: COPY on PostgreSQL (its fastest path by far), executemany elsewhere."""

from typing import Any

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, String, and_, insert, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.exc import DBAPIError

from hub.db.models import StoredEvent

EVENT_COLUMNS = [column.name for column in StoredEvent.__table__.columns if column.name != "id"]
COPY_EVENTS = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


def append_events(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts keyed by column name) in the connection's open transaction."""
    if connection.dialect.name == "postgresql":
        # Row by row in pipeline mode, PostgreSQL plans and runs one INSERT each; COPY streams them as one.
        driver_error = connection.dialect.loaded_dbapi.Error
        try:
            with connection.connection.driver_connection.cursor() as cursor, cursor.copy(COPY_EVENTS) as copy:
                for row in rows:
                    copy.write_row([row[name] for name in EVENT_COLUMNS])
        except driver_error as error:
            # Raised as SQLAlchemy would (OperationalError, DataError, IntegrityError…) so callers see one kind.
            raise DBAPIError.instance(COPY_EVENTS, None, error, driver_error) from error
        return
    connection.execute(insert(StoredEvent.__table__), rows)


def stored_pairs(pairs: Iterable[tuple[str, int]]) -> ColumnElement[bool]:
    """Rows with these (device, seq) pairs, as `device = ? AND seq IN (…)` per device: each term is a walk of the
    (device, seq) index, where a row-value IN list of pairs made SQLite read far more."""
    by_device: dict[str, list[int]] = {}
    for device, seq in pairs:
        by_device.setdefault(device, []).append(seq)
    return or_(*(and_(StoredEvent.device == device, StoredEvent.seq.in_(seqs)) for device, seqs in by_device.items()))


DOORS_PER_STATEMENT = 400
"""SQLite allows at most 500 parts in a compound select; more doors than this are asked in several statements."""


def newest_seqs(session: Session, doors: Iterable[tuple[str, str | None]], types: list[str]
                ) -> dict[tuple[str, str | None], list[int | None]]:
    """For each (device, door), the seq of its newest event of each of `types` on that door (on any door, for a
    door of None), or None: in one statement, whatever the number of doors, each answer an index seek on
    (device, type, seq), newest first. One statement, not one per door, because a round asks this of every door of
    a home while the writer is storing: each statement costs the writer a wait for the interpreter. The doors are
    a UNION ALL of bound values, not a VALUES list: SQLAlchemy compiles a statement holding one every time (~5 ms
    for one door's eight types)."""
    wanted_doors = sorted(set(doors), key=lambda pair: (pair[0], pair[1] or ""))
    found: dict[tuple[str, str], list[int | None]] = {}
    for start in range(0, len(wanted_doors), DOORS_PER_STATEMENT):
        chunk = wanted_doors[start:start + DOORS_PER_STATEMENT]
        rows = [select(literal(device, String).label("device"), literal(door or "", String).label("door"))
                for device, door in chunk]
        wanted = (union_all(*rows) if len(rows) > 1 else rows[0]).cte("wanted")
        on_door = or_(wanted.c.door == "", StoredEvent.door == wanted.c.door)
        newest = [
            select(StoredEvent.seq).where(StoredEvent.device == wanted.c.device, StoredEvent.type == type, on_door)
            .order_by(StoredEvent.seq.desc()).limit(1).correlate(wanted).scalar_subquery()
            for type in types
        ]
        found |= {(device, door): list(seqs) for device, door, *seqs in session.execute(
            select(wanted.c.device, wanted.c.door, *newest))}
    return {(device, door): found[(device, door or "")] for device, door in wanted_doors}
