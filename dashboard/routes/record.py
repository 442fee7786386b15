"""A member of staff's own record, and the data-use statement everyone may read (signed in or not).

/my-record shows the signed-in carer their own night (the staff timeline the API serves at
/api/v1/timelines/staff/{id}, read and recorded the same way): knocks, entries, waits, time inside, check-ins,
alerts handled.
"""

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from dashboard.templating import render
from dashboard.viewer import OptionalViewerDep, Viewer, page_for
from hub.api.deps import CARERS, SessionDep, SettingsDep
from hub.api.routes.timelines import read_staff_timeline
from hub.db.models import Staff
from hub.timelines.window import NIGHT_ENDS, NIGHT_STARTS, night

router = APIRouter(include_in_schema=False)


def latest_night(now: datetime, zone: ZoneInfo) -> dt.date:
    """The night under way, or the last one before this evening's starts."""
    local = now.astimezone(zone)
    return local.date() if local.time() >= NIGHT_STARTS else local.date() - timedelta(days=1)


def _minutes(ms: int) -> str:
    minutes = round(ms / 60_000)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.get("/my-record")
def get_my_record(request: Request, viewer: Annotated[Viewer, Depends(page_for(*CARERS))], session: SessionDep,
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
    return render(request, "my_record.html", {
        "night": chosen,
        "night_label": f"{chosen:%A %d %B %Y}, {NIGHT_STARTS:%H:%M} to {NIGHT_ENDS:%H:%M} the next morning",
        "earlier": chosen - timedelta(days=1),
        "later": chosen + timedelta(days=1) if chosen < latest_night(datetime.now(UTC), zone) else None,
        "mine": mine,
        "inside": _minutes(mine.inside_ms),
        "waits": [round(ms / 1000) for ms in mine.waits_ms],
        "entries": [entry for entry in timeline.entries if entry.who == staff.id],
    }, viewer=viewer)


@router.get("/data-use")
def get_data_use(request: Request, viewer: OptionalViewerDep) -> Response:
    return render(request, "data_use.html", viewer=viewer)
