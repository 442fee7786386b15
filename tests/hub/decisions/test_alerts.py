"""The worker's alert writes never overwrite a person's: a conditional UPDATE on the columns that decided the
transition, and a fresh read when someone else's change landed first. Two sessions on each engine, as the worker
and an API process would have."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain
from hub.db.models import AlertChangeRecord, AlertRecord
from hub.decisions.alerts import (
    AlertRaise,
    active_alert,
    alert_state,
    change_record,
    clear_active,
    escalate_due,
    raise_once,
    write_if_unchanged,
)
from hub.rules.alerts import AlertType, Transition, acknowledge
from protocol.signing import generate_private_key
from tests.hub.conftest import SITE, People

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
HELP = AlertRaise(SITE, "room-12", AlertType.HELP_REQUESTED, f"room:{SITE}:room-12")


def _raised(sessions: sessionmaker[Session], chain: HubChain) -> str:
    with sessions() as session:
        raise_once(session, chain, HELP, T0)
        session.commit()
        record = active_alert(session, HELP.type, HELP.subject)
        assert record is not None
        return record.id


def _acknowledge_elsewhere(sessions: sessionmaker[Session], alert_id: str, by: str) -> None:
    """What the API does, in its own session, committed."""
    with sessions() as session:
        before = alert_state(session.get_one(AlertRecord, alert_id))
        moved = acknowledge(before, by, T0 + timedelta(seconds=30))
        assert isinstance(moved, Transition) and write_if_unchanged(session, before, moved.alert)
        session.add(change_record(moved.change))
        session.commit()


def _actions(sessions: sessionmaker[Session], alert_id: str) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AlertChangeRecord.action).where(AlertChangeRecord.alert_id == alert_id)
                                    .order_by(AlertChangeRecord.id)))


def test_an_escalation_read_before_an_acknowledgement_is_not_written_over_it(people: People) -> None:
    chain = HubChain(generate_private_key())
    alert_id = _raised(people.sessions, chain)
    with people.sessions() as worker:
        record = worker.get_one(AlertRecord, alert_id)
        assert record.acknowledged_by is None  # the worker has read it: due for the night lead
        _acknowledge_elsewhere(people.sessions, alert_id, "sam")
        assert escalate_due(worker, chain, record, T0 + timedelta(seconds=120)) == []
        worker.commit()
    with people.sessions() as session:
        stored = session.get_one(AlertRecord, alert_id)
        assert (stored.acknowledged_by, stored.escalated, stored.next_escalation_at) == ("sam", [0], None)
    assert _actions(people.sessions, alert_id) == ["raised", "escalated", "acknowledged"]


def test_a_clear_read_before_an_acknowledgement_keeps_it_and_says_so(people: People) -> None:
    chain = HubChain(generate_private_key())
    alert_id = _raised(people.sessions, chain)
    with people.sessions() as worker:
        assert active_alert(worker, HELP.type, HELP.subject) is not None  # read, unacknowledged
        _acknowledge_elsewhere(people.sessions, alert_id, "nia")
        (cleared,) = clear_active(worker, chain, HELP.type, HELP.subject, T0 + timedelta(minutes=1), "Door closed.")
        worker.commit()
    assert (cleared.change, cleared.status, cleared.acknowledged_by) == ("cleared", "cleared_acknowledged", "nia")
    with people.sessions() as session:
        stored = session.get_one(AlertRecord, alert_id)
        assert (stored.acknowledged_by, stored.clear_note) == ("nia", "Door closed.")
        last = session.scalars(select(AlertChangeRecord).where(AlertChangeRecord.alert_id == alert_id)
                               .order_by(AlertChangeRecord.id.desc())).first()
        assert last is not None and (last.action, last.status) == ("cleared", "cleared_acknowledged")
