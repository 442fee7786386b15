"""Which doors a change about people reaches: the devices serving a room, and the config bump that republishes them."""

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.db.models import Device


def devices_serving(session: Session, home_id: str, rooms: set[str], *, retired_too: bool = False) -> list[Device]:
    """The home's devices with a door to any of `rooms`, by id: the active ones, or every one that ever served."""
    query = select(Device).where(Device.site == home_id).order_by(Device.id)
    if not retired_too:
        query = query.where(Device.retired_at.is_(None))
    return [device for device in session.scalars(query) if rooms & set((device.doors or {}).values())]


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
