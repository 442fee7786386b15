"""A home's duty roster, night by night on the home's clock: who is on shift, and adding a shift.

An admin keeps any home's roster; a manager their own home's (the API's rule: POST /api/v1/shifts). A shift is
typed as a date and the times it starts and ends on the home's clock; an end at or before the start is the next
morning, as a night shift is.
"""

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.forms import FormState, Refused, as_form_errors, checked
from dashboard.routes.admin import STAFF_ROLES, FormText, HomeId, KeeperDep, home_path, kept_home, page_context
from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import Viewer
from hub.api.deps import SessionDep
from hub.api.routes.people import ShiftIn, roster_shift
from hub.db.models import Home, Staff, StaffRole
from hub.people.homes import shifts_of_home
from hub.timelines.window import NIGHT_ENDS, NIGHT_STARTS, night

router = APIRouter(include_in_schema=False)

SHIFT_FIELDS = {"unknown_staff": "staff", "not_your_home": "staff", "shift_overlaps": "start",
                "shift_ends_before_start": "end"}


def roster_path(home_id: str, on: dt.date) -> str:
    return f"{home_path(home_id, '/roster')}?night={on.isoformat()}"


def roster_day(now: datetime, zone: ZoneInfo) -> dt.date:
    """The day under way on the home's clock, whose night ends at 08:00 tomorrow."""
    local = now.astimezone(zone)
    return local.date() if local.time() >= NIGHT_ENDS else local.date() - timedelta(days=1)


def _roster_page(request: Request, viewer: Viewer, session: Session, home: Home, on: dt.date | None,
                 forms: dict[str, FormState] | None = None, status_code: int = 200) -> Response:
    zone = ZoneInfo(home.time_zone)
    chosen = on or roster_day(datetime.now(UTC), zone)
    # The night's date, and the day before it: a day shift and the night shift after it are on one page.
    begins, ends = datetime.combine(chosen, NIGHT_ENDS, tzinfo=zone).astimezone(UTC), night(chosen, zone)[1]
    staff = {member.id: member for member in
             session.scalars(select(Staff).where(Staff.home_id == home.id).order_by(Staff.name, Staff.id))}
    shifts = [{"name": staff[shift.staff_id].name, "role": STAFF_ROLES[StaffRole(staff[shift.staff_id].role)],
               "start": shift.starts_at, "end": shift.ends_at}
              for shift in shifts_of_home(session, home.id, begins, ends)]
    return render(request, "admin_roster.html", page_context(
        viewer, home, night=chosen,
        night_label=f"{chosen:%A %d %B %Y}: the day from {NIGHT_ENDS:%H:%M}, and the night from "
                    f"{NIGHT_STARTS:%H:%M} to {NIGHT_ENDS:%H:%M} the next morning",
        earlier=chosen - timedelta(days=1), later=chosen + timedelta(days=1), shifts=shifts,
        staff=[("", "Choose a member of staff")] + [
            (member.id, f"{member.name} ({STAFF_ROLES[StaffRole(member.role)].lower()})") for member in staff.values()],
        defaults={"date": chosen.isoformat(), "start": NIGHT_STARTS.strftime("%H:%M"),
                  "end": NIGHT_ENDS.strftime("%H:%M")},
        forms=forms or {},
    ), viewer=viewer, status_code=status_code)


@router.get("/admin/homes/{home_id}/roster")
def get_roster(request: Request, home_id: HomeId, viewer: KeeperDep, session: SessionDep,
               on: Annotated[dt.date | None, Query(alias="night", description="The evening the night starts")]
               = None) -> Response:
    return _roster_page(request, viewer, session, kept_home(session, viewer, home_id), on)


def _typed_times(date: str, start: str, end: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A shift typed on the home's clock, as UTC times; an end at or before the start is on the next day."""
    errors = {}
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        errors["date"] = "Give the date the shift starts, like 2026-11-01."
    times = {}
    for name, text in (("start", start), ("end", end)):
        try:
            times[name] = dt.time.fromisoformat(text)
        except ValueError:
            errors[name] = "Give a time on the home's clock, like 20:00."
    if errors:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
    begins = datetime.combine(day, times["start"], tzinfo=zone)
    ends_day = day + timedelta(days=1) if times["end"] <= times["start"] else day
    return begins.astimezone(UTC), datetime.combine(ends_day, times["end"], tzinfo=zone).astimezone(UTC)


@router.post("/admin/homes/{home_id}/roster")
def post_shift(request: Request, home_id: HomeId, viewer: KeeperDep, session: SessionDep, staff: FormText = "",
               date: FormText = "", start: FormText = "", end: FormText = "") -> Response:
    home = kept_home(session, viewer, home_id)
    values = {"staff": staff, "date": date, "start": start, "end": end}
    try:
        begins, ends = _typed_times(date, start, end, ZoneInfo(home.time_zone))
        member = session.get(Staff, staff)
        if member is None or member.home_id != home.id:
            raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT,
                          {"staff": f"Choose a member of the staff of {home.name}."})
        body = checked(ShiftIn, {"staff": staff, "start": begins, "end": ends}, {"staff": "a member of staff"})
        with as_form_errors(SHIFT_FIELDS):
            roster_shift(session, viewer.caller, body)
    except Refused as refused:
        on = dt.date.fromisoformat(date) if "date" not in refused.errors and date else None
        return _roster_page(request, viewer, session, home, on, {"shift": refused.state(values)},
                            refused.status_code)
    return redirect_with_flash(roster_path(home.id, dt.date.fromisoformat(date)),
                               f"{member.name} is on the roster on {date} from {start} to {end}.")
