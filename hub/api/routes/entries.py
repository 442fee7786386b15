"""Entry decisions: the latest decision about each door opening, and every earlier one (a late event re-decides
an entry and keeps what was decided before). For those who look back over a home's nights."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Select, and_, func, select

from hub.api.deps import LEADS, CallerDep, LeadAtHomeDep, SessionDep, ensure_at_home
from hub.api.problems import PROBLEMS, problem
from hub.api.reads import record_read
from hub.db.models import EntryRecord
from hub.rules.entries import Outcome, Reason
from protocol.events import MAX_SAFE_INT

router = APIRouter(tags=["entries"], responses=PROBLEMS)

MAX_LIMIT = 1000


class EntryOut(BaseModel):
    door_opened_event_id: int = Field(title="The door.opened event this decision is about")
    revision: int = Field(title="Revision, from 1; a late event or the door closing adds the next")
    cause: str = Field(title="first, late_event or door_closed")
    decided_at: datetime
    site: str
    room: str | None
    device: str
    door: str | None
    resident: str | None = Field(title="Resident of the room then")
    opened_at: datetime
    kind: str = Field(title="entry, exit or return")
    outcome: Outcome
    reason: Reason
    sentence: str = Field(title="The decision in words", examples=["did not wait: 12 s of 30 s"])
    rules_version: str
    preference_version: int | None
    who: str = Field(title="Staff id from a remote knock or badge, else unidentified")
    knock_event_id: int | None
    answer_event_id: int | None
    waited_ms: int | None
    wait_s: int | None = Field(title="The wait the resident asked for")
    closed_at: datetime | None
    inside_ms: int | None
    rests_on: list[str] = Field(title="The facts it rests on")
    review_required: bool


class EntryPage(BaseModel):
    entries: list[EntryOut] = Field(title="Latest decision per door opening, oldest opening first")
    truncated: bool = Field(title="More matched than `limit`: narrow the window")


class EntryHistory(BaseModel):
    current: EntryOut = Field(title="The decision in force")
    history: list[EntryOut] = Field(title="Every revision, newest first (the current one included)")


def entry_out(row: EntryRecord) -> EntryOut:
    return EntryOut.model_validate({
        **{name: getattr(row, name) for name in EntryOut.model_fields if name != "resident"},
        "resident": row.resident_id,
    })


def latest_entries(site: str) -> Select[tuple[EntryRecord]]:
    """A query of the latest revision of each door opening of `site`."""
    latest = (select(EntryRecord.door_opened_event_id, func.max(EntryRecord.revision).label("revision"))
              .where(EntryRecord.site == site).group_by(EntryRecord.door_opened_event_id).subquery())
    return select(EntryRecord).join(latest, and_(
        latest.c.door_opened_event_id == EntryRecord.door_opened_event_id, latest.c.revision == EntryRecord.revision,
    ))


@router.get("/entries", response_model=EntryPage)
def get_entries(
    at_home: LeadAtHomeDep,
    session: SessionDep,
    room: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Opened at or after (with offset)")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Opened before (with offset)")] = None,
    outcome: Outcome | None = None,
    reason: Reason | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
) -> EntryPage:
    """A home's entries: the latest decision about each door opening. Night lead or manager of the home."""
    if start is not None and end is not None and end <= start:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_window", "`to` must be after `from`")
    query = latest_entries(at_home.home.id)
    for column, wanted in ((EntryRecord.room, room), (EntryRecord.outcome, outcome), (EntryRecord.reason, reason)):
        if wanted is not None:
            query = query.where(column == wanted)
    if start is not None:
        query = query.where(EntryRecord.opened_at >= start)
    if end is not None:
        query = query.where(EntryRecord.opened_at < end)
    rows = list(session.scalars(query.order_by(EntryRecord.opened_at, EntryRecord.id).limit(limit + 1)))
    record_read(session, at_home.caller, at_home.home.id, "entries", {
        "room": room, "from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
        "outcome": outcome, "reason": reason,
    }, room=room)
    return EntryPage(entries=[entry_out(row) for row in rows[:limit]], truncated=len(rows) > limit)


@router.get("/entries/{door_opened_event_id}", response_model=EntryHistory)
def get_entry(door_opened_event_id: Annotated[int, Path(ge=1, le=MAX_SAFE_INT)], caller: CallerDep, session: SessionDep) -> EntryHistory:
    """Every decision about one door opening, newest first. Night lead or manager of its home."""
    rows = list(session.scalars(select(EntryRecord).where(EntryRecord.door_opened_event_id == door_opened_event_id)
                                .order_by(EntryRecord.revision.desc())))
    if not rows:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_entry", f"no entry for event {door_opened_event_id}")
    at_home = ensure_at_home(session, caller, rows[0].site, LEADS)
    record_read(session, caller, at_home.home.id, "entry", {"door_opened_event_id": door_opened_event_id},
                room=rows[0].room)
    history = [entry_out(row) for row in rows]
    return EntryHistory(current=history[0], history=history)
