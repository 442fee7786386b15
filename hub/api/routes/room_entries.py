"""Who came into a resident's room while they lived there: the decision in force about each time someone came in,
and the spans when the room's door could not record (an entry then may be missing, so "nobody came in" cannot be
said for them). For the resident themself — their own page shows it — and the night lead and managers of their
home. Every read is recorded, as a timeline read is."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from hub.api.deps import LEADS, CallerDep, ResidentInCareDep, SessionDep, SettingsDep
from hub.api.problems import PROBLEMS, problem
from hub.api.reads import record_read
from hub.api.routes.entries import EntryOut, entry_out, latest_entries
from hub.api.routes.timelines import FromQuery, ToQuery
from hub.core.config import HubSettings
from hub.db.models import AccountRole, EntryRecord, Home, Resident
from hub.people.accounts import SignedIn
from hub.people.homes import current_tenancy
from hub.rules.entries import EntryKind
from hub.rules.local_time import local_instant
from hub.timelines.assemble import assemble
from hub.timelines.load import load_room
from hub.timelines.model import Unknown, UnknownKind
from hub.timelines.window import BadWindow, window

router = APIRouter(tags=["entries"], responses=PROBLEMS)

DAYS = 7
"""The window when none is given: today and the six days before it, on the home's clock."""
DOOR_BLIND = frozenset({UnknownKind.GAP, UnknownKind.DEVICE_OFFLINE})
"""What leaves a door unable to record an entry. An unsynced clock or a late event does not: the entry is there."""


class NotKnown(BaseModel):
    start: datetime
    end: datetime | None = Field(title="End; null while the door still cannot record")
    why: list[str] = Field(title="What the timeline found: events never received, a door device not heard from")


class RoomEntries(BaseModel):
    resident: str
    room: str | None = Field(title="The resident's room now; null when they have none")
    start: datetime = Field(title="From: the window's start, or when they moved in if that is later")
    end: datetime = Field(title="To (exclusive)")
    entries: list[EntryOut] = Field(title="Each time someone came in, oldest first: the decision in force")
    not_known: list[NotKnown] = Field(title="When the room's door could not record: an entry then may be missing")


def local_midnight(moment: datetime, zone: ZoneInfo, days_before: int = 0) -> datetime:
    """The start of the home's day `days_before` the one `moment` falls on."""
    return local_instant(moment.astimezone(zone).date() - timedelta(days=days_before), "00:00", zone)


def _merged(found: list[Unknown], start: datetime, end: datetime) -> list[NotKnown]:
    """The union of the spans, inside [start, end): one span however many ways the timeline saw the same outage."""
    merged: list[NotKnown] = []
    for unknown in sorted(found, key=lambda unknown: unknown.start):
        begins = max(unknown.start, start)
        ends = min(unknown.end, end) if unknown.end is not None else None
        last = merged[-1] if merged else None
        if last is not None and (last.end is None or begins <= last.end):
            last.end = None if last.end is None or ends is None else max(last.end, ends)
            last.why.append(unknown.text)
        else:
            merged.append(NotKnown(start=begins, end=ends, why=[unknown.text]))
    return merged


def read_room_entries(session: Session, caller: SignedIn, resident: Resident, start: datetime, end: datetime,
                      settings: HubSettings, now: datetime | None = None) -> RoomEntries:
    """Who came into the resident's current room in [start, end), from when they moved in, and when its door could
    not record; the read recorded. The caller's right to it is checked already (the route below, the resident's
    own page)."""
    now = now or datetime.now(UTC)
    tenancy = current_tenancy(session, resident.id)
    if tenancy is None or max(start, tenancy.started_at) >= end:
        return RoomEntries(resident=resident.id, room=tenancy.room_id if tenancy else None, start=start, end=end,
                           entries=[], not_known=[])
    begins, room = max(start, tenancy.started_at), tenancy.room_id
    rows = session.scalars(latest_entries(resident.home_id).where(
        EntryRecord.room == room, EntryRecord.resident_id == resident.id, EntryRecord.kind == EntryKind.ENTRY.value,
        EntryRecord.opened_at >= begins, EntryRecord.opened_at < end,
    ).order_by(EntryRecord.opened_at, EntryRecord.id))
    found = load_room(session, resident.home_id, room, begins, end, now, timedelta(seconds=settings.device_offline_s))
    doors = {device for device, info in found.devices.items() if info.has_doors}
    blind = [unknown for unknown in assemble(found).unknowns if unknown.kind in DOOR_BLIND and unknown.source in doors]
    answer = RoomEntries(resident=resident.id, room=room, start=begins, end=end,
                         entries=[entry_out(row) for row in rows], not_known=_merged(blind, begins, end))
    record_read(session, caller, resident.home_id, "entries.room", {
        "resident": resident.id, "from": begins.isoformat(), "to": end.isoformat()}, room=room)
    return answer


@router.get("/residents/{resident_id}/entries", response_model=RoomEntries)
def get_room_entries(resident: ResidentInCareDep, caller: CallerDep, session: SessionDep, settings: SettingsDep,
                     start: FromQuery = None, end: ToQuery = None) -> RoomEntries:
    """Who came into the resident's room (since they moved in) and when its door could not record. Without
    `from` and `to`: today and the six days before, on the home's clock. The resident, or the night lead or a
    manager of their home."""
    if caller.role != AccountRole.RESIDENT and caller.role not in LEADS:
        raise problem(status.HTTP_403_FORBIDDEN, "role_not_allowed",
                      "this needs the resident themself, or a night lead or manager of their home")
    zone = ZoneInfo(session.get_one(Home, resident.home_id).time_zone)
    now = datetime.now(UTC)
    if start is None and end is None:
        begins, ends = local_midnight(now, zone, days_before=DAYS - 1), now
    else:
        try:
            begins, ends = window(start, end, None, zone)
        except BadWindow as error:
            raise problem(status.HTTP_400_BAD_REQUEST, "bad_window", str(error)) from None
    return read_room_entries(session, caller, resident, begins, ends, settings, now)
