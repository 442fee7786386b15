"""Alerts for the people of a home: listed, acknowledged by a named person (the first wins), resolved with a note.

Each change is applied by the pure rules (hub/rules/alerts.py), stored with its history line and its event for
the hub's chain in one transaction, then published live on `threshold/v1/{site}/hub/alerts` for every board.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.broker import LiveLink
from hub.api.deps import CARERS, AtHome, CallerDep, CarerAtHomeDep, LiveDep, SessionDep, ensure_at_home
from hub.api.problems import PROBLEMS, problem
from hub.chain import record_for_chain
from hub.db.models import AlertChangeRecord, AlertRecord
from hub.decisions.alerts import alert_message, alert_state, chain_data, change_record, write_if_unchanged
from hub.live import alerts_topic
from hub.people.accounts import SignedIn
from hub.rules import alerts as rules
from hub.rules.alerts import AlertState, AlertStatus, Refusal, Transition
from protocol.hub_events import HubEventType

router = APIRouter(tags=["alerts"], responses=PROBLEMS)

MAX_LIMIT = 1000
ATTEMPTS = 3

REFUSAL_STATUS = {"own_entry": status.HTTP_403_FORBIDDEN, "needs_note": status.HTTP_422_UNPROCESSABLE_CONTENT}
"""Other refusals (already acknowledged, already resolved) are 409: someone else's change came first."""


class AlertScope(StrEnum):
    ACTIVE = "active"
    ALL = "all"


class AlertOut(BaseModel):
    id: str = Field(title="Alert id")
    site: str
    room: str | None
    type: str = Field(title="Alert type")
    status: AlertStatus = Field(title="active/cleared × acknowledged/unacknowledged")
    subject: str = Field(title="What it is about: a room, a device, an entry")
    subject_staff: str | None = Field(title="Staff member whose own entry it is about (cannot acknowledge it)")
    sentence: str = Field(title="What was recorded, in neutral words")
    rests_on: list[str] = Field(title="The facts it rests on")
    raised_at: datetime
    acknowledged_by: str | None = Field(title="Staff id of who acknowledged it")
    acknowledged_at: datetime | None
    cleared_at: datetime | None = Field(title="When its condition ended or it was resolved")
    clear_note: str | None
    resolved_by: str | None = Field(title="Staff id of who resolved it")
    resolved_at: datetime | None
    resolution_note: str | None
    escalated: list[int] = Field(title="Escalation steps already sent")


class AlertChangeOut(BaseModel):
    action: str = Field(title="raised, acknowledged, escalated, cleared or resolved")
    by: str = Field(title="Staff id, or hub")
    at: datetime
    note: str | None
    status: str = Field(title="Status after the change")


class AlertDetail(AlertOut):
    history: list[AlertChangeOut] = Field(title="Every change, oldest first")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000, title="Note", description="What was done. Required.")


def alert_out(record: AlertRecord) -> AlertOut:
    return AlertOut.model_validate({
        **{name: getattr(record, name) for name in AlertOut.model_fields if name != "status"},
        "status": alert_state(record).status,
    })


def _detail(session: Session, record: AlertRecord) -> AlertDetail:
    history = session.scalars(select(AlertChangeRecord).where(AlertChangeRecord.alert_id == record.id)
                              .order_by(AlertChangeRecord.id))
    return AlertDetail(
        **alert_out(record).model_dump(),
        history=[AlertChangeOut(action=line.action, by=line.by, at=line.at, note=line.note, status=line.status)
                 for line in history],
    )


def _alert_of_home(session: Session, caller: SignedIn, alert_id: str) -> tuple[AlertRecord, AtHome]:
    record = session.get(AlertRecord, alert_id, populate_existing=True)
    if record is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_alert", f"no alert {alert_id!r}")
    return record, ensure_at_home(session, caller, record.site, CARERS)


@router.get("/alerts", response_model=list[AlertOut])
def get_alerts(
    at_home: CarerAtHomeDep,
    session: SessionDep,
    state: Annotated[AlertScope, Query(description="active: not yet cleared; all: every alert")] = AlertScope.ACTIVE,
    room: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
) -> list[AlertOut]:
    """A home's alerts, newest first. Staff, night lead or manager of the home."""
    return home_alerts(session, at_home.home.id, state, room, limit)


def home_alerts(session: Session, site: str, state: AlertScope = AlertScope.ACTIVE, room: str | None = None,
                limit: int = 200) -> list[AlertOut]:
    """A home's alerts (only the active ones, or all), newest first."""
    query = select(AlertRecord).where(AlertRecord.site == site)
    if state == AlertScope.ACTIVE:
        query = query.where(AlertRecord.cleared_at.is_(None))
    if room is not None:
        query = query.where(AlertRecord.room == room)
    query = query.order_by(AlertRecord.raised_at.desc(), AlertRecord.id).limit(limit)
    return [alert_out(record) for record in session.scalars(query)]


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: str, caller: CallerDep, session: SessionDep) -> AlertDetail:
    """One alert with every change to it. Staff, night lead or manager of its home."""
    return _detail(session, _alert_of_home(session, caller, alert_id)[0])


def _change(
    session: Session, live: LiveLink, caller: SignedIn, alert_id: str,
    transition: Callable[[AlertState, str, datetime], Transition | Refusal],
) -> AlertDetail:
    """Apply a person's transition: refused → 4xx with nothing written; else row, history line and chain event
    in one transaction, then the live message. A concurrent change makes us read again and re-decide."""
    for _attempt in range(ATTEMPTS):
        record, at_home = _alert_of_home(session, caller, alert_id)
        by = at_home.staff_id
        before = alert_state(record)
        outcome = transition(before, by, datetime.now(UTC))
        if isinstance(outcome, Refusal):
            session.rollback()
            raise problem(REFUSAL_STATUS.get(outcome.reason, status.HTTP_409_CONFLICT), outcome.reason,
                          outcome.sentence)
        if not write_if_unchanged(session, before, outcome.alert):
            session.rollback()  # someone else's change landed between our read and our write
            continue
        session.add(change_record(outcome.change))
        record_for_chain(session, record.site, HubEventType.ALERT_CHANGED, chain_data(record, outcome.change),
                         room=record.room)
        session.commit()
        session.refresh(record)
        message = alert_message(record, outcome.change.action.value, outcome.change.at, outcome.change.note)
        live.publish(alerts_topic(record.site), message.model_dump_json().encode())
        return _detail(session, record)
    raise problem(status.HTTP_409_CONFLICT, "concurrent_change", "the alert kept changing; look again and retry")


def acknowledge_alert(session: Session, live: LiveLink, caller: SignedIn, alert_id: str) -> AlertDetail:
    """`caller` acknowledges the alert (the API's route and the night board's form alike)."""
    return _change(session, live, caller, alert_id, rules.acknowledge)


def resolve_alert(session: Session, live: LiveLink, caller: SignedIn, alert_id: str, note: str) -> AlertDetail:
    """`caller` resolves the alert with `note` (a blank note is refused: 422 needs_note)."""
    return _change(session, live, caller, alert_id, lambda alert, by, at: rules.resolve(alert, by, at, note))


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
def post_acknowledge(alert_id: str, caller: CallerDep, session: SessionDep, live: LiveDep) -> AlertDetail:
    """Acknowledge an alert as yourself. The first acknowledgement wins (409 already_acknowledged after it);
    nobody acknowledges an alert about their own entry (403 own_entry). Staff, night lead or manager of its home."""
    return acknowledge_alert(session, live, caller, alert_id)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetail)
def post_resolve(alert_id: str, body: ResolveIn, caller: CallerDep, session: SessionDep,
                 live: LiveDep) -> AlertDetail:
    """Resolve an alert with a note saying what was done; it clears it, and counts as the acknowledgement if
    nobody had acknowledged it. Not about your own entry (403 own_entry). Staff, night lead or manager of its home."""
    return resolve_alert(session, live, caller, alert_id, body.note)
