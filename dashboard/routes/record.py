"""A member of staff's own record, and the data-use statement everyone may read (signed in or not).

/my-record shows the signed-in carer their own night (the staff timeline the API serves at
/api/v1/timelines/staff/{id}, read and recorded the same way): knocks, entries, waits, time inside, check-ins,
alerts handled; and lets them explain an entry that names them (POST /api/v1/entries/{id}/explanations's
function: appended, never edited, recorded in the hub's chain).
"""

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import OptionalViewerDep, Viewer, page_for
from hub.api.deps import CARERS, SessionDep, SettingsDep
from hub.api.routes.entries import explain
from hub.api.routes.timelines import read_staff_timeline
from hub.db.models import Staff
from hub.people.explanations import MAX_TEXT, explanations_of
from hub.timelines.window import NIGHT_ENDS, NIGHT_STARTS, night
from protocol.events import MAX_SAFE_INT

router = APIRouter(include_in_schema=False)

CarerDep = Annotated[Viewer, Depends(page_for(*CARERS))]


def latest_night(now: datetime, zone: ZoneInfo) -> dt.date:
    """The night under way, or the last one before this evening's starts."""
    local = now.astimezone(zone)
    return local.date() if local.time() >= NIGHT_STARTS else local.date() - timedelta(days=1)


def night_words(evening: dt.date) -> str:
    """A night as people say it: the evening it starts, and its hours on the home's clock."""
    return f"{evening:%A %d %B %Y}, {NIGHT_STARTS:%H:%M} to {NIGHT_ENDS:%H:%M} the next morning"


def _minutes(ms: int) -> str:
    minutes = round(ms / 60_000)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.get("/my-record")
def get_my_record(request: Request, viewer: CarerDep, session: SessionDep,
                  settings: SettingsDep,
                  on: Annotated[dt.date | None, Query(alias="night", description="The evening the night starts")]
                  = None) -> Response:
    assert viewer.home is not None and viewer.account.staff_id is not None  # a carer's account names both
    zone = ZoneInfo(viewer.home.time_zone)
    chosen = on or latest_night(datetime.now(UTC), zone)
    begins, ends = night(chosen, zone)
    staff = session.get_one(Staff, viewer.account.staff_id)
    timeline = read_staff_timeline(session, viewer.caller, staff, begins, ends, settings,
                                   reason="own record (dashboard)")
    mine = timeline.staff_night
    assert mine is not None  # a staff timeline always has its staff night
    entries = [entry for entry in timeline.entries if entry.who == staff.id]
    explained = explanations_of(session, [entry.door_opened_event_id for entry in entries])
    return render(request, "my_record.html", {
        "night": chosen,
        "night_label": night_words(chosen),
        "earlier": chosen - timedelta(days=1),
        "later": chosen + timedelta(days=1) if chosen < latest_night(datetime.now(UTC), zone) else None,
        "mine": mine,
        "inside": _minutes(mine.inside_ms),
        "waits": [round(ms / 1000) for ms in mine.waits_ms],
        "entries": [{"entry": entry, "explanations": explained.get(entry.door_opened_event_id, [])}
                    for entry in entries],
        "max_text": MAX_TEXT,
    }, viewer=viewer)


@router.post("/my-record/entries/{door_opened_event_id}/explanations")
def post_explanation(door_opened_event_id: Annotated[int, Path(ge=1, le=MAX_SAFE_INT)], viewer: CarerDep,
                     session: SessionDep, text: Annotated[str, Form(min_length=1, max_length=MAX_TEXT)],
                     on: Annotated[dt.date | None, Form(alias="night")] = None) -> Response:
    """Explain an entry that names the signed-in carer; anyone else is refused (403), as by the API."""
    explain(session, viewer.caller, door_opened_event_id, text)
    back = f"/my-record?night={on.isoformat()}" if on else "/my-record"
    return redirect_with_flash(f"{back}#entry-{door_opened_event_id}",
                               "Your explanation is recorded. The manager reviewing the entry will read it.")


@router.get("/data-use")
def get_data_use(request: Request, viewer: OptionalViewerDep) -> Response:
    return render(request, "data_use.html", viewer=viewer)
