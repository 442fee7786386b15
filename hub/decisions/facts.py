"""What the rules read, loaded from the database: stored events as DoorFacts, the resident's preference version, the
roster, the room and the room's help alerts.

A fact's `at` is the device's own `ts_ms` corrected by the clock offset its device last reported before it: the
`clock_offset_ms` of the device's latest `device.heartbeat` at or before the event in the device's own sequence, in the
same boot. Sign convention (PROTOCOL.md §3, device.heartbeat): offset = device clock − true time, so a device 2 s fast
reports +2000 and its events are placed at `ts_ms − 2000`. Taking the heartbeat before the event, never the newest one,
keeps a fact's time fixed once stored: a later heartbeat cannot move facts already decided on. With no such heartbeat
(the first events of a boot) or a null offset, `at` is `ts_ms` as sent.
"""

import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, union_all
from sqlalchemy.orm import Session

from hub.db.models import AlertRecord, Device, Home, PreferenceVersion, StoredEvent, Tenancy
from hub.db.models import Shift as ShiftRow
from hub.db.models import Staff as StaffRow
from hub.people.doors import devices_serving
from hub.people.preferences import DEFAULT_PREFERENCES, EntryPreferences, preferences_of
from hub.decisions.alerts import alert_state
from hub.rules.alerts import AlertState, AlertType
from hub.rules.entries import LOOK_BACK
from hub.rules.facts import DoorFact, NightCheck, PreferenceSnapshot, RoomContext, RosterSnapshot, Shift
from protocol.events import EventType
from protocol.hub_events import HUB_SOURCE

DEFAULT_VERSION = "default"
"""The preference version a decision names when the room's resident had set nothing (or nobody lived there)."""
VACANT = "vacant"
"""The resident a decision names for a room nobody lived in when the door opened."""

ENTRY_TYPES = frozenset({
    EventType.DOOR_OPENED, EventType.DOOR_CLOSED, EventType.KNOCK_REQUESTED, EventType.CONSENT_GRANTED,
    EventType.CONSENT_DECLINED, EventType.KNOCK_EXPIRED, EventType.DND_ON, EventType.DND_OFF,
    EventType.HELP_REQUESTED, EventType.OVERRIDE_EMERGENCY, EventType.BADGE_PRESENTED,
    EventType.MOTION_DETECTED, EventType.MOTION_CLEARED,
})
"""The event types entry decisions read; heartbeats and readings are left out of their queries."""

ROSTER_REACH = timedelta(days=1)


def at_of(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def ms_of(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def door_fact(row: StoredEvent, offset_ms: int = 0) -> DoorFact:
    """The fact of one stored event, placed at `ts_ms − offset_ms` (see the module's note on clocks)."""
    body = json.loads(row.signed)
    return DoorFact(
        id=str(row.id), device=row.device, seq=row.seq, type=row.type, door=row.door, room=row.room,
        ts_ms=row.ts_ms, at=at_of(row.ts_ms - offset_ms), received_at=row.received_at, data=body.get("data") or {},
    )


def _offset(heartbeat: dict[str, Any]) -> int:
    """The clock offset a heartbeat's body (or the copy of it on its device's registry row) reports."""
    return int((heartbeat.get("data") or {}).get("clock_offset_ms") or 0)


@dataclass(slots=True)
class _Run:
    """Events of one device and boot, each within HEARTBEAT_REACH seqs of the one before it."""

    device: str
    boot: str
    first: int
    last: int


HEARTBEAT_REACH = 2000
"""How many events back a heartbeat is looked for: a door sends one a minute, and far fewer than this in between.
Past that an event is placed at its own clock, uncorrected."""


def clock_offsets(session: Session, rows: Iterable[StoredEvent]) -> dict[int, int]:
    """Event id → the clock offset (ms) its device last reported at or before it, in the same boot. The device's
    latest heartbeat, kept on its registry row, answers without a query when it is the one in force. The other
    events are taken in runs, each event within HEARTBEAT_REACH seqs of the one before it, and one statement reads
    the heartbeats of every run from HEARTBEAT_REACH before its first event to its last: never the heartbeats
    between two events far apart, which for a "do not disturb" from last month beside tonight's knock would be a
    month of them."""
    offsets: dict[int, int] = {}
    by_clock = [row for row in rows if row.device != HUB_SOURCE]
    if not by_clock:
        return offsets
    latest_beats = dict(session.execute(select(Device.id, Device.last_heartbeat)
                                        .where(Device.id.in_({row.device for row in by_clock}))).all())
    looked_for: list[StoredEvent] = []
    for row in by_clock:
        latest = latest_beats.get(row.device)
        if latest is None:  # a device never heard from has no offset to apply
            offsets[row.id] = 0
        elif latest.get("boot") == row.boot and latest.get("seq", 0) <= row.seq:
            offsets[row.id] = _offset(latest)
        else:
            looked_for.append(row)
    if looked_for:
        beats = _heartbeats_of_runs(session, looked_for)
        for row in looked_for:
            clock = beats.get((row.device, row.boot), [])
            index = bisect_right(clock, row.seq, key=lambda beat: beat[0]) - 1  # the last at or before it
            in_reach = index >= 0 and clock[index][0] > row.seq - HEARTBEAT_REACH
            offsets[row.id] = clock[index][1] if in_reach else 0
    return offsets


def _heartbeats_of_runs(session: Session, events: list[StoredEvent]) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """(device, boot) → (seq, clock offset) of its heartbeats that may place `events`, by seq."""
    runs: list[_Run] = []
    for row in sorted(events, key=lambda row: (row.device, row.boot, row.seq)):
        run = runs[-1] if runs else None
        if run is not None and (run.device, run.boot) == (row.device, row.boot) \
                and row.seq - run.last < HEARTBEAT_REACH:
            run.last = row.seq
        else:
            runs.append(_Run(row.device, row.boot, row.seq, row.seq))
    beats: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for device, boot, seq, signed in session.execute(
        select(StoredEvent.device, StoredEvent.boot, StoredEvent.seq, StoredEvent.signed).where(
            StoredEvent.type == EventType.DEVICE_HEARTBEAT.value,
            or_(*(and_(StoredEvent.device == run.device, StoredEvent.boot == run.boot,
                       StoredEvent.seq > run.first - HEARTBEAT_REACH, StoredEvent.seq <= run.last)
                  for run in runs)),
        ).order_by(StoredEvent.seq)
    ):
        beats.setdefault((device, boot), []).append((seq, _offset(json.loads(signed))))
    return beats


def door_facts(session: Session, rows: Sequence[StoredEvent]) -> list[DoorFact]:
    """The facts of stored events, each at its corrected time."""
    offsets = clock_offsets(session, rows)
    return [door_fact(row, offsets.get(row.id, 0)) for row in rows]


def _on_door_or_room(device: str, door: str | None, room: str | None):  # type: ignore[no-untyped-def]
    on_door = and_(StoredEvent.device == device, StoredEvent.door == door) if door else StoredEvent.device == device
    return or_(on_door, StoredEvent.room == room) if room else on_door


def facts_around(session: Session, opened: StoredEvent, look_back: timedelta = LOOK_BACK) -> list[DoorFact]:
    """The facts `decide_entry` needs for one opening: the door's and room's entry facts from two look-backs before
    it (so a previous opening is seen with its own window, for a return) to now, and the last "do not disturb"
    change before that, however long ago."""
    where = and_(
        _on_door_or_room(opened.device, opened.door, opened.room),
        StoredEvent.device != HUB_SOURCE,
        StoredEvent.type.in_([str(t) for t in ENTRY_TYPES]),
    )
    since_ms = opened.ts_ms - 2 * int(look_back.total_seconds() * 1000)
    rows = list(session.scalars(select(StoredEvent).where(where, StoredEvent.ts_ms >= since_ms)))
    last_dnd = _last_dnd_before(session, opened, where, since_ms)
    if last_dnd is not None:
        rows.append(last_dnd)
    return door_facts(session, rows)


RECENT_DND = 8
"""How many of a device's newest changes of one "do not disturb" type are read at once: those inside the window come
first, and a window with more than this (a resident toggling it again and again) takes one more query."""


def _last_dnd_before(session: Session, opened: StoredEvent, where: ColumnElement[bool],
                     since_ms: int) -> StoredEvent | None:
    """The last "do not disturb" change before `since_ms`, however long ago: looked for device by device and type
    by type, newest first on the (device, type, seq) index, so a year of a room's history is never walked to find
    it; all of those reads in one statement. The time bound is checked on the rows read, not put in the query:
    there it leads the planner to the (device, ts_ms) index, which walks every event of the device before the
    window."""
    devices = {opened.device}
    if opened.room is not None:
        devices |= {device.id for device in devices_serving(session, opened.site, {opened.room}, retired_too=True)}

    def newest_first(device: str, type: EventType) -> Select[tuple[StoredEvent]]:
        return (select(StoredEvent).where(StoredEvent.device == device, StoredEvent.type == type, where)
                .order_by(StoredEvent.seq.desc()))

    kinds = [(device, type) for device in sorted(devices) for type in (EventType.DND_ON, EventType.DND_OFF)]
    # Each part a subquery: SQLite allows no ORDER BY or LIMIT on the parts of a compound select.
    recent_of_each = union_all(*(select(newest_first(device, type).limit(RECENT_DND).subquery())
                                 for device, type in kinds))
    recent: dict[tuple[str, str], list[StoredEvent]] = {kind: [] for kind in kinds}
    for row in session.scalars(select(StoredEvent).from_statement(recent_of_each)):
        recent[(row.device, row.type)].append(row)
    found = []
    for (device, type), rows in recent.items():
        before = max((row for row in rows if row.ts_ms < since_ms), key=lambda row: row.seq, default=None)
        if before is None and len(rows) == RECENT_DND:
            before = session.scalar(newest_first(device, EventType(type)).where(StoredEvent.ts_ms < since_ms).limit(1))
        if before is not None:
            found.append(before)
    return max(found, key=lambda row: (row.ts_ms, row.seq), default=None)


def occupant_at(session: Session, home_id: str, room_id: str, at: datetime) -> str | None:
    """The resident whose tenancy of the room covered `at`."""
    return session.scalar(
        select(Tenancy.resident_id).where(
            Tenancy.home_id == home_id, Tenancy.room_id == room_id, Tenancy.started_at <= at,
            or_(Tenancy.ended_at.is_(None), Tenancy.ended_at > at),
        ).order_by(Tenancy.started_at.desc()).limit(1)
    )


def snapshot(version: str, preferences: EntryPreferences) -> PreferenceSnapshot:
    return PreferenceSnapshot(
        version=version,
        wait_s=preferences.wait_s,
        quiet_hours=tuple(preferences.quiet_hours),
        dnd_allowed=preferences.dnd_allowed,
        not_now_hold_s=preferences.not_now_hold_s,
        show_knocker=preferences.show_knocker,
        excluded_staff=frozenset(preferences.excluded_staff),
        night_checks=tuple(NightCheck(start=c.start, end=c.end, how=c.how) for c in preferences.night_checks),
    )


DEFAULT_SNAPSHOT = snapshot(DEFAULT_VERSION, DEFAULT_PREFERENCES)


def preferences_at(session: Session, resident_id: str | None, at: datetime) -> PreferenceSnapshot:
    """The resident's preference version in force at `at`; the defaults when they had none (or nobody lived there)."""
    if resident_id is None:
        return DEFAULT_SNAPSHOT
    version = session.scalar(
        select(PreferenceVersion)
        .where(PreferenceVersion.resident_id == resident_id, PreferenceVersion.created_at <= at)
        .order_by(PreferenceVersion.version.desc()).limit(1)
    )
    return snapshot(str(version.version), preferences_of(version)) if version else DEFAULT_SNAPSHOT


def roster_around(session: Session, home_id: str, at: datetime) -> RosterSnapshot:
    rows = session.execute(
        select(ShiftRow, StaffRow.role).join(StaffRow, StaffRow.id == ShiftRow.staff_id).where(
            StaffRow.home_id == home_id, ShiftRow.starts_at < at + ROSTER_REACH, ShiftRow.ends_at > at - ROSTER_REACH
        )
    )
    return RosterSnapshot(shifts=tuple(
        Shift(staff=shift.staff_id, role=role, start=shift.starts_at, end=shift.ends_at) for shift, role in rows
    ))


def room_context(session: Session, site: str, room: str, resident_id: str | None, default_zone: str) -> RoomContext:
    home = session.get(Home, site)
    return RoomContext(room=room, resident=resident_id or VACANT, time_zone=home.time_zone if home else default_zone)


def room_subject(site: str, room: str) -> str:
    """An alert's subject for something about a whole room (help asked from it): rooms are named per home."""
    return f"room:{site}:{room}"


def help_alerts_at(session: Session, site: str, room: str, at: datetime) -> list[AlertState]:
    """The room's help alerts open at `at`, with the room itself as subject: that is how the entry rules match them."""
    rows = session.scalars(select(AlertRecord).where(
        AlertRecord.subject == room_subject(site, room), AlertRecord.type == AlertType.HELP_REQUESTED,
        AlertRecord.raised_at <= at, or_(AlertRecord.cleared_at.is_(None), AlertRecord.cleared_at > at),
    ))
    return [alert_state(row, subject=room) for row in rows]


def events_by_id(session: Session, ids: Iterable[int]) -> dict[int, StoredEvent]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(StoredEvent).where(StoredEvent.id.in_(wanted)))}
