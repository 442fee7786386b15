"""Event parsing: what the contract accepts and what it refuses, with a reason."""

import copy
import json
from pathlib import Path

import pytest

from protocol.envelope import load_json_object, split_envelope
from protocol.errors import ProtocolError
from protocol.events import EventType, parse_event
from protocol.topics import parse_device_topic

VECTORS = json.loads((Path(__file__).parent / "protocol-vectors.json").read_text())
KNOCK = VECTORS["chain"][1]["payload"]["event"]


def changed(**fields: object) -> dict:
    body = copy.deepcopy(KNOCK)
    body.update(fields)
    return body


def test_known_event_parses_with_its_type() -> None:
    assert parse_event(KNOCK).known_type is EventType.KNOCK_REQUESTED


def test_unknown_fields_are_kept() -> None:
    body = changed(firmware_note="kept")
    body["data"] = {**body["data"], "extra": [1, 2]}
    event = parse_event(body)
    assert event.model_extra == {"firmware_note": "kept"}
    assert event.data["extra"] == [1, 2]


def test_vendor_types_are_accepted_with_any_data() -> None:
    assert parse_event(changed(type="x.acme.pressure-mat", data={"kg": 70})).known_type is None


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": "2"}, "seq"),
        ({"seq": 2**53 + 1}, "seq"),
        ({"ts_ms": 1.5}, "ts_ms"),
        ({"v": 2}, "v"),
        ({"device": "Door_7"}, "device"),
        ({"prev": "abc"}, "prev"),
        ({"type": "door.kicked"}, "unknown event type"),
        ({"data": {"request": 5, "source": "button", "staff": None}}, "request"),
        ({"data": {"request": "r", "source": "window", "staff": None}}, "source"),
        ({"data": []}, "data"),
        ({"extra": 0.5}, "fraction"),
    ],
)
def test_wrong_fields_are_refused_with_where(fields: dict, where: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_event(changed(**fields))
    assert error.value.reason == "bad_event"
    assert where in str(error.value)


def test_missing_field_is_refused() -> None:
    body = changed()
    del body["boot"]
    with pytest.raises(ProtocolError, match="boot"):
        parse_event(body)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{" * 10, "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b'{"event": {}}', "bad_envelope"),
        (b'{"event": [], "sig": "x"}', "bad_envelope"),
        (b'{"x": "' + b"a" * 17000 + b'"}', "oversized"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as error:
        split_envelope(payload, "event")
    assert error.value.reason == reason


def test_a_payload_of_exactly_16_kib_is_read() -> None:
    filler = "a" * (16 * 1024 - len('{"x":""}'))
    assert load_json_object(('{"x":"' + filler + '"}').encode())["x"] == filler


@pytest.mark.parametrize(
    "topic",
    [
        "threshold/v1/oakwood/device/door-0007",
        "threshold/v2/oakwood/device/door-0007/event",
        "threshold/v1/Oak/device/door-0007/event",
        "threshold/v1/oakwood/device/door-0007/shout",
        "threshold/v1/oakwood/hub/door-0007/event",
    ],
)
def test_bad_topics_are_refused(topic: str) -> None:
    with pytest.raises(ProtocolError):
        parse_device_topic(topic)


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_version_must_be_the_integer_one(version: object) -> None:
    with pytest.raises(ProtocolError, match="v"):
        parse_event(changed(v=version))


def test_nesting_deeper_than_the_parser_is_malformed_json() -> None:
    with pytest.raises(ProtocolError) as error:
        load_json_object(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    assert error.value.reason in ("malformed_json", "oversized")
    deep = (b"[" * 5000) + (b"]" * 5000)
    with pytest.raises(ProtocolError) as error:
        load_json_object(b'{"a":' + deep + b"}")
    assert error.value.reason == "malformed_json"
