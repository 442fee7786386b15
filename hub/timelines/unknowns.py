"""What a timeline cannot say, as spans of their own: seqs the hub never received, devices not heard from,
clocks not synced, events that arrived long after their time. Pure functions of what the loaders found."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from hub.timelines.model import Item, Unknown, UnknownKind


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class SeqMark:
    """A stored seq of a device and its device time, around where the hub is missing some."""

    seq: int
    ts_ms: int


class Beat(NamedTuple):
    """One heartbeat, placed on the timeline's clock. A tuple: a home's night has thousands, and a frozen
    dataclass takes three times as long to make."""

    seq: int
    at: datetime
    synced: bool


@dataclass(frozen=True, slots=True)
class AlertSpan:
    alert: str
    type: str
    subject: str
    room: str | None
    raised_at: datetime
    cleared_at: datetime | None


def _overlaps(start: datetime, end: datetime | None, window: tuple[datetime, datetime]) -> bool:
    return start < window[1] and (end is None or end > window[0])


def gaps(device: str, marks: Sequence[SeqMark], rooms: tuple[str, ...],
         window: tuple[datetime, datetime]) -> list[Unknown]:
    """Missing seq ranges between the stored `marks` (seq order, the first one the highest seq below which
    nothing is missing, 0 when that is none), with the device time they could cover."""
    found = []
    for before, mark in zip(marks, marks[1:]):
        if mark.seq > before.seq + 1:
            first, count = before.seq + 1, mark.seq - before.seq - 1
            found.append(Unknown(
                kind=UnknownKind.GAP, source=device, start=at_ms(before.ts_ms), end=at_ms(mark.ts_ms), rooms=rooms,
                first_seq=first, last_seq=mark.seq - 1,
                text=f"{device}: {count} event{'s' if count != 1 else ''} never received (seq {first}–{mark.seq - 1})",
                evidence="seq range missing while later seqs are stored",
            ))
    return [gap for gap in found if _overlaps(gap.start, gap.end, window)]


def silences(device: str, beats: Sequence[Beat], rooms: tuple[str, ...], window: tuple[datetime, datetime],
             limit: timedelta, now: datetime) -> list[Unknown]:
    """Spans longer than `limit` without a heartbeat, measured on the timeline's clock so that heartbeats kept in
    the device's outbox and sent later still count as the device having been there."""
    spans = []
    edge = min(window[1], now)
    times = [beat.at for beat in beats]
    for earlier, later in zip([None, *times], [*times, None], strict=True):
        start = earlier if earlier is not None else window[0]
        end = later if later is not None else edge
        if earlier is None and later is None:
            continue
        if end - start > limit and _overlaps(start, end, window):
            spans.append(Unknown(
                kind=UnknownKind.DEVICE_OFFLINE, source=device, start=start, end=end if later else None, rooms=rooms,
                text=f"{device}: no heartbeat for {_minutes(end - start)}",
                evidence=f"heartbeats absent longer than the {int(limit.total_seconds())} s limit",
            ))
    return spans


def unsynced(device: str, beats: Sequence[Beat], rooms: tuple[str, ...],
             window: tuple[datetime, datetime]) -> list[Unknown]:
    """Runs of heartbeats saying the clock is not synced, to the next one saying it is."""
    spans = []
    start: datetime | None = None
    for beat in beats:
        if not beat.synced and start is None:
            start = beat.at
        elif beat.synced and start is not None:
            spans.append((start, beat.at))
            start = None
    if start is not None:
        spans.append((start, None))
    return [Unknown(kind=UnknownKind.CLOCK_UNSYNCED, source=device, start=start, end=end, rooms=rooms,
                    text=f"{device}: clock not synced; its events are placed by the hub's receive time",
                    evidence="heartbeat clock_synced false")
            for start, end in spans if _overlaps(start, end, window)]


def offline_alerts(alerts: Iterable[AlertSpan], rooms_of: dict[str, tuple[str, ...]],
                   window: tuple[datetime, datetime]) -> list[Unknown]:
    found = []
    for alert in alerts:
        device = alert.subject.removeprefix("device:")
        if alert.type != "device_offline" or not _overlaps(alert.raised_at, alert.cleared_at, window):
            continue
        found.append(Unknown(
            kind=UnknownKind.DEVICE_OFFLINE, source=device, start=alert.raised_at, end=alert.cleared_at,
            rooms=rooms_of.get(device, (alert.room,) if alert.room else ()),
            text=f"{device}: device-offline alert", evidence=f"alert {alert.alert}",
        ))
    return found


def offline_status(device: str, status: str, status_at: datetime | None, rooms: tuple[str, ...],
                   window: tuple[datetime, datetime]) -> list[Unknown]:
    if status != "offline" or status_at is None or not _overlaps(status_at, None, window):
        return []
    return [Unknown(kind=UnknownKind.DEVICE_OFFLINE, source=device, start=status_at, end=None, rooms=rooms,
                    text=f"{device}: offline (its connection's last will)", evidence="device status offline")]


def late_arrivals(items: Sequence[Item], rooms_of: dict[str, tuple[str, ...]]) -> list[Unknown]:
    """Runs of a device's consecutive late events, one span each."""
    runs: dict[str, list[Item]] = {}
    found = []

    def close(run: list[Item]) -> None:
        worst = max(item.late_ms or 0 for item in run)
        found.append(Unknown(
            kind=UnknownKind.LATE_ARRIVAL, source=run[0].source, start=run[0].at, end=run[-1].at,
            rooms=rooms_of.get(run[0].source, ()), first_seq=run[0].seq, last_seq=run[-1].seq,
            text=f"{run[0].source}: {len(run)} event{'s' if len(run) != 1 else ''} arrived late "
                 f"(up to {_minutes(timedelta(milliseconds=worst))} after their time)",
            evidence="received long after the device time",
        ))

    # Only late items can make a run, and two of a device's late items are consecutive exactly when their seqs
    # are: no other item of that device can sit between them.
    for item in sorted((item for item in items if item.late_ms is not None), key=lambda item: (item.source, item.seq)):
        run = runs.setdefault(item.source, [])
        if run and run[-1].seq + 1 != item.seq:
            close(run)
            run = runs[item.source] = []
        run.append(item)
    for run in runs.values():
        close(run)
    return found


def _minutes(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
