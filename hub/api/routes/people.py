"""Setting up a home: homes, rooms, residents and their tenancies, staff, the duty roster.

Admins register; a home's own staff may read its register; a resident may read their own entry.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.deps import (
    AdminDep,
    HomeOnRegisterDep,
    ResidentOnRegisterDep,
    SessionDep,
    require_role,
)
from hub.api.problems import PROBLEMS, people_change, problem
from hub.db.models import AccountRole, Home, Resident, Room, Shift, Staff, StaffRole, Tenancy
from hub.people import homes
from hub.people.accounts import SignedIn

router = APIRouter(tags=["homes and people"], responses=PROBLEMS)

Id = Annotated[str, Field(min_length=1, max_length=64, description="1-64 characters of [a-z0-9-]")]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class HomeIn(BaseModel):
    """A home to register; its id is the `site` its door agents publish under."""

    model_config = ConfigDict(extra="forbid")

    id: Id = Field(title="Home id (the site id)", examples=["oakwood"])
    name: Name = Field(title="Name", examples=["Oakwood House"])
    time_zone: str = Field(default="Europe/London", max_length=64, title="IANA time zone",
                           description="Quiet hours and night checks are read in it.")


class HomeOut(BaseModel):
    id: str
    name: str
    time_zone: str
    created_at: datetime


class RoomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id = Field(title="Room id, as the device registry names it", examples=["room-12"])


class RoomOut(BaseModel):
    home: str
    id: str
    resident: str | None = Field(title="Who lives there now")


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id = Field(title="Resident id", description="Not their name: it appears in records and exports.")
    display_name: Name = Field(title="Name as shown to staff")
    home: Id = Field(title="Home id")


class ResidentOut(BaseModel):
    id: str
    display_name: str
    home: str
    room: str | None = Field(title="Their room now, if they have one")


class MoveIn(BaseModel):
    """The resident lives in this room from now (or from `from`, recorded after the fact); their last room ends."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    room: Id = Field(title="Room id in the resident's home")
    start: AwareDatetime | None = Field(default=None, alias="from", title="From (default: now)",
                                        description="Not in the future, and after their last move.")


class MoveOut(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    end: AwareDatetime | None = Field(default=None, alias="to", title="Until (default: now)")


class TenancyOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    resident: str
    home: str
    room: str
    start: datetime = Field(serialization_alias="from", title="From (UTC)")
    end: datetime | None = Field(serialization_alias="to", title="Until (UTC); null while they live there")


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id = Field(title="Staff id", description="The id their handset and badge send in events.")
    name: Name
    home: Id = Field(title="Home id")
    role: StaffRole


class StaffOut(BaseModel):
    id: str
    name: str
    home: str
    role: StaffRole


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff: Id = Field(title="Staff id")
    start: AwareDatetime = Field(title="Start", description="With an offset or Z; stored in UTC.")
    end: AwareDatetime = Field(title="End")


class ShiftOut(BaseModel):
    id: int
    staff: str
    start: datetime
    end: datetime


def _resident_out(session: Session, resident: Resident) -> ResidentOut:
    tenancy = homes.current_tenancy(session, resident.id)
    return ResidentOut(id=resident.id, display_name=resident.display_name, home=resident.home_id,
                       room=tenancy.room_id if tenancy else None)


def _tenancy_out(tenancy: Tenancy) -> TenancyOut:
    return TenancyOut(resident=tenancy.resident_id, home=tenancy.home_id, room=tenancy.room_id,
                      start=tenancy.started_at, end=tenancy.ended_at)


def _staff_out(member: Staff) -> StaffOut:
    return StaffOut(id=member.id, name=member.name, home=member.home_id, role=StaffRole(member.role))


def _shift_out(shift: Shift) -> ShiftOut:
    return ShiftOut(id=shift.id, staff=shift.staff_id, start=shift.starts_at, end=shift.ends_at)


@router.post("/homes", response_model=HomeOut, status_code=status.HTTP_201_CREATED)
def post_home(body: HomeIn, _admin: AdminDep, session: SessionDep) -> HomeOut:
    """Register a home. Admin."""
    with people_change(session):
        home = homes.add_home(session, home_id=body.id, name=body.name, time_zone=body.time_zone)
    return HomeOut(id=home.id, name=home.name, time_zone=home.time_zone, created_at=home.created_at)


@router.get("/homes", response_model=list[HomeOut])
def get_homes(_admin: AdminDep, session: SessionDep) -> list[HomeOut]:
    """Every home. Admin."""
    return [HomeOut(id=home.id, name=home.name, time_zone=home.time_zone, created_at=home.created_at)
            for home in session.scalars(select(Home).order_by(Home.id))]


@router.post("/homes/{home_id}/rooms", response_model=RoomOut, status_code=status.HTTP_201_CREATED)
def post_room(home_id: str, body: RoomIn, _admin: AdminDep, session: SessionDep) -> RoomOut:
    """Add a room to a home. Admin."""
    with people_change(session):
        room = homes.add_room(session, home_id, body.id)
    return RoomOut(home=room.home_id, id=room.id, resident=None)


@router.get("/homes/{home_id}/rooms", response_model=list[RoomOut])
def get_rooms(home: HomeOnRegisterDep, session: SessionDep) -> list[RoomOut]:
    """A home's rooms and who lives in each. Admin, or the home's staff."""
    rooms = session.scalars(select(Room).where(Room.home_id == home.id).order_by(Room.id))
    return [RoomOut(home=home.id, id=room.id, resident=homes.occupant(session, home.id, room.id)) for room in rooms]


@router.post("/residents", response_model=ResidentOut, status_code=status.HTTP_201_CREATED)
def post_resident(body: ResidentIn, _admin: AdminDep, session: SessionDep) -> ResidentOut:
    """Register a resident of a home. Admin."""
    with people_change(session):
        resident = homes.add_resident(session, resident_id=body.id, display_name=body.display_name, home_id=body.home)
    return ResidentOut(id=resident.id, display_name=resident.display_name, home=resident.home_id, room=None)


@router.get("/homes/{home_id}/residents", response_model=list[ResidentOut])
def get_residents(home: HomeOnRegisterDep, session: SessionDep) -> list[ResidentOut]:
    """A home's residents and their rooms. Admin, or the home's staff."""
    residents = session.scalars(select(Resident).where(Resident.home_id == home.id).order_by(Resident.id))
    return [_resident_out(session, resident) for resident in residents]


@router.get("/residents/{resident_id}", response_model=ResidentOut)
def get_resident(resident: ResidentOnRegisterDep, session: SessionDep) -> ResidentOut:
    """One resident's register entry. The resident, their home's staff, or an admin."""
    return _resident_out(session, resident)


@router.post("/residents/{resident_id}/tenancies", response_model=TenancyOut, status_code=status.HTTP_201_CREATED)
def post_tenancy(resident_id: str, body: MoveIn, _admin: AdminDep, session: SessionDep) -> TenancyOut:
    """Record a move into a room; the last tenancy ends then, and both rooms' doors get a new config. Admin."""
    with people_change(session):
        tenancy = homes.move_in(session, resident_id, body.room, body.start)
    return _tenancy_out(tenancy)


@router.post("/residents/{resident_id}/move-out", response_model=TenancyOut)
def post_move_out(resident_id: str, body: MoveOut, _admin: AdminDep, session: SessionDep) -> TenancyOut:
    """Record that the resident left their room (the tenancy ends; it is kept). Admin."""
    with people_change(session):
        tenancy = homes.move_out(session, resident_id, body.end)
    return _tenancy_out(tenancy)


@router.get("/residents/{resident_id}/tenancies", response_model=list[TenancyOut])
def get_tenancies(resident: ResidentOnRegisterDep, session: SessionDep) -> list[TenancyOut]:
    """Which rooms the resident lived in when, oldest first. The resident, their home's staff, or an admin."""
    return [_tenancy_out(tenancy) for tenancy in homes.tenancy_history(session, resident.id)]


@router.post("/staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED)
def post_staff(body: StaffIn, _admin: AdminDep, session: SessionDep) -> StaffOut:
    """Register a member of staff. Admin."""
    with people_change(session):
        member = homes.add_staff(session, staff_id=body.id, name=body.name, home_id=body.home, role=body.role)
    return _staff_out(member)


@router.get("/homes/{home_id}/staff", response_model=list[StaffOut])
def get_staff(home: HomeOnRegisterDep, session: SessionDep) -> list[StaffOut]:
    """A home's staff. Admin, or the home's staff."""
    return [_staff_out(member) for member in session.scalars(select(Staff).where(Staff.home_id == home.id)
                                                              .order_by(Staff.id))]


@router.post("/shifts", response_model=ShiftOut, status_code=status.HTTP_201_CREATED)
def post_shift(
    body: ShiftIn,
    caller: Annotated[SignedIn, Depends(require_role(AccountRole.ADMIN, AccountRole.MANAGER))],
    session: SessionDep,
) -> ShiftOut:
    """Put a member of staff on the roster. Admin, or a manager of their home."""
    return _shift_out(roster_shift(session, caller, body))


def roster_shift(session: Session, caller: SignedIn, body: ShiftIn) -> Shift:
    """Add the shift as `caller` (an admin, or a manager of the staff member's home) and commit it; a 4xx
    problem for an unknown member of staff, another home's, or a shift the roster refuses."""
    member = session.get(Staff, body.staff)
    if member is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_staff", f"no staff member {body.staff!r}")
    if caller.role == AccountRole.MANAGER and member.home_id != caller.home_id:
        raise problem(status.HTTP_403_FORBIDDEN, "not_your_home", "a manager keeps the roster of their own home")
    with people_change(session):
        shift = homes.add_shift(session, staff_id=body.staff, starts_at=body.start, ends_at=body.end)
    return shift


@router.get("/homes/{home_id}/shifts", response_model=list[ShiftOut])
def get_shifts(
    home: HomeOnRegisterDep,
    session: SessionDep,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Default: 24 hours ago")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Default: 24 hours ahead")] = None,
) -> list[ShiftOut]:
    """The roster: shifts of the home's staff overlapping [from, to). Admin, or the home's staff."""
    now = datetime.now(UTC)
    start = start or now - timedelta(hours=24)
    end = end or now + timedelta(hours=24)
    if end <= start:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_window", "`to` must be after `from`")
    return [_shift_out(shift) for shift in homes.shifts_of_home(session, home.id, start, end)]
