"""The device's own Ed25519 key, made on the device and kept in its data folder."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.signing import generate_private_key, private_key_from_pem, private_key_to_pem

KEY_FILE = "device.key"


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The device key, made (readable by this user only) the first time it is asked for."""
    path = Path(data_dir) / KEY_FILE
    if path.exists():
        return private_key_from_pem(path.read_bytes())
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    # O_EXCL: two processes racing to make the key cannot both win.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(private_key_to_pem(key))
        file.flush()
        os.fsync(file.fileno())
    return key
