"""Investigations (/cases): a manager opens a case — rooms and/or staff of their home, a window, a reason — which
holds that scope from the retention purge, and exports its evidence bundle (a zip an outside body verifies
without the hub). The same functions as POST /api/v1/cases and POST /api/v1/cases/{id}/export, so opening and
exporting are recorded in the hub's chain the same way.

Without script the export button posts a form and the zip comes back as a download; static/cases.js instead
fetches it from the API and says plainly that it is being prepared.
"""

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from dashboard.forms import sentence
from dashboard.templating import redirect_with_flash, render
from dashboard.timeline_picture import local_clock
from dashboard.viewer import Viewer, page_for
from hub.api.deps import HubKeyDep, SessionDep
from hub.api.routes.cases import CaseIn, post_case, post_export
from hub.db.models import AccountRole, Home, Room, Staff
from hub.evidence.cases import cases_of
from hub.timelines.window import BadWindow, local_or_aware
from protocol.events import MAX_SAFE_INT

router = APIRouter(include_in_schema=False)

ManagerDep = Annotated[Viewer, Depends(page_for(AccountRole.MANAGER))]
TypedTime = Annotated[str, Form(max_length=40)]


def _form_time(text: str, zone: ZoneInfo, name: str) -> datetime:
    if not text.strip():
        raise BadWindow(f"give the window's {name}")
    return local_or_aware(text, zone)


def _page(request: Request, viewer: Viewer, session: SessionDep, asked: dict[str, Any], *, error: str = "",
          status_code: int = status.HTTP_200_OK) -> Response:
    home = viewer.home
    assert home is not None  # managers belong to a home
    zone = ZoneInfo(home.time_zone)
    cases = [{"case": case, "opened": local_clock(case.opened_at, zone), "from": local_clock(case.window_from, zone),
              "to": local_clock(case.window_to, zone)} for case in cases_of(session, home.id)]
    return render(request, "cases.html", {
        "cases": cases, "asked": asked, "error": error,
        "rooms": list(session.scalars(select(Room.id).where(Room.home_id == home.id).order_by(Room.id))),
        "staff_members": list(session.execute(select(Staff.id, Staff.name).where(Staff.home_id == home.id)
                                              .order_by(Staff.name, Staff.id))),
    }, viewer=viewer, status_code=status_code)


@router.get("/cases")
def get_cases(request: Request, viewer: ManagerDep, session: SessionDep,
              room: Annotated[list[str] | None, Query(description="Rooms to tick in the form")] = None,
              staff: Annotated[list[str] | None, Query(description="Staff to tick in the form")] = None,
              start: Annotated[str, Query(alias="from", max_length=40)] = "",
              end: Annotated[str, Query(alias="to", max_length=40)] = "") -> Response:
    """The home's cases, and the form to open one (filled in from the timeline explorer's link)."""
    return _page(request, viewer, session, {"rooms": room or [], "staff": staff or [], "from": start, "to": end,
                                            "reason": ""})


@router.post("/cases")
def post_cases(request: Request, viewer: ManagerDep, session: SessionDep,
               start: Annotated[str, Form(alias="from", max_length=40)] = "",
               end: Annotated[str, Form(alias="to", max_length=40)] = "",
               reason: Annotated[str, Form(max_length=4000)] = "",
               rooms: Annotated[list[str] | None, Form(alias="room")] = None,
               staff: Annotated[list[str] | None, Form()] = None) -> Response:
    home = viewer.home
    assert home is not None
    asked = {"rooms": rooms or [], "staff": staff or [], "from": start, "to": end, "reason": reason}
    try:
        body = _case_in(home, asked)
        opened = post_case(body, viewer.caller, session)
    except (BadWindow, ValidationError) as error:
        return _page(request, viewer, session, asked, error=_words(error), status_code=status.HTTP_400_BAD_REQUEST)
    except HTTPException as error:
        if error.status_code != status.HTTP_400_BAD_REQUEST:
            raise
        return _page(request, viewer, session, asked, error=sentence(str(error.detail["detail"])),
                     status_code=error.status_code)
    return redirect_with_flash(f"/cases#case-{opened.id}", f"Case {opened.id} is open. Its records are held from "
                                                           "deletion until it is closed.")


def _case_in(home: Home, asked: dict[str, Any]) -> CaseIn:
    zone = ZoneInfo(home.time_zone)
    return CaseIn.model_validate({
        "site": home.id, "rooms": asked["rooms"], "staff": asked["staff"], "reason": asked["reason"],
        "from": _form_time(asked["from"], zone, "start"), "to": _form_time(asked["to"], zone, "end"),
    })


def _words(error: BadWindow | ValidationError) -> str:
    if isinstance(error, BadWindow):
        return sentence(str(error))
    names = {"reason": "The reason", "rooms": "The rooms", "staff": "The staff", "from": "The start",
             "to": "The end"}
    return " ".join(f"{names.get(str(item['loc'][0]), str(item['loc'][0]))}: {item['msg'].lower()}."
                    for item in error.errors())


@router.post("/cases/{case_id}/export")
def post_case_export(case_id: Annotated[int, Path(ge=1, le=MAX_SAFE_INT)], viewer: ManagerDep,
                     session: SessionDep, hub_key: HubKeyDep, cleanup: BackgroundTasks) -> FileResponse:
    """The case's bundle as a download, as POST /api/v1/cases/{id}/export gives it."""
    return post_export(case_id, viewer.caller, session, hub_key, cleanup)
