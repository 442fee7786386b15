"""Assembling a timeline from what the loaders found: pure, so every rule here is tested without a database."""

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter, itemgetter, le
from zoneinfo import ZoneInfo

from hub.timelines import clock, unknowns
from hub.timelines.corroboration import Witnesses, corroborate
from hub.timelines.facts import DESCRIBED, LANES, NAMES_STAFF, Fact, data_in, describe, staff_of
from hub.timelines.model import (
    LANE_ORDER, EntryOverlay, Item, Lane, OrderBasis, Revision, StaffNight, Timeline, Unknown, UnknownKind, View,
)
from hub.timelines.unknowns import AlertSpan, Beat, SeqMark, at_ms
from protocol.events import EventType
from protocol.hub_events import HUB_SOURCE, HubEventType

LATE_AFTER = timedelta(seconds=60)
OFFLINE_AFTER = timedelta(seconds=130)
HANDLED = frozenset({"acknowledged", "resolved"})


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One revision of an entry decision (an entry_decisions row)."""

    door_opened_event_id: int
    revision: int
    cause: str
    decided_at: datetime
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
    rules_version: str
    preference_version: int | None
    waited_ms: int | None
    wait_s: int | None
    inside_ms: int | None
    review_required: bool
    knock_event_id: int | None
    answer_event_id: int | None
    rests_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    rooms: tuple[str, ...]
    has_doors: bool
    status: str = "unknown"
    status_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """Everything the loaders found for one timeline."""

    view: View
    site: str
    subject: str
    start: datetime
    end: datetime
    time_zone: str
    now: datetime
    facts: Sequence[Fact]
    devices: dict[str, DeviceInfo]
    clock_before: dict[str, clock.ClockReport] = field(default_factory=dict)
    seq_marks: dict[str, list[SeqMark]] = field(default_factory=dict)
    alerts: Sequence[AlertSpan] = ()
    entries: Sequence[EntryRow] = ()
    staff: str | None = None
    scope_rooms: frozenset[str] = frozenset()
    scope_staff: frozenset[str] = frozenset()
    offline_after: timedelta = OFFLINE_AFTER
    late_after: timedelta = LATE_AFTER


_SEQ = itemgetter(Fact._fields.index("seq"))
_DEVICE = Fact._fields.index("device")
_HEARTBEAT = EventType.DEVICE_HEARTBEAT.value
_AT = attrgetter("at")
_MILLISECOND = timedelta(milliseconds=1)
_SOURCE = attrgetter("source")
_BASIS = attrgetter("basis")


def assemble(found: Found) -> Timeline:
    window = (found.start, found.end)
    rooms_of = {device: info.rooms for device, info in found.devices.items()}
    beats, runs = _place(found, rooms_of)
    merged = _in_order(runs)
    entries = _entries(found, merged)
    if found.view == View.STAFF:
        entries = [entry for entry in entries if entry.who == found.staff]
        merged = _scoped_items(found, merged, entries, frozenset(), frozenset({found.staff}))
    elif found.view == View.CASE:
        entries = [entry for entry in entries if entry.room in found.scope_rooms or entry.who in found.scope_staff]
        merged = _scoped_items(found, merged, entries, found.scope_rooms, found.scope_staff)
    shown_sources = set(map(_SOURCE, merged)) | {entry.device for entry in entries}
    if found.view in (View.ROOM, View.HOME):
        shown_sources |= set(found.devices)
    elif found.view == View.CASE:
        shown_sources |= {device for device, info in found.devices.items() if set(info.rooms) & found.scope_rooms}
    unknown_items = _unknowns(found, beats, merged, rooms_of, shown_sources, window)
    counts: Counter[str] = Counter()
    for basis, count in Counter(map(_BASIS, merged)).items():  # counted first: a night has a handful of bases
        counts["device clock corrected" if basis.startswith("device clock corrected") else basis] += count
    lanes = tuple(lane for lane in LANE_ORDER if found.view != View.STAFF or any(i.lane == lane for i in merged))
    return Timeline(
        view=found.view, site=found.site, subject=found.subject, start=found.start, end=found.end,
        time_zone=found.time_zone, lanes=lanes, items=tuple(merged), entries=tuple(entries),
        unknowns=tuple(unknown_items), summary=tuple(_summary(found, entries, unknown_items)),
        order_basis=OrderBasis(rule=clock.RULE, counts=dict(counts)),
        staff_night=_staff_night(found.staff, merged, entries) if found.staff else None,
    )


def _place(found: Found, rooms_of: dict[str, tuple[str, ...]]
           ) -> tuple[dict[str, list[Beat]], dict[str, list[Item]]]:
    """Each fact's corrected time and basis, as one run per source in seq order; the heartbeats, placed too, for
    the unknowns. A source's facts are walked in seq order, so the heartbeat in force at each is the last one
    passed (a heartbeat's own place rests on what it itself says).

    Written for speed: a home's night is thousands of facts, most of them readings and heartbeats, and this walk
    was most of a timeline's time. How to place is worked out once per heartbeat, and each fact is unpacked once."""
    beats: dict[str, list[Beat]] = defaultdict(list)
    for device, report in found.clock_before.items():
        # Its receive time is not loaded: an unsynced one is placed by its own device time, the best there is.
        placed, _basis, _correction = clock.place(report.ts_ms, report.ts_ms, report)
        beats[device].append(Beat(report.seq, at_ms(placed), report.synced))
    by_source: dict[str, list[Fact]] = defaultdict(list)
    for fact in found.facts:
        by_source[fact[_DEVICE]].append(fact)
    runs: dict[str, list[Item]] = {}
    for source, facts in by_source.items():
        facts.sort(key=_SEQ)
        hub = source == HUB_SOURCE
        other_lane = Lane.RECORDS if hub else Lane.DEVICE
        rooms = rooms_of.get(source, ())
        only_room = rooms[0] if len(rooms) == 1 else None
        before = found.clock_before.get(source)
        by_received, offset, basis, correction = clock.ON_HUB_CLOCK if hub else clock.NOT_REPORTED
        run = runs[source] = []
        for id, _site, _device, seq, kind, door, room, ts_ms, received_at, _boot, signed in facts:
            if before is not None and before.seq <= seq:
                by_received, offset, basis, correction = clock.placing(before)
                before = None
            described = DESCRIBED.get(kind)
            if described is None:
                text, fields = describe(kind, {})
            else:
                data = data_in(signed)
                text, fields = described(data)
                if kind == _HEARTBEAT and not hub:
                    by_received, offset, basis, correction = clock.placing_said(data)
            at = received_at if by_received else at_ms(ts_ms + offset)
            late = received_at - at
            # Positional: a home's night makes thousands of items, and keywords cost a third more.
            item = Item(id, LANES.get(kind, other_lane), source, seq, kind, door, room or only_room, at, ts_ms,
                        received_at, basis, correction, text, fields,
                        late // _MILLISECOND if late > found.late_after and not hub else None)
            if kind == _HEARTBEAT:
                beats[source].append(Beat(seq, at, fields["clock_synced"] is True))
            run.append(item)
    return beats, runs


def _in_order(runs: dict[str, list[Item]]) -> list[Item]:
    """Within a source by seq, across sources by corrected time: a merge of each source's run, so a device's own
    order is never broken by a correction that moved in between two of its events. When every run is already in
    time order (a night without such a move), one stable sort of the runs end to end gives the same order in
    under half the time of merging."""
    sources = sorted(runs)
    if all(all(map(le, run_at, run_at[1:])) for run_at in ([item.at for item in runs[source]] for source in sources)):
        return sorted((item for source in sources for item in runs[source]), key=_AT)
    return list(heapq.merge(*(runs[source] for source in sources), key=_AT))


def _entries(found: Found, items: Sequence[Item]) -> list[EntryOverlay]:
    revisions: dict[int, list[EntryRow]] = defaultdict(list)
    for row in found.entries:
        revisions[row.door_opened_event_id].append(row)
    witnesses = Witnesses(items)
    overlays = []
    for rows in revisions.values():
        rows.sort(key=lambda row: row.revision)
        latest = rows[-1]
        supports = corroborate(witnesses, door_opened=latest.door_opened_event_id, device=latest.device,
                               room=latest.room, knock=latest.knock_event_id, answer=latest.answer_event_id)
        present = [support for support in supports if support.present]
        overlays.append(EntryOverlay(
            door_opened_event_id=latest.door_opened_event_id, room=latest.room, device=latest.device,
            door=latest.door, opened_at=latest.opened_at, closed_at=latest.closed_at, kind=latest.kind,
            outcome=latest.outcome, reason=latest.reason, sentence=latest.sentence, who=latest.who,
            revision=latest.revision, rules_version=latest.rules_version,
            preference_version=latest.preference_version, waited_ms=latest.waited_ms, wait_s=latest.wait_s,
            inside_ms=latest.inside_ms, review_required=latest.review_required, corroborated_by=len(present),
            supports=tuple(supports), missing=tuple(s.source for s in supports if not s.present),
            history=tuple(Revision(row.revision, row.cause, row.decided_at, row.outcome, row.reason, row.sentence)
                          for row in reversed(rows)),
        ))
    overlays.sort(key=lambda overlay: (overlay.opened_at, overlay.door_opened_event_id))
    return overlays


def _scoped_items(found: Found, items: list[Item], entries: list[EntryOverlay], rooms: frozenset[str],
                  staff: frozenset[str]) -> list[Item]:
    """What is in a scope: the rooms' items, what names one of the staff, and the facts the entries rest on."""
    kept = {entry.door_opened_event_id for entry in entries}
    rests_on = {int(fact) for row in found.entries if row.door_opened_event_id in kept
                for fact in row.rests_on if fact.isdigit()}
    return [item for item in items
            if item.room in rooms or item.id in rests_on
            or (item.type in NAMES_STAFF and staff_of(item.type, item.fields) in staff)]


def _unknowns(found: Found, beats: dict[str, list[Beat]], items: Sequence[Item],
              rooms_of: dict[str, tuple[str, ...]], sources: set[str],
              window: tuple[datetime, datetime]) -> list[Unknown]:
    found_unknowns: list[Unknown] = []
    for device in sorted(sources - {HUB_SOURCE}):
        rooms = rooms_of.get(device, ())
        found_unknowns += unknowns.gaps(device, found.seq_marks.get(device, ()), rooms, window)
        device_beats = sorted(beats.get(device, ()), key=lambda beat: beat.seq)
        if device in found.devices:
            found_unknowns += unknowns.silences(device, device_beats, rooms, window, found.offline_after, found.now)
            info = found.devices[device]
            found_unknowns += unknowns.offline_status(device, info.status, info.status_at, rooms, window)
        found_unknowns += unknowns.unsynced(device, device_beats, rooms, window)
    found_unknowns += unknowns.offline_alerts(
        [alert for alert in found.alerts if alert.subject.removeprefix("device:") in sources], rooms_of, window)
    if HUB_SOURCE in found.seq_marks:
        found_unknowns += unknowns.gaps(HUB_SOURCE, found.seq_marks[HUB_SOURCE], (), window)
    found_unknowns += unknowns.late_arrivals(items, rooms_of)
    found_unknowns.sort(key=lambda unknown: (unknown.start, unknown.source, unknown.kind))
    return found_unknowns


def _summary(found: Found, entries: Sequence[EntryOverlay], found_unknowns: Sequence[Unknown]) -> list[str]:
    zone = ZoneInfo(found.time_zone)
    lines = []
    door_blind = [unknown for unknown in found_unknowns if unknown.kind in (UnknownKind.GAP, UnknownKind.DEVICE_OFFLINE)
                  and unknown.source in found.devices and found.devices[unknown.source].has_doors]
    for unknown in door_blind:
        end = _local(unknown.end, zone) if unknown.end else "after the end of this window"
        rooms = ", ".join(unknown.rooms) or "its doors"
        what = "was not heard" if unknown.kind == UnknownKind.DEVICE_OFFLINE else "has events missing"
        lines.append(f"The door device {unknown.source} ({rooms}) {what} from {_local(unknown.start, zone)} to {end}: "
                     "an entry in that time may not be recorded.")
    for unknown in found_unknowns:
        if unknown.kind == UnknownKind.CLOCK_UNSYNCED:
            lines.append(f"{unknown.source}'s clock was not synced from {_local(unknown.start, zone)}: its events "
                         "then are placed by when the hub received them.")
    if not [entry for entry in entries if entry.kind == "entry"]:
        lines.append("No entry recorded in this window" + (
            ", but the door could not record for part of it (above): that is not the same as no entry."
            if door_blind else "."))
    return lines


def _staff_night(staff: str, items: Sequence[Item], entries: Sequence[EntryOverlay]) -> StaffNight:
    knocked = {item.fields.get("request") or item.id for item in items
               if item.type == EventType.KNOCK_REQUESTED and item.fields.get("staff") == staff}
    knocked |= {item.fields.get("command") or item.id for item in items
                if item.type == HubEventType.KNOCK_SENT and item.fields.get("staff") == staff}
    theirs = [entry for entry in entries if entry.who == staff]
    return StaffNight(
        staff=staff, knocks=len(knocked), entries=len(theirs),
        waits_ms=tuple(entry.waited_ms for entry in theirs if entry.waited_ms is not None),
        inside_ms=sum(entry.inside_ms or 0 for entry in theirs),
        check_ins=sum(1 for item in items if item.type == HubEventType.CHECK_IN and item.fields.get("staff") == staff),
        alerts_handled=tuple(sorted({str(item.fields.get("alert")) for item in items
                                     if item.type == HubEventType.ALERT_CHANGED and item.fields.get("by") == staff
                                     and item.fields.get("action") in HANDLED})),
    )


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d %b %H:%M %Z")

