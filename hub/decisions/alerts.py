"""Alerts into the database: the state (`alerts`), its history (`alert_changes`) and a `hub.alert.changed` event in the
hub's own chain for every change, all in the caller's transaction. Transitions themselves are hub/rules/alerts.py's.

At most one active alert per subject and type: the database's partial unique index says so, and raising one that is
already active changes nothing (the insert is tried in a savepoint, so a concurrent raise is not an error).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.chain import HubChain
from hub.db.models import AlertChangeRecord, AlertRecord
from hub.decisions.facts import alert_state
from hub.live import AlertMessage
from hub.rules.alerts import (
    DEFAULT_LADDER,
    Action,
    AlertType,
    EscalationLadder,
    Transition,
    clear,
    due_escalations,
    escalate,
    next_escalation_at,
    raise_alert,
)
from protocol.hub_events import HubEventType


@dataclass(frozen=True)
class AlertRaise:
    """What to raise: the site and room it belongs to, its type and subject, and what it rests on."""

    site: str
    room: str | None
    type: AlertType
    subject: str
    rests_on: tuple[str, ...] = ()
    subject_staff: str | None = None
    sentence: str | None = None


def _message(record: AlertRecord, transition: Transition, ladder: EscalationLadder) -> AlertMessage:
    change = transition.change
    step = transition.alert.escalated[-1] if change.action == Action.ESCALATED else None
    return AlertMessage(
        id=record.id, site=record.site, room=record.room, type=record.type, status=change.status.value,
        sentence=record.sentence, subject_staff=record.subject_staff, raised_at=record.raised_at,
        acknowledged_by=record.acknowledged_by, resolved_by=record.resolved_by, change=change.action.value,
        changed_at=change.at, escalation_step=step,
        audience=ladder.steps[step].audience.value if step is not None else None,
    )


def record_change(
    session: Session, chain: HubChain, record: AlertRecord, transition: Transition,
    ladder: EscalationLadder = DEFAULT_LADDER,
) -> AlertMessage:
    """Write one transition of `record`: its new state, a line of history and a hub chain event. Returns what to
    publish once the transaction commits."""
    alert, change = transition.alert, transition.change
    record.acknowledged_by, record.acknowledged_at = alert.acknowledged_by, alert.acknowledged_at
    record.cleared_at, record.clear_note = alert.cleared_at, alert.clear_note
    record.resolved_by, record.resolved_at = alert.resolved_by, alert.resolved_at
    record.resolution_note = alert.resolution_note
    record.escalated = list(alert.escalated)
    record.next_escalation_at = next_escalation_at(alert, ladder)
    session.add(AlertChangeRecord(alert_id=record.id, action=change.action.value, by=change.by, at=change.at,
                                  note=change.note, status=change.status.value))
    message = _message(record, transition, ladder)
    chain.append(session, record.site, HubEventType.ALERT_CHANGED, {
        "alert": record.id, "type": record.type, "subject": record.subject, "action": change.action.value,
        "by": change.by, "note": change.note, "status": change.status.value,
        "escalation_step": message.escalation_step, "audience": message.audience,
    }, room=record.room, at=change.at)
    return message


def escalate_due(
    session: Session, chain: HubChain, record: AlertRecord, now: datetime, ladder: EscalationLadder = DEFAULT_LADDER
) -> list[AlertMessage]:
    """Send every ladder step due at `now` that has not been sent, oldest first."""
    messages = []
    for index, _step in due_escalations(alert_state(record), ladder, now):
        moved = escalate(alert_state(record), ladder, index, now)
        if isinstance(moved, Transition):
            messages.append(record_change(session, chain, record, moved, ladder))
    return messages


def active_alert(session: Session, type: AlertType, subject: str) -> AlertRecord | None:
    return session.scalar(select(AlertRecord).where(
        AlertRecord.type == type.value, AlertRecord.subject == subject, AlertRecord.cleared_at.is_(None)
    ))


def raise_once(
    session: Session, chain: HubChain, wanted: AlertRaise, at: datetime, ladder: EscalationLadder = DEFAULT_LADDER
) -> list[AlertMessage]:
    """Raise the alert unless one of its type is already active for its subject; escalates the steps due at once.
    Returns what to publish (nothing when it was already raised)."""
    if active_alert(session, wanted.type, wanted.subject) is not None:
        return []
    transition = raise_alert(uuid.uuid4().hex, wanted.type, wanted.subject, at, subject_staff=wanted.subject_staff,
                             rests_on=wanted.rests_on, sentence=wanted.sentence)
    alert = transition.alert
    record = AlertRecord(
        id=alert.id, site=wanted.site, room=wanted.room, type=alert.type.value, subject=alert.subject,
        subject_staff=alert.subject_staff, sentence=alert.sentence, rests_on=list(alert.rests_on),
        raised_at=alert.raised_at, escalated=[], next_escalation_at=next_escalation_at(alert, ladder),
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return []  # another writer raised it first: it is active, which is all that was asked
    messages = [record_change(session, chain, record, transition, ladder)]
    return messages + escalate_due(session, chain, record, at, ladder)


def clear_active(session: Session, chain: HubChain, type: AlertType, subject: str, at: datetime, note: str,
                 ladder: EscalationLadder = DEFAULT_LADDER) -> list[AlertMessage]:
    """Clear the active alert of this type and subject, if there is one: the condition has ended."""
    record = active_alert(session, type, subject)
    if record is None:
        return []
    moved = clear(alert_state(record), at, note)
    return [record_change(session, chain, record, moved, ladder)] if isinstance(moved, Transition) else []
