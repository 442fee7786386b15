"""Investigations: a manager opens a case (rooms and/or staff, a window, a reason), which holds its scope from the
retention purge, and exports its evidence bundle — a zip an outside body verifies without the hub. Opening and
exporting are recorded in the hub's chain like every other look at a timeline."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path as PathParam, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.deps import AtHome, CallerDep, HubKeyDep, SessionDep, ensure_at_home, home_scope
from hub.api.problems import PROBLEMS, problem
from hub.api.reads import record_read
from hub.db.models import AccountRole, Room, Staff
from hub.evidence.bundle import export_bundle
from hub.evidence.cases import CaseError, case_summary, cases_of, get_case, open_case
from protocol.events import MAX_SAFE_INT

router = APIRouter(tags=["cases"], responses=PROBLEMS)

MANAGERS = frozenset({AccountRole.MANAGER})
ManagerAtHomeDep = Annotated[AtHome, Depends(home_scope(*MANAGERS))]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(min_length=1, max_length=64, title="Home (site) id")
    rooms: list[Id] = Field(default_factory=list, max_length=500, title="Rooms in scope")
    staff: list[Id] = Field(default_factory=list, max_length=500, title="Members of staff in scope")
    window_from: AwareDatetime = Field(alias="from", title="Start of the window (with offset)")
    window_to: AwareDatetime = Field(alias="to", title="End of the window (with offset)")
    reason: str = Field(min_length=1, max_length=4000, title="Why the case is opened")


class CaseOut(BaseModel):
    id: int
    site: str
    opened_by: str
    opened_at: str
    reason: str
    rooms: list[str]
    staff: list[str]
    window_from: str
    window_to: str
    closed_at: str | None


def _ensure_in_home(session: Session, site: str, rooms: list[str], staff: list[str]) -> None:
    """A case's scope names the home's own rooms and staff: a mistyped id would hold nothing and show nothing."""
    for kind, table, wanted in (("room", Room, rooms), ("staff", Staff, staff)):
        found = set(session.scalars(select(table.id).where(table.home_id == site, table.id.in_(wanted)))) \
            if wanted else set()
        if missing := sorted(set(wanted) - found):
            raise problem(status.HTTP_400_BAD_REQUEST, f"unknown_{kind}",
                          f"not {'a room' if kind == 'room' else 'a member of staff'} of {site}: {', '.join(missing)}")


@router.get("/cases", response_model=list[CaseOut])
def get_cases(at_home: ManagerAtHomeDep, session: SessionDep) -> list[CaseOut]:
    """The home's cases, open and closed, newest first. A manager of the home."""
    return [CaseOut(**case_summary(case)) for case in cases_of(session, at_home.home.id)]


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def post_case(body: CaseIn, caller: CallerDep, session: SessionDep) -> CaseOut:
    """Open a case: a legal hold on its scope until it is closed. A manager of the home; the rooms and staff are
    the home's own."""
    at_home = ensure_at_home(session, caller, body.site, MANAGERS)
    _ensure_in_home(session, body.site, body.rooms, body.staff)
    try:
        case = open_case(session, site=body.site, opened_by=at_home.staff_id, reason=body.reason, rooms=body.rooms,
                         staff=body.staff, window_from=body.window_from, window_to=body.window_to,
                         now=datetime.now(UTC))
    except CaseError as error:
        session.rollback()
        raise problem(status.HTTP_400_BAD_REQUEST, error.reason, error.detail) from None
    summary = case_summary(case)
    record_read(session, caller, body.site, "case.opened", {"case": case.id, "reason": body.reason,
                                                             "rooms": case.rooms, "staff": case.staff,
                                                             "from": summary["window_from"],
                                                             "to": summary["window_to"]})
    return CaseOut(**summary)


@router.post("/cases/{case_id}/export", response_class=FileResponse,
             responses={200: {"content": {"application/zip": {}}, "description": "The bundle"}})
def post_export(case_id: Annotated[int, PathParam(ge=1, le=MAX_SAFE_INT)], caller: CallerDep, session: SessionDep,
                hub_key: HubKeyDep, cleanup: BackgroundTasks) -> FileResponse:
    """The case's evidence bundle as a zip download. A manager of the case's home."""
    try:
        case = get_case(session, case_id)
    except CaseError as error:
        raise problem(status.HTTP_404_NOT_FOUND, error.reason, error.detail) from None
    ensure_at_home(session, caller, case.site, MANAGERS)
    folder = Path(tempfile.mkdtemp(prefix="threshold-bundle-"))
    out = folder / f"case-{case.id}.zip"
    manifest = export_bundle(session, case.id, out, hub_key, datetime.now(UTC))
    record_read(session, caller, case.site, "case.exported", {"case": case.id, "files": manifest["files"]})
    cleanup.add_task(_remove, folder)
    return FileResponse(out, media_type="application/zip", filename=out.name)


def _remove(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
