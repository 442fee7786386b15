"""What a home sets for itself: its escalation ladder and its rooms' environment limits.

The home's carers may read its ladder (they are the ones it calls); its manager or an admin may change it, and a
change is a new version with its event for the hub's chain. Room environment limits are read and set by the home's
manager or an admin. A ladder or limits the rules refuse gets 422 with the rules' reason; nothing is written.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from hub.api.deps import CARERS, CallerDep, SessionDep
from hub.api.problems import PROBLEMS, people_change, people_problem, problem
from hub.db.models import AccountRole, Home, RoomEnvironmentLimits
from hub.people.accounts import SignedIn
from hub.people.environment_limits import get_room, limits_of, set_room_limits
from hub.people.errors import PeopleError
from hub.people.ladders import current_ladder, set_ladder
from hub.rules.alerts import DEFAULT_LADDER, Audience, EscalationLadder
from hub.rules.environment import EnvironmentLimits

router = APIRouter(tags=["home settings"], responses={**PROBLEMS, 422: PROBLEMS[400]})

MAX_STEPS = 10
DAY_S = 86400


def home_for(session: Session, caller: SignedIn, home_id: str, roles: frozenset[AccountRole]) -> Home:
    """The home, if the caller is an admin or has one of `roles` there; 403 before the lookup for anyone else."""
    if caller.role != AccountRole.ADMIN:
        if caller.role not in roles:
            names = ", ".join(sorted(role.value for role in roles | {AccountRole.ADMIN}))
            raise problem(status.HTTP_403_FORBIDDEN, "role_not_allowed", f"this needs one of: {names}")
        if caller.home_id != home_id:
            raise problem(status.HTTP_403_FORBIDDEN, "not_your_home", "this is for the staff of that home")
    home = session.get(Home, home_id)
    if home is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_home", f"no home {home_id!r}")
    return home


def _refused(error: ValidationError) -> HTTPException:
    first = error.errors()[0]
    return problem(status.HTTP_422_UNPROCESSABLE_CONTENT, first["type"], first["msg"])


# the escalation ladder -----------------------------------------------------------------------------------------


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_s: int = Field(ge=0, le=DAY_S, title="Seconds after the alert was raised")
    audience: Audience = Field(title="Who this step calls")
    enabled: bool = Field(default=True, title="Whether the step is sent; the last step is always on")


class LadderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[StepIn] = Field(min_length=1, max_length=MAX_STEPS, title="Steps, in order of time")


class LadderOut(BaseModel):
    home: str
    steps: list[StepIn]
    version: int | None = Field(title="The home's ladder version; None: the default ladder, never changed")
    updated_by: str | None = Field(title="Username of who set this version")
    updated_at: datetime | None


def escalation_ladder(body: LadderIn) -> EscalationLadder:
    """The ladder a body asks for, as the rules hold it; ValidationError when they refuse it."""
    return EscalationLadder.model_validate({"steps": [step.model_dump() for step in body.steps]})


def ladder_out(session: Session, home: Home) -> LadderOut:
    row = current_ladder(session, home.id)
    if row is None:
        steps = [StepIn.model_validate(step.model_dump()) for step in DEFAULT_LADDER.steps]
        return LadderOut(home=home.id, steps=steps, version=None, updated_by=None, updated_at=None)
    return LadderOut(home=home.id, steps=[StepIn.model_validate(step) for step in row.steps], version=row.version,
                     updated_by=row.updated_by, updated_at=row.updated_at)


@router.get("/homes/{home_id}/escalation-ladder", response_model=LadderOut)
def get_ladder(home_id: str, caller: CallerDep, session: SessionDep) -> LadderOut:
    """The ladder the home's alerts climb: its own, or the default. The home's staff, night lead, manager; admins."""
    return ladder_out(session, home_for(session, caller, home_id, CARERS))


@router.put("/homes/{home_id}/escalation-ladder", response_model=LadderOut)
def put_ladder(home_id: str, body: LadderIn, caller: CallerDep, session: SessionDep) -> LadderOut:
    """Set the home's ladder as a new version. Its last step cannot be switched off (422 last_step_off) and steps
    come in order of time (422 steps_out_of_order). The home's manager; admins."""
    home = home_for(session, caller, home_id, frozenset({AccountRole.MANAGER}))
    try:
        ladder = escalation_ladder(body)
    except ValidationError as error:
        raise _refused(error) from None
    with people_change(session):
        set_ladder(session, home.id, ladder, caller.account)
    return ladder_out(session, home)


# room environment limits ---------------------------------------------------------------------------------------


class LimitsIn(BaseModel):
    """A room's own limits: a reading counts when it stays outside them for `sustained_s`."""

    model_config = ConfigDict(extra="forbid")

    min_temp_c_x100: int = Field(ge=0, le=4000, title="Too cold below (°C × 100)", examples=[1800])
    max_temp_c_x100: int = Field(ge=0, le=4000, title="Too hot above (°C × 100)", examples=[2600])
    min_rh_x100: int = Field(ge=0, le=10000, title="Too dry below (% RH × 100)", examples=[3000])
    max_rh_x100: int = Field(ge=0, le=10000, title="Too humid above (% RH × 100)", examples=[7000])
    sustained_s: int = Field(ge=0, le=DAY_S, title="For at least (seconds)", examples=[1800])


class LimitsOut(LimitsIn):
    home: str
    room: str
    own: bool = Field(title="Whether the room has its own limits (else the defaults)")
    updated_by: str | None
    updated_at: datetime | None


def environment_limits(body: LimitsIn) -> EnvironmentLimits:
    """The limits a body asks for, as the rules hold them; ValidationError when they refuse them."""
    return EnvironmentLimits(temp_min_c_x100=body.min_temp_c_x100, temp_max_c_x100=body.max_temp_c_x100,
                             rh_min_x100=body.min_rh_x100, rh_max_x100=body.max_rh_x100, sustained_s=body.sustained_s)


def limits_out(home_id: str, room_id: str, row: RoomEnvironmentLimits | None) -> LimitsOut:
    limits = limits_of(row)
    return LimitsOut(
        home=home_id, room=room_id, own=row is not None, min_temp_c_x100=limits.temp_min_c_x100,
        max_temp_c_x100=limits.temp_max_c_x100, min_rh_x100=limits.rh_min_x100, max_rh_x100=limits.rh_max_x100,
        sustained_s=limits.sustained_s, updated_by=row.updated_by if row else None,
        updated_at=row.updated_at if row else None,
    )


def _room_of(home_id: str, room_id: str, caller: CallerDep, session: SessionDep) -> tuple[str, str]:
    """The (home, room) the caller may set limits for: the home's manager or an admin; 404 for an unknown room."""
    home_for(session, caller, home_id, frozenset({AccountRole.MANAGER}))
    try:
        get_room(session, home_id, room_id)
    except PeopleError as error:
        raise people_problem(error) from None
    return home_id, room_id


RoomDep = Annotated[tuple[str, str], Depends(_room_of)]


@router.get("/homes/{home_id}/rooms/{room_id}/environment-limits", response_model=LimitsOut)
def get_limits(room: RoomDep, session: SessionDep) -> LimitsOut:
    """The limits in force for the room: its own, or the defaults. The home's manager; admins."""
    home_id, room_id = room
    return limits_out(home_id, room_id, session.get(RoomEnvironmentLimits, (home_id, room_id)))


@router.put("/homes/{home_id}/rooms/{room_id}/environment-limits", response_model=LimitsOut)
def put_limits(room: RoomDep, body: LimitsIn, caller: CallerDep, session: SessionDep) -> LimitsOut:
    """Set the room's own limits. Each lower limit is below its upper one (422 limits_reversed). The home's
    manager; admins."""
    home_id, room_id = room
    try:
        limits = environment_limits(body)
    except ValidationError as error:
        raise _refused(error) from None
    with people_change(session):
        row = set_room_limits(session, home_id, room_id, limits, caller.account)
    return limits_out(home_id, room_id, row)
