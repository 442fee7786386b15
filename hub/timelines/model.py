"""What a timeline is made of. Plain dataclasses: a home's night is thousands of items, and the API turns
these into JSON through FastAPI's own dataclass support, so nothing here is validated twice."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Lane(StrEnum):
    DOOR = "door"
    KNOCK = "knock_and_answer"
    INDICATOR = "indicator"
    MOTION = "motion"
    STAFF = "staff_actions"
    ALERTS = "alerts"
    ENVIRONMENT = "environment"
    DEVICE = "device"
    """Heartbeats, tamper and vendor (x.*) events: facts about the device rather than the room."""
    RECORDS = "records"
    """The hub's own records: entry decisions, preference versions, tenancies, welfare prompts, timeline reads."""


LANE_ORDER = tuple(Lane)


class View(StrEnum):
    ROOM = "room"
    HOME = "home"
    STAFF = "staff"
    CASE = "case"


class UnknownKind(StrEnum):
    GAP = "gap"
    DEVICE_OFFLINE = "device_offline"
    CLOCK_UNSYNCED = "clock_unsynced"
    LATE_ARRIVAL = "late_arrival"


@dataclass(slots=True)
class Item:
    """One stored event on the timeline, at its corrected time, with the device's own time and the hub's beside it.
    Not frozen, unlike the rest: a home's night makes thousands, and a frozen dataclass takes three times as long
    to make; nothing changes one after assembly."""

    id: int
    lane: Lane
    source: str
    seq: int
    type: str
    door: str | None
    room: str | None
    at: datetime
    device_ts_ms: int
    received_at: datetime
    basis: str
    correction_ms: int | None
    text: str
    fields: dict[str, Any] = field(default_factory=dict)
    late_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    """Something the record cannot say: drawn as a span on every timeline it touches."""

    kind: UnknownKind
    source: str
    start: datetime
    end: datetime | None
    text: str
    rooms: tuple[str, ...] = ()
    first_seq: int | None = None
    last_seq: int | None = None
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Support:
    source: str
    present: bool
    event_id: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Revision:
    revision: int
    cause: str
    decided_at: datetime
    outcome: str
    reason: str
    sentence: str


@dataclass(frozen=True, slots=True)
class EntryOverlay:
    """The decision in force about one door opening, its earlier revisions, and what corroborates it."""

    door_opened_event_id: int
    room: str | None
    device: str
    door: str | None
    opened_at: datetime
    closed_at: datetime | None
    kind: str
    outcome: str
    reason: str
    sentence: str
    who: str
    revision: int
    rules_version: str
    preference_version: int | None
    waited_ms: int | None
    wait_s: int | None
    inside_ms: int | None
    review_required: bool
    corroborated_by: int
    supports: tuple[Support, ...]
    missing: tuple[str, ...]
    history: tuple[Revision, ...]


@dataclass(frozen=True, slots=True)
class StaffNight:
    """A member of staff's own night: what they did, and how long they waited and stayed."""

    staff: str
    knocks: int
    entries: int
    waits_ms: tuple[int, ...]
    inside_ms: int
    check_ins: int
    alerts_handled: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderBasis:
    rule: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Timeline:
    view: View
    site: str
    subject: str
    start: datetime
    end: datetime
    time_zone: str
    lanes: tuple[Lane, ...]
    items: tuple[Item, ...]
    entries: tuple[EntryOverlay, ...]
    unknowns: tuple[Unknown, ...]
    summary: tuple[str, ...]
    order_basis: OrderBasis
    staff_night: StaffNight | None = None
