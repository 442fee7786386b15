"""Signed bytes, Ed25519 signatures and the device chain (PROTOCOL.md §4).

Keys and signatures travel as standard base64 with padding. This module uses `cryptography` only, so the
edge agent and the standalone bundle verifier need nothing more.
"""

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.errors import ProtocolError

GENESIS_PREV = base64.b64encode(bytes(32)).decode("ascii")


def signed_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and hashed: RFC 8785 for what the protocol carries."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(body_bytes: bytes) -> str:
    """What the next event's `prev` must be: base64 SHA-256 of this event's signed bytes."""
    return base64.b64encode(hashlib.sha256(body_bytes).digest()).decode("ascii")


def b64decode_exact(text: str, length: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ProtocolError("bad_base64", f"{what} is not standard base64") from None
    if len(raw) != length:
        raise ProtocolError("bad_base64", f"{what} is {len(raw)} bytes, not {length}")
    return raw


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_from_pem(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ProtocolError("bad_key", "the key file does not hold an Ed25519 private key")
    return key


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes_raw()).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64decode_exact(text, 32, "public key"))


def sign(key: Ed25519PrivateKey, body: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(signed_bytes(body))).decode("ascii")


def verify_bytes(public_key: Ed25519PublicKey, body_bytes: bytes, sig_b64: str) -> None:
    """Raise ProtocolError('bad_signature') unless `sig_b64` signs exactly `body_bytes`."""
    if not isinstance(sig_b64, str):
        raise ProtocolError("bad_signature", "the signature is not a base64 string")
    try:
        sig = b64decode_exact(sig_b64, 64, "signature")
    except ProtocolError as error:
        raise ProtocolError("bad_signature", error.detail) from None
    try:
        public_key.verify(sig, body_bytes)
    except InvalidSignature:
        raise ProtocolError("bad_signature", "the signature does not match the signed bytes") from None


def verify(public_key: Ed25519PublicKey, body: dict[str, Any], sig_b64: str) -> bytes:
    """Verify a signed body; return its signed bytes (for hashing and storage)."""
    body_bytes = signed_bytes(body)
    verify_bytes(public_key, body_bytes, sig_b64)
    return body_bytes
