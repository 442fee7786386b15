"""`threshold-hub` against a real database, with the worker publishing what the registry commands change."""

import io
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.cli import main
from hub.core.config import HubSettings
from hub.db.models import Account
from hub.people.accounts import signed_in
from hub.people.passwords import password_matches
from protocol.config import DeviceConfig
from protocol.envelope import open_sealed
from protocol.errors import ProtocolError
from protocol.signing import generate_private_key, public_key_b64, public_key_from_b64
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import VECTORS, DeviceSide, People, wait_until

NEW_KEY = public_key_b64(generate_private_key())
CONFIG_TOPIC = device_topic("oakwood", "door-0100", DeviceChannel.CONFIG)


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, hub_settings: HubSettings) -> HubSettings:
    monkeypatch.setenv("THRESHOLD_HUB_DATABASE_URL", hub_settings.database_url)
    monkeypatch.setenv("THRESHOLD_HUB_KEY_FILE", str(hub_settings.key_file))
    return hub_settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def latest_config(side: DeviceSide, expected_version: int, hub_public: str) -> DeviceConfig:
    def newest() -> DeviceConfig | None:
        messages = side.on(CONFIG_TOPIC)
        if not messages or not messages[-1].payload:
            return None
        config = DeviceConfig.model_validate(open_sealed(messages[-1].payload, "config",
                                                         public_key_from_b64(hub_public)))
        return config if config.version == expected_version else None

    return wait_until(newest, what=f"config version {expected_version}")


def test_registering_publishes_a_signed_retained_config_that_follows_changes(
    hub_env: HubSettings, worker: threading.Thread, devices_side: DeviceSide, capsys: pytest.CaptureFixture[str]
) -> None:
    code, hub_public, _ = run(capsys, "hub-key")
    hub_public = hub_public.strip()
    assert code == 0 and len(public_key_from_b64(hub_public).public_bytes_raw()) == 32

    code, out, _ = run(capsys, "device", "add", "--site", "oakwood", "--device", "door-0100",
                       "--public-key", NEW_KEY, "--door", "d1=room-01", "--door", "d2=room-02")
    assert code == 0 and "config version 1" in out
    devices_side.subscribe(CONFIG_TOPIC)
    config = latest_config(devices_side, 1, hub_public)
    assert config.device == "door-0100"
    assert {door: entry.room for door, entry in config.doors.items()} == {"d1": "room-01", "d2": "room-02"}

    code, out, _ = run(capsys, "device", "doors", "door-0100", "--door", "d1=room-03")
    assert code == 0
    config = latest_config(devices_side, 2, hub_public)
    assert {door: entry.room for door, entry in config.doors.items()} == {"d1": "room-03"}

    # Signed by the hub: the vectors' hub key (another hub) does not verify it.
    with pytest.raises(ProtocolError):
        open_sealed(devices_side.on(CONFIG_TOPIC)[-1].payload, "config",
                    public_key_from_b64(VECTORS["hub"]["public_key"]))

    # Retained: a device that connects later gets the current config.
    late = DeviceSide(devices_side.port)
    try:
        late.subscribe(CONFIG_TOPIC)
        assert latest_config(late, 2, hub_public).doors["d1"].room == "room-03"
        assert late.on(CONFIG_TOPIC)[-1].retain
    finally:
        late.close()

    code, out, _ = run(capsys, "device", "list")
    assert code == 0 and "door-0100" in out and "d1=room-03" in out and "config v2" in out

    code, _, _ = run(capsys, "device", "retire", "door-0100")
    assert code == 0
    wait_until(lambda: devices_side.on(CONFIG_TOPIC)[-1].payload == b"", what="the retained config cleared")


@pytest.mark.parametrize(("argv", "reason"), [
    (["--public-key", "not-base64!"], "bad_public_key"),
    (["--public-key", "AAAA"], "bad_public_key"),
    (["--public-key", NEW_KEY, "--device", "Door 7"], "bad_id"),
    (["--public-key", NEW_KEY, "--device", "door-0007"], "device_exists"),
])
def test_bad_registrations_are_refused_with_a_reason(
    hub_env: HubSettings, registered: sessionmaker[Session], capsys: pytest.CaptureFixture[str],
    argv: list[str], reason: str,
) -> None:
    base = {"--site": "oakwood", "--device": "door-0200", "--door": "d1=room-01"}
    pairs = dict(zip(argv[::2], argv[1::2], strict=True))
    args = [item for key, value in {**base, **pairs}.items() for item in (key, value)]
    code, _, err = run(capsys, "device", "add", *args)
    assert code == 2 and reason in err


def test_a_door_without_a_room_is_refused(hub_env: HubSettings, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "device", "add", "--site", "oakwood", "--device", "door-0300",
                       "--public-key", NEW_KEY, "--door", "d1")
    assert code == 2 and "DOOR=ROOM" in err
    code, out, _ = run(capsys, "device", "list")
    assert "door-0300" not in out


def test_account_add_then_token_create(
    hub_env: HubSettings, people: People, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("night shift passphrase\n"))
    code, out, _ = run(capsys, "account", "add", "--username", "nia.lead", "--role", "night_lead", "--staff", "nia")
    assert code == 0 and "nia.lead" in out
    code, out, _ = run(capsys, "token", "create", "--username", "nia.lead")
    token = out.strip()
    assert code == 0 and len(token) >= 40
    with people.sessions() as session:
        caller = signed_in(session, token)
        assert caller is not None and caller.account.username == "nia.lead" and caller.home_id == "oakwood"
        stored = session.scalar(select(Account.password_hash).where(Account.username == "nia.lead"))
        assert stored.startswith("$argon2id$") and password_matches(stored, "night shift passphrase")


@pytest.mark.parametrize(("argv", "reason"), [
    (["account", "add", "--username", "x.y", "--role", "manager", "--staff", "nia"], "role_mismatch"),
    (["account", "add", "--username", "ada", "--role", "resident", "--resident", "ada"], "username_taken"),
    (["token", "create", "--username", "nobody"], "unknown_account"),
])
def test_bad_account_commands_say_why(
    hub_env: HubSettings, people: People, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: list[str], reason: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a good long password\n"))
    code, out, err = run(capsys, *argv)
    assert code == 2 and reason in err and out == ""
