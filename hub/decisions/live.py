"""Live on the hub's own topics (hub/live.py): every alert change, and each room's state when it changes.

`room_state` is a pure reading of a room's latest facts. `LiveBoard` publishes alerts from the thread that
committed them (the writer, or a scheduler round holding the writer's lock), never from a paho callback; rooms'
states it reads and publishes on a thread of its own, so the writer goes on to the next batch (and its alerts)
at once. paho's publish only queues the packet for its network thread, so nothing here waits on the broker.
"""

import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

import paho.mqtt.client as mqtt
from sqlalchemy import func, select, union_all
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import AlertRecord, EntryRecord, StoredEvent
from hub.decisions.facts import door_facts
from hub.people.doors import ServingDevice, devices_by_room
from hub.live import AlertMessage, RoomState, RoomStateMessage, alerts_topic, room_topic
from hub.rules.alerts import AlertType
from hub.rules.entries import EntryKind
from hub.rules.facts import DoorFact, in_order
from protocol.events import EventType

log = logging.getLogger(__name__)

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


def room_messages(session: Session, site: str, rooms: Iterable[str], now: datetime) -> list[RoomStateMessage]:
    """Where each of a home's rooms stands, by room id: the same six statements however many rooms, because the
    live board reads every room a batch touched, on the worker's process, while the next alert waits for it."""
    serving = devices_by_room(session, site, rooms)
    recent = _recent_state_events(session, serving)
    facts: dict[str, list[DoorFact]] = {room: [] for room in serving}
    for fact in door_facts(session, recent):
        facts[fact.room or ""].append(fact)
    entries = _entries(session, [row.id for row in recent if row.type == EventType.DOOR_OPENED])
    offline = _offline_since(session, serving)
    active = dict(session.execute(
        select(AlertRecord.room, func.count()).where(
            AlertRecord.site == site, AlertRecord.room.in_(serving), AlertRecord.cleared_at.is_(None),
        ).group_by(AlertRecord.room)
    ).all())
    messages = []
    for room in sorted(serving):
        state, since = room_state(facts[room], entries, offline.get(room))
        messages.append(RoomStateMessage(site=site, room=room, state=state, since=since or now,
                                         active_alerts=active.get(room, 0)))
    return messages


def _recent_state_events(session: Session, serving: dict[str, list[ServingDevice]]) -> list[StoredEvent]:
    """Each room's RECENT_FACTS latest state events from its own doors, in one statement. By room and its doors
    rather than by site: the (room, ts_ms) index then answers each part from the newest end, however long the home's
    history (a site filter let SQLite walk the whole site's events instead)."""
    parts = [
        select(select(StoredEvent.id).where(
            StoredEvent.room == room, StoredEvent.device.in_([device.id for device in devices]),
            StoredEvent.type.in_([str(t) for t in STATE_TYPES]),
        ).order_by(StoredEvent.ts_ms.desc()).limit(RECENT_FACTS).subquery())  # SQLite: no LIMIT on a compound's part
        for room, devices in sorted(serving.items()) if devices
    ]
    if not parts:
        return []
    return list(session.scalars(select(StoredEvent).where(StoredEvent.id.in_(union_all(*parts)))))


def _entries(session: Session, openings: list[int]) -> set[str]:
    """The ids of the door openings whose latest decision is an entry."""
    latest: dict[int, tuple[int, str]] = {}
    if openings:
        for opening, kind, revision in session.execute(
            select(EntryRecord.door_opened_event_id, EntryRecord.kind, EntryRecord.revision)
            .where(EntryRecord.door_opened_event_id.in_(openings))
        ):
            if opening not in latest or revision > latest[opening][0]:
                latest[opening] = (revision, kind)
    return {str(opening) for opening, (_, kind) in latest.items() if kind == EntryKind.ENTRY}


def _offline_since(session: Session, serving: dict[str, list[ServingDevice]]) -> dict[str, datetime]:
    """Room → since when it has been offline: a door of it marked offline, else its earliest active offline alert."""
    subjects = {f"device:{device.id}" for devices in serving.values() for device in devices}
    raised = dict(session.execute(select(AlertRecord.subject, AlertRecord.raised_at).where(
        AlertRecord.type == AlertType.DEVICE_OFFLINE, AlertRecord.subject.in_(subjects),
        AlertRecord.cleared_at.is_(None),
    )).all()) if subjects else {}
    offline: dict[str, datetime] = {}
    for room, devices in serving.items():
        marked = [device for device in devices if device.status == "offline"]
        alerted = [raised[f"device:{device.id}"] for device in devices if f"device:{device.id}" in raised]
        since = marked[0].status_at if marked else min(alerted, default=None)
        if since is not None:
            offline[room] = since
    return offline


class LiveBoard:
    """Publishes alert changes (not retained) and room states (retained, only when they change)."""

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self._rooms: dict[tuple[str, str], tuple[RoomState, int]] = {}
        self._due: queue.Queue[tuple[sessionmaker[Session], set[tuple[str, str]], datetime] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._publish_rooms, name="live-board", daemon=True)

    def start(self) -> "LiveBoard":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Publish the room states still due, then stop."""
        self._due.put(None)
        self._thread.join()

    def alerts(self, messages: Iterable[AlertMessage]) -> None:
        for message in messages:
            self.client.publish(alerts_topic(message.site), message.model_dump_json().encode(), qos=1)

    def rooms_changed(self, sessions: sessionmaker[Session], rooms: Iterable[tuple[str, str]], at: datetime) -> None:
        """Read these (site, room) states once committed data allows, and publish the ones that changed."""
        due = set(rooms)
        if due:
            self._due.put((sessions, due, at))

    def _publish_rooms(self) -> None:
        while (item := self._due.get()) is not None:
            sessions, due, at = item
            # Whatever else is due by now is read in the same pass: a room's latest state is all that matters.
            while True:
                try:
                    more = self._due.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._due.put(None)
                    break
                due |= more[1]
                at = max(at, more[2])
            try:
                with sessions() as session:
                    messages = [message for site in sorted({site for site, _ in due})
                                for message in room_messages(session, site, {r for s, r in due if s == site}, at)]
            except SQLAlchemyError:
                log.exception("could not read the state of %d rooms; they are published with their next change",
                              len(due))
                continue
            for message in messages:
                self._publish_room(message)

    def _publish_room(self, message: RoomStateMessage) -> None:
        key = (message.site, message.room)
        shown = (message.state, message.active_alerts)
        if self._rooms.get(key) == shown:
            return
        self.client.publish(room_topic(message.site, message.room), message.model_dump_json().encode(),
                            qos=1, retain=True)
        self._rooms[key] = shown
