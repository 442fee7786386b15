"""Writing many rows at once: events by COPY on PostgreSQL (its fastest path by far), and devices' heads in one
statement there; executemany elsewhere."""

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.exc import DBAPIError

from hub.db.models import DeviceHead, StoredEvent

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


_MOVE_HEADS_FROM_ARRAYS = text(
    "UPDATE device_heads SET acked_seq = moved.acked_seq, max_seq = moved.max_seq"
    " FROM unnest(CAST(:devices AS varchar[]), CAST(:acked AS bigint[]), CAST(:max AS bigint[]))"
    " AS moved (device, acked_seq, max_seq) WHERE device_heads.device = moved.device")
_MOVE_HEAD = (update(DeviceHead.__table__).where(DeviceHead.__table__.c.device == bindparam("moved_device"))
              .values(acked_seq=bindparam("moved_acked"), max_seq=bindparam("moved_max")))


class Head(NamedTuple):
    """A device's stored chain as far as it reaches (a `device_heads` row)."""

    acked_seq: int
    max_seq: int


def write_heads(connection: Connection, first: Sequence[tuple[str, Head]], moved: Sequence[tuple[str, Head]]) -> None:
    """Insert the `first` heads (by device) and set the `moved` ones. On PostgreSQL the moved heads are one UPDATE
    from arrays: an executemany sends one per device, and every batch moves the heads of all the devices it holds."""
    if first:
        connection.execute(insert(DeviceHead.__table__), [
            {"device": device, "acked_seq": acked, "max_seq": max_seq} for device, (acked, max_seq) in first])
    if not moved:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(_MOVE_HEADS_FROM_ARRAYS, {"devices": [device for device, _ in moved],
                                                     "acked": [acked for _, (acked, _) in moved],
                                                     "max": [max_seq for _, (_, max_seq) in moved]})
    else:
        connection.execute(_MOVE_HEAD, [{"moved_device": device, "moved_acked": acked, "moved_max": max_seq}
                                        for device, (acked, max_seq) in moved])


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
