"""A room's own environment limits, in place of the defaults (UKHSA: below 18 °C or above 26 °C, humidity outside
30–70 %, for 30 minutes). Setting them replaces the room's row and records `hub.environment_limits.changed` for the
hub's chain, so what was in force when stays on record."""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from hub.chain import record_for_chain
from hub.db.models import Account, Room, RoomEnvironmentLimits
from hub.people.errors import NotFound
from hub.rules.environment import EnvironmentLimits
from protocol.hub_events import HubEventType


def get_room(session: Session, home_id: str, room_id: str) -> Room:
    room = session.get(Room, (home_id, room_id))
    if room is None:
        raise NotFound("unknown_room", f"no room {room_id!r} in {home_id!r}")
    return room


def limits_of(row: RoomEnvironmentLimits | None) -> EnvironmentLimits:
    """The limits in force for a room: its own row's, or the defaults when it has none."""
    if row is None:
        return EnvironmentLimits()
    return EnvironmentLimits(temp_min_c_x100=row.min_temp_c_x100, temp_max_c_x100=row.max_temp_c_x100,
                             rh_min_x100=row.min_rh_x100, rh_max_x100=row.max_rh_x100, sustained_s=row.sustained_s)


def set_room_limits(session: Session, home_id: str, room_id: str, limits: EnvironmentLimits,
                    author: Account) -> RoomEnvironmentLimits:
    """Set the room's own limits (checked already by the caller's model); the caller commits."""
    get_room(session, home_id, room_id)
    values = dict(min_temp_c_x100=limits.temp_min_c_x100, max_temp_c_x100=limits.temp_max_c_x100,
                  min_rh_x100=limits.rh_min_x100, max_rh_x100=limits.rh_max_x100, sustained_s=limits.sustained_s,
                  updated_by=author.username, updated_at=datetime.now(UTC))
    row = session.get(RoomEnvironmentLimits, (home_id, room_id))
    if row is None:
        row = RoomEnvironmentLimits(home_id=home_id, room_id=room_id, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    record_for_chain(session, home_id, HubEventType.ENVIRONMENT_LIMITS_CHANGED,
                     {"home": home_id, "room": room_id, "set_by": author.username,
                      **{name: value for name, value in values.items() if name.endswith(("_x100", "_s"))}},
                     room=room_id)
    return row
