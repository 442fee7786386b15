"""Each device's signed configuration, built from the registry (PROTOCOL.md §5).

For now every door gets the defaults below; resident preferences (issue 3) will replace them.
"""

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.db.models import Device
from protocol.config import DeviceConfig, DoorConfig
from protocol.envelope import seal
from protocol.topics import DeviceChannel, device_topic

DEFAULT_WAIT_S = 30
"""How long staff wait for an answer before "may enter" shows, until the resident sets their own."""


def build_device_config(device: Device, issued_ms: int | None = None) -> DeviceConfig:
    doors = {
        door: DoorConfig(room=room, wait_s=DEFAULT_WAIT_S, quiet_hours=[], show_knocker=False)
        for door, room in sorted(device.doors.items())
    }
    return DeviceConfig(
        device=device.id,
        version=device.config_version,
        issued_ms=int(time.time() * 1000) if issued_ms is None else issued_ms,
        doors=doors,
    )


def sealed_config(device: Device, hub_key: Ed25519PrivateKey, issued_ms: int | None = None) -> tuple[str, bytes]:
    """The config topic and the signed payload to publish there, retained."""
    body = build_device_config(device, issued_ms).model_dump(mode="json", by_alias=True)
    return device_topic(device.site, device.id, DeviceChannel.CONFIG), seal(hub_key, "config", body)
