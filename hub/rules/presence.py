"""Who and what needs looking at now: a door held open, a lone worker overdue, a device gone quiet.

Pure functions over facts and `now`. Device silence is measured by when the hub received a heartbeat, not by
the device's own clock, which may be the thing that is wrong.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.rules.entries import UNIDENTIFIED, EntryDecision, EntryKind
from hub.rules.facts import DoorFact, in_order
from protocol.events import EventType

DEVICE_OFFLINE_AFTER = timedelta(seconds=130)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DoorHeldOpen(Frozen):
    device: str
    door: str | None
    room: str | None
    opened: str = Field(title="Id of the door.opened fact")
    since: AwareDatetime
    open_for_s: int


def doors_held_open(facts: Sequence[DoorFact], now: datetime, limit_s: int) -> list[DoorHeldOpen]:
    """Doors whose last movement was opening, open for at least `limit_s` at `now`."""
    last: dict[tuple[str, str | None], DoorFact] = {}
    for fact in in_order(facts):
        if fact.type in (EventType.DOOR_OPENED, EventType.DOOR_CLOSED) and fact.at <= now:
            last[(fact.device, fact.door)] = fact
    held = []
    for (device, door), fact in last.items():
        open_for = now - fact.at
        if fact.type == EventType.DOOR_OPENED and open_for >= timedelta(seconds=limit_s):
            held.append(
                DoorHeldOpen(
                    device=device, door=door, room=fact.room, opened=fact.id, since=fact.at, open_for_s=int(open_for.total_seconds())
                )
            )
    return held


class CheckIn(Frozen):
    """A staff member's "I'm fine" from their handset while in a room."""

    staff: str
    room: str
    at: AwareDatetime


class LoneWorkerOverdue(Frozen):
    staff: str
    room: str
    entry: str = Field(title="door.opened id of the entry")
    last_heard: AwareDatetime = Field(title="The entry or their last check-in")
    overdue_s: int


def lone_workers_overdue(
    entries: Sequence[EntryDecision],
    door_facts: Sequence[DoorFact],
    check_ins: Sequence[CheckIn],
    now: datetime,
    limit_s: int,
) -> list[LoneWorkerOverdue]:
    """Identified staff who entered, closed the door behind them, and have not been heard from for `limit_s`.

    They count as inside from the door closing after their entry until that door next opens (they, or someone,
    came out or went in). Unidentified entries cannot name anyone and are left to the entry alert.
    """
    overdue = []
    limit = timedelta(seconds=limit_s)
    for entry in entries:
        if entry.kind != EntryKind.ENTRY or entry.who == UNIDENTIFIED or entry.closed_at is None:
            continue
        closed_at = entry.closed_at
        reopened = [
            f
            for f in door_facts
            if f.type == EventType.DOOR_OPENED
            and f.device == entry.device
            and f.door == entry.door
            and closed_at < f.at <= now
        ]
        if reopened:
            continue
        heard = [c.at for c in check_ins if c.staff == entry.who and c.room == entry.room and entry.opened_at <= c.at <= now]
        last_heard = max([entry.opened_at, *heard])
        if now - last_heard >= limit:
            overdue.append(
                LoneWorkerOverdue(
                    staff=entry.who,
                    room=entry.room,
                    entry=entry.door_opened,
                    last_heard=last_heard,
                    overdue_s=int((now - last_heard - limit).total_seconds()),
                )
            )
    return overdue


class DeviceOffline(Frozen):
    device: str
    last_heartbeat: AwareDatetime | None = Field(title="When the hub received its last heartbeat; None: never")


def devices_offline(
    devices: Iterable[str], facts: Sequence[DoorFact], now: datetime, limit: timedelta = DEVICE_OFFLINE_AFTER
) -> list[DeviceOffline]:
    """Devices with no heartbeat received within `limit` before `now` (a device never heard from included)."""
    last: dict[str, datetime] = {}
    for fact in facts:
        if fact.type == EventType.DEVICE_HEARTBEAT and fact.received_at <= now:
            last[fact.device] = max(fact.received_at, last.get(fact.device, fact.received_at))
    return [
        DeviceOffline(device=device, last_heartbeat=last.get(device))
        for device in devices
        if device not in last or now - last[device] > limit
    ]
