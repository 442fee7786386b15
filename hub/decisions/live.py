"""Live on the hub's own topics (hub/live.py): every alert change, and each room's state when it changes.

`room_state` is a pure reading of a room's latest facts; `LiveBoard` publishes from the thread that committed (the
writer, or a scheduler round holding the writer's lock), never from a paho callback. paho's publish only queues the
packet for its network thread, so nothing here waits on the broker.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

import paho.mqtt.client as mqtt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db.models import AlertRecord, Device, EntryRecord, StoredEvent
from hub.decisions.facts import door_facts
from hub.live import AlertMessage, RoomState, RoomStateMessage, alerts_topic, room_topic
from hub.rules.alerts import AlertType
from hub.rules.entries import EntryKind
from hub.rules.facts import DoorFact, in_order
from protocol.events import EventType

RECENT_FACTS = 50
"""How many of a room's latest state facts are read to know where it stands."""

STATE_TYPES = (
    EventType.KNOCK_REQUESTED, EventType.CONSENT_GRANTED, EventType.CONSENT_DECLINED, EventType.KNOCK_EXPIRED,
    EventType.DOOR_OPENED, EventType.DOOR_CLOSED, EventType.DND_ON, EventType.DND_OFF,
)
ANSWERS = (EventType.CONSENT_GRANTED, EventType.CONSENT_DECLINED, EventType.KNOCK_EXPIRED)


def room_state(facts: Sequence[DoorFact], entries: set[str], offline_since: datetime | None,
               ) -> tuple[RoomState, datetime | None]:
    """Where a room stands after its facts: offline, else someone in through an open door after an entry (`entries`
    holds the ids of door openings decided as entries), else "do not disturb", else a knock waiting for an answer,
    else idle. Returns the state and since when."""
    if offline_since is not None:
        return RoomState.OFFLINE, offline_since
    door: tuple[RoomState, datetime | None] = (RoomState.IDLE, None)
    knock: datetime | None = None
    dnd: datetime | None = None
    for fact in in_order(facts):
        if fact.type == EventType.DND_ON:
            dnd = fact.at
        elif fact.type == EventType.DND_OFF:
            dnd = None
        elif fact.type == EventType.KNOCK_REQUESTED:
            knock = fact.at
        elif fact.type in ANSWERS:
            knock = None
        elif fact.type == EventType.DOOR_OPENED:
            knock = None
            door = (RoomState.OCCUPIED if fact.id in entries else RoomState.IDLE, fact.at)
        elif fact.type == EventType.DOOR_CLOSED:
            door = (RoomState.IDLE, fact.at)
    if door[0] == RoomState.OCCUPIED:
        return door
    if dnd is not None:
        return RoomState.DO_NOT_DISTURB, dnd
    if knock is not None:
        return RoomState.KNOCK_WAITING, knock
    latest = max((fact.at for fact in facts), default=None)
    return RoomState.IDLE, latest


def _serving(session: Session, site: str, room: str) -> list[Device]:
    return [device for device in session.scalars(select(Device).where(Device.site == site,
                                                                       Device.retired_at.is_(None)))
            if room in device.doors.values()]


def _offline_since(session: Session, site: str, room: str) -> datetime | None:
    serving = _serving(session, site, room)
    if not serving:
        return None
    for device in serving:
        if device.status == "offline":
            return device.status_at
    raised = session.scalar(select(func.min(AlertRecord.raised_at)).where(
        AlertRecord.type == AlertType.DEVICE_OFFLINE,
        AlertRecord.subject.in_([f"device:{device.id}" for device in serving]),
        AlertRecord.cleared_at.is_(None),
    ))
    return raised


def room_message(session: Session, site: str, room: str, now: datetime) -> RoomStateMessage:
    # By the room's own doors rather than by site: the (room, ts_ms) index then answers it from the newest end,
    # however long the home's history (a site filter let SQLite walk the whole site's events instead).
    serving = [device.id for device in _serving(session, site, room)]
    rows = sorted(session.scalars(
        select(StoredEvent).where(StoredEvent.room == room, StoredEvent.device.in_(serving),
                                  StoredEvent.type.in_([str(t) for t in STATE_TYPES]))
        .order_by(StoredEvent.ts_ms.desc()).limit(RECENT_FACTS)
    ), key=lambda row: (row.ts_ms, row.id), reverse=True)
    facts = door_facts(session, rows)
    openings = [row.id for row in rows if row.type == EventType.DOOR_OPENED]
    entries: set[str] = set()
    if openings:
        kinds = session.execute(select(EntryRecord.door_opened_event_id, EntryRecord.kind, EntryRecord.revision)
                                .where(EntryRecord.door_opened_event_id.in_(openings)))
        latest: dict[int, tuple[int, str]] = {}
        for opening, kind, revision in kinds:
            if opening not in latest or revision > latest[opening][0]:
                latest[opening] = (revision, kind)
        entries = {str(opening) for opening, (_, kind) in latest.items() if kind == EntryKind.ENTRY}
    state, since = room_state(facts, entries, _offline_since(session, site, room))
    active = session.scalar(select(func.count()).select_from(AlertRecord).where(
        AlertRecord.site == site, AlertRecord.room == room, AlertRecord.cleared_at.is_(None)
    )) or 0
    return RoomStateMessage(site=site, room=room, state=state, since=since or now, active_alerts=active)


class LiveBoard:
    """Publishes alert changes (not retained) and room states (retained, only when they change)."""

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self._rooms: dict[tuple[str, str], tuple[RoomState, int]] = {}

    def alerts(self, messages: Iterable[AlertMessage]) -> None:
        for message in messages:
            self.client.publish(alerts_topic(message.site), message.model_dump_json().encode(), qos=1)

    def rooms(self, messages: Iterable[RoomStateMessage]) -> None:
        for message in messages:
            key = (message.site, message.room)
            shown = (message.state, message.active_alerts)
            if self._rooms.get(key) == shown:
                continue
            self.client.publish(room_topic(message.site, message.room), message.model_dump_json().encode(),
                                qos=1, retain=True)
            self._rooms[key] = shown
