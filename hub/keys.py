"""The hub's own Ed25519 key: made once, on first start, and kept in a PEM file only its owner can read."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.signing import generate_private_key, private_key_from_pem, private_key_to_pem


def load_or_create_hub_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, made there first if absent. Two processes starting at once end up with the same key."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as file:
                file.write(private_key_to_pem(generate_private_key()))
                file.flush()
                os.fsync(file.fileno())
    return private_key_from_pem(path.read_bytes())
