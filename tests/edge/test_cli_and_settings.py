import json

import pytest
from pydantic import ValidationError

from edge.cli import main
from edge.settings import AgentSettings
from protocol.signing import public_key_from_b64

TOML = """
device_id = "door-07"
site = "home-1"
data_dir = "{data_dir}"
resend_after_s = 5
[doors.d1]
contact = 17
knock = "GPIO27"
"""


def test_settings_from_toml_and_json(tmp_path):
    (tmp_path / "edge.toml").write_text(TOML.format(data_dir=tmp_path / "data"))
    settings = AgentSettings.from_file(tmp_path / "edge.toml")
    assert settings.device_id == "door-07" and settings.doors["d1"].knock == "GPIO27"
    assert settings.default_wait_s is None and settings.door_debounce_ms == 50
    (tmp_path / "edge.json").write_text(json.dumps({"device_id": "door-08", "site": "home-1", "data_dir": "d"}))
    assert AgentSettings.from_file(tmp_path / "edge.json").doors == {}


def test_settings_refuse_a_bad_device_id_and_a_door_without_contact(tmp_path):
    with pytest.raises(ValidationError, match="device_id"):
        AgentSettings(device_id="Door 7", site="home-1", data_dir=tmp_path)
    with pytest.raises(ValidationError, match="contact"):
        AgentSettings(device_id="door-7", site="home-1", data_dir=tmp_path, doors={"d1": {"knock": 4}})


def test_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("THRESHOLD_EDGE_DEVICE_ID", "door-09")
    monkeypatch.setenv("THRESHOLD_EDGE_SITE", "home-2")
    monkeypatch.setenv("THRESHOLD_EDGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("THRESHOLD_EDGE_DOORS__D1__CONTACT", "17")
    settings = AgentSettings()
    assert (settings.device_id, settings.site, settings.doors["d1"].contact) == ("door-09", "home-2", 17)


def test_keygen_makes_one_key_and_pubkey_prints_it(tmp_path, capsys):
    (tmp_path / "edge.toml").write_text(TOML.format(data_dir=tmp_path / "data"))
    main(["keygen", "--config", str(tmp_path / "edge.toml")])
    first = capsys.readouterr().out
    assert "device door-07" in first
    main(["pubkey", "--data-dir", str(tmp_path / "data")])
    key = capsys.readouterr().out.strip()
    public_key_from_b64(key)
    assert key in first
    main(["keygen", "--data-dir", str(tmp_path / "data")])
    assert key in capsys.readouterr().out  # the same key: keygen never replaces one


def test_pubkey_without_a_key_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="keygen"):
        main(["pubkey", "--data-dir", str(tmp_path)])
