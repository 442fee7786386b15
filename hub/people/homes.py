"""Homes, their rooms, residents and who lived in which room when; staff and the duty roster.

Tenancies are history: moving adds a row and closes the one before; no row's room or start is ever changed.
Every move republishes the config of the doors it touches.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.chain import record_for_chain
from hub.db.models import Home, Resident, Room, Shift, Staff, StaffRole, Tenancy
from hub.people.doors import bump_configs
from hub.people.errors import Conflict, NotFound, PeopleError
from protocol.errors import ProtocolError
from protocol.hub_events import HubEventType
from protocol.topics import check_id


def _id(kind: str, value: str) -> str:
    try:
        return check_id(kind, value)
    except ProtocolError as error:
        raise PeopleError(error.reason, error.detail) from None


def _when(at: datetime | None, now: datetime) -> datetime:
    """A move happens now or is recorded after the fact; never ahead, since nothing would republish the doors then."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise PeopleError("naive_time", "times need an offset or Z (UTC)")
    if at > now:
        raise PeopleError("future_time", f"{at.isoformat()} is in the future: record a move when it happens")
    return at.astimezone(UTC)


def get_home(session: Session, home_id: str) -> Home:
    home = session.get(Home, home_id)
    if home is None:
        raise NotFound("unknown_home", f"no home {home_id!r}")
    return home


def get_resident(session: Session, resident_id: str) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("unknown_resident", f"no resident {resident_id!r}")
    return resident


def get_staff(session: Session, staff_id: str) -> Staff:
    member = session.get(Staff, staff_id)
    if member is None:
        raise NotFound("unknown_staff", f"no staff member {staff_id!r}")
    return member


def add_home(session: Session, *, home_id: str, name: str, time_zone: str) -> Home:
    _id("home", home_id)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeopleError("unknown_time_zone", f"{time_zone!r} is not an IANA time zone, e.g. Europe/London") from None
    if session.get(Home, home_id) is not None:
        raise Conflict("home_exists", f"home {home_id!r} already exists")
    home = Home(id=home_id, name=name, time_zone=time_zone, created_at=datetime.now(UTC))
    session.add(home)
    session.flush()
    return home


def add_room(session: Session, home_id: str, room_id: str) -> Room:
    get_home(session, home_id)
    _id("room", room_id)
    if session.get(Room, (home_id, room_id)) is not None:
        raise Conflict("room_exists", f"room {room_id!r} already exists in {home_id!r}")
    room = Room(home_id=home_id, id=room_id, created_at=datetime.now(UTC))
    session.add(room)
    session.flush()
    return room


def add_resident(session: Session, *, resident_id: str, display_name: str, home_id: str) -> Resident:
    _id("resident", resident_id)
    get_home(session, home_id)
    if session.get(Resident, resident_id) is not None:
        raise Conflict("resident_exists", f"resident {resident_id!r} already exists")
    resident = Resident(id=resident_id, display_name=display_name, home_id=home_id, created_at=datetime.now(UTC))
    session.add(resident)
    session.flush()
    return resident


def add_staff(session: Session, *, staff_id: str, name: str, home_id: str, role: StaffRole) -> Staff:
    _id("staff", staff_id)
    get_home(session, home_id)
    if session.get(Staff, staff_id) is not None:
        raise Conflict("staff_exists", f"staff member {staff_id!r} already exists")
    member = Staff(id=staff_id, name=name, home_id=home_id, role=StaffRole(role).value, created_at=datetime.now(UTC))
    session.add(member)
    session.flush()
    return member


def add_shift(session: Session, *, staff_id: str, starts_at: datetime, ends_at: datetime) -> Shift:
    get_staff(session, staff_id)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise PeopleError("naive_time", "times need an offset or Z (UTC)")
    if ends_at <= starts_at:
        raise PeopleError("shift_ends_before_start", "a shift ends after it starts")
    overlapping = session.scalar(
        select(Shift).where(Shift.staff_id == staff_id, Shift.starts_at < ends_at, Shift.ends_at > starts_at)
    )
    if overlapping is not None:
        raise Conflict("shift_overlaps", f"{staff_id!r} is already on shift from {overlapping.starts_at.isoformat()}"
                                         f" to {overlapping.ends_at.isoformat()}")
    shift = Shift(staff_id=staff_id, starts_at=starts_at.astimezone(UTC), ends_at=ends_at.astimezone(UTC))
    session.add(shift)
    session.flush()
    return shift


def shifts_of_home(session: Session, home_id: str, start: datetime, end: datetime) -> list[Shift]:
    """Shifts of the home's staff that overlap [start, end)."""
    query = (
        select(Shift).join(Staff, Staff.id == Shift.staff_id)
        .where(Staff.home_id == home_id, Shift.starts_at < end, Shift.ends_at > start)
        .order_by(Shift.starts_at, Shift.id)
    )
    return list(session.scalars(query))


def current_tenancy(session: Session, resident_id: str) -> Tenancy | None:
    return session.scalar(select(Tenancy).where(Tenancy.resident_id == resident_id, Tenancy.ended_at.is_(None)))


def occupant(session: Session, home_id: str, room_id: str) -> str | None:
    """The resident living in the room now, if anyone."""
    return session.scalar(
        select(Tenancy.resident_id).where(
            Tenancy.home_id == home_id, Tenancy.room_id == room_id, Tenancy.ended_at.is_(None)
        )
    )


def tenancy_history(session: Session, resident_id: str) -> list[Tenancy]:
    return list(session.scalars(select(Tenancy).where(Tenancy.resident_id == resident_id)
                                .order_by(Tenancy.started_at, Tenancy.id)))


def _after_last_move(session: Session, resident_id: str, at: datetime) -> None:
    """History only grows forwards: a move dated inside the last tenancy would rewrite it."""
    last = session.scalar(select(Tenancy).where(Tenancy.resident_id == resident_id)
                          .order_by(Tenancy.started_at.desc(), Tenancy.id.desc()).limit(1))
    if last is not None and (at <= last.started_at or (last.ended_at is not None and at < last.ended_at)):
        raise PeopleError("before_last_move", f"{resident_id!r} last moved ({last.room_id!r}) at "
                                              f"{last.started_at.isoformat()}; a new move comes after that")


def move_in(session: Session, resident_id: str, room_id: str, at: datetime | None = None) -> Tenancy:
    """The resident lives in `room_id` (of their home) from `at` (default now); their previous tenancy ends then."""
    resident = get_resident(session, resident_id)
    at = _when(at, datetime.now(UTC))
    if session.get(Room, (resident.home_id, room_id)) is None:
        raise NotFound("unknown_room", f"no room {room_id!r} in {resident.home_id!r}")
    previous = current_tenancy(session, resident_id)
    if previous is not None and previous.room_id == room_id:
        raise Conflict("already_there", f"{resident_id!r} already lives in {room_id!r}")
    _after_last_move(session, resident_id, at)
    taken = session.scalar(select(Tenancy).where(
        Tenancy.home_id == resident.home_id, Tenancy.room_id == room_id,
        or_(Tenancy.ended_at.is_(None), Tenancy.ended_at > at),
    ))
    if taken is not None:
        raise Conflict("room_occupied", f"{room_id!r} is the room of {taken.resident_id!r} at that time")
    touched = {room_id}
    if previous is not None:
        previous.ended_at = at
        touched.add(previous.room_id)
    tenancy = Tenancy(resident_id=resident_id, home_id=resident.home_id, room_id=room_id, started_at=at)
    session.add(tenancy)
    session.flush()
    record_for_chain(session, resident.home_id, HubEventType.TENANCY_CHANGED,
                     {"resident": resident_id, "moved_in": room_id, "at": at.isoformat()}, room=room_id)
    bump_configs(session, resident.home_id, touched)
    return tenancy


def move_out(session: Session, resident_id: str, at: datetime | None = None) -> Tenancy:
    """The resident's current tenancy ends at `at` (default now)."""
    get_resident(session, resident_id)
    at = _when(at, datetime.now(UTC))
    tenancy = current_tenancy(session, resident_id)
    if tenancy is None:
        raise Conflict("no_current_room", f"{resident_id!r} has no room to move out of")
    _after_last_move(session, resident_id, at)
    tenancy.ended_at = at
    session.flush()
    record_for_chain(session, tenancy.home_id, HubEventType.TENANCY_CHANGED,
                     {"resident": resident_id, "moved_out": tenancy.room_id, "at": at.isoformat()},
                     room=tenancy.room_id)
    bump_configs(session, tenancy.home_id, {tenancy.room_id})
    return tenancy
