"""Password hashes (argon2id) and API token digests.

argon2id comes from libsodium through PyNaCl, which the hub already uses to verify signatures: no second binding.
Tokens are 256 random bits, so a plain SHA-256 of one is enough to keep the stored copy useless to a reader.
"""

import hashlib
import secrets

from nacl.exceptions import InvalidkeyError
from nacl.pwhash import argon2id

MAX_PASSWORD_BYTES = 1024
"""Long enough for any passphrase; bounded so a huge body cannot make hashing a denial of service."""

# A real hash to check against when the username is unknown, so a wrong name and a wrong password take as long.
_UNKNOWN_USER_HASH = argon2id.str(secrets.token_bytes(16))


def hash_password(password: str) -> str:
    """The argon2id hash string ($argon2id$v=19$m=…,t=…,p=…$salt$hash) of `password`."""
    return argon2id.str(password.encode()).decode()


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one behind `stored_hash`; `None` (no such account) spends the same time, then no."""
    candidate = stored_hash.encode() if stored_hash else _UNKNOWN_USER_HASH
    try:
        matched = argon2id.verify(candidate, password.encode())
    except InvalidkeyError:
        return False
    return matched and stored_hash is not None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
