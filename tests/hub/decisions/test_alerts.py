"""The worker's alert writes never overwrite a person's: a conditional UPDATE on the columns that decided the
transition, and a fresh read when someone else's change landed first. Two sessions on each engine, as the worker
and an API process would have."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain
from hub.db.models import AlertChangeRecord, AlertRecord, StoredEvent
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
from protocol.hub_events import HUB_SOURCE
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


def test_raising_one_already_active_changes_nothing_and_the_transaction_goes_on(people: People) -> None:
    """The insert meets the active one in the unique index and adds nothing (as for two writers raising at once),
    and its transaction carries on: on PostgreSQL a statement that failed would have aborted it."""
    chain = HubChain(generate_private_key())
    first = _raised(people.sessions, chain)
    tamper = AlertRaise(SITE, "room-12", AlertType.TAMPER, "device:door-12")
    with people.sessions() as worker:
        assert raise_once(worker, chain, HELP, T0 + timedelta(seconds=1)) == []
        assert [message.type for message in raise_once(worker, chain, tamper, T0 + timedelta(seconds=1))][:1] == [
            "tamper"]
        worker.commit()
    with people.sessions() as session:
        assert sorted((record.type, record.subject) for record in session.scalars(select(AlertRecord))) == [
            ("help_requested", HELP.subject), ("tamper", "device:door-12")]
    assert _actions(people.sessions, first) == ["raised", "escalated"]


def test_a_raise_sends_the_steps_due_at_once_and_records_each_change_in_order(people: People) -> None:
    """The default ladder calls the staff on duty at once: the alert is stored already escalated to that step,
    with the raise and the escalation each a line of history, a chain event and a live message of its own."""
    chain = HubChain(generate_private_key())
    with people.sessions() as session:
        messages = raise_once(session, chain, HELP, T0)
        session.commit()
    assert [(message.change, message.escalation_step, message.audience) for message in messages] == [
        ("raised", None, None), ("escalated", 0, "staff_on_duty")]
    with people.sessions() as session:
        stored = session.scalars(select(AlertRecord)).one()
        assert (stored.escalated, stored.next_escalation_at) == ([0], T0 + timedelta(minutes=2))
        changes = [json.loads(row.signed)["data"] for row in session.scalars(
            select(StoredEvent).where(StoredEvent.device == HUB_SOURCE).order_by(StoredEvent.seq))]
    assert [(change["action"], change["escalation_step"]) for change in changes] == [("raised", None), ("escalated", 0)]
    assert _actions(people.sessions, stored.id) == ["raised", "escalated"]
