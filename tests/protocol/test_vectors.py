"""The protocol's own test vectors, reproduced byte for byte (PROTOCOL.md, protocol-vectors.json)."""

import hashlib
import json
from pathlib import Path

import pytest

from protocol.commands import Command
from protocol.config import DeviceConfig
from protocol.envelope import open_sealed, seal, split_envelope
from protocol.errors import ProtocolError
from protocol.events import parse_event
from protocol.signing import (
    GENESIS_PREV,
    chain_hash,
    private_key_from_seed,
    public_key_b64,
    public_key_from_b64,
    sign,
    signed_bytes,
    verify,
)
from protocol.topics import DeviceChannel, device_topic, parse_device_topic

VECTORS = json.loads((Path(__file__).parent / "protocol-vectors.json").read_text())
DEVICE = VECTORS["device"]
DEVICE_KEY = private_key_from_seed(bytes.fromhex(DEVICE["private_seed_hex"]))
HUB_KEY = private_key_from_seed(bytes.fromhex(VECTORS["hub"]["private_seed_hex"]))


def test_public_keys_match_the_seeds() -> None:
    assert public_key_b64(DEVICE_KEY) == DEVICE["public_key"]
    assert public_key_b64(HUB_KEY) == VECTORS["hub"]["public_key"]


def test_event_topic() -> None:
    assert device_topic(DEVICE["site"], DEVICE["id"], DeviceChannel.EVENT) == DEVICE["event_topic"]
    parsed = parse_device_topic(DEVICE["event_topic"])
    assert (parsed.site, parsed.device, parsed.channel) == ("oakwood", "door-0007", DeviceChannel.EVENT)


@pytest.mark.parametrize("index", range(len(VECTORS["chain"])))
def test_chain_event_signature_and_hash(index: int) -> None:
    vector = VECTORS["chain"][index]
    body = vector["payload"]["event"]
    assert hashlib.sha256(signed_bytes(body)).hexdigest() == vector["signed_bytes_sha256"]
    assert sign(DEVICE_KEY, body) == vector["payload"]["sig"]
    verify(public_key_from_b64(DEVICE["public_key"]), body, vector["payload"]["sig"])
    parse_event(body)


def test_chain_links() -> None:
    prev = GENESIS_PREV
    for vector in VECTORS["chain"]:
        body = vector["payload"]["event"]
        assert body["prev"] == prev
        prev = chain_hash(signed_bytes(body))


def test_sealed_payload_round_trips() -> None:
    body = VECTORS["chain"][1]["payload"]["event"]
    payload = seal(DEVICE_KEY, "event", body)
    assert json.loads(payload) == VECTORS["chain"][1]["payload"]
    assert open_sealed(payload, "event", public_key_from_b64(DEVICE["public_key"])) == body


def test_config_and_command_signatures() -> None:
    hub_public = public_key_from_b64(VECTORS["hub"]["public_key"])
    for kind, model in (("config", DeviceConfig), ("command", Command)):
        envelope = VECTORS[kind]
        assert sign(HUB_KEY, envelope[kind]) == envelope["sig"]
        body = open_sealed(json.dumps(envelope).encode(), kind, hub_public)
        model.model_validate(body)
    config = DeviceConfig.model_validate(VECTORS["config"]["config"])
    assert config.doors["d1"].wait_s == 30
    assert config.doors["d1"].quiet_hours[0].start == "22:00"


def test_a_config_signed_by_the_device_is_refused() -> None:
    forged = seal(DEVICE_KEY, "config", VECTORS["config"]["config"])
    with pytest.raises(ProtocolError) as error:
        open_sealed(forged, "config", public_key_from_b64(VECTORS["hub"]["public_key"]))
    assert error.value.reason == "bad_signature"


def test_changed_field_fails_the_signature() -> None:
    case = VECTORS["invalid"][0]
    body, sig = split_envelope(json.dumps(case["payload"]).encode(), "event")
    with pytest.raises(ProtocolError) as error:
        verify(public_key_from_b64(DEVICE["public_key"]), body, sig)
    assert error.value.reason == "bad_signature"


def test_other_device_than_topic_is_detected() -> None:
    case = VECTORS["invalid"][1]
    body, _ = split_envelope(json.dumps(case["payload"]).encode(), "event")
    assert parse_event(body).device != parse_device_topic(case["topic"]).device


def test_seq_reuse_is_validly_signed_but_differs_from_the_stored_bytes() -> None:
    case = VECTORS["invalid"][2]
    body, sig = split_envelope(json.dumps(case["payload"]).encode(), "event")
    verify(public_key_from_b64(DEVICE["public_key"]), body, sig)
    stored = next(v["payload"]["event"] for v in VECTORS["chain"] if v["payload"]["event"]["seq"] == body["seq"])
    assert signed_bytes(stored) != signed_bytes(body)
