"""The worker's rounds on a controlled clock: the escalation ladder step by step (and carried on by a new worker, and
a home's own ladder), doors held open, devices never heard from, rooms out of range, welfare prompts, lone workers.
Real database on each engine, real broker for what is published."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import LocalBroker, free_port
from hub.api.app import create_app
from hub.chain import HubChain
from hub.core.config import HubSettings
from hub.db.models import Account, AlertChangeRecord, AlertRecord, Device, EntryRecord, StoredEvent
from hub.decisions.alerts import AlertRaise, active_alert, apply_change, raise_once
from hub.decisions.entries import EntryContext
from hub.decisions.facts import at_of
from hub.decisions.live import LiveBoard
from hub.evidence.check import check_database
from hub.evidence.checkpoints import open_checkpoint
from hub.ingest.message import ReceivedMessage
from hub.ingest.store import VerifyKeys, store_batch
from hub.live import alerts_topic
from hub.people.environment_limits import set_room_limits
from hub.people.ladders import set_ladder
from hub.rules.alerts import (
    DEFAULT_LADDER,
    WORDING,
    AlertType,
    Audience,
    EscalationLadder,
    EscalationStep,
    acknowledge,
    resolve,
)
from hub.rules.environment import EnvironmentLimits
from hub.scheduler import NightRounds
from protocol.signing import generate_private_key
from tests.hub.conftest import (
    DEVICE,
    EVENT_TOPIC,
    SITE,
    VECTOR_KEY,
    DeviceSide,
    People,
    received,
    signed_chain,
    wait_until,
)
from tests.hub.decisions.conftest import Door

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
CONTEXT = EntryContext(default_zone="Europe/London", ladder=DEFAULT_LADDER)
HELP = AlertRaise(SITE, "room-12", AlertType.HELP_REQUESTED, f"room:{SITE}:room-12")


@pytest.fixture
def listener(broker: LocalBroker) -> Iterator[DeviceSide]:
    side = DeviceSide(broker.port)
    side.subscribe(alerts_topic(SITE))
    yield side
    side.close()


@pytest.fixture
def board(broker: LocalBroker) -> Iterator[LiveBoard]:
    publisher = DeviceSide(broker.port)
    board = LiveBoard(publisher.client).start()
    yield board
    board.stop()
    publisher.close()


def rounds_for(sessions: sessionmaker[Session], chain: HubChain, board: LiveBoard, migrated_url: str,
               tmp_path: Path) -> NightRounds:
    settings = HubSettings(database_url=migrated_url, key_file=tmp_path / "k.pem", _env_file=None)
    return NightRounds(sessions, chain, board, threading.Lock(), settings, CONTEXT, clock=lambda: T0)


def test_escalation_climbs_the_ladder_and_a_new_worker_carries_on(
    sessions: sessionmaker[Session], board: LiveBoard, listener: DeviceSide, migrated_url: str, tmp_path: Path
) -> None:
    chain = HubChain(generate_private_key())
    with sessions() as session:
        raise_once(session, chain, HELP, T0)  # step 0 (staff on duty) goes at once
        session.commit()
    rounds = rounds_for(sessions, chain, board, migrated_url, tmp_path)
    assert rounds.escalations(T0 + timedelta(seconds=119)) == []
    (night_lead,) = rounds.escalations(T0 + timedelta(seconds=120))
    assert (night_lead.change, night_lead.escalation_step, night_lead.audience) == ("escalated", 1, "night_lead")
    assert rounds.escalations(T0 + timedelta(seconds=121)) == []  # a step is sent once

    # The worker restarts: a new process's rounds rebuild from the database and carry on.
    restarted = rounds_for(sessions, HubChain(chain.key), board, migrated_url, tmp_path)
    restarted.rebuild_escalations(T0 + timedelta(minutes=10))
    (manager,) = restarted.escalations(T0 + timedelta(minutes=10))
    assert (manager.escalation_step, manager.audience) == (2, "on_call_manager")
    assert restarted.escalations(T0 + timedelta(hours=1)) == []  # the last step has been sent
    with sessions() as session:
        alert = session.scalars(select(AlertRecord)).one()
        assert alert.escalated == [0, 1, 2] and alert.next_escalation_at is None
        history = session.scalars(select(AlertChangeRecord.note).where(AlertChangeRecord.action == "escalated")
                                  .order_by(AlertChangeRecord.id)).all()
    assert history == ["staff_on_duty", "night_lead", "on_call_manager"]

    def published() -> list[int | None]:
        return [json.loads(m.payload)["escalation_step"] for m in listener.on(alerts_topic(SITE))]

    wait_until(lambda: published() == [1, 2], what="both escalations published on the alerts topic")


def test_an_acknowledged_alert_escalates_no_further(
    sessions: sessionmaker[Session], board: LiveBoard, migrated_url: str, tmp_path: Path
) -> None:
    chain = HubChain(generate_private_key())
    with sessions() as session:
        raise_once(session, chain, HELP, T0)
        record = active_alert(session, AlertType.HELP_REQUESTED, HELP.subject)
        assert record is not None
        acknowledged = apply_change(session, chain, record,
                                    lambda state, _ladder: acknowledge(state, "nia", T0 + timedelta(seconds=30)))
        assert [message.change for message in acknowledged] == ["acknowledged"]
        session.commit()
    rounds = rounds_for(sessions, chain, board, migrated_url, tmp_path)
    assert rounds.escalations(T0 + timedelta(hours=1)) == []


def test_a_door_held_open_past_the_limit_raises_one_alert(
    registered: sessionmaker[Session], board: LiveBoard, migrated_url: str, tmp_path: Path
) -> None:
    chain = HubChain(generate_private_key())
    opened = signed_chain(VECTOR_KEY, DEVICE, range(1, 2))  # seq 1: door.opened on d1
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, opened[1])], VerifyKeys())
        session.commit()
    opened_at = at_of(1_795_654_800_000 + 1000)
    rounds = rounds_for(registered, chain, board, migrated_url, tmp_path)
    assert rounds.doors(opened_at + timedelta(seconds=299)) == []
    (raised, _escalated) = rounds.doors(opened_at + timedelta(seconds=300))
    assert (raised.type, raised.room, raised.change) == ("door_held_open", "room-12", "raised")
    assert rounds.doors(opened_at + timedelta(seconds=400)) == []  # still the one alert


def test_a_device_never_heard_from_is_offline_after_the_limit(
    registered: sessionmaker[Session], board: LiveBoard, migrated_url: str, tmp_path: Path
) -> None:
    chain = HubChain(generate_private_key())
    with registered() as session:
        created = session.get_one(Device, DEVICE).created_at
    rounds = rounds_for(registered, chain, board, migrated_url, tmp_path)
    assert rounds.devices(created + timedelta(seconds=129)) == []
    raised = rounds.devices(created + timedelta(seconds=131))
    assert [(m.type, m.change) for m in raised][:1] == [("device_offline", "raised")]
    with registered() as session:
        assert active_alert(session, AlertType.DEVICE_OFFLINE, f"device:{DEVICE}") is not None


# A home's own ladder ---------------------------------------------------------------------------------------------


def _account(sessions: sessionmaker[Session], username: str) -> Account:
    with sessions() as session:
        account = session.scalars(select(Account).where(Account.username == username)).one()
        session.expunge(account)
        return account


def test_alerts_climb_the_homes_own_ladder_when_it_has_one(
    people: People, board: LiveBoard, migrated_url: str, tmp_path: Path
) -> None:
    chain = HubChain(generate_private_key())
    ladder = EscalationLadder(steps=(EscalationStep(after_s=0, audience=Audience.NIGHT_LEAD),
                                     EscalationStep(after_s=60, audience=Audience.MANAGER)))
    with people.sessions() as session:
        set_ladder(session, SITE, ladder, _account(people.sessions, "meg"))
        raised = raise_once(session, chain, HELP, T0)
        session.commit()
    assert [(m.change, m.audience) for m in raised] == [("raised", None), ("escalated", "night_lead")]
    rounds = rounds_for(people.sessions, chain, board, migrated_url, tmp_path)
    rounds.rebuild_escalations(T0)
    assert rounds.escalations(T0 + timedelta(seconds=59)) == []
    (manager,) = rounds.escalations(T0 + timedelta(seconds=60))
    assert (manager.escalation_step, manager.audience) == (1, "manager")
    assert rounds.escalations(T0 + timedelta(minutes=10)) == []  # the default ladder's 300 s step is not this home's


# Rounds end to end: events stored and decided as the worker does, rounds on a controlled clock -------------------


@pytest.fixture
def door(people: People, registered: sessionmaker[Session]) -> Door:
    return Door(registered, HubChain(generate_private_key()))


def reading(door: Door, at_s: float, temp_c_x100: int, rh_x100: int = 4500) -> ReceivedMessage:
    return door.event("env.reading", at_s, {"temp_c_x100": temp_c_x100, "rh_x100": rh_x100, "co2_ppm": None})


def test_sustained_cold_raises_environment_out_of_range_and_back_in_range_clears_it(
    door: Door, board: LiveBoard, listener: DeviceSide, migrated_url: str, tmp_path: Path
) -> None:
    start = at_of(door.start_ms)
    door.play(*[reading(door, minute * 60, 1650) for minute in range(0, 31, 5)])  # 16.5 °C for 30 min
    rounds = rounds_for(door.sessions, door.chain, board, migrated_url, tmp_path)
    assert rounds.environment(start + timedelta(minutes=29)) == []  # out, but not yet for 30 min
    raised = rounds.environment(start + timedelta(minutes=30))
    assert [(m.type, m.room, m.change) for m in raised][:1] == [("environment_out_of_range", "room-12", "raised")]
    assert "too cold" in raised[0].sentence
    assert rounds.environment(start + timedelta(minutes=32)) == []  # one alert while it lasts

    door.play(reading(door, 35 * 60, 2000))
    (cleared,) = rounds.environment(start + timedelta(minutes=35))
    assert (cleared.id, cleared.change, cleared.status) == (raised[0].id, "cleared", "cleared_unacknowledged")
    wait_until(lambda: [json.loads(m.payload)["change"] for m in listener.on(alerts_topic(SITE))][-1:] == ["cleared"],
               what="the clearing published live")


def test_a_rooms_own_limits_change_the_outcome(door: Door, board: LiveBoard, migrated_url: str,
                                               tmp_path: Path) -> None:
    start = at_of(door.start_ms)
    door.play(*[reading(door, minute * 60, 1650) for minute in range(0, 31, 5)])
    rounds = rounds_for(door.sessions, door.chain, board, migrated_url, tmp_path)
    admin = _account(door.sessions, "admin")
    with door.sessions() as session:  # a room kept cooler on purpose: 16.5 °C is in its range
        set_room_limits(session, SITE, "room-12", EnvironmentLimits(temp_min_c_x100=1500), admin)
        session.commit()
    assert rounds.environment(start + timedelta(minutes=30)) == []
    with door.sessions() as session:  # a frailer resident: 17 °C the floor, and 10 minutes enough
        set_room_limits(session, SITE, "room-12", EnvironmentLimits(temp_min_c_x100=1700, sustained_s=600), admin)
        session.commit()
    raised = rounds.environment(start + timedelta(minutes=10))
    assert [(m.type, m.change) for m in raised][:1] == [("environment_out_of_range", "raised")]


def test_a_long_run_of_not_now_prompts_the_night_lead_once(
    door: Door, board: LiveBoard, listener: DeviceSide, migrated_url: str, tmp_path: Path
) -> None:
    start = at_of(door.start_ms)
    door.play(door.knock(0), door.answer(2, granted=False))
    door.play(door.knock(600, "r2"), door.answer(602, granted=False, request="r2"))
    rounds = rounds_for(door.sessions, door.chain, board, migrated_url, tmp_path)
    limit = timedelta(seconds=7200)  # the resident's welfare limit (the default: ada has set nothing)
    assert rounds.welfare(start + timedelta(seconds=2) + limit - timedelta(seconds=1)) == []
    prompted_at = start + timedelta(seconds=2) + limit
    raised = rounds.welfare(prompted_at)
    assert [(m.type, m.change, m.audience) for m in raised] == [
        ("welfare_check", "raised", None), ("welfare_check", "escalated", "night_lead")]  # the night lead first
    assert raised[0].sentence == WORDING[AlertType.WELFARE_CHECK] and raised[0].room == "room-12"
    assert rounds.welfare(prompted_at + timedelta(minutes=5)) == []  # one active per room
    # Then up the home's ladder from the night lead: the on-call manager 3 min later (300 s − 120 s).
    (manager,) = rounds.escalations(prompted_at + timedelta(seconds=180))
    assert manager.audience == "on_call_manager"
    wait_until(lambda: any(json.loads(m.payload)["type"] == "welfare_check" for m in listener.on(alerts_topic(SITE))),
               what="the welfare prompt published live")

    # Resolved by the night lead: the same run does not prompt again.
    with door.sessions() as session:
        record = active_alert(session, AlertType.WELFARE_CHECK, f"room:{SITE}:room-12")
        assert record is not None
        apply_change(session, door.chain, record,
                     lambda state, _ladder: resolve(state, "nia", prompted_at + limit, "Checked; she is fine."))
        session.commit()
    assert rounds.welfare(prompted_at + timedelta(minutes=30)) == []


def test_the_welfare_prompt_clears_when_the_run_ends(door: Door, board: LiveBoard, migrated_url: str,
                                                     tmp_path: Path) -> None:
    start = at_of(door.start_ms)
    door.play(door.knock(0), door.answer(2, granted=False), door.knock(600, "r2"),
              door.answer(602, granted=False, request="r2"))
    rounds = rounds_for(door.sessions, door.chain, board, migrated_url, tmp_path)
    (raised, _night_lead) = rounds.welfare(start + timedelta(hours=3))
    door.play(door.knock(3 * 3600 + 60, "r3"), door.answer(3 * 3600 + 62, granted=True, request="r3"))
    (cleared,) = rounds.welfare(start + timedelta(hours=3, minutes=2))
    assert (cleared.id, cleared.change) == (raised.id, "cleared")


def test_a_lone_worker_past_the_limit_is_overdue_until_they_check_in(
    door: Door, board: LiveBoard, migrated_url: str, tmp_path: Path, people: People
) -> None:
    limit = timedelta(seconds=600)
    remote = {"request": "r1", "source": "remote", "staff": "sam"}
    door.play(door.event("knock.requested", -100, remote), door.answer(-95, granted=True),
              door.event("door.opened", -90), door.event("door.closed", -85))
    with door.sessions() as session:
        entry = session.scalars(select(EntryRecord).order_by(EntryRecord.revision.desc())).first()
        assert entry is not None and (entry.who, entry.kind, entry.closed_at is not None) == ("sam", "entry", True)
    opened_at = entry.opened_at
    settings = HubSettings(database_url=migrated_url, key_file=tmp_path / "k.pem", lone_worker_check_in_s=600,
                           mqtt_port=free_port(), _env_file=None)
    rounds = NightRounds(door.sessions, door.chain, board, threading.Lock(), settings, CONTEXT, clock=lambda: T0)
    assert rounds.lone_workers(opened_at + limit - timedelta(seconds=1)) == []
    raised = rounds.lone_workers(opened_at + limit)
    assert [(m.type, m.room, m.change) for m in raised][:1] == [("lone_worker_overdue", "room-12", "raised")]
    assert "sam" in raised[0].sentence

    with TestClient(create_app(settings)) as api:
        response = api.post("/api/v1/check-ins", headers=people.auth("sam"), json={"site": SITE, "room": "room-12"})
    assert response.status_code == 201, response.text
    checked_in = datetime.fromisoformat(response.json()["at"])
    (cleared,) = rounds.lone_workers(opened_at + limit + timedelta(seconds=1))
    assert (cleared.id, cleared.change) == (raised[0].id, "cleared")
    # The check-in holds the clock off for another full limit, then they are overdue again.
    assert rounds.lone_workers(checked_in + limit - timedelta(seconds=1)) == []
    again = rounds.lone_workers(checked_in + limit)
    assert [(m.type, m.change) for m in again][:1] == [("lone_worker_overdue", "raised")]
    assert again[0].id != raised[0].id


def test_a_ladder_changed_while_an_alert_waits_reschedules_it(
    people: People, board: LiveBoard, migrated_url: str, tmp_path: Path
) -> None:
    chain = HubChain(generate_private_key())
    with people.sessions() as session:
        raise_once(session, chain, HELP, T0)  # on the default ladder: the night lead next, at 2 min
        set_ladder(session, SITE, EscalationLadder(steps=(
            EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY),
            EscalationStep(after_s=600, audience=Audience.ON_CALL_MANAGER))), _account(people.sessions, "meg"))
        session.commit()
    rounds = rounds_for(people.sessions, chain, board, migrated_url, tmp_path)
    assert rounds.escalations(T0 + timedelta(seconds=120)) == []  # nothing due on the home's ladder now
    with people.sessions() as session:
        assert session.scalars(select(AlertRecord.next_escalation_at)).one() == T0 + timedelta(seconds=600)
    (manager,) = rounds.escalations(T0 + timedelta(seconds=600))
    assert manager.audience == "on_call_manager"


def test_a_checkpoint_is_signed_over_every_head_and_published_retained(
    registered: sessionmaker[Session], board: LiveBoard, migrated_url: str, tmp_path: Path, broker: LocalBroker
) -> None:
    hub_key = generate_private_key()
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, payload) for payload in
                              signed_chain(VECTOR_KEY, DEVICE, range(1, 4), type="motion.detected").values()],
                    VerifyKeys())
        session.commit()
    rounds = rounds_for(registered, HubChain(hub_key), board, migrated_url, tmp_path)
    assert rounds.checkpoint() == 1
    # A device (or a witness) connecting later still finds the newest checkpoint on the home's topic.
    late = DeviceSide(broker.port)
    try:
        late.subscribe(f"threshold/v1/{SITE}/hub/checkpoint")
        wait_until(lambda: late.on(f"threshold/v1/{SITE}/hub/checkpoint"), what="the retained checkpoint")
        envelope = json.loads(late.on(f"threshold/v1/{SITE}/hub/checkpoint")[0].payload)
    finally:
        late.close()
    body = open_checkpoint(envelope, hub_key.public_key())
    assert {(head["source"], head["seq"]) for head in body["heads"]} >= {(DEVICE, 3)}
    assert rounds.checkpoint() == 2


def test_retention_blanks_old_readings_and_keeps_the_chain_checkable(
    registered: sessionmaker[Session], board: LiveBoard, migrated_url: str, tmp_path: Path
) -> None:
    hub_key = generate_private_key()
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, payload) for payload in
                              signed_chain(VECTOR_KEY, DEVICE, range(1, 3), type="motion.detected").values()],
                    VerifyKeys())
        session.commit()
    settings = HubSettings(database_url=migrated_url, key_file=tmp_path / "k.pem", _env_file=None)
    later = NightRounds(registered, HubChain(hub_key), board, threading.Lock(), settings, CONTEXT,
                        clock=lambda: datetime.now(UTC) + timedelta(days=400))
    assert later.retention() == 2  # motion is kept for 365 days by default
    with registered() as session:
        assert [row.signed for row in session.scalars(select(StoredEvent).where(StoredEvent.device == DEVICE))] == ["", ""]
        assert check_database(session, hub_key.public_key()).findings == []
