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


@lru_cache(maxsize=4096)
def corrected_basis(offset_ms: int) -> str:
    return f"device clock corrected by {offset_ms:+d} ms"


class ClockReport(NamedTuple):
    """What one heartbeat said about its device's clock. A tuple: a home's night reads thousands of heartbeats."""

    seq: int
    ts_ms: int
    synced: bool
    offset_ms: int | None


def report_of(seq: int, ts_ms: int, data: dict[str, Any]) -> ClockReport:
    """What a heartbeat's data says of its device's clock."""
    offset = data.get("clock_offset_ms")
    return ClockReport(seq, ts_ms, data.get("clock_synced") is True, offset if isinstance(offset, int) else None)


def place(ts_ms: int, received_ms: int, report: ClockReport | None) -> tuple[int, str, int | None]:
    """(the time the event is ordered by, the basis in words, the correction applied in ms)."""
    if report is None:
        return ts_ms, NO_HEARTBEAT, None
    if not report.synced:
        return received_ms, UNSYNCED, None
    offset = report.offset_ms or 0
    if offset == 0:
        return ts_ms, SYNCED, 0
    return ts_ms + offset, corrected_basis(offset), offset
