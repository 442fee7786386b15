"""A simulated home on the production broker: real Mosquitto running config/mosquitto/production.conf and its ACL,
each door with its own certificate from scripts/make-certs.sh, as the compose `demo` profile runs it."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.home import SimulatedHome
from firmware_sim.scenario import load_scenario, play
from protocol.envelope import split_envelope
from protocol.signing import public_key_from_b64, verify
from protocol.topics import DeviceChannel, device_topic, parse_device_topic
from tests.config.test_broker_security import Client, ProductionBroker, broker_readable, hand_to_broker, make_certs
from tests.hub.conftest import wait_until

SITE = "demo-home"
DOORS = ("door-01", "door-02")


@pytest.fixture
def certs() -> Iterator[Path]:
    folder = broker_readable("threshold-sim-certs-")
    make_certs(folder, "all", "localhost", "127.0.0.1")
    for device in DOORS:
        make_certs(folder, "device", device)
    hand_to_broker(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def production_broker(certs: Path) -> Iterator[ProductionBroker]:
    workdir = broker_readable("threshold-sim-broker-")
    running = ProductionBroker(workdir, certs).start()
    yield running
    running.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def hub_side(production_broker: ProductionBroker, certs: Path) -> Iterator[Client]:
    """A subscriber with the hub's identity, as the hub's worker connects."""
    hub = Client(production_broker.port, certs, "threshold.hub").connect()
    hub.subscribe("threshold/v1/#")
    yield hub
    hub.close()


def test_each_door_goes_through_the_production_broker_with_its_own_certificate(
    production_broker: ProductionBroker, certs: Path, hub_side: Client, tmp_path: Path
) -> None:
    home = SimulatedHome(len(DOORS), broker_port=production_broker.port, broker_host="localhost",
                         data_dir=tmp_path / "doors", site=SITE, tls_dir=certs).start()
    try:
        play(home, load_scenario("polite_entry"), speed=4.0)
        play(home, load_scenario("polite_entry"), speed=4.0, room_offset=1)
        keys = {device: public_key_from_b64(key) for _site, device, key, _doors in home.devices()}

        def door_events() -> dict[str, list[str]]:
            """Event types by device, as the hub's subscriber received them, each verified by its door's key."""
            seen: dict[str, list[str]] = {}
            while not hub_side.received.empty():
                hub_side.seen.append(hub_side.received.get_nowait())
            for topic, payload in hub_side.seen:
                parsed = parse_device_topic(topic)
                if parsed.channel is DeviceChannel.EVENT:
                    body, sig = split_envelope(payload, "event")
                    verify(keys[parsed.device], body, sig)
                    assert body["device"] == parsed.device
                    seen.setdefault(parsed.device, []).append(body["type"])
            return seen

        wanted = ["knock.requested", "consent.granted", "door.opened", "door.closed"]
        wait_until(lambda: all([kind for kind in door_events().get(device, []) if kind in wanted] == wanted
                               for device in DOORS), what="every door's entry at the hub")
        assert set(door_events()) == set(DOORS)
        # Each door's will and status went out under its own identity too.
        statuses = {topic for topic, _ in hub_side.seen}
        assert {device_topic(SITE, device, DeviceChannel.STATUS) for device in DOORS} <= statuses
    finally:
        home.stop()


def test_a_door_without_its_certificate_is_refused_before_it_starts(certs: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"door-03 has no TLS identity: missing .*devices/door-03\.crt"):
        SimulatedHome(3, broker_port=8883, data_dir=tmp_path / "doors", site=SITE, tls_dir=certs)
    assert not (tmp_path / "doors").exists()
