"""The worker's rounds on a controlled clock: the escalation ladder step by step (and carried on by a new worker),
doors held open, devices never heard from. Real database on each engine, real broker for what is published."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import LocalBroker
from hub.chain import HubChain
from hub.core.config import HubSettings
from hub.db.models import AlertChangeRecord, AlertRecord, Device
from hub.decisions.alerts import AlertRaise, active_alert, raise_once, record_change
from hub.decisions.entries import EntryContext
from hub.decisions.facts import alert_state, at_of
from hub.decisions.live import LiveBoard
from hub.ingest.store import VerifyKeys, store_batch
from hub.live import alerts_topic
from hub.rules.alerts import DEFAULT_LADDER, AlertType, Transition, acknowledge
from hub.scheduler import NightRounds
from protocol.signing import generate_private_key
from tests.hub.conftest import DEVICE, EVENT_TOPIC, SITE, VECTOR_KEY, DeviceSide, received, signed_chain, wait_until

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
    yield LiveBoard(publisher.client)
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
        moved = acknowledge(alert_state(record), "nia", T0 + timedelta(seconds=30))
        assert isinstance(moved, Transition)
        record_change(session, chain, record, moved)
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
