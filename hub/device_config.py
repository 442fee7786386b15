"""Each device's signed configuration (PROTOCOL.md §5), built from the registry and the people in its rooms.

A door's settings come from the current preference version of the resident living in the room behind it (through
their tenancy); a room with nobody in it, or whose resident has set nothing yet, gets DEFAULT_PREFERENCES. Anything
that changes these bumps the device's config version in the same transaction (hub.people.doors), and the worker
publishes the result.
"""

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from hub.db.models import Device
from hub.people.homes import occupant
from hub.people.preferences import DEFAULT_PREFERENCES, EntryPreferences, current_version, preferences_of
from protocol.config import DeviceConfig, DoorConfig
from protocol.envelope import seal
from protocol.topics import DeviceChannel, device_topic


def room_preferences(session: Session, home_id: str, room_id: str) -> EntryPreferences:
    resident_id = occupant(session, home_id, room_id)
    version = current_version(session, resident_id) if resident_id else None
    return preferences_of(version) if version else DEFAULT_PREFERENCES


def _door(room: str, preferences: EntryPreferences) -> DoorConfig:
    # not_now_hold_s and dnd_allowed ride as extra door fields: the agent reads them when present.
    return DoorConfig.model_validate({
        "room": room,
        "wait_s": preferences.wait_s,
        "quiet_hours": [span.model_dump(by_alias=True) for span in preferences.quiet_hours],
        "show_knocker": preferences.show_knocker,
        "not_now_hold_s": preferences.not_now_hold_s,
        "dnd_allowed": preferences.dnd_allowed,
    })


def build_device_config(session: Session, device: Device, issued_ms: int | None = None) -> DeviceConfig:
    doors = {
        door: _door(room, room_preferences(session, device.site, room))
        for door, room in sorted(device.doors.items())
    }
    return DeviceConfig(
        device=device.id,
        version=device.config_version,
        issued_ms=int(time.time() * 1000) if issued_ms is None else issued_ms,
        doors=doors,
    )


def sealed_config(
    session: Session, device: Device, hub_key: Ed25519PrivateKey, issued_ms: int | None = None
) -> tuple[str, bytes]:
    """The config topic and the signed payload to publish there, retained."""
    body = build_device_config(session, device, issued_ms).model_dump(mode="json", by_alias=True)
    return device_topic(device.site, device.id, DeviceChannel.CONFIG), seal(hub_key, "config", body)
