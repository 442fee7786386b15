"""The night summary of a home: what a manager reads in the morning, from the recorded decisions and alerts.

A night runs from 20:00 on its date to 08:00 the next morning in the home's own time zone (so a night across a
clock change is still 20:00 to 08:00 on the wall: eleven or thirteen hours).
"""

import json
import statistics
from collections import Counter
import datetime as dt
from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.api.deps import LeadAtHomeDep, SessionDep
from hub.api.problems import PROBLEMS, problem
from hub.api.reads import record_read
from hub.api.routes.entries import EntryOut, entry_out, latest_entries
from hub.db.models import AlertRecord, EntryRecord, StoredEvent
from hub.rules.alerts import AlertType
from hub.rules.entries import EntryKind, Outcome

router = APIRouter(tags=["summary"], responses=PROBLEMS)

NIGHT_STARTS = time(20, 0)
NIGHT_ENDS = time(8, 0)


class Span(BaseModel):
    alert: str = Field(title="Alert id")
    subject: str = Field(title="Device or room it is about")
    room: str | None
    start: datetime = Field(title="Raised at")
    end: datetime | None = Field(title="Cleared at; null while it lasts")
    sentence: str


class Override(BaseModel):
    event: int = Field(title="Event id of the override.emergency")
    device: str
    room: str | None
    ts_ms: int = Field(title="Device time, epoch ms UTC")
    staff: str | None
    reason: str | None


class Durations(BaseModel):
    alerts: int = Field(title="Alerts raised in the night")
    done: int = Field(title="How many were acknowledged (or resolved)")
    median_s: float | None = Field(title="Median seconds from raised, of those done")
    worst_s: float | None = Field(title="Longest seconds from raised, of those done")


class NightSummary(BaseModel):
    site: str
    date: dt.date = Field(title="The evening the night starts")
    time_zone: str
    start: datetime = Field(title="Start (UTC): 20:00 local on `date`")
    end: datetime = Field(title="End (UTC): 08:00 local the next day")
    entries_by_kind: dict[str, int] = Field(title="Door openings by kind: entry, exit, return")
    entries_by_outcome: dict[str, int] = Field(title="Entries (kind entry) by outcome")
    entries_by_reason: dict[str, int] = Field(title="Door openings by the reason decided")
    flags: list[EntryOut] = Field(title="Entries recorded without the resident's permission, in time order")
    emergency_overrides: list[Override] = Field(title="Emergency entry controls used, always for review")
    device_offline: list[Span] = Field(title="Devices not heard from, overlapping the night")
    environment_excursions: list[Span] = Field(title="Rooms out of their range, overlapping the night")
    alerts_by_type: dict[str, int] = Field(title="Alerts raised in the night, by type")
    time_to_acknowledge: Durations
    time_to_resolve: Durations


def night_window(night: dt.date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The night's start and end in UTC."""
    try:
        start = datetime.combine(night, NIGHT_STARTS, tzinfo=zone)
        end = datetime.combine(night + timedelta(days=1), NIGHT_ENDS, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_date", f"{night} has no night after it") from None


def _durations(raised: list[AlertRecord], done_at: str) -> Durations:
    seconds = [(getattr(alert, done_at) - alert.raised_at).total_seconds()
               for alert in raised if getattr(alert, done_at) is not None]
    return Durations(alerts=len(raised), done=len(seconds), median_s=statistics.median(seconds) if seconds else None,
                     worst_s=max(seconds) if seconds else None)


def _spans(session: Session, site: str, type: AlertType, start: datetime, end: datetime) -> list[Span]:
    alerts = session.scalars(select(AlertRecord).where(
        AlertRecord.site == site, AlertRecord.type == type.value, AlertRecord.raised_at < end,
        or_(AlertRecord.cleared_at.is_(None), AlertRecord.cleared_at >= start),
    ).order_by(AlertRecord.raised_at, AlertRecord.id))
    return [Span(alert=alert.id, subject=alert.subject, room=alert.room, start=alert.raised_at, end=alert.cleared_at,
                 sentence=alert.sentence) for alert in alerts]


def _overrides(session: Session, site: str, start: datetime, end: datetime) -> list[Override]:
    events = session.scalars(select(StoredEvent).where(
        StoredEvent.site == site, StoredEvent.type == "override.emergency",
        StoredEvent.ts_ms >= int(start.timestamp() * 1000), StoredEvent.ts_ms < int(end.timestamp() * 1000),
    ).order_by(StoredEvent.ts_ms, StoredEvent.id))
    overrides = []
    for event in events:
        data = json.loads(event.signed).get("data", {})
        overrides.append(Override(event=event.id, device=event.device, room=event.room, ts_ms=event.ts_ms,
                                  staff=data.get("staff"), reason=data.get("reason")))
    return overrides


@router.get("/summary/night", response_model=NightSummary)
def get_night_summary(
    at_home: LeadAtHomeDep,
    session: SessionDep,
    night: Annotated[dt.date, Query(alias="date", description="YYYY-MM-DD: the evening the night starts")],
) -> NightSummary:
    """One night of a home: entries by decision, flags, overrides, offline spans, environment excursions, and how
    long alerts took to be acknowledged and resolved (median and worst). Night lead or manager of the home."""
    home = at_home.home
    start, end = night_window(night, ZoneInfo(home.time_zone))
    decisions = list(session.scalars(latest_entries(home.id).where(EntryRecord.opened_at >= start,
                                                                   EntryRecord.opened_at < end)
                                     .order_by(EntryRecord.opened_at, EntryRecord.id)))
    raised = list(session.scalars(select(AlertRecord).where(AlertRecord.site == home.id,
                                                            AlertRecord.raised_at >= start,
                                                            AlertRecord.raised_at < end)))
    summary = NightSummary(
        site=home.id, date=night, time_zone=home.time_zone, start=start, end=end,
        entries_by_kind=dict(Counter(row.kind for row in decisions)),
        entries_by_outcome=dict(Counter(row.outcome for row in decisions if row.kind == EntryKind.ENTRY.value)),
        entries_by_reason=dict(Counter(row.reason for row in decisions)),
        flags=[entry_out(row) for row in decisions if row.outcome == Outcome.UNPERMITTED.value],
        emergency_overrides=_overrides(session, home.id, start, end),
        device_offline=_spans(session, home.id, AlertType.DEVICE_OFFLINE, start, end),
        environment_excursions=_spans(session, home.id, AlertType.ENVIRONMENT_OUT_OF_RANGE, start, end),
        alerts_by_type=dict(Counter(alert.type for alert in raised)),
        time_to_acknowledge=_durations(raised, "acknowledged_at"),
        time_to_resolve=_durations(raised, "resolved_at"),
    )
    record_read(session, at_home.caller, home.id, "night_summary", {"date": night.isoformat()})
    return summary
