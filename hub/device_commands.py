"""Signed commands for doors (PROTOCOL.md §6): a door ignores one whose signature fails, whose time has passed,
or that it has already run, so each gets a new id and a short life."""

import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.commands import Command
from protocol.envelope import seal

COMMAND_LIFETIME_MS = 30_000
"""A command is for now: a door that gets it later than this (it was offline) ignores it."""


def sealed_command(hub_key: Ed25519PrivateKey, device: str, name: str, args: dict[str, Any]) -> tuple[Command, bytes]:
    issued_ms = int(time.time() * 1000)
    command = Command(device=device, id=str(uuid.uuid4()), issued_ms=issued_ms,
                      expires_ms=issued_ms + COMMAND_LIFETIME_MS, name=name, args=args)
    return command, seal(hub_key, "command", command.model_dump(mode="json"))
