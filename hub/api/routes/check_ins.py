"""Lone-worker check-ins: a member of staff alone in a resident's room says, from their handset, that all is well.
Each one stops the room's lone-worker clock (the worker's rules read them) and is kept in the hub's chain."""

from datetime import UTC, datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hub.api.deps import CARERS, CallerDep, SessionDep, ensure_at_home
from hub.api.problems import PROBLEMS, problem
from hub.chain import record_for_chain
from hub.db.models import CheckIn, Room
from hub.people.accounts import SignedIn
from protocol.hub_events import HubEventType

router = APIRouter(tags=["check-ins"], responses=PROBLEMS)


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(min_length=1, max_length=64, title="Home (site) id")
    room: str = Field(min_length=1, max_length=64, title="Room id", description="The room you are in now.")


class CheckInOut(BaseModel):
    id: int
    staff: str = Field(title="Who checked in (staff id)")
    site: str
    room: str
    at: datetime = Field(title="When (UTC)")


@router.post("/check-ins", response_model=CheckInOut, status_code=status.HTTP_201_CREATED)
def post_check_in(body: CheckInIn, caller: CallerDep, session: SessionDep) -> CheckInOut:
    """Check in as yourself from the room you are in. Staff, night lead or manager of the home."""
    return check_in_from(session, caller, body.site, body.room)


def check_in_from(session: Session, caller: SignedIn, site: str, room: str) -> CheckInOut:
    """`caller` checks in from `room` of `site` (the API's route and the night board's form alike)."""
    at_home = ensure_at_home(session, caller, site, CARERS)
    if session.get(Room, (site, room)) is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_room", f"no room {room!r} in {site!r}")
    check_in = CheckIn(staff_id=at_home.staff_id, site=site, room=room, at=datetime.now(UTC))
    session.add(check_in)
    session.flush()
    record_for_chain(session, site, HubEventType.CHECK_IN,
                     {"staff": check_in.staff_id, "at": check_in.at.isoformat(), "check_in": check_in.id},
                     room=room)
    session.commit()
    return CheckInOut(id=check_in.id, staff=check_in.staff_id, site=check_in.site, room=check_in.room,
                      at=check_in.at)
