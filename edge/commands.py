"""Commands from the hub (PROTOCOL.md §6): checked, and each id run once even across restarts."""

import sqlite3
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from protocol.commands import Command
from protocol.envelope import open_sealed
from protocol.errors import ProtocolError


def open_command(payload: bytes, hub_key: Ed25519PublicKey | None, device: str, now_ms: int) -> Command:
    """The command in a payload the hub signed for this device and that has not expired, or ProtocolError."""
    if hub_key is None:
        raise ProtocolError("no_hub_key", "this agent has no hub public key to check commands with")
    body = open_sealed(payload, "command", hub_key)
    try:
        command = Command.model_validate(body)
    except ValidationError as error:
        raise ProtocolError("bad_command", str(error.errors()[0]["msg"])) from None
    if command.device != device:
        raise ProtocolError("wrong_device", f"command is for {command.device!r}")
    if command.expires_ms <= now_ms:
        raise ProtocolError("expired", f"command {command.id} expired at {command.expires_ms}")
    return command


class CommandLedger:
    """The ids of commands already run, on disk."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS run_commands (id TEXT PRIMARY KEY, run_ms INTEGER NOT NULL)")

    def claim(self, command_id: str, now_ms: int) -> bool:
        """True the first time an id is claimed; False ever after."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO run_commands (id, run_ms) VALUES (?, ?)", (command_id, now_ms)
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
