"""Spans of the home's local time (quiet hours, care-plan windows) as instants in UTC, across clock changes.

A span is a start and an end in local "HH:MM"; an end at or before the start means the span crosses midnight
and ends the next day. A start equal to the end is an empty span (as on the door agent).

Clock changes are handled by zoneinfo, and the two awkward cases are decided once, here, the way Python's
`fold=0` decides them, so every part of the hub agrees:
- a local time that happens twice (01:30 on the night the clocks go back) is its *first* occurrence, still on
  summer time;
- a local time that does not exist (01:30 on the night the clocks go forward) is read on the clock as it stood
  before the jump, so it lands after the gap by the length of the gap (01:30 becomes 02:30 BST);
- if that makes a span end before it starts (01:30–02:15 that night: 02:30 BST to 02:15 BST), the span is empty.

So 22:00–07:00 in Europe/London lasts 10 hours on the night of 24–25 October 2026 and 8 hours on the night of
28–29 March 2026.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class ClockSpan(Protocol):
    """Anything with a local start and end as "HH:MM": QuietHours, NightCheck."""

    @property
    def start(self) -> str: ...

    @property
    def end(self) -> str: ...


def clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def local_instant(day: date, at: str, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local date and "HH:MM" (fold=0: first occurrence; a missing time moves on by the gap)."""
    return datetime.combine(day, clock(at), tzinfo=zone).astimezone(UTC)


def occurrence(span: ClockSpan, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The span that starts on local `day`, as [start, end) in UTC. Empty spans have start == end."""
    start = local_instant(day, span.start, zone)
    if span.start == span.end:
        return start, start
    end_day = day + timedelta(days=1) if span.end < span.start else day
    end = local_instant(end_day, span.end, zone)
    return start, max(start, end)


def span_length(span: ClockSpan, day: date, zone: ZoneInfo) -> timedelta:
    start, end = occurrence(span, day, zone)
    return end - start


def occurrence_at(span: ClockSpan, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The occurrence of the span that contains the instant `at`, or None."""
    local_day = at.astimezone(zone).date()
    # A span that crosses midnight and contains `at` may have started the local day before.
    for day in (local_day - timedelta(days=1), local_day):
        start, end = occurrence(span, day, zone)
        if start <= at < end:
            return start, end
    return None


def within(at: datetime, spans: Iterable[ClockSpan], zone: ZoneInfo) -> bool:
    return any(occurrence_at(span, at, zone) is not None for span in spans)


def local_clock(at: datetime, zone: ZoneInfo) -> str:
    """The local wall-clock time of an instant as "HH:MM", for sentences."""
    return at.astimezone(zone).strftime("%H:%M")
