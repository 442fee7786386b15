"""Which doors a change about people reaches: the devices serving a room, and the config bump that republishes them."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.models import Device


@dataclass(frozen=True, slots=True)
class ServingDevice:
    id: str
    status: str
    status_at: datetime | None


def devices_serving(session: Session, home_id: str, rooms: set[str], *,
                    retired_too: bool = False) -> list[ServingDevice]:
    """The home's devices with a door to any of `rooms`, by id: the active ones, or every one that ever served.
    Columns, not registry objects: the rules ask this for every door opening."""
    return [device for device, served in _home_devices(session, home_id, retired_too) if rooms & served]


def devices_by_room(session: Session, home_id: str, rooms: Iterable[str]) -> dict[str, list[ServingDevice]]:
    """Each of `rooms` → the home's active devices with a door to it, by id (a room with none maps to [])."""
    by_room: dict[str, list[ServingDevice]] = {room: [] for room in rooms}
    for device, served in _home_devices(session, home_id, retired_too=False):
        for room in served & by_room.keys():
            by_room[room].append(device)
    return by_room


def _home_devices(session: Session, home_id: str, retired_too: bool) -> list[tuple[ServingDevice, set[str]]]:
    query = select(Device.id, Device.doors, Device.status, Device.status_at).where(Device.site == home_id)
    if not retired_too:
        query = query.where(Device.retired_at.is_(None))
    return [(ServingDevice(device, status, status_at), set((doors or {}).values()))
            for device, doors, status, status_at in session.execute(query.order_by(Device.id))]


def bump_configs(session: Session, home_id: str, rooms: set[str]) -> list[str]:
    """Raise the config version of every device serving `rooms`, in the caller's transaction: the worker sees the
    new version once this commits and publishes a freshly built, signed config."""
    devices = [device.id for device in devices_serving(session, home_id, rooms)]
    if devices:
        # In SQL, not read-modify-write, so two changes committed at once both count.
        session.execute(
            update(Device).where(Device.id.in_(devices)).values(config_version=Device.config_version + 1),
            execution_options={"synchronize_session": False},
        )
    return devices
