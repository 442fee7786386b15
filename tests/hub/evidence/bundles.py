"""Making a case's bundle, and rewriting one member of a bundle the way someone altering it would."""

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.evidence.bundle import export_bundle
from hub.evidence.cases import open_case
from tests.hub.evidence.conftest import HUB_KEY, SITE, T0, EvidenceHome


def case_bundle(home: EvidenceHome, out: Path, rooms: list[str], staff: list[str]) -> dict[str, Any]:
    """Four rounds with checkpoints after the third and fourth; the case covers the first two rounds."""
    home.night(3)
    home.checkpoint()
    home.night(1)
    home.checkpoint()
    with home.sessions() as session:
        case = open_case(session, site=SITE, opened_by="meg", reason="conflicting accounts of the night",
                         rooms=rooms, staff=staff, window_from=T0, window_to=T0 + timedelta(minutes=14), now=T0)
        session.commit()
        return export_bundle(session, case.id, out, HUB_KEY, T0 + timedelta(days=1))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(source: Path, target: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of the bundle with members replaced (bytes) or removed (None)."""
    contents = members(source)
    for name, data in changes.items():
        if data is None:
            contents.pop(name)
        else:
            contents[name] = data
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return target


def event_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in members(path)["events.jsonl"].splitlines()]


def as_lines(entries: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(entry, ensure_ascii=False).encode() + b"\n" for entry in entries)
