"""Signed envelopes: `{"<kind>": {…}, "sig": "…"}` for events, configs and commands (PROTOCOL.md §3, §5, §6)."""

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol import MAX_PAYLOAD_BYTES
from protocol.errors import ProtocolError
from protocol.signing import sign, verify


def seal(key: Ed25519PrivateKey, kind: str, body: dict[str, Any]) -> bytes:
    """The payload bytes for a signed body of `kind` ("event", "config" or "command")."""
    return json.dumps({kind: body, "sig": sign(key, body)}, separators=(",", ":"), ensure_ascii=False).encode()


def load_json_object(payload: bytes) -> dict[str, Any]:
    """Decode a payload: at most 16 KiB of UTF-8 JSON holding an object."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("oversized", f"{len(payload)} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit")
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError("malformed_json", str(error)[:200]) from None
    if not isinstance(document, dict):
        raise ProtocolError("malformed_json", "the payload is not a JSON object")
    return document


def split_envelope(payload: bytes, kind: str) -> tuple[dict[str, Any], str]:
    """The body and signature of a signed envelope, before any check of the body itself."""
    document = load_json_object(payload)
    body, sig = document.get(kind), document.get("sig")
    if not isinstance(body, dict) or not isinstance(sig, str):
        raise ProtocolError("bad_envelope", f'expected {{"{kind}": {{…}}, "sig": "…"}}')
    return body, sig


def open_sealed(payload: bytes, kind: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The body of a signed envelope whose signature `public_key` verifies."""
    body, sig = split_envelope(payload, kind)
    verify(public_key, body, sig)
    return body
