"""A night on one door, written as (seconds, event type, data) lines, turned into the facts the rules read."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.rules.facts import DoorFact, NightCheck, PreferenceSnapshot, RoomContext, RosterSnapshot, Shift

# 02:00 in London on a winter night (GMT, so local time equals UTC).
DOOR_OPENS = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DEVICE, DOOR, ROOM, RESIDENT = "door-7", "d1", "room-7", "resident-7"
ROOM_7 = RoomContext(room=ROOM, resident=RESIDENT, time_zone="Europe/London")

Line = tuple[float, str, dict[str, Any]]


def fact(seq: int, at: datetime, type: str, data: dict[str, Any] | None = None, *, room: str = ROOM, device: str = DEVICE, received_at: datetime | None = None) -> DoorFact:
    return DoorFact(
        id=f"{device}#{seq}",
        device=device,
        seq=seq,
        type=type,
        door=DOOR,
        room=room,
        ts_ms=int(at.timestamp() * 1000),
        at=at,
        received_at=received_at or at + timedelta(milliseconds=30),
        data=data or {},
    )


def night(lines: Sequence[Line], start: datetime = DOOR_OPENS) -> list[DoorFact]:
    """Facts at `start + seconds`, numbered in the order written (seq follows the device's own order)."""
    return [fact(seq, start + timedelta(seconds=s), type, data) for seq, (s, type, data) in enumerate(lines, start=1)]


def opened(facts: Sequence[DoorFact], nth: int = 1) -> DoorFact:
    return [f for f in facts if f.type == "door.opened"][nth - 1]


def knock(staff: str | None = "s-ana", request: str = "r1") -> dict[str, Any]:
    return {"request": request, "source": "remote" if staff else "button", "staff": staff}


def answer(request: str | None = "r1") -> dict[str, Any]:
    return {"request": request}


PREFERENCES = PreferenceSnapshot(
    version="pref-3",
    wait_s=30,
    not_now_hold_s=120,
    excluded_staff=frozenset({"s-ex"}),
    night_checks=(NightCheck(start="00:00", end="06:00", how="open quietly, no knock", roles=frozenset({"night"})),),
)

ROSTER = RosterSnapshot(
    shifts=(
        Shift(staff="s-ana", role="day", start=DOOR_OPENS - timedelta(hours=4), end=DOOR_OPENS + timedelta(hours=6)),
        Shift(staff="s-ben", role="night", start=DOOR_OPENS - timedelta(hours=4), end=DOOR_OPENS + timedelta(hours=6)),
        Shift(staff="s-day", role="day", start=DOOR_OPENS - timedelta(hours=4), end=DOOR_OPENS + timedelta(hours=6)),
        Shift(staff="s-ex", role="night", start=DOOR_OPENS - timedelta(hours=4), end=DOOR_OPENS + timedelta(hours=6)),
    ),
    badges={"b-ben": "s-ben", "b-day": "s-day", "b-ex": "s-ex"},
)


def last_opened(facts: Sequence[DoorFact]) -> DoorFact:
    return [f for f in facts if f.type == "door.opened"][-1]
