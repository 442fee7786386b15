"""The device registry: which agents belong to which site, their public keys, and which room is behind each door.

Every change bumps the device's `config_version`; the worker notices and publishes the new signed config.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Device
from protocol.errors import ProtocolError
from protocol.hub_events import HUB_SOURCE
from protocol.signing import public_key_from_b64
from protocol.topics import check_id


class RegistryError(ValueError):
    """A registry change that cannot be made; `reason` is a short code, the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def _checked_doors(doors: dict[str, str]) -> dict[str, str]:
    if not doors:
        raise RegistryError("no_doors", "a device serves at least one door")
    try:
        return {check_id("door", door): check_id("room", room) for door, room in doors.items()}
    except ProtocolError as error:
        raise RegistryError(error.reason, error.detail) from None


def _checked_key(public_key: str) -> str:
    try:
        public_key_from_b64(public_key)
    except ProtocolError as error:
        raise RegistryError("bad_public_key", error.detail) from None
    except ValueError as error:
        raise RegistryError("bad_public_key", str(error)) from None
    return public_key


def _active(session: Session, device: str) -> Device:
    found = session.get(Device, device)
    if found is None:
        raise RegistryError("unknown_device", f"no device {device!r} is registered")
    if found.retired_at is not None:
        raise RegistryError("retired_device", f"device {device!r} was retired at {found.retired_at.isoformat()}")
    return found


def register_device(session: Session, *, site: str, device: str, public_key: str, doors: dict[str, str]) -> Device:
    """Add a device; the caller commits. RegistryError on a bad id, key or door, or an id already taken."""
    try:
        check_id("site", site)
        check_id("device", device)
    except ProtocolError as error:
        raise RegistryError(error.reason, error.detail) from None
    if device == HUB_SOURCE:
        raise RegistryError("reserved_id", f"{HUB_SOURCE!r} is the hub's own chain, not a device")
    entry = Device(
        id=device,
        site=site,
        public_key=_checked_key(public_key),
        doors=_checked_doors(doors),
        config_version=1,
        created_at=datetime.now(UTC),
        status="unknown",
    )
    if session.get(Device, device) is not None:
        raise RegistryError("device_exists", f"device {device!r} is already registered (retired ids are not reused)")
    session.add(entry)
    session.flush()
    return entry


def set_doors(session: Session, device: str, doors: dict[str, str]) -> Device:
    """Replace a device's doors → rooms; bumps its config version."""
    entry = _active(session, device)
    entry.doors = _checked_doors(doors)
    entry.config_version += 1
    session.flush()
    return entry


def retire_device(session: Session, device: str) -> Device:
    """Stop accepting a device's events (its history stays); bumps its config version."""
    entry = _active(session, device)
    entry.retired_at = datetime.now(UTC)
    entry.config_version += 1
    session.flush()
    return entry


def list_devices(session: Session, *, site: str | None = None, include_retired: bool = True) -> list[Device]:
    query = select(Device).order_by(Device.site, Device.id)
    if site is not None:
        query = query.where(Device.site == site)
    if not include_retired:
        query = query.where(Device.retired_at.is_(None))
    return list(session.scalars(query))
