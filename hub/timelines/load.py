"""The thin SQL side: what a timeline reads, on the indexes events already has — (room, ts_ms), (device, ts_ms),
(site, ts_ms) — selecting the signed text, never a decoded payload.

Each statement is built once with bound parameters: building SQLAlchemy expressions costs more than running a
small indexed query, and one room's night is only a few of them."""

import typing
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from hub.db.models import AlertRecord, Device, DeviceHead, EntryRecord, Home, StoredEvent
from hub.timelines.assemble import DeviceInfo, EntryRow, Found
from hub.timelines.clock import ClockReport, report_of
from hub.timelines.facts import Fact, data_in
from hub.timelines.model import View
from hub.timelines.unknowns import AlertSpan, SeqMark
from protocol.events import EventType
from protocol.hub_events import HUB_SOURCE

_TS_MS = Fact._fields.index("ts_ms")
CLOCK_LOOK_BACK = timedelta(minutes=30)
"""How far before a window the heartbeat that corrects its first events is looked for."""

FACT_COLUMNS = (StoredEvent.id, StoredEvent.site, StoredEvent.device, StoredEvent.seq, StoredEvent.type,
                StoredEvent.door, StoredEvent.room, StoredEvent.ts_ms, StoredEvent.received_at, StoredEvent.boot,
                StoredEvent.signed)
_IN_WINDOW = and_(StoredEvent.ts_ms >= bindparam("start_ms"), StoredEvent.ts_ms < bindparam("end_ms"))
_OF_DEVICES = StoredEvent.device.in_(bindparam("devices", expanding=True))
_HOME_ROWS = select(*FACT_COLUMNS).where(StoredEvent.site == bindparam("site"), _IN_WINDOW)
_ROOM_ROWS = (
    # Filed under the room: its doors' events, the hub's records about it.
    select(*FACT_COLUMNS).where(StoredEvent.room == bindparam("room"), _IN_WINDOW,
                                StoredEvent.site == bindparam("site")),
    # The readings and heartbeats of the devices serving it, which name no door and so no room.
    select(*FACT_COLUMNS).where(_OF_DEVICES, _IN_WINDOW, StoredEvent.room.is_(None)),
)
_HEARTBEATS_BEFORE = select(*FACT_COLUMNS).where(
    StoredEvent.site == bindparam("site"), StoredEvent.ts_ms >= bindparam("look_from_ms"),
    StoredEvent.ts_ms < bindparam("start_ms"), StoredEvent.type == EventType.DEVICE_HEARTBEAT.value, _OF_DEVICES)
# One flat UNION ALL each (SQLite refuses a compound select nested in another): a window's rows and, in the same
# round trip, its devices' heartbeats of the look-back before it, whose clock reports correct its first events.
_HOME_WITH_CLOCK = union_all(_HOME_ROWS, _HEARTBEATS_BEFORE)
_ROOM_WITH_CLOCK = union_all(*_ROOM_ROWS, _HEARTBEATS_BEFORE)
_ROOM = union_all(*_ROOM_ROWS)

_REGISTRY = (
    # The home's devices (and the hub), each with its chain's head when that has a hole, the home's time zone,
    # and the device's offline alerts that overlap the window: one row per device and alert.
    select(Device.id, Device.site, Device.doors, Device.status, Device.status_at, DeviceHead.acked_seq,
           Home.time_zone, AlertRecord.id, AlertRecord.type, AlertRecord.subject, AlertRecord.room,
           AlertRecord.raised_at, AlertRecord.cleared_at)
    .outerjoin(DeviceHead, and_(DeviceHead.device == Device.id, DeviceHead.acked_seq < DeviceHead.max_seq))
    .outerjoin(Home, Home.id == Device.site)
    .outerjoin(AlertRecord, and_(
        AlertRecord.subject == literal("device:") + Device.id, AlertRecord.type == "device_offline",
        AlertRecord.site == bindparam("site"), AlertRecord.raised_at < bindparam("end"),
        or_(AlertRecord.cleared_at.is_(None), AlertRecord.cleared_at > bindparam("start"))))
    .where(Device.site.in_([bindparam("site"), HUB_SOURCE]))
)
_ROOM_REGISTRY = _REGISTRY.where(or_(
    # A room's: the hub, and the devices whose doors' JSON names it (ids are [a-z0-9-], written as they are); the
    # exact test is the caller's. The other rooms' devices would be read, decoded and dropped on every read.
    Device.id == HUB_SOURCE, cast(Device.doors, Text).contains(bindparam("quoted_room"))))
_STORED_FROM = (select(StoredEvent.seq, StoredEvent.ts_ms)
                .where(StoredEvent.device == bindparam("device"), StoredEvent.seq >= bindparam("seq"))
                .order_by(StoredEvent.seq))
_ENTRY_COLUMNS = (EntryRecord.door_opened_event_id, EntryRecord.revision, EntryRecord.cause, EntryRecord.decided_at,
                  EntryRecord.room, EntryRecord.device, EntryRecord.door, EntryRecord.opened_at,
                  EntryRecord.closed_at, EntryRecord.kind, EntryRecord.outcome, EntryRecord.reason,
                  EntryRecord.sentence, EntryRecord.who, EntryRecord.rules_version, EntryRecord.preference_version,
                  EntryRecord.waited_ms, EntryRecord.wait_s, EntryRecord.inside_ms, EntryRecord.review_required,
                  EntryRecord.knock_event_id, EntryRecord.answer_event_id, EntryRecord.rests_on)
_HOME_ENTRIES = select(*_ENTRY_COLUMNS).where(
    EntryRecord.site == bindparam("site"), EntryRecord.opened_at >= bindparam("start"),
    EntryRecord.opened_at < bindparam("end"))
_ROOM_ENTRIES = _HOME_ENTRIES.where(EntryRecord.room == bindparam("room"))
_REGISTRY_WIDTH = len(_REGISTRY.selected_columns)


def _together(first: Select[Any], second: Select[Any]) -> Select[Any]:
    """Two short, independent lists in one round trip (a round trip is most of a room's read on PostgreSQL): each
    LEFT JOINed on true to a one-row anchor, so the rows are their product and each list comes back whole even when
    the other is empty. The reader takes each list's distinct rows back by key."""
    anchor = select(literal(1).label("anchor")).subquery()
    first_rows, second_rows = first.subquery(), second.subquery()
    return select(*first_rows.c, *second_rows.c).select_from(
        anchor.outerjoin(first_rows, true()).outerjoin(second_rows, true()))


_ROOM_REGISTRY_AND_ENTRIES = _together(_ROOM_REGISTRY, _ROOM_ENTRIES)


class Query(NamedTuple):
    """A statement and the values of its parameters: `connection.execute(*query)`."""

    statement: Select[Any] | CompoundSelect
    params: dict[str, Any]


class UnknownSubject(LookupError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def room_query(site: str, room: str, devices: Sequence[str], start_ms: int, end_ms: int) -> Query:
    """A room's rows: those filed under it, and the readings and heartbeats of the devices serving it."""
    return Query(_ROOM, {"site": site, "room": room, "devices": list(devices),
                         "start_ms": start_ms, "end_ms": end_ms})


def home_query(site: str, start_ms: int, end_ms: int) -> Query:
    return Query(_HOME_ROWS, {"site": site, "start_ms": start_ms, "end_ms": end_ms})


class Registry(NamedTuple):
    """What the home's registry says for one window."""

    zone: str | None
    """The home's time zone; None when the home is not registered or has no devices yet."""
    devices: dict[str, DeviceInfo]
    behind: dict[str, int]
    """The sources (its devices and the hub) whose stored chain has a hole, with the seq acked below it."""
    offline_alerts: list[AlertSpan]


def _registry(rows: Sequence[Sequence[Any]], site: str) -> Registry:
    """What the home's registry says, from its rows (one per device and offline alert)."""
    zone, devices, behind, alerts = None, {}, {}, []
    for device, device_site, doors, status, status_at, acked, time_zone, *alert in rows:
        if acked is not None:
            behind[device] = acked
        if alert[0] is not None:
            alerts.append(AlertSpan(*alert))
        if device_site == site and device != HUB_SOURCE:
            zone = time_zone
            devices[device] = DeviceInfo(device, tuple(sorted(set((doors or {}).values()))), bool(doors), status,
                                         status_at)
    return Registry(zone, devices, behind, alerts)


def _zone(session: Session, site: str, zone: str | None, default_zone: str | None) -> str:
    """The home's time zone; a site whose doors are registered before its home (the evidence tools allow it) is
    read in `default_zone` when one is given."""
    if zone is not None:
        return zone
    home = session.get(Home, site)
    if home is not None:
        return home.time_zone
    if default_zone is None:
        raise UnknownSubject("unknown_home", f"no home {site!r}")
    return default_zone


def _clock_before(before: Sequence[Fact]) -> dict[str, ClockReport]:
    """Each device's last heartbeat before the window, as a clock report."""
    last: dict[str, ClockReport] = {}
    for fact in before:
        if fact.device in last and last[fact.device].seq > fact.seq:
            continue
        last[fact.device] = report_of(fact.seq, fact.ts_ms, data_in(fact.signed))
    return last


def _seq_marks(connection: Connection, behind: dict[str, int], start_ms: int) -> dict[str, list[SeqMark]]:
    """For sources whose stored chain has a hole (acked below max), the stored seqs from the hole on. Scanning
    from the acked seq keeps this exact; a hole is normally filled by the device's resend within minutes."""
    marks: dict[str, list[SeqMark]] = {}
    for device, acked in behind.items():
        found = [SeqMark(seq, ts_ms) for seq, ts_ms in connection.execute(_STORED_FROM,
                                                                          {"device": device, "seq": acked})]
        # Missing from seq 1: nothing tells when the first missing one was made; the window's start stands in.
        marks[device] = found if acked else [SeqMark(0, min(start_ms, found[0].ts_ms if found else start_ms)), *found]
    return marks


def load_room(session: Session, site: str, room: str, start: datetime, end: datetime, now: datetime,
              offline_after: timedelta) -> Found:
    connection = session.connection()
    rows = connection.execute(_ROOM_REGISTRY_AND_ENTRIES, {"site": site, "room": room, "start": start, "end": end,
                                                           "quoted_room": f'"{room}"'}).all()
    # Each registry row (device, alert) and each entry row (opening, revision) once; a side's NULLs when it is empty.
    registry_rows = {(row[0], row[7]): row[:_REGISTRY_WIDTH] for row in rows if row[0] is not None}
    entries = {(row[_REGISTRY_WIDTH], row[_REGISTRY_WIDTH + 1]): row[_REGISTRY_WIDTH:] for row in rows
               if row[_REGISTRY_WIDTH] is not None}
    registry = _registry(list(registry_rows.values()), site)
    registry = registry._replace(devices={device: info for device, info in registry.devices.items()
                                          if room in info.rooms})
    return _found(connection, View.ROOM, site, _zone(session, site, registry.zone, None), room, start, end, now,
                  offline_after, registry, list(entries.values()), room=room)


def load_home(session: Session, site: str, start: datetime, end: datetime, now: datetime,
              offline_after: timedelta, default_zone: str | None = None) -> Found:
    connection = session.connection()
    window = {"site": site, "start": start, "end": end}
    registry = _registry(connection.execute(_REGISTRY, window).all(), site)
    entries = connection.execute(_HOME_ENTRIES, window).all()
    return _found(connection, View.HOME, site, _zone(session, site, registry.zone, default_zone), site, start, end,
                  now, offline_after, registry, entries)


def load_staff(session: Session, site: str, staff: str, start: datetime, end: datetime, now: datetime,
               offline_after: timedelta) -> Found:
    """A member of staff's night is read from their home's rows: what names them is inside the signed data."""
    found = load_home(session, site, start, end, now, offline_after)
    return Found(**{**{name: getattr(found, name) for name in Found.__dataclass_fields__},
                    "view": View.STAFF, "subject": staff, "staff": staff})


def _found(connection: Connection, view: View, site: str, zone: str, subject: str, start: datetime, end: datetime,
           now: datetime, offline_after: timedelta, registry: Registry, entries: Sequence[Sequence[Any]],
           room: str | None = None) -> Found:
    devices = registry.devices
    start_ms = ms(start)
    rows = {"site": site, "start_ms": start_ms, "end_ms": ms(end), "devices": list(devices),
            "look_from_ms": start_ms - int(CLOCK_LOOK_BACK.total_seconds() * 1000)}
    if room is None:
        found_rows = connection.execute(_HOME_WITH_CLOCK, rows).all()
    else:
        found_rows = connection.execute(_ROOM_WITH_CLOCK, {**rows, "room": room}).all()
    # The rows as they come: SQLAlchemy's rows are named tuples of Fact's shape, and a home's night is thousands.
    facts = typing.cast(list[Fact], [row for row in found_rows if row[_TS_MS] >= start_ms])
    before = typing.cast(list[Fact], [row for row in found_rows if row[_TS_MS] < start_ms])
    sources = {*devices, HUB_SOURCE}
    return Found(
        view=view, site=site, subject=subject, start=start, end=end, time_zone=zone, now=now, facts=facts,
        devices=devices, clock_before=_clock_before(before),
        seq_marks=_seq_marks(connection, {source: acked for source, acked in registry.behind.items()
                                          if source in sources}, start_ms),
        alerts=registry.offline_alerts,
        entries=[EntryRow(*entry[:-1], rests_on=tuple(entry[-1] or ())) for entry in entries],
        offline_after=offline_after,
    )
