"""Scenario files played by real agents on mock pins against the real broker; checked on the wire."""

import threading

import pytest
from pydantic import ValidationError

from firmware_sim.home import SimulatedHome
from firmware_sim.load import LOAD_EVENT, run_load
from firmware_sim.scenario import Scenario, load_scenario, play
from protocol.envelope import split_envelope
from protocol.signing import GENESIS_PREV, chain_hash, public_key_from_b64, verify
from protocol.topics import DeviceChannel
from tests.edge.conftest import SITE, Wire, wait_until

DOOR_TYPES = {"knock.requested", "consent.granted", "consent.declined", "door.opened", "door.closed", "dnd.on",
              "dnd.off", "help.requested", "motion.detected", "motion.cleared", "knock.expired"}


@pytest.fixture
def wire(broker):
    watcher = Wire(broker.port)
    yield watcher
    watcher.close()


@pytest.fixture
def home(broker, tmp_path):
    made = []

    def build(rooms, **settings):
        built = SimulatedHome(rooms, broker_port=broker.port, data_dir=tmp_path / "home", site=SITE, **settings)
        made.append(built)
        return built.start()

    yield build
    for built in made:
        built.stop()


def door_types(wire, device):
    return [e.type for e in wire.events(device) if e.type in DOOR_TYPES]


def assert_signed_and_chained(wire, device, public_key_b64):
    public = public_key_from_b64(public_key_b64)
    bodies = {}
    for payload in wire.on(device, DeviceChannel.EVENT):
        body, sig = split_envelope(payload, "event")
        bodies[body["seq"]] = verify(public, body, sig)
    assert sorted(bodies) == list(range(1, max(bodies) + 1))
    prev = GENESIS_PREV
    for seq in sorted(bodies):
        assert wire.events(device)[seq - 1].prev == prev
        prev = chain_hash(bodies[seq])


EXPECTED = {
    "polite_entry": ["knock.requested", "consent.granted", "door.opened", "door.closed"],
    "did_not_wait": ["knock.requested", "door.opened", "door.closed"],
    "declined_then_entry": ["knock.requested", "consent.declined", "door.opened", "door.closed"],
    "do_not_disturb": ["dnd.on", "knock.requested", "dnd.off"],
    "resident_exit": ["motion.detected", "door.opened", "motion.cleared", "door.closed"],
    "help": ["help.requested", "knock.requested", "door.opened", "door.closed"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_scenario_arrives_on_the_wire_signed_and_chained(name, home, wire):
    simulated = home(1)
    play(simulated, load_scenario(name), speed=4.0)
    wait_until(lambda: door_types(wire, "door-01") == EXPECTED[name], what=f"{EXPECTED[name]}")
    (site, device, key, doors), = simulated.devices()
    assert (site, device, doors) == (SITE, "door-01", {"d1": "room-01"})
    assert_signed_and_chained(wire, "door-01", key)


def test_the_night_scenario_reaches_every_room(home, wire):
    simulated = home(6)
    scenario = load_scenario("night")
    play(simulated, scenario, speed=5.0)
    wait_until(lambda: door_types(wire, "door-02") == EXPECTED["did_not_wait"], what="room 2")
    for number in range(1, 7):
        wait_until(lambda: wire.events(f"door-{number:02d}"), what=f"door-{number:02d}")
    wait_until(lambda: door_types(wire, "door-06")[-2:] == ["door.opened", "door.closed"], what="room 6")


def test_a_scenario_stops_before_its_next_step_once_asked(home, wire):
    """How the demo stops on Ctrl-C: between steps, never by an exception raised inside a door's code."""
    simulated = home(1)
    scenario = Scenario.model_validate({"name": "long", "steps": [
        {"at": 0, "room": 1, "do": "knock"}, {"at": 600, "room": 1, "do": "answer", "answer": "come_in"}]})
    asked = []
    threading.Timer(0.5, asked.append, args=[True]).start()
    played = threading.Thread(target=play, args=(simulated, scenario), kwargs={"stopped": lambda: bool(asked)})
    played.start()
    played.join(timeout=30)
    assert not played.is_alive(), "play did not return once asked to stop"
    wait_until(lambda: door_types(wire, "door-01") == ["knock.requested"], what="the knock")
    assert door_types(wire, "door-01") == ["knock.requested"]  # the answer, ten minutes on, never came


def test_load_records_through_the_outbox_and_counts_receipts(home, wire):
    simulated = home(2)
    report = run_load(simulated, rate=200, seconds=0.5, drain_s=0.5)
    assert report.made >= 100 and report.receipted == 0  # no hub here: nothing may count as receipted
    wait_until(lambda: sum(1 for d in ("door-01", "door-02") for e in wire.events(d) if e.type == LOAD_EVENT)
               == report.made, what="every load event on the wire")


def test_a_bad_scenario_is_refused_with_the_reason():
    with pytest.raises(ValidationError, match="answer"):
        Scenario.model_validate({"name": "x", "steps": [{"at": 1, "room": 1, "do": "answer"}]})
    with pytest.raises(FileNotFoundError, match="polite_entry"):
        load_scenario("no-such-scenario")
