"""How many independent sources support each entry decision, and which are missing (principle 4: the record can
clear a member of staff as readily as it supports a resident's account)."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from hub.timelines.model import Item, Support
from protocol.events import EventType
from protocol.hub_events import HubEventType

DOOR = "door contact"
PANEL = "resident panel"
INDICATOR = "indicator"
REMOTE_KNOCK = "remote knock through the hub"
MOTION = "motion"
BADGE = "badge"
SOURCES = (DOOR, PANEL, INDICATOR, REMOTE_KNOCK, MOTION, BADGE)

LOOK_BACK = timedelta(minutes=10)
MOTION_AFTER = timedelta(minutes=2)
BADGE_BEFORE = timedelta(minutes=2)


_WITNESS_TYPES = frozenset({EventType.INDICATOR_CHANGED, EventType.BADGE_PRESENTED, EventType.MOTION_DETECTED,
                            HubEventType.KNOCK_SENT})


class Witnesses:
    """The timeline's items indexed the way corroboration asks about them."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.by_id = {item.id: item for item in items}
        self.indicators: dict[str, list[Item]] = defaultdict(list)
        self.badges: dict[str, list[Item]] = defaultdict(list)
        self.motion: dict[str | None, list[Item]] = defaultdict(list)
        self.hub_knocks: dict[str, Item] = {}
        for item in items:
            kind = item.type
            if kind not in _WITNESS_TYPES:  # most of a night: readings and heartbeats
                continue
            if kind == EventType.INDICATOR_CHANGED:
                self.indicators[item.source].append(item)
            elif kind == EventType.BADGE_PRESENTED:
                self.badges[item.source].append(item)
            elif kind == EventType.MOTION_DETECTED:
                self.motion[item.room].append(item)
            elif isinstance(item.fields.get("command"), str):
                self.hub_knocks[item.fields["command"]] = item


def corroborate(witnesses: Witnesses, *, door_opened: int, device: str, room: str | None,
                knock: int | None, answer: int | None) -> list[Support]:
    """One entry's support from each source, each naming the event that gives it."""
    opened = witnesses.by_id.get(door_opened)
    supports = [Support(DOOR, opened is not None, door_opened if opened else None,
                        "door.opened" if opened else "the door.opened event is outside this timeline")]
    answered = witnesses.by_id.get(answer) if answer is not None else None
    supports.append(Support(PANEL, answered is not None, answer,
                            answered.text if answered else "no answer recorded on the inside panel"))
    if opened is None:
        return supports + [Support(name, False, None, "not checked") for name in SOURCES[2:]]
    knocked = witnesses.by_id.get(knock) if knock is not None else None
    since = knocked.at if knocked else opened.at - LOOK_BACK
    shown = [item for item in witnesses.indicators.get(device, ()) if since <= item.at <= opened.at]
    supports.append(Support(INDICATOR, bool(shown), shown[-1].id if shown else None,
                            shown[-1].text if shown else "no indicator change before the door opened"))
    request = knocked.fields.get("request") if knocked else None
    hub_knock = witnesses.hub_knocks.get(request) if isinstance(request, str) else None
    supports.append(Support(REMOTE_KNOCK, hub_knock is not None, hub_knock.id if hub_knock else None,
                            hub_knock.text if hub_knock else "no knock sent through the hub for this request"))
    moved = [item for item in witnesses.motion.get(room, ()) if opened.at <= item.at <= opened.at + MOTION_AFTER]
    supports.append(Support(MOTION, bool(moved), moved[0].id if moved else None,
                            "motion in the room after the door opened" if moved else "no motion recorded after it"))
    badge = [item for item in witnesses.badges.get(device, ()) if opened.at - BADGE_BEFORE <= item.at <= opened.at]
    supports.append(Support(BADGE, bool(badge), badge[-1].id if badge else None,
                            "badge read at the door" if badge else "no badge read"))
    return supports
