"""The thin SQL side: what a timeline reads, on the indexes events already has — (room, ts_ms), (device, ts_ms),
(site, ts_ms) — selecting the signed text, never a decoded payload."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select, union_all
from sqlalchemy.orm import Session

from hub.db.models import AlertRecord, Device, DeviceHead, EntryRecord, Home, StoredEvent
from hub.timelines.assemble import DeviceInfo, EntryRow, Found
from hub.timelines.clock import ClockReport
from hub.timelines.facts import Fact, data_of
from hub.timelines.model import View
from hub.timelines.unknowns import AlertSpan, SeqMark
from protocol.events import EventType
from protocol.hub_events import HUB_SOURCE

FACT_COLUMNS = (StoredEvent.id, StoredEvent.site, StoredEvent.device, StoredEvent.seq, StoredEvent.type,
                StoredEvent.door, StoredEvent.room, StoredEvent.ts_ms, StoredEvent.received_at, StoredEvent.boot,
                StoredEvent.signed)
CLOCK_LOOK_BACK = timedelta(minutes=30)
"""How far before a window the heartbeat that corrects its first events is looked for."""
ENTRY_COLUMNS = (EntryRecord.door_opened_event_id, EntryRecord.revision, EntryRecord.cause, EntryRecord.decided_at,
                 EntryRecord.room, EntryRecord.device, EntryRecord.door, EntryRecord.opened_at, EntryRecord.closed_at,
                 EntryRecord.kind, EntryRecord.outcome, EntryRecord.reason, EntryRecord.sentence, EntryRecord.who,
                 EntryRecord.rules_version, EntryRecord.preference_version, EntryRecord.waited_ms,
                 EntryRecord.wait_s, EntryRecord.inside_ms, EntryRecord.review_required, EntryRecord.knock_event_id,
                 EntryRecord.answer_event_id, EntryRecord.rests_on)


class UnknownSubject(LookupError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def site_devices(session: Session, site: str) -> dict[str, DeviceInfo]:
    rows = session.execute(select(Device.id, Device.doors, Device.status, Device.status_at)
                           .where(Device.site == site, Device.id != HUB_SOURCE))
    return {device: DeviceInfo(device, tuple(sorted(set((doors or {}).values()))), bool(doors), status, status_at)
            for device, doors, status, status_at in rows}


def room_query(site: str, room: str, devices: Sequence[str], start_ms: int, end_ms: int) -> Select[Any]:
    """A room's rows: those filed under it (its doors' events, the hub's records about it), and the readings and
    heartbeats of the devices serving it, which name no door and so no room."""
    in_window = and_(StoredEvent.ts_ms >= start_ms, StoredEvent.ts_ms < end_ms)
    filed = select(*FACT_COLUMNS).where(StoredEvent.room == room, in_window, StoredEvent.site == site)
    if not devices:
        return filed
    unfiled = select(*FACT_COLUMNS).where(StoredEvent.device.in_(list(devices)), in_window,
                                          StoredEvent.room.is_(None))
    return union_all(filed, unfiled)  # type: ignore[return-value]


def home_query(site: str, start_ms: int, end_ms: int) -> Select[Any]:
    return select(*FACT_COLUMNS).where(StoredEvent.site == site, StoredEvent.ts_ms >= start_ms,
                                       StoredEvent.ts_ms < end_ms)


def _clock_before(session: Session, site: str, devices: Sequence[str], start_ms: int) -> dict[str, ClockReport]:
    look_from = start_ms - int(CLOCK_LOOK_BACK.total_seconds() * 1000)
    rows = session.execute(
        select(*FACT_COLUMNS).where(StoredEvent.site == site, StoredEvent.ts_ms >= look_from,
                                    StoredEvent.ts_ms < start_ms, StoredEvent.type == EventType.DEVICE_HEARTBEAT.value,
                                    StoredEvent.device.in_(list(devices)))
    )
    last: dict[str, ClockReport] = {}
    for row in rows:
        fact = Fact(*row)
        if fact.device in last and last[fact.device].seq > fact.seq:
            continue
        data = data_of(fact)
        offset = data.get("clock_offset_ms")
        last[fact.device] = ClockReport(fact.seq, fact.ts_ms, data.get("clock_synced") is True,
                                        offset if isinstance(offset, int) else None)
    return last


def _seq_marks(session: Session, devices: Sequence[str], start_ms: int) -> dict[str, list[SeqMark]]:
    """For devices whose stored chain has a hole (acked below max), the stored seqs from the hole on. Scanning
    from the acked seq keeps this exact; a hole is normally filled by the device's resend within minutes."""
    behind = session.execute(select(DeviceHead.device, DeviceHead.acked_seq, DeviceHead.max_seq).where(
        DeviceHead.device.in_(list(devices)), DeviceHead.acked_seq < DeviceHead.max_seq))
    marks: dict[str, list[SeqMark]] = {}
    for device, acked, _top in behind:
        rows = session.execute(select(StoredEvent.seq, StoredEvent.ts_ms).where(
            StoredEvent.device == device, StoredEvent.seq >= acked).order_by(StoredEvent.seq))
        found = [SeqMark(seq, ts_ms) for seq, ts_ms in rows]
        # Missing from seq 1: nothing tells when the first missing one was made; the window's start stands in.
        marks[device] = found if acked else [SeqMark(0, min(start_ms, found[0].ts_ms if found else start_ms)), *found]
    return marks


def _offline_alerts(session: Session, site: str, start: datetime, end: datetime) -> list[AlertSpan]:
    rows = session.execute(select(AlertRecord.id, AlertRecord.type, AlertRecord.subject, AlertRecord.room,
                                  AlertRecord.raised_at, AlertRecord.cleared_at).where(
        AlertRecord.site == site, AlertRecord.type == "device_offline", AlertRecord.raised_at < end,
        or_(AlertRecord.cleared_at.is_(None), AlertRecord.cleared_at > start)))
    return [AlertSpan(*row) for row in rows]


def _entries(session: Session, site: str, start: datetime, end: datetime, room: str | None) -> list[EntryRow]:
    query = select(*ENTRY_COLUMNS).where(EntryRecord.site == site, EntryRecord.opened_at >= start,
                                         EntryRecord.opened_at < end)
    if room is not None:
        query = query.where(EntryRecord.room == room)
    return [EntryRow(*row[:-1], rests_on=tuple(row[-1] or ())) for row in session.execute(query)]


def _home(session: Session, site: str, default_zone: str | None) -> Home:
    """The home; a site whose doors are registered before its home (the evidence tools allow it) is read in
    `default_zone` when one is given."""
    home = session.get(Home, site)
    if home is None:
        if default_zone is None:
            raise UnknownSubject("unknown_home", f"no home {site!r}")
        return Home(id=site, name=site, time_zone=default_zone)
    return home


def load_room(session: Session, site: str, room: str, start: datetime, end: datetime, now: datetime,
              offline_after: timedelta) -> Found:
    home = _home(session, site, None)
    devices = {device: info for device, info in site_devices(session, site).items() if room in info.rooms}
    facts = [Fact(*row) for row in session.execute(room_query(site, room, list(devices), ms(start), ms(end)))]
    return _found(session, View.ROOM, home, room, start, end, now, offline_after, facts, devices, room=room)


def load_home(session: Session, site: str, start: datetime, end: datetime, now: datetime,
              offline_after: timedelta, default_zone: str | None = None) -> Found:
    home = _home(session, site, default_zone)
    devices = site_devices(session, site)
    facts = [Fact(*row) for row in session.execute(home_query(site, ms(start), ms(end)))]
    return _found(session, View.HOME, home, site, start, end, now, offline_after, facts, devices)


def load_staff(session: Session, site: str, staff: str, start: datetime, end: datetime, now: datetime,
               offline_after: timedelta) -> Found:
    """A member of staff's night is read from their home's rows: what names them is inside the signed data."""
    found = load_home(session, site, start, end, now, offline_after)
    return Found(**{**{name: getattr(found, name) for name in Found.__dataclass_fields__},
                    "view": View.STAFF, "subject": staff, "staff": staff})


def _found(session: Session, view: View, home: Home, subject: str, start: datetime, end: datetime, now: datetime,
           offline_after: timedelta, facts: list[Fact], devices: dict[str, DeviceInfo],
           room: str | None = None) -> Found:
    sources = [*devices, HUB_SOURCE]
    return Found(
        view=view, site=home.id, subject=subject, start=start, end=end, time_zone=home.time_zone, now=now,
        facts=facts, devices=devices, clock_before=_clock_before(session, home.id, list(devices), ms(start)),
        seq_marks=_seq_marks(session, sources, ms(start)), alerts=_offline_alerts(session, home.id, start, end),
        entries=_entries(session, home.id, start, end, room), offline_after=offline_after,
    )
