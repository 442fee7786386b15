"""The last good signed config, kept on disk so the door runs on it when the hub is away (PROTOCOL.md §5)."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from protocol.config import DeviceConfig
from protocol.envelope import open_sealed
from protocol.errors import ProtocolError

CONFIG_FILE = "config.json"


def open_config(payload: bytes, hub_key: Ed25519PublicKey | None, device: str) -> DeviceConfig:
    """The config in a payload the hub signed for this device, or ProtocolError saying why not."""
    if hub_key is None:
        raise ProtocolError("no_hub_key", "this agent has no hub public key to check configs with")
    body = open_sealed(payload, "config", hub_key)
    try:
        config = DeviceConfig.model_validate(body)
    except ValidationError as error:
        raise ProtocolError("bad_config", str(error.errors()[0]["msg"])) from None
    if config.device != device:
        raise ProtocolError("wrong_device", f"config is for {config.device!r}")
    return config


class ConfigStore:
    """Holds the newest good config; a lower version, a bad signature or another device's is refused."""

    def __init__(self, data_dir: Path, hub_key: Ed25519PublicKey | None, device: str) -> None:
        self._path = Path(data_dir) / CONFIG_FILE
        self._hub_key, self._device = hub_key, device
        self.current: DeviceConfig | None = None
        if self._path.exists():
            try:
                self.current = open_config(self._path.read_bytes(), hub_key, device)
            except ProtocolError:
                # A file the present hub key does not verify is no config of ours; wait for a signed one.
                self.current = None

    def offer(self, payload: bytes) -> DeviceConfig | None:
        """Take a config received from the hub: the new config if it replaces ours, None if it is the same version.

        Raises ProtocolError for one that must be ignored (bad signature, older version, another device).
        """
        config = open_config(payload, self._hub_key, self._device)
        if self.current is not None:
            if config.version < self.current.version:
                raise ProtocolError("old_version", f"version {config.version} < held {self.current.version}")
            if config.version == self.current.version:
                return None
        temporary = self._path.with_suffix(".tmp")
        with temporary.open("wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self._path)
        self.current = config
        return config
