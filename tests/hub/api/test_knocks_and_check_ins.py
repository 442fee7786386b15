"""Remote knock: a signed command on the door's command topic that the hub's public key verifies, recorded in the
hub's chain on shift or not. Check-ins: kept, chained, and only by the home's staff for a real room."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import HubSettings
from hub.db.models import CheckIn, PendingHubEvent, Shift
from hub.keys import load_or_create_hub_key
from protocol.commands import Command, KnockArgs
from protocol.envelope import open_sealed
from protocol.errors import ProtocolError
from protocol.signing import generate_private_key
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import DEVICE, SITE, DeviceSide, People, wait_until

COMMANDS = device_topic(SITE, DEVICE, DeviceChannel.COMMAND)


def chained(people: People, type: str) -> list[PendingHubEvent]:
    with people.sessions() as session:
        return list(session.scalars(select(PendingHubEvent).where(PendingHubEvent.type == type)
                                    .order_by(PendingHubEvent.id)))


def knock(api: TestClient, people: People, who: str, room: str = "room-12", site: str = SITE) -> Any:
    return api.post(f"/api/v1/rooms/{site}/{room}/knock", headers=people.auth(who))


def test_a_remote_knock_reaches_the_door_signed_by_the_hub(
    api: TestClient, people: People, registered: sessionmaker[Session], devices_side: DeviceSide,
    hub_settings: HubSettings,
) -> None:
    devices_side.subscribe(COMMANDS)
    response = knock(api, people, "sam")
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["device"], answer["door"], answer["staff"], answer["on_shift"]) == (DEVICE, "d1", "sam", False)
    assert answer["broker_confirmed"] is True

    (message,) = wait_until(lambda: devices_side.on(COMMANDS), what="the knock command")
    hub_public = load_or_create_hub_key(hub_settings.key_file).public_key()
    command = Command.model_validate(open_sealed(message.payload, "command", hub_public))
    assert (command.device, command.name, command.id) == (DEVICE, "knock", answer["command"])
    assert command.expires_ms - command.issued_ms == 30_000
    assert KnockArgs.model_validate(command.args) == KnockArgs(door="d1", staff="sam", staff_name="Sam")
    with pytest.raises(ProtocolError):  # another key did not sign it
        open_sealed(message.payload, "command", generate_private_key().public_key())

    (record,) = chained(people, "hub.knock.sent")
    assert record.site == SITE and record.room == "room-12"
    assert record.data["command"] == command.id and record.data["staff"] == "sam" and record.data["on_shift"] is False


def test_a_knock_on_shift_is_recorded_as_on_shift(api: TestClient, people: People,
                                                  registered: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with people.sessions() as session:
        session.add(Shift(staff_id="nia", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)))
        session.commit()
    assert knock(api, people, "nia").json()["on_shift"] is True
    assert chained(people, "hub.knock.sent")[0].data["on_shift"] is True


@pytest.mark.parametrize(("who", "room", "site", "status", "reason"), [
    ("sam", "room-99", SITE, 404, "unknown_room"),
    ("sam", "room-14", SITE, 409, "no_door"),  # ben's room: no device serves it
    ("eve", "room-12", SITE, 403, "not_your_home"),
    ("ada", "room-12", SITE, 403, "role_not_allowed"),
    ("admin", "room-12", SITE, 403, "role_not_allowed"),
    ("sam", "room-01", "elmfield", 403, "not_your_home"),
])
def test_a_knock_that_cannot_be_sent_is_refused_and_not_recorded(
    api: TestClient, people: People, registered: sessionmaker[Session], devices_side: DeviceSide, who: str,
    room: str, site: str, status: int, reason: str,
) -> None:
    devices_side.subscribe("threshold/v1/+/device/+/command")
    response = knock(api, people, who, room, site)
    assert response.status_code == status and response.json()["detail"]["reason"] == reason
    assert chained(people, "hub.knock.sent") == []
    assert knock(api, people, "sam").status_code == 202  # the one that can go, goes
    wait_until(lambda: devices_side.messages, what="the good knock")
    assert len(devices_side.messages) == 1


def test_no_knock_without_the_broker(api: TestClient, people: People, registered: sessionmaker[Session],
                                     broker: Any) -> None:
    broker.stop()
    wait_until(lambda: not api.app.state.live.connected, what="the API to notice the broker is gone")  # type: ignore[attr-defined]
    response = knock(api, people, "sam")
    assert response.status_code == 503 and response.json()["detail"]["reason"] == "broker_unavailable"
    assert chained(people, "hub.knock.sent") == []


def test_a_check_in_is_kept_and_chained(api: TestClient, people: People) -> None:
    response = api.post("/api/v1/check-ins", headers=people.auth("sam"), json={"site": "oakwood", "room": "room-12"})
    assert response.status_code == 201, response.text
    assert response.json()["staff"] == "sam" and response.json()["room"] == "room-12"
    with people.sessions() as session:
        (row,) = session.scalars(select(CheckIn))
    assert (row.staff_id, row.site, row.room) == ("sam", "oakwood", "room-12")
    (record,) = chained(people, "hub.check_in")
    assert record.room == "room-12" and record.data["staff"] == "sam" and record.data["check_in"] == row.id


@pytest.mark.parametrize(("who", "body", "status"), [
    ("sam", {"site": "oakwood", "room": "room-99"}, 404),
    ("sam", {"site": "elmfield", "room": "room-01"}, 403),
    ("ada", {"site": "oakwood", "room": "room-12"}, 403),
    ("admin", {"site": "oakwood", "room": "room-12"}, 403),
    ("sam", {"site": "oakwood"}, 422),
    ("sam", {"site": "oakwood", "room": "room-12", "staff": "nia"}, 422),  # nobody checks in for someone else
    ("sam", {"site": "oakwood", "room": ""}, 422),
    (None, {"site": "oakwood", "room": "room-12"}, 401),
])
def test_bad_check_ins_are_refused_and_change_nothing(api: TestClient, people: People, who: str | None, body: dict,
                                                      status: int) -> None:
    response = api.post("/api/v1/check-ins", headers=people.auth(who) if who else {}, json=body)
    assert response.status_code == status
    with people.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 0
    assert chained(people, "hub.check_in") == []


def test_an_installer_asks_a_door_to_identify_itself(
    api: TestClient, people: People, registered: sessionmaker[Session], devices_side: DeviceSide,
    hub_settings: HubSettings,
) -> None:
    devices_side.subscribe(COMMANDS)
    response = api.post(f"/api/v1/devices/{DEVICE}/identify", params={"door": "d1"}, headers=people.auth("admin"))
    assert response.status_code == 202, response.text
    (message,) = wait_until(lambda: devices_side.on(COMMANDS), what="the identify command")
    hub_public = load_or_create_hub_key(hub_settings.key_file).public_key()
    command = Command.model_validate(open_sealed(message.payload, "command", hub_public))
    assert (command.name, command.args, command.id) == ("identify", {"door": "d1"}, response.json()["command"])


@pytest.mark.parametrize(("who", "path", "expected"), [
    ("sam", f"/api/v1/devices/{DEVICE}/identify", 403),
    ("admin", "/api/v1/devices/door-9999/identify", 404),
    ("admin", f"/api/v1/devices/{DEVICE}/identify?door=d9", 404),
    ("admin", "/api/v1/devices/hub/identify", 404),
])
def test_identify_is_for_installers_and_real_doors(api: TestClient, people: People, registered: sessionmaker[Session],
                                                   devices_side: DeviceSide, who: str, path: str,
                                                   expected: int) -> None:
    devices_side.subscribe(COMMANDS)
    assert api.post(path, headers=people.auth(who)).status_code == expected
    assert devices_side.on(COMMANDS) == []
