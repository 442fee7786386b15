"""Putting every source's events on one clock.

A device's `ts_ms` is corrected by the clock offset its nearest heartbeat before it reported (the kernel's NTP
offset: what must be added to the device clock to reach true time). A heartbeat saying the clock is unsynced
makes the device's times untrustworthy until the next synced one, and the hub's receive time is used instead.
The hub's own events are on the hub's clock. Every item says which of these its place rests on.
"""

from functools import lru_cache
from typing import Any, NamedTuple

SYNCED = "device clock, synced"
UNSYNCED = "hub receive time: device clock unsynced"
NO_HEARTBEAT = "device clock, uncorrected: no heartbeat before it"
HUB_CLOCK = "hub clock"
RULE = ("within a device by seq; across sources by device time corrected by the clock offset of the device's "
        "nearest heartbeat before the event, or the hub's receive time when that heartbeat said the clock was "
        "unsynced; the hub's own events by the hub's clock")


class ClockReport(NamedTuple):
    """What one heartbeat said about its device's clock. A tuple: a home's night reads thousands of heartbeats."""

    seq: int
    ts_ms: int
    synced: bool
    offset_ms: int | None


def report_of(seq: int, ts_ms: int, data: dict[str, Any]) -> ClockReport:
    """What a heartbeat's data says of its device's clock."""
    return ClockReport(seq, ts_ms, *_clock_said(data))


def _clock_said(data: dict[str, Any]) -> tuple[bool, int | None]:
    offset = data.get("clock_offset_ms")
    return data.get("clock_synced") is True, offset if isinstance(offset, int) else None


class Placing(NamedTuple):
    """How a device's events are placed until its next heartbeat: worked out once per heartbeat, not per event."""

    by_received: bool
    offset_ms: int
    basis: str
    correction_ms: int | None


NOT_REPORTED = Placing(False, 0, NO_HEARTBEAT, None)
ON_HUB_CLOCK = Placing(False, 0, HUB_CLOCK, None)


def placing(report: ClockReport | None) -> Placing:
    """How the events after a heartbeat are placed."""
    return NOT_REPORTED if report is None else _placing(report.synced, report.offset_ms)


def placing_said(data: dict[str, Any]) -> Placing:
    """How the events after a heartbeat are placed, from the heartbeat's data."""
    return _placing(*_clock_said(data))


@lru_cache(maxsize=4096)
def _placing(synced: bool, offset_ms: int | None) -> Placing:
    if not synced:
        return Placing(True, 0, UNSYNCED, None)
    offset = offset_ms or 0
    return Placing(False, offset, f"device clock corrected by {offset:+d} ms" if offset else SYNCED, offset)


def place(ts_ms: int, received_ms: int, report: ClockReport | None) -> tuple[int, str, int | None]:
    """(the time the event is ordered by, the basis in words, the correction applied in ms)."""
    by_received, offset, basis, correction = placing(report)
    return (received_ms if by_received else ts_ms + offset), basis, correction
