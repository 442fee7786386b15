"""Between an alert's row and the rules' AlertState, and from a row to the AlertMessage boards see live."""

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from hub.db.models import AlertChangeRecord, AlertRecord
from hub.live import AlertMessage
from hub.rules.alerts import Action, AlertChange, AlertState, AlertType

# The columns a person's transition (acknowledge, resolve) may fill.
PERSON_FILLED = ("acknowledged_by", "acknowledged_at", "cleared_at", "clear_note", "resolved_by", "resolved_at",
                 "resolution_note")


def state_of(record: AlertRecord) -> AlertState:
    return AlertState(
        id=record.id, type=AlertType(record.type), subject=record.subject, subject_staff=record.subject_staff,
        sentence=record.sentence, rests_on=tuple(record.rests_on), raised_at=record.raised_at,
        acknowledged_by=record.acknowledged_by, acknowledged_at=record.acknowledged_at,
        cleared_at=record.cleared_at, clear_note=record.clear_note, resolved_by=record.resolved_by,
        resolved_at=record.resolved_at, resolution_note=record.resolution_note, escalated=tuple(record.escalated),
    )


def write_if_unchanged(session: Session, before: AlertState, after: AlertState) -> bool:
    """Write what a transition filled in, only if nobody changed those columns since `before` was read.

    A conditional UPDATE (… WHERE acknowledged_by IS NULL …) decides between two people acting at once in the
    database itself, on either engine: exactly one UPDATE matches the row; the other finds rowcount 0.
    """
    changed = {name: getattr(after, name) for name in PERSON_FILLED if getattr(after, name) != getattr(before, name)}
    guards = [
        getattr(AlertRecord, name).is_(None) if getattr(before, name) is None
        else getattr(AlertRecord, name) == getattr(before, name)
        for name in changed
    ]
    result = session.execute(
        # An acknowledged or cleared alert no longer escalates (hub/rules/alerts.py), so the scheduler can forget it.
        update(AlertRecord).where(AlertRecord.id == before.id, *guards).values(**changed, next_escalation_at=None),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def change_record(change: AlertChange) -> AlertChangeRecord:
    return AlertChangeRecord(alert_id=change.alert, action=change.action.value, by=change.by, at=change.at,
                             note=change.note, status=change.status.value)


def chain_data(record: AlertRecord, change: AlertChange) -> dict[str, Any]:
    """What the hub's chain keeps of one alert change."""
    return {**change.model_dump(mode="json"), "type": record.type, "subject": record.subject}


def message_of(record: AlertRecord, action: str, at: datetime, note: str | None = None) -> AlertMessage:
    """The live message for an alert as the row now stands, after `action` at `at`."""
    state = state_of(record)
    escalating = action == Action.ESCALATED.value and bool(record.escalated)
    return AlertMessage(
        id=record.id, site=record.site, room=record.room, type=record.type, status=state.status.value,
        sentence=record.sentence, subject_staff=record.subject_staff, raised_at=record.raised_at,
        acknowledged_by=record.acknowledged_by, resolved_by=record.resolved_by, change=action, changed_at=at,
        escalation_step=record.escalated[-1] if escalating else None, audience=note if escalating else None,
    )
