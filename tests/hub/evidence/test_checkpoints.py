"""Checkpoints pin the head of every chain, the hub's own among them, and chain to each other."""

import base64
import json

from sqlalchemy import func, select

from hub.db.models import StoredEvent
from hub.evidence.checkpoints import body_hash, checkpoint_payload, export_checkpoints, open_checkpoint
from hub.evidence.merkle import inclusion_proof, tree_head, verify_inclusion
from protocol.envelope import open_sealed
from protocol.signing import GENESIS_PREV, public_key_b64, signed_bytes
from tests.hub.evidence.conftest import HUB_KEY, EvidenceHome, device_key


def test_a_checkpoint_pins_every_head_with_its_key(home: EvidenceHome) -> None:
    home.night(2)
    record = home.checkpoint()
    body = json.loads(record.body)
    assert [head["source"] for head in body["heads"]] == ["door-01", "door-02", "hub"]
    with home.sessions() as session:
        for head in body["heads"]:
            top = session.scalar(select(func.max(StoredEvent.seq)).where(StoredEvent.device == head["source"]))
            stored = session.scalar(select(StoredEvent.hash).where(StoredEvent.device == head["source"],
                                                                     StoredEvent.seq == top))
            assert (head["seq"], head["hash"], head["acked"]) == (top, stored, top)
    assert body["heads"][0]["key"] == public_key_b64(device_key("door-01"))
    assert body["heads"][2]["key"] == public_key_b64(HUB_KEY)
    assert (body["v"], body["kind"], body["n"], body["prev_checkpoint"]) == (1, "checkpoint", 1, GENESIS_PREV)
    assert record.tree_size == 3
    leaves = [signed_bytes(head) for head in body["heads"]]
    assert body["root"] == record.root == base64.b64encode(tree_head(leaves)).decode()
    verify_inclusion(leaves[1], 1, 3, inclusion_proof(leaves, 1), base64.b64decode(record.root))


def test_checkpoints_chain_and_the_retained_payload_is_a_signed_envelope(home: EvidenceHome) -> None:
    home.night(1)
    first = home.checkpoint()
    home.night(1)
    second = home.checkpoint()
    assert json.loads(second.body)["prev_checkpoint"] == body_hash(json.loads(first.body))
    payload = checkpoint_payload(second)
    assert open_sealed(payload, "checkpoint", HUB_KEY.public_key()) == json.loads(second.body)
    with home.sessions() as session:
        exported = export_checkpoints(session)
        assert [envelope["checkpoint"]["n"] for envelope in exported] == [1, 2]
        assert [envelope["checkpoint"]["n"] for envelope in export_checkpoints(session, after=1)] == [2]
    assert open_checkpoint(exported[1], HUB_KEY.public_key())["heads"][0]["seq"] == 8


def test_a_device_with_a_gap_is_acked_only_up_to_it(home: EvidenceHome) -> None:
    payloads = [home.body("door-01") for _ in range(5)]
    home.store("door-01", payloads[:2] + payloads[3:])
    head = json.loads(home.checkpoint().body)["heads"][0]
    assert (head["source"], head["seq"], head["acked"]) == ("door-01", 5, 2)
