"""Every read of a timeline is itself recorded (DESIGN.md: who, when, what): a `hub.timeline.read` event in the
hub's chain, written in the reading request's own transaction."""

from typing import Any

from sqlalchemy.orm import Session

from hub.chain import record_for_chain
from hub.people.accounts import SignedIn
from protocol.hub_events import HubEventType


def record_read(session: Session, caller: SignedIn, site: str, what: str, query: dict[str, Any],
                room: str | None = None) -> None:
    """Record the read and commit it; the caller has read nothing it changes."""
    record_for_chain(session, site, HubEventType.TIMELINE_READ, {
        "by": caller.account.username, "role": caller.role.value, "staff": caller.account.staff_id,
        "what": what, "query": {name: value for name, value in query.items() if value is not None},
    }, room=room)
    session.commit()
