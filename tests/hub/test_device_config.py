"""A door's config follows its resident: their current preferences, through their tenancy, signed by the hub."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import free_port
from hub.api.app import create_app
from hub.core.config import HubSettings
from hub.db.models import Device
from hub.device_config import build_device_config
from hub.keys import load_or_create_hub_key
from hub.people.homes import add_room, move_in
from protocol.config import DeviceConfig
from protocol.envelope import open_sealed
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import DEVICE, SITE, DeviceSide, People, wait_until

CONFIG_TOPIC = device_topic(SITE, DEVICE, DeviceChannel.CONFIG)
ADA = {"wait_s": None, "quiet_hours": [{"from": "22:30", "to": "06:45"}], "dnd_allowed": False,
       "not_now_hold_s": 600, "show_knocker": True}


@pytest.fixture
def offline_api(migrated_url: str, registered: sessionmaker[Session], people: People,
                tmp_path: Path) -> Iterator[TestClient]:
    """The API with the vector device registered, and no broker (nothing listens on its port) or worker."""
    settings = HubSettings(database_url=migrated_url, mqtt_port=free_port(), key_file=tmp_path / "hub-key.pem",
                           _env_file=None)
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_door_gets_its_residents_current_preferences(offline_api: TestClient, people: People) -> None:
    with people.sessions() as session:
        device = session.get_one(Device, DEVICE)
        assert build_device_config(session, device).doors["d1"].wait_s == 30  # ada has set nothing yet
    api = offline_api
    response = api.post("/api/v1/residents/ada/preferences", headers=people.auth("ada"),
                        json={"basis": "own_choice", "preferences": ADA})
    assert response.status_code == 201
    with people.sessions() as session:
        device = session.get_one(Device, DEVICE)
        door = build_device_config(session, device).doors["d1"]
    assert door.room == "room-12" and door.wait_s is None and door.show_knocker
    assert [span.model_dump(by_alias=True) for span in door.quiet_hours] == [{"from": "22:30", "to": "06:45"}]
    assert door.model_extra == {"not_now_hold_s": 600, "dnd_allowed": False}


@pytest.fixture
def api(hub_settings: HubSettings, people: People) -> Iterator[TestClient]:
    with TestClient(create_app(hub_settings)) as client:
        yield client


def latest_config(side: DeviceSide, hub_settings: HubSettings, newer_than: int) -> DeviceConfig:
    return config_matching(side, hub_settings, lambda config: config.version > newer_than,
                           what=f"a config newer than version {newer_than}")


def config_matching(side: DeviceSide, hub_settings: HubSettings, wanted: Callable[[DeviceConfig], bool],
                    what: str) -> DeviceConfig:
    """The newest config received that is `wanted`. Other changes (a move-in) bump the version too while the
    worker runs, so a test waits for the state it means, not for "the next config"."""
    public = load_or_create_hub_key(hub_settings.key_file).public_key()

    def newest() -> DeviceConfig | None:
        configs = [DeviceConfig.model_validate(open_sealed(message.payload, "config", public))
                   for message in side.on(CONFIG_TOPIC) if message.payload]
        matching = [config for config in configs if wanted(config)]
        return max(matching, key=lambda config: config.version) if matching else None

    return wait_until(newest, what=what)


def test_a_new_preference_version_reaches_the_door_as_a_new_signed_config(
    hub_settings: HubSettings, worker: threading.Thread, api: TestClient, people: People, devices_side: DeviceSide
) -> None:
    devices_side.subscribe(CONFIG_TOPIC)
    first = latest_config(devices_side, hub_settings, newer_than=0)
    assert first.doors["d1"].wait_s == 30

    with people.sessions() as session:
        before_preference = session.get_one(Device, DEVICE).config_version
    response = api.post("/api/v1/residents/ada/preferences", headers=people.auth("sam"),
                        json={"basis": "with_support", "preferences": {"wait_s": 90, "not_now_hold_s": 240}})
    assert response.status_code == 201
    after_preference = config_matching(
        devices_side, hub_settings,
        lambda config: config.version > before_preference and config.doors["d1"].wait_s == 90,
        what=f"a config newer than version {before_preference} with ada's wait of 90 s",
    )
    assert after_preference.doors["d1"].model_extra["not_now_hold_s"] == 240

    # The door follows the tenancy: ada moves out of room-12 to a room without a door agent.
    with people.sessions() as session:
        add_room(session, SITE, "room-20")
        move_in(session, "ada", "room-20")
        session.commit()
    # room-12 is empty now: the defaults
    after_move = config_matching(
        devices_side, hub_settings,
        lambda config: config.version > after_preference.version and config.doors["d1"].wait_s == 30,
        what="a config after the move with room-12's default wait",
    )

    # A device that connects later gets the current config, retained.
    late = DeviceSide(devices_side.port)
    try:
        late.subscribe(CONFIG_TOPIC)
        assert latest_config(late, hub_settings, newer_than=after_preference.version).version == after_move.version
        assert late.on(CONFIG_TOPIC)[-1].retain
    finally:
        late.close()


def test_only_the_residents_own_door_gets_a_new_version(offline_api: TestClient, people: People) -> None:
    api = offline_api
    with people.sessions() as session:
        before = session.get_one(Device, DEVICE).config_version
    assert api.post("/api/v1/residents/ben/preferences", headers=people.auth("ben"),
                    json={"basis": "own_choice", "preferences": {"wait_s": 5}}).status_code == 201
    assert api.post("/api/v1/residents/ada/preferences", headers=people.auth("ada"),
                    json={"basis": "own_choice", "preferences": {"wait_s": 5}}).status_code == 201
    with people.sessions() as session:
        assert session.get_one(Device, DEVICE).config_version == before + 1  # ada's door only; ben has no device
