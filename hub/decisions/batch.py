"""What a committed ingest batch means: entries decided (and re-decided), alerts raised and cleared.

Called by the writer right after the batch's own commit, in a transaction of its own, so a device's receipt never
waits on the rules. Everything it writes goes through entries.py and alerts.py; it returns what to publish live.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from hub.chain import HubChain
from hub.db.bulk import stored_pairs
from hub.db.models import AlertRecord, Device, EntryRecord, StoredEvent
from hub.decisions.alerts import AlertRaise, clear_active, raise_once
from hub.decisions.entries import DOOR_CLOSED, LATE_EVENT, EntryContext, decide_opening, redecide_opening
from hub.decisions.facts import ENTRY_TYPES, at_of, clock_offsets, events_by_id, room_subject
from hub.decisions.live import STATE_TYPES
from hub.ingest.store import NewEvent, Rejection
from hub.live import AlertMessage
from hub.rules.alerts import SECURITY_TYPES, AlertType
from hub.rules.entries import LOOK_BACK
from protocol.errors import ProtocolError
from protocol.events import EventType
from protocol.topics import parse_device_topic

log = logging.getLogger(__name__)

WATCHED_TYPES = ENTRY_TYPES | {EventType.DEVICE_HEARTBEAT, EventType.DEVICE_TAMPER}
"""The stored types the batch step reads back; readings wait for the scheduler's environment round."""


@dataclass
class BatchDecisions:
    alerts: list[AlertMessage] = field(default_factory=list)
    rooms: set[tuple[str, str]] = field(default_factory=set)
    """(site, room) whose live state may have changed."""
    decided: int = 0
    redecided: int = 0

    def joined(self, later: "BatchDecisions") -> "BatchDecisions":
        return BatchDecisions(self.alerts + later.alerts, self.rooms | later.rooms, self.decided + later.decided,
                              self.redecided + later.redecided)


def device_of(topic: str) -> tuple[str, str] | None:
    try:
        parsed = parse_device_topic(topic)
    except ProtocolError:
        return None
    return parsed.site, parsed.device


CLOCK_MARGIN = timedelta(hours=1)
"""How far a device's corrected clock may stand from its own: openings are looked for this much wider, on raw
device times, before any clock offset is read."""


MOVEMENT = frozenset({EventType.MOTION_DETECTED, EventType.MOTION_CLEARED})
"""Types that change nothing the batch step decides unless an opening decided before sits near them: most of
what a door sends, so they are read back only then."""


class DecidedOpening(NamedTuple):
    """Where and when an opening decided before was: all a batch needs to know whether it may change it."""

    door_opened_event_id: int
    device: str
    door: str | None
    room: str | None
    opened_at: datetime


# Built once and run on the session's connection: every batch asks, and building a fresh expression through the
# ORM each time was a third of what these reads cost the writer (py-spy, PostgreSQL).
_NEAR = and_(EntryRecord.room.in_(bindparam("rooms", expanding=True)), EntryRecord.opened_at > bindparam("earliest"),
             EntryRecord.opened_at <= bindparam("latest"))
_DECIDED_NEAR = select(EntryRecord.door_opened_event_id, EntryRecord.device, EntryRecord.door, EntryRecord.room,
                       EntryRecord.opened_at).where(_NEAR).distinct()
_ROOMS_DECIDED_NEAR = select(EntryRecord.room).where(_NEAR).distinct()


def _near(facts: list[tuple[str, int]]) -> dict[str, Any]:
    """The parameters of `_NEAR` for openings whose look-back may reach these (room, device time in ms) facts."""
    return {"rooms": sorted({room for room, _ in facts}),
            "earliest": at_of(min(ts_ms for _, ts_ms in facts)) - CLOCK_MARGIN,
            "latest": at_of(max(ts_ms for _, ts_ms in facts)) + LOOK_BACK + CLOCK_MARGIN}


def decided_near(session: Session, facts: list[tuple[str, int]]) -> list[DecidedOpening]:
    """Openings already decided near these facts, once each (not once per revision): a busy room's hours hold
    many, and every batch asks."""
    if not facts:
        return []
    return [DecidedOpening(*row) for row in session.connection().execute(_DECIDED_NEAR, _near(facts))]


def rooms_decided_near(session: Session, facts: list[tuple[str, int]]) -> set[str]:
    """The rooms with an opening decided near these facts. (A correlated EXISTS per room was measured slower on
    PostgreSQL than this DISTINCT over the room's index range.)"""
    if not facts:
        return set()
    return {room for room in session.connection().execute(_ROOMS_DECIDED_NEAR, _near(facts)).scalars() if room}


def stored_in_batch(session: Session, new_events: list[NewEvent]) -> list[StoredEvent]:
    """The rows a batch newly stored (store_batch's `new_events`) that the rules act on, in time order."""
    watched = [event for event in new_events if event.type in WATCHED_TYPES]
    movement = [(event.room, event.ts_ms) for event in watched if event.type in MOVEMENT and event.room is not None]
    near_rooms = rooms_decided_near(session, movement)
    pairs = [(event.device, event.seq) for event in watched
             if event.type not in MOVEMENT or event.room in near_rooms]
    if not pairs:
        return []
    rows = session.scalars(select(StoredEvent).where(stored_pairs(pairs)))
    return sorted(rows, key=lambda row: (row.ts_ms, row.device, row.seq))


def _room_of_device(device: Device | None) -> str | None:
    rooms = sorted(set(device.doors.values())) if device else []
    return rooms[0] if len(rooms) == 1 else None


def _security_alerts(session: Session, chain: HubChain, rejected: list[Rejection], now: datetime,
                     context: EntryContext) -> list[AlertMessage]:
    messages: list[AlertMessage] = []
    for rejection in rejected:
        if rejection.reason not in SECURITY_TYPES or rejection.device is None:
            continue
        where = device_of(rejection.message.topic)
        if where is None:
            continue
        site = where[0]
        known = session.get(Device, rejection.device)
        detail = f" ({rejection.detail})" if rejection.detail else ""
        wanted = AlertRaise(
            site=known.site if known else site, room=_room_of_device(known), type=AlertType(rejection.reason),
            subject=f"device:{rejection.device}", sentence=None,
        )
        raised = raise_once(session, chain, wanted, now, context.ladder)
        if raised:
            log.warning("security alert %s for device %s%s", rejection.reason, rejection.device, detail)
        messages += raised
    return messages


def _unsynced_clocks(session: Session, rows: list[StoredEvent]) -> set[str]:
    """The subjects (devices) among these rows' heartbeats with a clock-unsynced alert active: the only ones a
    synchronised heartbeat has anything to clear for. One query for a batch: when every door sends its heartbeat
    at once (as after a power cut), two each made one batch's decisions several times as long."""
    subjects = {f"device:{row.device}" for row in rows if row.type == EventType.DEVICE_HEARTBEAT}
    if not subjects:
        return set()
    return set(session.scalars(select(AlertRecord.subject).where(
        AlertRecord.type == AlertType.CLOCK_UNSYNCED, AlertRecord.subject.in_(subjects),
        AlertRecord.cleared_at.is_(None))))


def _device_alerts(session: Session, chain: HubChain, row: StoredEvent, now: datetime, context: EntryContext,
                   unsynced: set[str]) -> list[AlertMessage]:
    device_subject = f"device:{row.device}"
    if row.type == EventType.HELP_REQUESTED and row.room:
        wanted = AlertRaise(row.site, row.room, AlertType.HELP_REQUESTED, room_subject(row.site, row.room),
                            rests_on=(str(row.id),))
        return raise_once(session, chain, wanted, now, context.ladder)
    if row.type not in (EventType.DEVICE_TAMPER, EventType.DEVICE_HEARTBEAT):
        return []
    data = json.loads(row.signed).get("data") or {}
    if row.type == EventType.DEVICE_TAMPER:
        sentence = f"A door device reported that its enclosure or wiring was disturbed: “{data.get('what', '')}”."
        wanted = AlertRaise(row.site, _room_of(session, row), AlertType.TAMPER, device_subject, (str(row.id),),
                            sentence=sentence)
        return raise_once(session, chain, wanted, now, context.ladder)
    if data.get("clock_synced") is False:
        wanted = AlertRaise(row.site, _room_of(session, row), AlertType.CLOCK_UNSYNCED, device_subject,
                            (str(row.id),))
        return raise_once(session, chain, wanted, now, context.ladder)
    if data.get("clock_synced") is True and device_subject in unsynced:
        return clear_active(session, chain, AlertType.CLOCK_UNSYNCED, device_subject, now,
                            "The device reports its clock synchronised again.", context.ladder)
    return []


def _room_of(session: Session, row: StoredEvent) -> str | None:
    return row.room or _room_of_device(session.get(Device, row.device))


def _on_same_door(row: StoredEvent, record: DecidedOpening) -> bool:
    return (row.device == record.device and row.door == record.door) or (row.room is not None and row.room == record.room)


def _to_redecide(session: Session, stored: list[StoredEvent]) -> dict[int, str]:
    """Openings decided before this batch that it may change, with the cause: a late event dated inside an
    opening's look-back, or the door closing after it. The batch's own openings, decided already, are no late
    events for themselves. Clock offsets are read only for rows that may matter: most batches (motion, readings,
    heartbeats) find no decided opening near them and cost one query."""
    causes: dict[int, str] = {}
    closings = [row for row in stored if row.type == EventType.DOOR_CLOSED]
    entry_facts = [row for row in stored if row.type in ENTRY_TYPES and row.room is not None]
    own = {row.id for row in stored if row.type == EventType.DOOR_OPENED}
    decided = [record for record in decided_near(session, [(row.room, row.ts_ms) for row in entry_facts])
               if record.door_opened_event_id not in own]
    near = [row for row in entry_facts if any(_on_same_door(row, record) for record in decided)]
    offsets = clock_offsets(session, closings + [row for row in near if row not in closings])

    def corrected(row: StoredEvent) -> datetime:
        return at_of(row.ts_ms - offsets.get(row.id, 0))

    for row in closings:
        last_opening = session.scalar(
            select(EntryRecord).where(EntryRecord.device == row.device, EntryRecord.door == row.door,
                                      EntryRecord.opened_at <= corrected(row))
            .order_by(EntryRecord.opened_at.desc(), EntryRecord.revision.desc()).limit(1)
        )
        if last_opening is not None and last_opening.closed_at is None:
            causes[last_opening.door_opened_event_id] = DOOR_CLOSED
    for record in decided:
        for row in near:
            at = corrected(row)
            if row.id != record.door_opened_event_id and _on_same_door(row, record) \
                    and at < record.opened_at <= at + LOOK_BACK:
                causes[record.door_opened_event_id] = LATE_EVENT
                break
    return causes


@dataclass
class BatchPlan:
    """What a committed batch asks of the rules: its rows the rules act on, and (found once its new openings are
    decided, see `find_redecisions`) the openings decided before that it may change, with the cause."""

    stored: list[StoredEvent]
    rejected: list[Rejection]
    redecide: dict[int, str] = field(default_factory=dict)


def plan_batch(session: Session, new_events: list[NewEvent], rejected: list[Rejection]) -> BatchPlan:
    return BatchPlan(stored_in_batch(session, new_events), rejected)


def find_redecisions(session: Session, plan: BatchPlan) -> None:
    """Fill in `plan.redecide`. Read after the batch's new openings are decided, committed and published, so their
    alerts never wait on these reads (a few statements a batch)."""
    plan.redecide = _to_redecide(session, plan.stored) if plan.stored else {}


def decide_batch(session: Session, chain: HubChain, plan: BatchPlan, now: datetime,
                 context: EntryContext) -> BatchDecisions:
    """What is urgent in a committed batch, written into `session` (the caller commits and publishes at once):
    the alerts devices raise, and the batch's new openings decided."""
    outcome = BatchDecisions()
    outcome.alerts += _security_alerts(session, chain, plan.rejected, now, context)
    unsynced = _unsynced_clocks(session, plan.stored)
    for row in plan.stored:
        outcome.alerts += _device_alerts(session, chain, row, now, context, unsynced)
    for row in plan.stored:
        if row.type == EventType.DOOR_OPENED:
            decision, alerts = decide_opening(session, chain, row, now, context, just_stored=True)
            outcome.decided += decision is not None
            outcome.alerts += alerts
    outcome.rooms |= {(row.site, row.room) for row in plan.stored if row.room and row.type in STATE_TYPES}
    outcome.rooms |= {(message.site, message.room) for message in outcome.alerts if message.room}
    return outcome


def redecide_batch(session: Session, chain: HubChain, plan: BatchPlan, now: datetime,
                   context: EntryContext) -> BatchDecisions:
    """The openings decided before that the batch changes, decided again (the caller commits): after the urgent
    part, so a door closing behind one entry never holds up the alert of the next."""
    outcome = BatchDecisions()
    openings = events_by_id(session, plan.redecide)
    for opening_id, cause in sorted(plan.redecide.items()):
        decision, alerts = redecide_opening(session, chain, openings[opening_id], cause, now, context)
        outcome.redecided += decision is not None
        outcome.alerts += alerts
    outcome.rooms |= {(message.site, message.room) for message in outcome.alerts if message.room}
    return outcome
