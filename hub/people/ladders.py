"""A home's escalation ladder: who is called, and when, about an alert nobody has acknowledged.

Versioned like preferences: setting a ladder adds a version (the table refuses any other change) and a
`hub.ladder.changed` event for the hub's chain, so every change says who made it and when. The newest version is
in force; a home that has set none climbs hub/rules/alerts.py's DEFAULT_LADDER.
"""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.chain import record_for_chain
from hub.db.models import Account, EscalationLadderVersion
from hub.people.homes import get_home
from hub.rules.alerts import EscalationLadder
from protocol.hub_events import HubEventType


def current_ladder(session: Session, home_id: str) -> EscalationLadderVersion | None:
    return session.scalar(select(EscalationLadderVersion).where(EscalationLadderVersion.home_id == home_id)
                          .order_by(EscalationLadderVersion.version.desc()).limit(1))


def ladder_in_force(session: Session, home_id: str) -> EscalationLadder | None:
    """The home's own ladder, or None when it has set none."""
    row = current_ladder(session, home_id)
    return EscalationLadder.model_validate({"steps": row.steps}) if row is not None else None


def set_ladder(session: Session, home_id: str, ladder: EscalationLadder, author: Account) -> EscalationLadderVersion:
    """Add the home's next ladder version, validated already by EscalationLadder; the caller commits. Two changes at
    once clash on (home, version) in the database: the second is refused, not merged."""
    get_home(session, home_id)
    latest = session.scalar(select(func.max(EscalationLadderVersion.version))
                            .where(EscalationLadderVersion.home_id == home_id)) or 0
    steps = [step.model_dump(mode="json") for step in ladder.steps]
    row = EscalationLadderVersion(home_id=home_id, version=latest + 1, steps=steps, updated_by=author.username,
                                  updated_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    record_for_chain(session, home_id, HubEventType.LADDER_CHANGED,
                     {"home": home_id, "version": row.version, "steps": steps, "set_by": author.username})
    return row
