"""Alerts into the database: the state (`alerts`), its history (`alert_changes`) and a `hub.alert.changed` event in the
hub's own chain for every change, all in the caller's transaction. Transitions themselves are hub/rules/alerts.py's.

Both writers of an alert row use what is here: the worker (raise, escalate, clear) and the API (a person's
acknowledgement or resolution). Every change is a conditional UPDATE that matches only while the columns that
decided the transition are as they were read, so neither writer can overwrite the other's change; the worker reads
again and re-decides, the API answers 409 or retries.

At most one active alert per subject and type: the database's partial unique index says so, and raising one that is
already active changes nothing (the insert does nothing on that conflict, so a concurrent raise is not an error).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hub.chain import HubChain
from hub.db.models import AlertChangeRecord, AlertRecord
from hub.live import AlertMessage
from hub.people.ladders import ladder_in_force
from hub.rules.alerts import (
    DEFAULT_LADDER,
    Action,
    AlertChange,
    AlertState,
    AlertType,
    EscalationLadder,
    Refusal,
    Transition,
    clear,
    due_escalations,
    escalate,
    ladder_for,
    next_escalation_at,
    raise_alert,
)
from protocol.hub_events import HubEventType

WRITER_ATTEMPTS = 3

TRANSITION_COLUMNS = ("acknowledged_by", "acknowledged_at", "cleared_at", "clear_note", "resolved_by", "resolved_at",
                      "resolution_note", "escalated")
"""The columns a transition may fill (hub/rules/alerts.py)."""
DECIDING_COLUMNS = ("acknowledged_by", "cleared_at", "resolved_by")
"""The columns every transition's refusals depend on: a write is valid only while they are as they were read."""


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


def alert_state(record: AlertRecord, subject: str | None = None) -> AlertState:
    """The rules' view of a stored alert; `subject` replaces the stored one (the entry rules match help by room)."""
    return AlertState(
        id=record.id, type=AlertType(record.type), subject=subject or record.subject,
        subject_staff=record.subject_staff, sentence=record.sentence, rests_on=tuple(record.rests_on),
        raised_at=record.raised_at, acknowledged_by=record.acknowledged_by, acknowledged_at=record.acknowledged_at,
        cleared_at=record.cleared_at, clear_note=record.clear_note, resolved_by=record.resolved_by,
        resolved_at=record.resolved_at, resolution_note=record.resolution_note, escalated=tuple(record.escalated),
    )


def write_if_unchanged(session: Session, before: AlertState, after: AlertState,
                       next_escalation: datetime | None = None) -> bool:
    """Write what a transition filled in, only if nobody changed the deciding columns, or those it fills, since
    `before` was read. `next_escalation` is when the scheduler looks at the alert next (None: an acknowledged or
    cleared alert no longer escalates).

    A conditional UPDATE (… WHERE acknowledged_by IS NULL …) decides between two writers at once in the database
    itself, on either engine: exactly one UPDATE matches the row; the other finds rowcount 0 and changes nothing.
    """
    changed: dict[str, Any] = {
        name: getattr(after, name) for name in TRANSITION_COLUMNS if getattr(after, name) != getattr(before, name)
    }
    if "escalated" in changed:
        changed["escalated"] = list(after.escalated)
    guarded = dict.fromkeys([*DECIDING_COLUMNS, *(name for name in changed if name != "escalated")])
    guards = [
        getattr(AlertRecord, name).is_(None) if getattr(before, name) is None
        else getattr(AlertRecord, name) == getattr(before, name)
        for name in guarded
    ]
    # Not flushing first: what is pending (history lines, an entry decision) touches no alert row, and is
    # written with the rest of the transaction instead of on a round trip of its own.
    with session.no_autoflush:
        result = session.execute(
            update(AlertRecord).where(AlertRecord.id == before.id, *guards)
            .values(**changed, next_escalation_at=next_escalation),
            execution_options={"synchronize_session": False},
        )
    return result.rowcount == 1


def change_record(change: AlertChange) -> AlertChangeRecord:
    return AlertChangeRecord(alert_id=change.alert, action=change.action.value, by=change.by, at=change.at,
                             note=change.note, status=change.status.value)


def _escalation_step(record: AlertRecord, action: str) -> int | None:
    return record.escalated[-1] if action == Action.ESCALATED.value and record.escalated else None


def chain_data(record: AlertRecord, change: AlertChange) -> dict[str, Any]:
    """What the hub's chain keeps of one alert change (an escalation's note is the audience it called)."""
    step = _escalation_step(record, change.action.value)
    return {**change.model_dump(mode="json"), "type": record.type, "subject": record.subject,
            "escalation_step": step, "audience": change.note if step is not None else None}


def alert_message(record: AlertRecord, action: str, at: datetime, note: str | None = None) -> AlertMessage:
    """The live message for an alert as the row now stands, after `action` at `at`."""
    step = _escalation_step(record, action)
    return AlertMessage(
        id=record.id, site=record.site, room=record.room, type=record.type, status=alert_state(record).status.value,
        sentence=record.sentence, subject_staff=record.subject_staff, raised_at=record.raised_at,
        acknowledged_by=record.acknowledged_by, resolved_by=record.resolved_by, change=action, changed_at=at,
        escalation_step=step, audience=note if step is not None else None,
    )


def alert_ladder(session: Session, site: str, type: AlertType | str,
                 default: EscalationLadder = DEFAULT_LADDER) -> EscalationLadder:
    """The ladder an alert of `type` in `site` climbs: the home's own (or `default` when it has set none), started
    at the night lead for a welfare check."""
    return ladder_for(AlertType(type), ladder_in_force(session, site) or default)


def _recorded(session: Session, chain: HubChain, record: AlertRecord, change: AlertChange) -> AlertMessage:
    session.add(change_record(change))
    chain.append(session, record.site, HubEventType.ALERT_CHANGED, chain_data(record, change), room=record.room,
                 at=change.at)
    return alert_message(record, change.action.value, change.at, change.note)


def apply_change(
    session: Session, chain: HubChain, record: AlertRecord,
    change: Callable[[AlertState, EscalationLadder], Transition | Refusal], default: EscalationLadder = DEFAULT_LADDER,
) -> list[AlertMessage]:
    """Apply the hub's transition `change` to `record` as it stands in the database: the row (conditionally), a line
    of history and a hub chain event. A person's change landing first makes it read again and re-decide; a refusal
    writes nothing. Returns what to publish once the transaction commits."""
    return _apply(session, chain, record, change, alert_ladder(session, record.site, record.type, default))


def _apply(session: Session, chain: HubChain, record: AlertRecord,
           change: Callable[[AlertState, EscalationLadder], Transition | Refusal],
           ladder: EscalationLadder) -> list[AlertMessage]:
    for _attempt in range(WRITER_ATTEMPTS):
        before = alert_state(record)
        moved = change(before, ladder)
        if isinstance(moved, Refusal):
            return []
        next_look = next_escalation_at(moved.alert, ladder)
        if write_if_unchanged(session, before, moved.alert, next_look):
            # The row is now what the transition made of it (the guards matched): no read back needed.
            _as_stored(record, moved.alert)
            set_committed_value(record, "next_escalation_at", next_look)
            return [_recorded(session, chain, record, moved.change)]
        session.refresh(record)  # someone else's change landed first: decide again on the row as it is
    return []


def _as_stored(record: AlertRecord, alert: AlertState) -> None:
    """Show `record` as the database holds it after a transition to `alert`, without reading it back."""
    for name in TRANSITION_COLUMNS:
        value = getattr(alert, name)
        set_committed_value(record, name, list(value) if name == "escalated" else value)


def escalate_due(
    session: Session, chain: HubChain, record: AlertRecord, now: datetime, default: EscalationLadder = DEFAULT_LADDER
) -> list[AlertMessage]:
    """Send every ladder step due at `now` that has not been sent, oldest first. With none due (the home's ladder
    changed since the alert was raised), only its next look is rescheduled by the ladder now in force."""
    return _escalate(session, chain, record, now, alert_ladder(session, record.site, record.type, default))


def _escalate(session: Session, chain: HubChain, record: AlertRecord, now: datetime,
              ladder: EscalationLadder) -> list[AlertMessage]:
    messages = []
    for index, _step in due_escalations(alert_state(record), ladder, now):
        messages += _apply(session, chain, record,
                           lambda state, ladder, index=index: escalate(state, ladder, index, now), ladder)
    if not messages:
        reschedule(session, record, ladder)
    return messages


def reschedule(session: Session, record: AlertRecord, ladder: EscalationLadder) -> None:
    """Set when the scheduler next looks at the alert, by `ladder`; a no-op if someone acknowledged or cleared it
    meanwhile (their write already said: never)."""
    state = alert_state(record)
    write_if_unchanged(session, state, state, next_escalation_at(state, ladder))


def active_alert(session: Session, type: AlertType, subject: str) -> AlertRecord | None:
    return session.scalar(select(AlertRecord).where(
        AlertRecord.type == type.value, AlertRecord.subject == subject, AlertRecord.cleared_at.is_(None)
    ))


def _insert_unless_active(session: Session, values: dict[str, Any]) -> AlertRecord | None:
    """Insert the alert row, or nothing when one of its type and subject is active already (the unique index):
    one statement, where a plain insert in a savepoint, for the same, took three round trips."""
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return session.scalars(
        dialect_insert(AlertRecord).values(**values).on_conflict_do_nothing().returning(AlertRecord)).one_or_none()


def raise_once(
    session: Session, chain: HubChain, wanted: AlertRaise, at: datetime, default: EscalationLadder = DEFAULT_LADDER
) -> list[AlertMessage]:
    """Raise the alert unless one of its type is already active for its subject; escalates the steps due at once.
    `default` is the ladder for a home that has set none. Returns what to publish (nothing when already raised).
    Whether one is active is the insert's to find (the unique index), not a read before it."""
    ladder = alert_ladder(session, wanted.site, wanted.type, default)
    transitions = [raise_alert(uuid.uuid4().hex, wanted.type, wanted.subject, at, subject_staff=wanted.subject_staff,
                               rests_on=wanted.rests_on, sentence=wanted.sentence)]
    for index, _step in due_escalations(transitions[0].alert, ladder, at):
        sent = escalate(transitions[-1].alert, ladder, index, at)
        if isinstance(sent, Transition):
            transitions.append(sent)
    # Inserted as the steps due at once leave it: nobody else sees the row before this transaction commits, so
    # there is nothing for a conditional update to guard against, and each change is still recorded in order.
    alert = transitions[-1].alert
    record = _insert_unless_active(session, dict(
        id=alert.id, site=wanted.site, room=wanted.room, type=alert.type.value, subject=alert.subject,
        subject_staff=alert.subject_staff, sentence=alert.sentence, rests_on=list(alert.rests_on),
        raised_at=alert.raised_at, escalated=list(alert.escalated),
        next_escalation_at=next_escalation_at(alert, ladder),
    ))
    if record is None:
        return []  # raised before (or by another writer just now): it is active, which is all that was asked
    messages = []
    for transition in transitions:
        _as_stored(record, transition.alert)  # each change's record and message as of that change
        messages.append(_recorded(session, chain, record, transition.change))
    return messages


def clear_active(session: Session, chain: HubChain, type: AlertType, subject: str, at: datetime, note: str,
                 default: EscalationLadder = DEFAULT_LADDER) -> list[AlertMessage]:
    """Clear the active alert of this type and subject, if there is one: the condition has ended."""
    record = active_alert(session, type, subject)
    if record is None:
        return []
    return apply_change(session, chain, record, lambda state, _ladder: clear(state, at, note), default)
