"""What a member of staff says about an entry that names them: the manager reviewing an entry recorded without
the resident's answer, or an emergency entry, reads it beside the decision.

Only the member of staff the entry's decision in force names may explain it. Explanations are appended, never
edited (the table refuses any other change): a second thought is a second explanation, and both stay. Each is also
a `hub.entry.explained` event in the hub's chain, so what was said, by whom and when is as tamper-evident as the
entry itself.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.chain import record_for_chain
from hub.db.models import EntryExplanation, EntryRecord
from hub.people.accounts import SignedIn
from hub.people.errors import PeopleError
from hub.rules.entries import UNIDENTIFIED
from protocol.hub_events import HubEventType

MAX_TEXT = 4000


def decision_in_force(session: Session, door_opened_event_id: int) -> EntryRecord | None:
    """The latest revision of the decision about one door opening."""
    return session.scalar(select(EntryRecord).where(EntryRecord.door_opened_event_id == door_opened_event_id)
                          .order_by(EntryRecord.revision.desc()).limit(1))


def may_explain(caller: SignedIn, entry: EntryRecord) -> bool:
    """Whether `caller` is the member of staff `entry` names, in its home (only carers' accounts name staff)."""
    staff = caller.account.staff_id
    return staff is not None and entry.who != UNIDENTIFIED and staff == entry.who and caller.home_id == entry.site


def explain_entry(session: Session, entry: EntryRecord, caller: SignedIn, text: str,
                  now: datetime) -> EntryExplanation:
    """Append the caller's explanation of `entry` and its chain event, in the caller's transaction (which
    commits). The caller has checked `may_explain`."""
    words = text.strip()
    if not words:
        raise PeopleError("empty_explanation", "an explanation says something")
    if len(words) > MAX_TEXT:
        raise PeopleError("explanation_too_long", f"an explanation is at most {MAX_TEXT} characters")
    assert caller.account.staff_id is not None  # may_explain holds
    explanation = EntryExplanation(door_opened_event_id=entry.door_opened_event_id, site=entry.site,
                                   room=entry.room, staff_id=caller.account.staff_id, account_id=caller.account.id,
                                   given_at=now, text=words)
    session.add(explanation)
    session.flush()
    record_for_chain(session, entry.site, HubEventType.ENTRY_EXPLAINED, {
        "door_opened": entry.door_opened_event_id, "revision": entry.revision, "explanation": explanation.id,
        "staff": explanation.staff_id, "by": caller.account.username, "text": words,
    }, room=entry.room)
    return explanation


def explanations_of(session: Session, door_opened_event_ids: Iterable[int]) -> dict[int, list[EntryExplanation]]:
    """Every explanation of each door opening, oldest first."""
    ids = sorted(set(door_opened_event_ids))
    found: dict[int, list[EntryExplanation]] = defaultdict(list)
    if not ids:
        return found
    for explanation in session.scalars(select(EntryExplanation)
                                       .where(EntryExplanation.door_opened_event_id.in_(ids))
                                       .order_by(EntryExplanation.given_at, EntryExplanation.id)):
        found[explanation.door_opened_event_id].append(explanation)
    return found

