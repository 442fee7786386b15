"""Entry decisions: the latest decision about each door opening, and every earlier one (a late event re-decides
an entry and keeps what was decided before). For those who look back over a home's nights: among them the entries
to review, each with what the member of staff it names said about it — an explanation only they may give, kept
as given (hub/people/explanations.py)."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from hub.api.deps import LEADS, CallerDep, LeadAtHomeDep, SessionDep, ensure_at_home
from hub.api.problems import PROBLEMS, people_change, problem
from hub.api.reads import record_read
from hub.db.models import Account, EntryExplanation, EntryRecord, Staff
from hub.people.accounts import SignedIn
from hub.people.explanations import MAX_TEXT, decision_in_force, explain_entry, explanations_of, may_explain
from hub.rules.entries import Outcome, Reason
from protocol.events import MAX_SAFE_INT

router = APIRouter(tags=["entries"], responses=PROBLEMS)

MAX_LIMIT = 1000
OpeningId = Annotated[int, Path(ge=1, le=MAX_SAFE_INT, description="The door.opened event the entry is about")]


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


class ExplanationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)] = Field(
        title="What happened, in your own words")


class ExplanationOut(BaseModel):
    id: int
    door_opened_event_id: int
    staff: str = Field(title="Staff id of who gave it: the member of staff the entry names")
    staff_name: str
    given_by: str = Field(title="Username of the account that gave it")
    given_at: datetime
    text: str


class EntryForReview(BaseModel):
    entry: EntryOut = Field(title="The decision in force")
    staff_name: str | None = Field(title="Name of the member of staff the entry names; null when unidentified")
    explanations: list[ExplanationOut] = Field(title="What they said about it, oldest first")


class ReviewPage(BaseModel):
    entries: list[EntryForReview] = Field(title="Entries to review, newest opening first")
    truncated: bool = Field(title="More matched than `limit`: narrow the window")


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


def to_review(site: str) -> Select[tuple[EntryRecord]]:
    """A query of `site`'s entries a manager reviews: the decision in force is unpermitted (recorded without the
    resident's permission) or always reviewed (an emergency entry)."""
    return latest_entries(site).where(or_(EntryRecord.outcome == Outcome.UNPERMITTED.value,
                                          EntryRecord.review_required.is_(True)))


def staff_names(session: Session, ids: set[str]) -> dict[str, str]:
    return {staff: name for staff, name in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids)))}


def explanation_outs(session: Session, explanations: list[EntryExplanation]) -> list[ExplanationOut]:
    names = staff_names(session, {explanation.staff_id for explanation in explanations})
    usernames = {account: username for account, username in session.execute(
        select(Account.id, Account.username).where(Account.id.in_({item.account_id for item in explanations})))}
    return [ExplanationOut(id=explanation.id, door_opened_event_id=explanation.door_opened_event_id,
                           staff=explanation.staff_id, staff_name=names[explanation.staff_id],
                           given_by=usernames[explanation.account_id], given_at=explanation.given_at,
                           text=explanation.text) for explanation in explanations]


@router.get("/entries/review", response_model=ReviewPage)
def get_entries_to_review(
    at_home: LeadAtHomeDep,
    session: SessionDep,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Opened at or after (with offset)")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Opened before (with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
) -> ReviewPage:
    """Entries to review — recorded without the resident's permission, or emergency entries — newest first, each
    with the explanations of the member of staff it names. Night lead or manager of the home."""
    if start is not None and end is not None and end <= start:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_window", "`to` must be after `from`")
    query = to_review(at_home.home.id)
    if start is not None:
        query = query.where(EntryRecord.opened_at >= start)
    if end is not None:
        query = query.where(EntryRecord.opened_at < end)
    rows = list(session.scalars(query.order_by(EntryRecord.opened_at.desc(), EntryRecord.id.desc()).limit(limit + 1)))
    shown = rows[:limit]
    explained = explanations_of(session, [row.door_opened_event_id for row in shown])
    said: dict[int, list[ExplanationOut]] = defaultdict(list)
    for out in explanation_outs(session, [item for items in explained.values() for item in items]):
        said[out.door_opened_event_id].append(out)
    names = staff_names(session, {row.who for row in shown})
    page = ReviewPage(entries=[
        EntryForReview(entry=entry_out(row), staff_name=names.get(row.who), explanations=said[row.door_opened_event_id])
        for row in shown], truncated=len(rows) > limit)
    record_read(session, at_home.caller, at_home.home.id, "entries.review", {
        "from": start.isoformat() if start else None, "to": end.isoformat() if end else None})
    return page


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
def get_entry(door_opened_event_id: OpeningId, caller: CallerDep, session: SessionDep) -> EntryHistory:
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


def _decision(session: Session, door_opened_event_id: int) -> EntryRecord:
    entry = decision_in_force(session, door_opened_event_id)
    if entry is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_entry", f"no entry for event {door_opened_event_id}")
    return entry


@router.get("/entries/{door_opened_event_id}/explanations", response_model=list[ExplanationOut])
def get_explanations(door_opened_event_id: OpeningId, caller: CallerDep, session: SessionDep) -> list[ExplanationOut]:
    """What the member of staff an entry names said about it, oldest first. They, or the night lead or a manager of
    its home."""
    entry = _decision(session, door_opened_event_id)
    if not may_explain(caller, entry):
        ensure_at_home(session, caller, entry.site, LEADS)
    found = explanation_outs(session, explanations_of(session, [door_opened_event_id]).get(door_opened_event_id, []))
    record_read(session, caller, entry.site, "entry.explanations", {"door_opened_event_id": door_opened_event_id},
                room=entry.room)
    return found


@router.post("/entries/{door_opened_event_id}/explanations", response_model=ExplanationOut,
             status_code=status.HTTP_201_CREATED)
def post_explanation(door_opened_event_id: OpeningId, body: ExplanationIn, caller: CallerDep,
                     session: SessionDep) -> ExplanationOut:
    """Explain an entry: only the member of staff it names. Appended, never an edit: a second explanation is kept
    beside the first. Recorded in the hub's chain."""
    return explain(session, caller, door_opened_event_id, body.text)


def explain(session: Session, caller: SignedIn, door_opened_event_id: int, text: str) -> ExplanationOut:
    """Record `caller`'s explanation of an entry (the API route above, the dashboard's own-record form): 404 for
    no such entry, 403 unless the entry names the caller."""
    entry = _decision(session, door_opened_event_id)
    if not may_explain(caller, entry):
        raise problem(status.HTTP_403_FORBIDDEN, "not_named",
                      "only the member of staff this entry names may explain it")
    with people_change(session):
        explanation = explain_entry(session, entry, caller, text, datetime.now(UTC))
    return explanation_outs(session, [explanation])[0]
