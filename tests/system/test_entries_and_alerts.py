"""End to end on the real broker: real door agents on mock pins play the scenarios, the real worker decides the
entries and raises the alerts, and a subscriber to the hub's alerts topic sees them arrive."""

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from firmware_sim.home import SimulatedHome, room_name
from firmware_sim.local_services import LocalBroker
from firmware_sim.scenario import load_scenario, play
from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory
from hub.db.migrate import upgrade
from hub.db.models import AlertRecord, EntryRecord
from hub.ingest.worker import run_worker
from hub.keys import load_or_create_hub_key
from hub.live import alerts_topic, room_topic
from hub.people.homes import add_home, add_resident, add_room, move_in
from hub.registry import register_device
from protocol.signing import public_key_b64
from tests.hub.conftest import DeviceSide, wait_until

SITE = "sunnyside"
SCENARIOS = ["polite_entry", "did_not_wait", "declined_then_entry", "do_not_disturb", "resident_exit", "help"]
ROOM_OF = {name: room_name(number) for number, name in enumerate(SCENARIOS, start=1)}


@pytest.fixture
def running(broker: LocalBroker, database_url: str, tmp_path: Path) -> Iterator[tuple[SimulatedHome, Any]]:
    upgrade(database_url)
    hub_key = load_or_create_hub_key(tmp_path / "hub-key.pem")
    home = SimulatedHome(len(SCENARIOS), broker_port=broker.port, data_dir=tmp_path / "doors", site=SITE,
                         hub_public_key=public_key_b64(hub_key))
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        add_home(session, home_id=SITE, name="Sunnyside", time_zone="Europe/London")
        for number, (site, device, key, doors) in enumerate(home.devices(), start=1):
            add_room(session, SITE, room_name(number))
            add_resident(session, resident_id=f"resident-{number}", display_name=f"R{number}", home_id=SITE)
            move_in(session, f"resident-{number}", room_name(number))
            register_device(session, site=site, device=device, public_key=key, doors=doors)
        session.commit()
    settings = HubSettings(database_url=database_url, mqtt_port=broker.port, key_file=tmp_path / "hub-key.pem",
                           config_poll_s=0.2, rounds_s=1.0, _env_file=None)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(settings, stop), name="hub-worker", daemon=True)
    worker.start()
    home.start()
    yield home, sessions
    home.stop()
    stop.set()
    worker.join(timeout=15)
    engine.dispose()
    assert not worker.is_alive(), "the worker did not stop"


def latest_entries(sessions: Any) -> dict[str, EntryRecord]:
    with sessions() as session:
        rows = session.scalars(select(EntryRecord).order_by(EntryRecord.revision)).all()
    return {row.room: row for row in rows}


def alert_types(sessions: Any) -> dict[str, set[str]]:
    with sessions() as session:
        rows = session.scalars(select(AlertRecord)).all()
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.room or "", set()).add(row.type)
    return found


def test_scenarios_make_the_expected_decisions_and_alerts(running: tuple[SimulatedHome, Any],
                                                          broker: LocalBroker) -> None:
    home, sessions = running
    board = DeviceSide(broker.port)
    board.subscribe(alerts_topic(SITE))
    board.subscribe(room_topic(SITE, "+"))
    try:
        # Every agent connected and its config in hand, so events flow from the first step.
        wait_until(lambda: all(room.agent.link.connected.is_set() for room in home.rooms.values()),
                   what="every door agent connected")
        players = [threading.Thread(target=play, args=(home, load_scenario(name)),
                                    kwargs={"room_offset": number - 1})
                   for number, name in enumerate(SCENARIOS, start=1)]
        for player in players:
            player.start()
        for player in players:
            player.join()

        expected_rooms = {ROOM_OF[name] for name in SCENARIOS if name != "do_not_disturb"}

        def closed_and_decided() -> bool:
            entries = latest_entries(sessions)
            return expected_rooms <= set(entries) and all(entries[room].closed_at for room in expected_rooms)

        wait_until(closed_and_decided, timeout_s=20, what="every entry decided and its door's close recorded")
        entries = latest_entries(sessions)
        got = {name: (entries[ROOM_OF[name]].kind, entries[ROOM_OF[name]].outcome, entries[ROOM_OF[name]].reason)
               for name in SCENARIOS if name != "do_not_disturb"}
        assert got == {
            "polite_entry": ("entry", "permitted", "consent"),
            "did_not_wait": ("entry", "unpermitted", "did_not_wait"),
            "declined_then_entry": ("entry", "unpermitted", "declined"),
            "resident_exit": ("exit", "permitted", "resident_left"),
            "help": ("entry", "permitted", "emergency"),
        }
        assert ROOM_OF["do_not_disturb"] not in entries  # nobody went in
        waited = entries[ROOM_OF["did_not_wait"]]
        assert f"waited {waited.waited_ms // 1000} s of 30 s" in waited.sentence
        assert all(entries[ROOM_OF[name]].inside_ms for name in got)

        alerts = alert_types(sessions)
        assert "unpermitted_entry" in alerts.get(ROOM_OF["did_not_wait"], set())
        assert "unpermitted_entry" in alerts.get(ROOM_OF["declined_then_entry"], set())
        assert "help_requested" in alerts.get(ROOM_OF["help"], set())
        for name in ("polite_entry", "resident_exit", "help", "do_not_disturb"):
            assert "unpermitted_entry" not in alerts.get(ROOM_OF[name], set()), name

        def live(room: str) -> list[dict[str, Any]]:
            return [json.loads(m.payload) for m in board.on(alerts_topic(SITE)) if json.loads(m.payload)["room"] == room]

        wait_until(lambda: any(m["type"] == "unpermitted_entry" and m["change"] == "raised"
                               for m in live(ROOM_OF["did_not_wait"])), what="the alert on the hub's alerts topic")
        wait_until(lambda: any(m["type"] == "help_requested" for m in live(ROOM_OF["help"])),
                   what="the help alert on the alerts topic")
        assert not [m for m in live(ROOM_OF["polite_entry"]) if m["type"] == "unpermitted_entry"]
        # Room states are retained on the rooms' topics; the do-not-disturb room showed it.
        wait_until(lambda: any(json.loads(m.payload)["state"] == "do_not_disturb"
                               for m in board.on(room_topic(SITE, ROOM_OF["do_not_disturb"]))),
                   what="the do-not-disturb room state")
    finally:
        board.close()
