"""Timelines of a room, a home or a member of staff, as JSON or PDF. Every read is recorded in the hub's chain
(who, when, what, and the reason when one is given).

Who may read: the night lead and managers of the home; a member of staff their own night and nobody else's;
never an admin (DESIGN.md: not without a manager's role) and, for now, never a resident.
"""

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from hub.api.deps import CARERS, LEADS, CallerDep, SessionDep, SettingsDep, ensure_at_home
from hub.api.problems import PROBLEMS, problem
from hub.api.reads import record_read
from hub.core.config import HubSettings
from hub.db.models import Home, Room, Staff
from hub.people.accounts import SignedIn
from hub.timelines.assemble import assemble
from hub.timelines.load import UnknownSubject, load_home, load_room, load_staff
from hub.timelines.model import Timeline
from hub.timelines.pdf import render_pdf
from hub.timelines.window import BadWindow, window

router = APIRouter(tags=["timelines"], responses=PROBLEMS)

FromQuery = Annotated[str | None, Query(alias="from", description="Start: ISO 8601; local time without an offset")]
ToQuery = Annotated[str | None, Query(alias="to", description="End (exclusive): ISO 8601; local time without an offset")]
NightQuery = Annotated[dt.date | None, Query(description="Instead of from/to: the night from 20:00 on this date")]
ReasonQuery = Annotated[str | None, Query(max_length=500, description="Why you are looking (recorded with the read)")]
FormatQuery = Annotated[str, Query(alias="format", pattern="^(json|pdf)$", description="json (default) or pdf")]



def _window(session: SessionDep, site: str, start: str | None, end: str | None,
            night: dt.date | None) -> tuple[datetime, datetime]:
    home = session.get(Home, site)
    if home is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_home", f"no home {site!r}")
    try:
        return window(start, end, night, ZoneInfo(home.time_zone))
    except BadWindow as error:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_window", str(error)) from None


def _answer(timeline: Timeline, output: str) -> Timeline | Response:
    if output == "pdf":
        name = f"timeline-{timeline.view.value}-{timeline.subject}-{timeline.start:%Y%m%dT%H%MZ}.pdf"
        return Response(render_pdf(timeline), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return timeline


def _query(start: datetime, end: datetime, reason: str | None, output: str, **more: Any) -> dict[str, Any]:
    return {"from": start.isoformat(), "to": end.isoformat(), "reason": reason, "format": output, **more}


@router.get("/timelines/room/{site}/{room}", response_model=Timeline)
def get_room_timeline(site: str, room: str, caller: CallerDep, session: SessionDep, settings: SettingsDep,
                      start: FromQuery = None, end: ToQuery = None, night: NightQuery = None,
                      reason: ReasonQuery = None, output: FormatQuery = "json",
                      ) -> Timeline | Response:
    """A room over a window. Night lead or manager of the home."""
    ensure_at_home(session, caller, site, LEADS)
    if session.get(Room, (site, room)) is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_room", f"no room {room!r} in {site!r}")
    begins, ends = _window(session, site, start, end, night)
    return _answer(read_room_timeline(session, caller, site, room, begins, ends, settings, reason, output), output)


@router.get("/timelines/home/{site}", response_model=Timeline)
def get_home_timeline(site: str, caller: CallerDep, session: SessionDep, settings: SettingsDep,
                      start: FromQuery = None, end: ToQuery = None, night: NightQuery = None,
                      reason: ReasonQuery = None, output: FormatQuery = "json",
                      ) -> Timeline | Response:
    """A whole home over a window. Night lead or manager of the home."""
    ensure_at_home(session, caller, site, LEADS)
    begins, ends = _window(session, site, start, end, night)
    return _answer(read_home_timeline(session, caller, site, begins, ends, settings, reason, output), output)


@router.get("/timelines/staff/{staff_id}", response_model=Timeline)
def get_staff_timeline(staff_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep,
                       start: FromQuery = None, end: ToQuery = None, night: NightQuery = None,
                       reason: ReasonQuery = None, output: FormatQuery = "json",
                       ) -> Timeline | Response:
    """A member of staff's own night: their knocks, entries, waits, time inside, check-ins and the alerts they
    handled. Themselves, or the night lead or a manager of their home."""
    staff = session.get(Staff, staff_id)
    own = caller.account.staff_id == staff_id and caller.role in CARERS
    if staff is None:
        if own:
            raise problem(status.HTTP_404_NOT_FOUND, "unknown_staff", f"no member of staff {staff_id!r}")
        # Refused before saying whether they exist, as for homes.
        ensure_at_home(session, caller, caller.home_id or "", LEADS)
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_staff", f"no member of staff {staff_id!r}")
    if not own:
        ensure_at_home(session, caller, staff.home_id, LEADS)
    begins, ends = _window(session, staff.home_id, start, end, night)
    return _answer(read_staff_timeline(session, caller, staff, begins, ends, settings, reason, output), output)


def read_room_timeline(session: Session, caller: SignedIn, site: str, room: str, begins: datetime, ends: datetime,
                       settings: HubSettings, reason: str | None = None, output: str = "json") -> Timeline:
    """A room's timeline over [begins, ends), its read recorded; the caller's right to it and the room are checked
    already (the API route above, the dashboard's timeline explorer)."""
    timeline = assemble(load_room(session, site, room, begins, ends, datetime.now(UTC),
                                  timedelta(seconds=settings.device_offline_s)))
    record_read(session, caller, site, "timeline.room", _query(begins, ends, reason, output, room=room), room=room)
    return timeline


def read_home_timeline(session: Session, caller: SignedIn, site: str, begins: datetime, ends: datetime,
                       settings: HubSettings, reason: str | None = None, output: str = "json") -> Timeline:
    """A home's timeline over [begins, ends), its read recorded; the caller's right to it is checked already."""
    timeline = assemble(load_home(session, site, begins, ends, datetime.now(UTC),
                                  timedelta(seconds=settings.device_offline_s)))
    record_read(session, caller, site, "timeline.home", _query(begins, ends, reason, output))
    return timeline


def read_staff_timeline(session: Session, caller: SignedIn, staff: Staff, begins: datetime, ends: datetime,
                        settings: HubSettings, reason: str | None = None, output: str = "json") -> Timeline:
    """A member of staff's timeline over [begins, ends), its read recorded; the caller's right to it is checked
    already (the API route above, the dashboard's own-record page)."""
    try:
        found = load_staff(session, staff.home_id, staff.id, begins, ends, datetime.now(UTC),
                           timedelta(seconds=settings.device_offline_s))
    except UnknownSubject as error:
        raise problem(status.HTTP_404_NOT_FOUND, error.reason, error.detail) from None
    timeline = assemble(found)
    record_read(session, caller, staff.home_id, "timeline.staff",
                _query(begins, ends, reason, output, staff=staff.id))
    return timeline
