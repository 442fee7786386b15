"""Entry decisions into the database: one `entry_decisions` row per revision, a `hub.entry.decided` event in the hub's
own chain for each, and the entry's `unpermitted_entry` alert raised or cleared to match.

Revision 1 (cause "first") is made when the door opening is stored. A late event (stored now, dated before an opening
already decided, within its look-back) or the door closing re-decides it; a revision is added only when the decision
differs, so the history shows exactly what changed and why.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.chain import HubChain
from hub.db.models import EntryRecord, StoredEvent
from hub.decisions.alerts import AlertRaise, clear_active, raise_once
from hub.decisions.facts import (
    DEFAULT_VERSION,
    VACANT,
    facts_around,
    help_alerts_at,
    occupant_at,
    preferences_at,
    room_context,
    roster_around,
)
from hub.live import AlertMessage
from hub.rules.alerts import AlertType, EscalationLadder
from hub.rules.entries import UNIDENTIFIED, EntryDecision, Outcome, decide_entry, redecide
from protocol.events import EventType
from protocol.hub_events import HubEventType

log = logging.getLogger(__name__)

FIRST, LATE_EVENT, DOOR_CLOSED = "first", "late_event", "door_closed"


def entry_subject(door_opened_event_id: int | str) -> str:
    return f"entry:{door_opened_event_id}"


def _event_id(fact_id: str | None) -> int | None:
    return int(fact_id) if fact_id is not None else None


def decision_of(record: EntryRecord) -> EntryDecision:
    """The decision a stored revision records, as the rules made it (so `redecide` can compare against it)."""
    return EntryDecision(
        door_opened=str(record.door_opened_event_id), device=record.device, door=record.door,
        room=record.room or "", resident=record.resident_id or VACANT, opened_at=record.opened_at,
        kind=record.kind, outcome=record.outcome, reason=record.reason, sentence=record.sentence,
        rules_version=record.rules_version,
        preference_version=str(record.preference_version) if record.preference_version is not None else DEFAULT_VERSION,
        who=record.who, knock=_str(record.knock_event_id), answer=_str(record.answer_event_id),
        waited_ms=record.waited_ms, wait_s=record.wait_s, closed_at=record.closed_at, inside_ms=record.inside_ms,
        rests_on=tuple(record.rests_on), review_required=record.review_required,
    )


def _str(value: int | None) -> str | None:
    return str(value) if value is not None else None


def _record(decision: EntryDecision, site: str, revision: int, cause: str, decided_at: datetime) -> EntryRecord:
    return EntryRecord(
        door_opened_event_id=int(decision.door_opened), revision=revision, cause=cause, decided_at=decided_at,
        site=site, room=decision.room, device=decision.device, door=decision.door,
        resident_id=None if decision.resident == VACANT else decision.resident, opened_at=decision.opened_at,
        kind=decision.kind.value, outcome=decision.outcome.value, reason=decision.reason.value,
        sentence=decision.sentence, rules_version=decision.rules_version,
        preference_version=None if decision.preference_version == DEFAULT_VERSION else int(decision.preference_version),
        who=decision.who, knock_event_id=_event_id(decision.knock), answer_event_id=_event_id(decision.answer),
        waited_ms=decision.waited_ms, wait_s=decision.wait_s, closed_at=decision.closed_at,
        inside_ms=decision.inside_ms, rests_on=list(decision.rests_on), review_required=decision.review_required,
    )


@dataclass(frozen=True)
class EntryContext:
    """How the worker decides: the zone for a site with no home row, and the home's escalation ladder."""

    default_zone: str
    ladder: EscalationLadder


def _decide(session: Session, opened: StoredEvent, context: EntryContext,
            previous: EntryDecision | None = None) -> EntryDecision | None:
    """The decision for the opening as the facts now stand; with `previous`, None when nothing changed."""
    assert opened.room is not None
    facts = facts_around(session, opened)
    # The opening is among its own facts (its door, an entry type, inside the look-back), its clock corrected.
    fact = next(fact for fact in facts if fact.id == str(opened.id))
    resident = occupant_at(session, opened.site, opened.room, fact.at)
    arguments = dict(
        door_opened=fact,
        facts=facts,
        preferences=preferences_at(session, resident, fact.at),
        roster=roster_around(session, opened.site, fact.at),
        room=room_context(session, opened.site, opened.room, resident, context.default_zone),
        open_alerts=help_alerts_at(session, opened.site, opened.room, fact.at),
    )
    if previous is None:
        return decide_entry(**arguments)  # type: ignore[arg-type]
    return redecide(previous, **arguments)  # type: ignore[arg-type]


def _store(session: Session, chain: HubChain, decision: EntryDecision, site: str, revision: int, cause: str,
           now: datetime) -> EntryRecord:
    record = _record(decision, site, revision, cause, now)
    session.add(record)
    chain.append(session, site, HubEventType.ENTRY_DECIDED, {
        "door_opened": decision.door_opened, "revision": revision, "cause": cause, "kind": decision.kind.value,
        "outcome": decision.outcome.value, "reason": decision.reason.value, "sentence": decision.sentence,
        "who": decision.who, "rules_version": decision.rules_version,
        "preference_version": decision.preference_version, "rests_on": list(decision.rests_on),
    }, room=decision.room, at=now)
    return record


def _unpermitted(decision: EntryDecision, site: str) -> AlertRaise:
    return AlertRaise(
        site=site, room=decision.room, type=AlertType.UNPERMITTED_ENTRY, subject=entry_subject(decision.door_opened),
        rests_on=decision.rests_on, subject_staff=None if decision.who == UNIDENTIFIED else decision.who,
        sentence=decision.sentence,
    )


def _decided_already(session: Session, door_opened_event_id: int) -> bool:
    return session.scalar(select(EntryRecord.id).where(EntryRecord.door_opened_event_id == door_opened_event_id)
                          .limit(1)) is not None


def decide_opening(session: Session, chain: HubChain, opened: StoredEvent, now: datetime,
                   context: EntryContext, just_stored: bool = False) -> tuple[EntryDecision | None, list[AlertMessage]]:
    """Decide a newly stored door opening (revision 1) and raise its alert when it was not permitted. `just_stored`:
    stored by the batch now being decided, so never decided before (and not read again to make sure)."""
    if opened.room is None:
        log.warning("door.opened %d of %s names no room the registry knows; not decided", opened.id, opened.device)
        return None, []
    if not just_stored and _decided_already(session, opened.id):
        return None, []  # a catch-up after a restart overlapping the live path
    decision = _decide(session, opened, context)
    assert decision is not None
    _store(session, chain, decision, opened.site, 1, FIRST, now)
    if decision.outcome == Outcome.UNPERMITTED:
        return decision, raise_once(session, chain, _unpermitted(decision, opened.site), now, context.ladder)
    return decision, []


def latest_revision(session: Session, door_opened_event_id: int) -> EntryRecord | None:
    return session.scalar(select(EntryRecord).where(EntryRecord.door_opened_event_id == door_opened_event_id)
                          .order_by(EntryRecord.revision.desc()).limit(1))


def redecide_opening(session: Session, chain: HubChain, opened: StoredEvent, cause: str, now: datetime,
                     context: EntryContext) -> tuple[EntryDecision | None, list[AlertMessage]]:
    """Decide an opening again; a new revision (and the alert raised or cleared) only when the decision differs."""
    latest = latest_revision(session, opened.id)
    if latest is None or opened.room is None:
        return None, []
    previous = decision_of(latest)
    decision = _decide(session, opened, context, previous)
    if decision is None:
        return None, []
    _store(session, chain, decision, opened.site, latest.revision + 1, cause, now)
    subject = entry_subject(opened.id)
    if decision.outcome == previous.outcome:
        return decision, []  # the alert (raised, acknowledged or resolved) stands as it is
    if decision.outcome == Outcome.UNPERMITTED:
        return decision, raise_once(session, chain, _unpermitted(decision, opened.site), now, context.ladder)
    note = f"Re-decided ({cause.replace('_', ' ')}): {decision.sentence}"
    return decision, clear_active(session, chain, AlertType.UNPERMITTED_ENTRY, subject, now, note, context.ladder)


def undecided_openings(session: Session, since: datetime, limit: int = 1000) -> list[StoredEvent]:
    """Door openings stored since `since` with no decision yet (the worker stopped between the two commits)."""
    decided = select(EntryRecord.door_opened_event_id).where(EntryRecord.door_opened_event_id == StoredEvent.id)
    return list(session.scalars(
        select(StoredEvent).where(
            StoredEvent.type == EventType.DOOR_OPENED, StoredEvent.received_at >= since, StoredEvent.room.is_not(None),
            ~decided.exists(),
        ).order_by(StoredEvent.ts_ms, StoredEvent.id).limit(limit)
    ))
