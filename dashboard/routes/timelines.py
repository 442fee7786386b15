"""The timeline explorer (/timelines): the night lead or a manager picks a room, a member of staff or the whole
home and a window — a night by its date by default, on the home's clock — and sees the lanes as a picture, with
what is not known shaded, and every event in a table beneath.

Read through the same functions as the API's timeline routes, so every look is recorded in the hub's chain the
same way (with the reason, when the reader gives one). The form alone reads nothing: a timeline is read only
when asked for.
"""

import datetime as dt
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.forms import sentence
from dashboard.routes.record import latest_night
from dashboard.templating import render
from dashboard.timeline_picture import LANE_NAMES, draw, local_clock
from dashboard.viewer import Viewer, page_for
from hub.api.deps import LEADS, SessionDep, SettingsDep
from hub.api.routes.timelines import read_home_timeline, read_room_timeline, read_staff_timeline
from hub.core.config import HubSettings
from hub.db.models import AccountRole, Home, Room, Staff
from hub.timelines.model import Item, Lane, Timeline
from hub.timelines.window import NIGHT_ENDS, NIGHT_STARTS, BadWindow, window

router = APIRouter(include_in_schema=False)

MAX_ROWS = 2000
"""Rows of the table on one page; a home's night can hold more — narrow the window or pick lanes."""

View = Literal["room", "staff", "home"]
Text = Annotated[str, Query(max_length=64)]


@dataclass(frozen=True)
class Choice:
    """What the form asked for, as typed (so the form shows it again)."""

    view: View
    room: str
    staff: str
    night: str
    start: str
    end: str
    reason: str
    lanes: tuple[Lane, ...]


@dataclass(frozen=True)
class TableRow:
    time: str
    lane: str
    source: str
    what: str
    basis: str
    late: str


def _late(item: Item) -> str:
    if item.late_ms is None:
        return ""
    seconds = item.late_ms // 1000
    return f"arrived {seconds // 60} min {seconds % 60} s after its time" if seconds >= 60 else \
        f"arrived {seconds} s after its time"


def _row(item: Item, zone: ZoneInfo) -> TableRow:
    where = f" ({item.room}{', ' + item.door if item.door else ''})" if item.room else ""
    return TableRow(time=local_clock(item.at, zone), lane=LANE_NAMES.get(item.lane, item.lane.value),
                    source=f"{item.source} #{item.seq}", what=item.text + where, basis=item.basis, late=_late(item))


def _window(home: Home, choice: Choice) -> tuple[datetime, datetime]:
    zone = ZoneInfo(home.time_zone)
    if choice.start or choice.end:
        return window(choice.start or None, choice.end or None, None, zone)
    try:
        return window(None, None, dt.date.fromisoformat(choice.night), zone)
    except (ValueError, OverflowError):
        raise BadWindow(f"{choice.night!r} is not the date of a night (YYYY-MM-DD)") from None


def _read(viewer: Viewer, session: Session, settings: HubSettings, home: Home, choice: Choice,
          begins: datetime, ends: datetime) -> tuple[Timeline, str]:
    """The timeline asked for, its read recorded as the API records it; and its name."""
    reason = choice.reason or None
    if choice.view == "room":
        if session.get(Room, (home.id, choice.room)) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no room {choice.room!r} in {home.name}.")
        return (read_room_timeline(session, viewer.caller, home.id, choice.room, begins, ends, settings, reason,
                                   "page"), choice.room)
    if choice.view == "staff":
        staff = session.get(Staff, choice.staff)
        if staff is None or staff.home_id != home.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no member of staff {choice.staff!r} in "
                                                           f"{home.name}.")
        return read_staff_timeline(session, viewer.caller, staff, begins, ends, settings, reason, "page"), staff.name
    return read_home_timeline(session, viewer.caller, home.id, begins, ends, settings, reason, "page"), home.name


def _pdf_link(home: Home, choice: Choice, begins: datetime, ends: datetime) -> str:
    path = {"room": f"/api/v1/timelines/room/{home.id}/{choice.room}",
            "staff": f"/api/v1/timelines/staff/{choice.staff}", "home": f"/api/v1/timelines/home/{home.id}"}
    query = {"from": begins.isoformat(), "to": ends.isoformat(), "format": "pdf"}
    return f"{path[choice.view]}?{urlencode(query | ({'reason': choice.reason} if choice.reason else {}))}"


def _case_link(choice: Choice, begins: datetime, ends: datetime, zone: ZoneInfo) -> str:
    query = {"from": begins.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
             "to": ends.astimezone(zone).strftime("%Y-%m-%dT%H:%M")}
    if choice.view == "room":
        query["room"] = choice.room
    elif choice.view == "staff":
        query["staff"] = choice.staff
    return "/cases?" + urlencode(query)


@router.get("/timelines")
def get_timelines(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*LEADS))], session: SessionDep,
    settings: SettingsDep,
    view: Annotated[View | None, Query(description="room, staff or home; without it, only the form")] = None,
    room: Text = "", staff: Text = "",
    on_night: Annotated[str, Query(alias="night", max_length=32)] = "",
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
    reason: Annotated[str, Query(max_length=500)] = "",
    lane: Annotated[list[Lane] | None, Query(description="Lanes to list in the table; none: every lane")] = None,
) -> Response:
    home = viewer.home
    assert home is not None  # leads belong to a home
    zone = ZoneInfo(home.time_zone)
    rooms = list(session.scalars(select(Room.id).where(Room.home_id == home.id).order_by(Room.id)))
    staff_members = list(session.execute(select(Staff.id, Staff.name).where(Staff.home_id == home.id)
                                         .order_by(Staff.name, Staff.id)))
    choice = Choice(view=view or "room", room=room or (rooms[0] if rooms else ""),
                    staff=staff or (staff_members[0].id if staff_members else ""),
                    night=on_night or latest_night(datetime.now(UTC), zone).isoformat(), start=start, end=end,
                    reason=reason, lanes=tuple(lane or ()))
    context = {
        "choice": choice, "rooms": rooms, "staff_members": staff_members, "lane_names": LANE_NAMES,
        "night_hours": f"{NIGHT_STARTS:%H:%M} that evening to {NIGHT_ENDS:%H:%M} the next morning",
        "can_open_case": viewer.role == AccountRole.MANAGER, "timeline": None, "error": "",
    }
    if view is None:
        return render(request, "timelines.html", context, viewer=viewer)
    try:
        begins, ends = _window(home, choice)
    except BadWindow as error:
        return render(request, "timelines.html", {**context, "error": sentence(str(error))}, viewer=viewer,
                      status_code=status.HTTP_400_BAD_REQUEST)
    timeline, name = _read(viewer, session, settings, home, choice, begins, ends)
    heading = {"room": f"Room {name}", "staff": name, "home": f"All of {name}"}[choice.view]
    window_words = f"{local_clock(begins, zone)} to {local_clock(ends, zone)}"
    in_table = [item for item in timeline.items if not choice.lanes or item.lane in choice.lanes]
    return render(request, "timelines.html", {
        **context,
        "timeline": timeline, "heading": heading, "window_words": window_words,
        "picture": draw(timeline, f"Timeline of {heading}, {window_words}"),
        "rows": [_row(item, zone) for item in in_table[:MAX_ROWS]], "rows_total": len(in_table),
        "entries": [{"label": f"E{number}", "opened": local_clock(entry.opened_at, zone), "entry": entry}
                    for number, entry in enumerate(timeline.entries, start=1)],
        "unknowns": [{"text": unknown.text, "from": local_clock(unknown.start, zone),
                      "to": local_clock(unknown.end, zone) if unknown.end else "the end of this window"}
                     for unknown in timeline.unknowns],
        "pdf_link": _pdf_link(home, choice, begins, ends),
        "case_link": _case_link(choice, begins, ends, zone),
    }, viewer=viewer)

