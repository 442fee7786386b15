"""A timeline as a picture the page draws as inline SVG: a row per lane with its events as marks, the entry
decisions laid over them, and what the record cannot say shaded and labelled. Pure geometry from a Timeline (the
template writes the elements), so the picture needs no script and no chart library.

A home's night is thousands of events: marks close enough to overlap on screen are drawn as one, whose
tooltip counts them. The table beneath the picture lists every event.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hub.timelines.model import Item, Lane, Timeline, Unknown, UnknownKind

WIDTH = 1000
PLOT_LEFT = 190
PLOT_RIGHT = 960
AXIS_H = 40
ROW_H = 34
BUCKET_PX = 6
MAX_TICKS = 13
TITLE_TEXTS = 3
DESCRIBED_UNKNOWNS = 10

LANE_NAMES = {
    Lane.DOOR: "Door",
    Lane.KNOCK: "Knock and answer",
    Lane.INDICATOR: "Indicator",
    Lane.MOTION: "Motion",
    Lane.STAFF: "Staff actions",
    Lane.ALERTS: "Alerts",
    Lane.ENVIRONMENT: "Environment",
    Lane.DEVICE: "Device health",
    Lane.RECORDS: "Hub records",
}

UNKNOWN_NAMES = {
    UnknownKind.DEVICE_OFFLINE: "Not heard from",
    UnknownKind.GAP: "Events missing",
    UnknownKind.CLOCK_UNSYNCED: "Clock not synced",
    UnknownKind.LATE_ARRIVAL: "Arrived late",
}
"""The label of each kind of unknown, in the order their rows are drawn."""

XScale = Callable[[datetime], float]
"""Where a time falls across the picture."""

TICK_STEPS = (timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2),
              timedelta(hours=3), timedelta(hours=6), timedelta(hours=12), timedelta(days=1), timedelta(days=2),
              timedelta(days=7))


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Mark:
    x: float
    count: int
    title: str


@dataclass(frozen=True)
class Span:
    """A stretch of time drawn as a band: an unknown (shaded, `kind` picks its hatching) or an entry's time
    inside the room."""

    x: float
    width: float
    kind: str
    title: str


@dataclass(frozen=True)
class Row:
    """One row of the picture: a lane with its marks, or a kind of unknown with its spans."""

    y: float
    label: str
    marks: tuple[Mark, ...] = ()
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Overlay:
    """An entry decision laid over the lanes: a line at the opening, labelled E1, E2… as in the list of entries."""

    x: float
    label: str
    outcome: str
    title: str
    inside: Span | None


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    plot_left: int
    plot_right: int
    lanes_top: float
    lanes_bottom: float
    ticks: tuple[Tick, ...]
    entry_row_y: float
    overlays: tuple[Overlay, ...]
    unknown_rows: tuple[Row, ...]
    lanes: tuple[Row, ...]
    shades: tuple[Span, ...]
    title: str
    description: str


def local_clock(moment: datetime, zone: ZoneInfo) -> str:
    """A time on the home's clock to the second, with the zone's abbreviation (an hour repeats in October)."""
    return moment.astimezone(zone).strftime("%d %b %Y %H:%M:%S %Z")


def draw(timeline: Timeline, title: str) -> Picture:
    zone = ZoneInfo(timeline.time_zone)
    span_s = max((timeline.end - timeline.start).total_seconds(), 1.0)
    plot_w = PLOT_RIGHT - PLOT_LEFT

    def x(moment: datetime) -> float:
        seconds = min(max((moment - timeline.start).total_seconds(), 0.0), span_s)
        return round(PLOT_LEFT + plot_w * seconds / span_s, 1)

    def band(start: datetime, end: datetime | None, kind: str, text: str) -> Span:
        left = x(start)
        return Span(left, max(round(x(end or timeline.end) - left, 1), 2.0), kind, text)

    entry_row_y = AXIS_H
    kinds = [kind for kind in UNKNOWN_NAMES if any(unknown.kind == kind for unknown in timeline.unknowns)]
    unknown_rows = tuple(
        Row(y=entry_row_y + ROW_H * (index + 1), label=UNKNOWN_NAMES[kind], spans=tuple(
            band(unknown.start, unknown.end, kind.value, _unknown_title(unknown, zone))
            for unknown in timeline.unknowns if unknown.kind == kind))
        for index, kind in enumerate(kinds))
    lanes_top = entry_row_y + ROW_H * (len(unknown_rows) + 1)
    by_lane: dict[Lane, list[Item]] = defaultdict(list)
    for item in timeline.items:
        by_lane[item.lane].append(item)
    lanes = tuple(Row(y=lanes_top + ROW_H * index, label=LANE_NAMES.get(lane, lane.value),
                      marks=_marks(by_lane.get(lane, []), x, zone))
                  for index, lane in enumerate(timeline.lanes))
    lanes_bottom = lanes_top + ROW_H * len(lanes)
    overlays = tuple(
        Overlay(x=x(entry.opened_at), label=f"E{number}", outcome=entry.outcome,
                title=f"E{number}, {local_clock(entry.opened_at, zone)}: {entry.sentence}",
                inside=band(entry.opened_at, entry.closed_at, "inside", f"E{number}: inside the room")
                if entry.closed_at else None)
        for number, entry in enumerate(timeline.entries, start=1))
    shades = tuple(band(unknown.start, unknown.end, unknown.kind.value, _unknown_title(unknown, zone))
                   for unknown in timeline.unknowns if unknown.kind != UnknownKind.LATE_ARRIVAL)
    return Picture(
        width=WIDTH, height=int(lanes_bottom + 8), plot_left=PLOT_LEFT, plot_right=PLOT_RIGHT,
        lanes_top=lanes_top, lanes_bottom=lanes_bottom, ticks=_ticks(timeline.start, timeline.end, zone, x),
        entry_row_y=entry_row_y, overlays=overlays, unknown_rows=unknown_rows, lanes=lanes, shades=shades,
        title=title, description=describe(timeline, zone),
    )


def describe(timeline: Timeline, zone: ZoneInfo) -> str:
    """The picture in words, for those who cannot see it."""
    count = len(timeline.items)
    parts = [
        f"{count} event{'' if count == 1 else 's'} in {len(timeline.lanes)} lanes, from "
        f"{local_clock(timeline.start, zone)} to {local_clock(timeline.end, zone)}.",
        f"{len(timeline.entries)} entry decision{'' if len(timeline.entries) == 1 else 's'}.",
    ]
    if timeline.unknowns:
        shown = [_unknown_title(unknown, zone) for unknown in timeline.unknowns[:DESCRIBED_UNKNOWNS]]
        more = len(timeline.unknowns) - len(shown)
        parts.append("Not known: " + "; ".join(shown) + (f"; and {more} more, listed below." if more else "."))
    else:
        parts.append("Nothing in this window is recorded as unknown.")
    return " ".join(parts)


def _unknown_title(unknown: Unknown, zone: ZoneInfo) -> str:
    until = local_clock(unknown.end, zone) if unknown.end else "the end of the window"
    return f"{unknown.text}, from {local_clock(unknown.start, zone)} to {until}"


def _marks(items: list[Item], x: XScale, zone: ZoneInfo) -> tuple[Mark, ...]:
    """One mark per few pixels: the events that would overlap are drawn once, their tooltip saying how many."""
    buckets: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        buckets[int(x(item.at) // BUCKET_PX)].append(item)
    marks = []
    for _bucket, inside in sorted(buckets.items()):
        texts = [f"{local_clock(item.at, zone)}: {item.text}" for item in inside[:TITLE_TEXTS]]
        if len(inside) > TITLE_TEXTS:
            texts.append(f"and {len(inside) - TITLE_TEXTS} more")
        marks.append(Mark(x=x(inside[0].at), count=len(inside), title="; ".join(texts)))
    return tuple(marks)


def _ticks(start: datetime, end: datetime, zone: ZoneInfo, x: XScale) -> tuple[Tick, ...]:
    """Hour marks on the home's wall clock, as few as keep the axis readable."""
    span = end - start
    step = next((step for step in TICK_STEPS if span / step <= MAX_TICKS - 1), TICK_STEPS[-1])
    step_min = int(step.total_seconds() // 60)
    days = max(step_min // (24 * 60), 1)
    several_days = start.astimezone(zone).date() != end.astimezone(zone).date() and span > timedelta(days=1)
    first = start + timedelta(minutes=-start.minute % 15, seconds=-start.second, microseconds=-start.microsecond)
    ticks = []
    moment = first
    while moment <= end:
        local = moment.astimezone(zone)
        minute_of_day = local.hour * 60 + local.minute
        if step_min < 24 * 60:
            on_step = minute_of_day % step_min == 0
        else:
            on_step = minute_of_day == 0 and local.toordinal() % days == 0
        if on_step and moment >= start:
            label = local.strftime("%a %d %b" if step_min >= 24 * 60 else
                                   "%d %b %H:%M" if several_days and minute_of_day == 0 else "%H:%M")
            ticks.append(Tick(x(moment), label))
        moment += timedelta(minutes=15)
    return tuple(ticks)
