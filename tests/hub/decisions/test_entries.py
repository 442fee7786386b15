"""Entries decided from stored events and kept with their history; the alert raised, updated or cleared to match;
every decision and alert change in the hub's own signed chain. On SQLite and PostgreSQL."""

import queue
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import HubSettings
from hub.db.models import AlertChangeRecord, AlertRecord, EntryRecord
from hub.ingest.mqtt import BrokerLink
from hub.ingest.store import store_batch
from hub.ingest.worker import IngestWorker
from tests.hub.decisions.conftest import Door, hub_events


def revisions(sessions: sessionmaker[Session]) -> list[EntryRecord]:
    with sessions() as session:
        return list(session.scalars(select(EntryRecord).order_by(EntryRecord.door_opened_event_id,
                                                                 EntryRecord.revision)))


def alerts(sessions: sessionmaker[Session]) -> list[AlertRecord]:
    with sessions() as session:
        return list(session.scalars(select(AlertRecord).order_by(AlertRecord.raised_at)))


def changes(sessions: sessionmaker[Session], alert_id: str) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.scalars(select(AlertChangeRecord).where(AlertChangeRecord.alert_id == alert_id)
                               .order_by(AlertChangeRecord.id))
        return [(row.action, row.status) for row in rows]


def test_a_polite_entry_is_permitted_and_raises_nothing(door: Door, hub_key: Ed25519PrivateKey) -> None:
    decided = door.play(door.knock(0), door.answer(2, granted=True), door.event("door.opened", 3))
    (entry,) = revisions(door.sessions)
    assert (entry.revision, entry.cause, entry.kind, entry.outcome, entry.reason) == (
        1, "first", "entry", "permitted", "consent")
    assert (entry.resident_id, entry.room, entry.preference_version, entry.waited_ms) == ("ada", "room-12", None, 3000)
    assert decided.alerts == [] and alerts(door.sessions) == []
    (decision,) = hub_events(door.sessions, hub_key)
    assert decision["type"] == "hub.entry.decided" and decision["data"]["reason"] == "consent"


def test_did_not_wait_raises_one_alert_with_its_history_in_the_chain(door: Door, hub_key: Ed25519PrivateKey) -> None:
    decided = door.play(door.knock(0), door.event("door.opened", 12.4))
    (entry,) = revisions(door.sessions)
    assert (entry.outcome, entry.reason) == ("unpermitted", "did_not_wait")
    assert "waited 12 s of 30 s" in entry.sentence
    (alert,) = alerts(door.sessions)
    assert (alert.type, alert.subject, alert.room, alert.site) == (
        "unpermitted_entry", f"entry:{entry.door_opened_event_id}", "room-12", "oakwood")
    assert alert.sentence == entry.sentence and alert.subject_staff is None
    assert str(entry.door_opened_event_id) in alert.rests_on
    # Raised, and the ladder's first step (staff on duty, at once) sent in the same breath.
    assert changes(door.sessions, alert.id) == [("raised", "active_unacknowledged"),
                                                ("escalated", "active_unacknowledged")]
    assert alert.escalated == [0] and alert.next_escalation_at is not None
    assert [(m.change, m.escalation_step, m.audience) for m in decided.alerts] == [
        ("raised", None, None), ("escalated", 0, "staff_on_duty")]
    assert [e["type"] for e in hub_events(door.sessions, hub_key)] == [
        "hub.entry.decided", "hub.alert.changed", "hub.alert.changed"]


def test_a_late_answer_re_decides_the_entry_keeps_the_history_and_clears_the_alert(
    door: Door, hub_key: Ed25519PrivateKey
) -> None:
    knock, answer = door.knock(0), door.answer(2, granted=True)
    door.play(door.event("door.opened", 3))  # the knock and answer are still in the device's outbox
    (first,) = revisions(door.sessions)
    assert (first.outcome, first.reason) == ("unpermitted", "no_knock")
    decided = door.play(knock, answer)
    first_again, second = revisions(door.sessions)
    assert first_again.reason == "no_knock" and first_again.revision == 1  # history kept as it was
    assert (second.revision, second.cause, second.outcome, second.reason) == (2, "late_event", "permitted", "consent")
    (alert,) = alerts(door.sessions)
    assert alert.cleared_at is not None and "late event" in (alert.clear_note or "")
    assert [m.change for m in decided.alerts] == ["cleared"]
    assert changes(door.sessions, alert.id)[-1] == ("cleared", "cleared_unacknowledged")
    assert [e["data"].get("cause") for e in hub_events(door.sessions, hub_key)
            if e["type"] == "hub.entry.decided"] == ["first", "late_event"]


def test_a_late_decline_turns_a_permitted_entry_into_an_alert(door: Door) -> None:
    door.play(door.knock(0))
    door.play(door.event("door.opened", 40))  # the wait (30 s) had run out: permitted
    assert revisions(door.sessions)[0].reason == "no_answer_after_wait"
    door.play(door.answer(5, granted=False))
    assert [(r.revision, r.reason) for r in revisions(door.sessions)] == [(1, "no_answer_after_wait"), (2, "declined")]
    (alert,) = alerts(door.sessions)
    assert alert.type == "unpermitted_entry" and alert.cleared_at is None


def test_the_door_closing_adds_a_revision_with_the_time_inside(door: Door) -> None:
    door.play(door.knock(0), door.event("door.opened", 5))
    decided = door.play(door.event("door.closed", 65.5))
    first, second = revisions(door.sessions)
    assert (second.revision, second.cause, second.reason) == (2, "door_closed", first.reason)
    assert second.inside_ms == 60_500 and second.closed_at is not None and first.closed_at is None
    assert decided.alerts == []  # the alert stands as it was: one, still active
    (alert,) = alerts(door.sessions)
    assert alert.cleared_at is None


def test_help_and_tamper_raise_one_active_alert_each_however_often(door: Door) -> None:
    door.play(door.event("help.requested", 0))
    door.play(door.event("help.requested", 1), door.event("device.tamper", 2, {"what": "lid"}))
    door.play(door.event("device.tamper", 3, {"what": "lid"}))
    assert sorted((a.type, a.subject) for a in alerts(door.sessions)) == [
        ("help_requested", "room:oakwood:room-12"), ("tamper", "device:door-0007")]
    # A door opened while the resident's help request is open is an emergency entry, listed for review.
    door.play(door.event("door.opened", 4))
    (entry,) = revisions(door.sessions)
    assert (entry.outcome, entry.reason, entry.review_required) == ("permitted", "emergency", True)


def test_an_unsynced_clock_raises_and_a_synced_one_clears(door: Door) -> None:
    def heartbeat(at: float, synced: bool):  # type: ignore[no-untyped-def]
        return door.event("device.heartbeat", at, {"uptime_s": 1, "clock_synced": synced, "clock_offset_ms": None,
                                                   "outbox": 0, "fw": "t"})

    door.play(heartbeat(0, False))
    door.play(heartbeat(30, False))
    (alert,) = alerts(door.sessions)
    assert (alert.type, alert.subject, alert.cleared_at) == ("clock_unsynced", "device:door-0007", None)
    door.play(heartbeat(60, True))
    (alert,) = alerts(door.sessions)
    assert alert.cleared_at is not None


def test_bad_signatures_raise_one_security_alert_per_device(door: Door) -> None:
    forged = door.event("door.opened", 0)
    tampered = forged.payload.replace(b'"mono_ms":1', b'"mono_ms":2')
    assert tampered != forged.payload
    for mid in (1, 2):
        door.play(type(forged)(forged.topic, tampered, mid, 1, False, forged.received_at))
    (alert,) = alerts(door.sessions)
    assert (alert.type, alert.subject) == ("bad_signature", "device:door-0007")
    assert revisions(door.sessions) == []  # a refused event is never classified


def test_a_worker_starting_again_decides_openings_stored_but_never_decided(
    door: Door, migrated_url: str, tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    with door.sessions() as session:  # stored and committed; the worker died before deciding
        store_batch(session, [door.knock(0), door.event("door.opened", 2)], door.keys)
        session.commit()
    assert revisions(door.sessions) == []
    settings = HubSettings(database_url=migrated_url, key_file=tmp_path / "k.pem", _env_file=None)
    worker = IngestWorker(settings, door.sessions, BrokerLink(settings, queue.Queue()), hub_key)
    worker.catch_up()
    worker.catch_up()  # a second pass finds nothing left to decide
    (entry,) = revisions(door.sessions)
    assert (entry.revision, entry.reason) == (1, "did_not_wait")
    assert [a.type for a in alerts(door.sessions)] == ["unpermitted_entry"]


def test_do_not_disturb_set_hours_before_still_holds_and_a_later_off_ends_it(door: Door) -> None:
    # Far outside the look-back of the opening, with a run of motion in between: found however long ago it was set.
    door.play(door.event("dnd.on", -4 * 3600), *(door.event("motion.detected", -3 * 3600 + n) for n in range(20)))
    door.play(door.knock(0), door.event("door.opened", 3))
    assert [entry.reason for entry in revisions(door.sessions)] == ["do_not_disturb"]
    door.play(door.event("dnd.off", 600), door.knock(5000), door.answer(5002, granted=True),
              door.event("door.opened", 5003))
    assert [entry.reason for entry in revisions(door.sessions)] == ["do_not_disturb", "consent"]
