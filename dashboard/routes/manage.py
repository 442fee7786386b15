"""/manage: what waits for the night lead's and the manager's review, read through the API's own functions (so
each read is recorded as the API records it).

- entries to review — recorded without the resident's permission, or emergency entries — from the last
  REVIEW_DAYS days, each with what the member of staff it names said about it;
- a night's summary: entries by decision, emergency entries, doors not heard from, rooms out of range, alerts and
  how long they took to be acknowledged and resolved;
- for managers only (as the API allows): best-interests decisions whose review date has come.
"""

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select

from dashboard.routes.record import latest_night, night_words
from dashboard.templating import render
from dashboard.timeline_picture import local_clock
from dashboard.viewer import Viewer, page_for
from hub.api.deps import LEADS, AtHome, SessionDep
from hub.api.routes.entries import EntryForReview, get_entries_to_review
from hub.api.routes.preferences import get_review
from hub.api.routes.summary import Durations, get_night_summary
from hub.db.models import AccountRole, Resident
from hub.rules.entries import Outcome, Reason

router = APIRouter(include_in_schema=False)

REVIEW_DAYS = 14
REVIEW_LIMIT = 200
TIMELINE_AROUND = timedelta(hours=1)
"""How much either side of an entry its timeline link shows."""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def took(durations: Durations, done: str) -> str:
    """How long alerts took to be acknowledged (or resolved), in words."""
    if not durations.alerts:
        return "No alerts were raised."
    return (f"{durations.done} of {durations.alerts} {done}; median {duration(durations.median_s)}, "
            f"longest {duration(durations.worst_s)}.")


def decision_words(item: EntryForReview) -> str:
    if item.entry.reason == Reason.EMERGENCY:
        return "Emergency entry: always reviewed."
    if item.entry.outcome == Outcome.UNPERMITTED:
        return "Recorded without the resident's permission."
    return "Marked for review."


def _timeline_link(item: EntryForReview, zone: ZoneInfo) -> str:
    opened = item.entry.opened_at.astimezone(zone)
    query = {"view": "room", "room": item.entry.room or "",
             "from": (opened - TIMELINE_AROUND).strftime("%Y-%m-%dT%H:%M"),
             "to": (opened + TIMELINE_AROUND).strftime("%Y-%m-%dT%H:%M")}
    return "/timelines?" + urlencode(query)


@router.get("/manage")
def get_manage(request: Request, viewer: Annotated[Viewer, Depends(page_for(*LEADS))], session: SessionDep,
               on_night: Annotated[str, Query(alias="night", max_length=32)] = "") -> Response:
    home = viewer.home
    assert home is not None  # leads belong to a home
    zone = ZoneInfo(home.time_zone)
    now = datetime.now(UTC)
    error = ""
    chosen = latest_night(now, zone)
    if on_night:
        try:
            chosen = dt.date.fromisoformat(on_night)
        except ValueError:
            error = f"{on_night!r} is not a date (YYYY-MM-DD): showing the latest night instead."
    at_home = AtHome(viewer.caller, home)
    review = get_entries_to_review(at_home, session, start=now - timedelta(days=REVIEW_DAYS), end=None,
                                   limit=REVIEW_LIMIT)
    summary = get_night_summary(at_home, session, chosen)
    residents = {resident: name for resident, name in session.execute(
        select(Resident.id, Resident.display_name).where(Resident.home_id == home.id))}
    due = get_review(viewer.caller, session) if viewer.role == AccountRole.MANAGER else None
    context: dict[str, Any] = {
        "review_days": REVIEW_DAYS, "review": review, "residents": residents,
        "entries": [{"item": item, "opened": local_clock(item.entry.opened_at, zone),
                     "decision": decision_words(item), "timeline": _timeline_link(item, zone),
                     "explanations": [{"text": explanation.text, "by": explanation.staff_name,
                                       "at": local_clock(explanation.given_at, zone)}
                                      for explanation in item.explanations]}
                    for item in review.entries],
        "night": chosen,
        "night_label": night_words(chosen),
        "summary": summary,
        "entries_in_night": summary.entries_by_kind.get("entry", 0),
        "permitted": summary.entries_by_outcome.get(Outcome.PERMITTED.value, 0),
        "unpermitted": summary.entries_by_outcome.get(Outcome.UNPERMITTED.value, 0),
        "alerts_raised": sum(summary.alerts_by_type.values()),
        "acknowledge": took(summary.time_to_acknowledge, "acknowledged"),
        "resolve": took(summary.time_to_resolve, "resolved"),
        "night_timeline": "/timelines?" + urlencode({"view": "home", "night": chosen.isoformat()}),
        "due": due, "error": error,
    }
    return render(request, "manage.html", context, viewer=viewer,
                  status_code=status.HTTP_400_BAD_REQUEST if error else status.HTTP_200_OK)
