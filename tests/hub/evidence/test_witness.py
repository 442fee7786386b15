"""A witness keeps the hub's checkpoints and says when a new one does not fit what it has seen."""

import copy
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main
from hub.evidence.checkpoints import export_checkpoints, merkle_root
from hub.evidence.witness import WitnessError, read_checkpoints, witness
from protocol.signing import generate_private_key, public_key_b64, sign
from tests.hub.evidence.conftest import HUB_KEY, EvidenceHome

HUB_PUBLIC = public_key_b64(HUB_KEY)


@pytest.fixture
def published(home: EvidenceHome) -> list[dict[str, Any]]:
    """Three checkpoints with a night between each."""
    for _ in range(3):
        home.night(1)
        home.checkpoint()
    with home.sessions() as session:
        return export_checkpoints(session)


def resigned(envelope: dict[str, Any], change: Any, key: Any = HUB_KEY) -> dict[str, Any]:
    """A checkpoint altered by someone holding the hub's key, its root recomputed so it is well formed."""
    body = copy.deepcopy(envelope["checkpoint"])
    change(body)
    body["root"] = merkle_root(body["heads"])
    return {"checkpoint": body, "sig": sign(key, body)}


def test_consistent_checkpoints_are_kept_across_runs(published: list[dict[str, Any]], tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert witness(state, published[:2], HUB_PUBLIC).accepted == [1, 2]
    report = witness(state, published)
    assert (report.accepted, report.problems) == ([3], [])
    assert witness(state, published).accepted == []


def test_the_first_run_needs_the_hub_key_and_a_different_one_is_refused(published: list[dict[str, Any]],
                                                                       tmp_path: Path) -> None:
    with pytest.raises(WitnessError):
        witness(tmp_path / "state.json", published)
    witness(tmp_path / "state.json", published[:1], HUB_PUBLIC)
    report = witness(tmp_path / "state.json", published, public_key_b64(generate_private_key()))
    assert report.problems == ["the hub key given differs from the one this witness pinned"]


def _set(index: int, field: str, value: Any) -> Any:
    return lambda body: body["heads"][index].update({field: value})


@pytest.mark.parametrize(("change", "problem"), [
    (_set(0, "seq", 7), "door-01 went back from seq 8 to 7"),
    (lambda body: body.update(heads=body["heads"][1:]), "door-01 is missing (it was at seq 8 in checkpoint 2)"),
    (_set(0, "key", public_key_b64(generate_private_key())), "door-01's key differs from checkpoint 2"),
    (lambda body: body.update(prev_checkpoint=body["root"]), "does not link to checkpoint 2 as seen before"),
])
def test_a_next_checkpoint_that_rewrites_history_is_reported(published: list[dict[str, Any]], tmp_path: Path,
                                                             change: Any, problem: str) -> None:
    state = tmp_path / "state.json"
    witness(state, published[:2], HUB_PUBLIC)
    report = witness(state, [resigned(published[2], change)])
    assert (report.accepted, report.problems) == ([], [f"checkpoint 3: {problem}"])
    assert witness(state, [published[2]]).accepted == [3]


def test_a_same_seq_with_another_hash_and_a_changed_old_checkpoint_are_reported(published: list[dict[str, Any]],
                                                                              tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    witness(state, published[:1], HUB_PUBLIC)
    same_seq = dict(published[0]["checkpoint"]["heads"][1])
    report = witness(state, [resigned(published[1], _set(1, "seq", same_seq["seq"])),
                             resigned(published[0], lambda body: body.update(created_ms=0))])
    assert report.problems == [
        "checkpoint 1: differs from the checkpoint with that number seen before",
        "checkpoint 2: door-02 at seq 2 has a different hash than in checkpoint 1",
    ]


def test_a_forged_signature_and_a_bad_root_are_reported(published: list[dict[str, Any]], tmp_path: Path) -> None:
    forged = resigned(published[0], lambda body: None, key=generate_private_key())
    broken = copy.deepcopy(published[1])
    broken["checkpoint"]["root"] = broken["checkpoint"]["root"][::-1]
    broken["sig"] = sign(HUB_KEY, broken["checkpoint"])
    report = witness(tmp_path / "state.json", [forged, broken], HUB_PUBLIC)
    assert report.problems == ["checkpoint 1: the signature does not match the signed bytes",
                               "checkpoint 2: its root is not the Merkle root of its heads"]


@pytest.fixture
def served(published: list[dict[str, Any]], tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "checkpoints.json").write_text(json.dumps(published))
    server = HTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/checkpoints.json"
    server.shutdown()
    thread.join(timeout=10)


def test_checkpoints_are_read_from_a_folder_a_file_and_a_url(published: list[dict[str, Any]], served: str,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "retained"
    folder.mkdir()
    for envelope in published:
        (folder / f"checkpoint-{envelope['checkpoint']['n']}.json").write_text(json.dumps(envelope))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(published))
    assert read_checkpoints(directory=folder) == read_checkpoints(file=export) == read_checkpoints(url=served) == \
        published


def test_the_witness_command_exits_non_zero_on_a_misfit(published: list[dict[str, Any]], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "retained"
    folder.mkdir()
    (folder / "1.json").write_text(json.dumps(published[0]))
    state = str(tmp_path / "state.json")
    assert main(["witness", "--dir", str(folder), "--state", state, "--hub-key", HUB_PUBLIC]) == 0
    assert capsys.readouterr().out == "checkpoint 1: consistent, kept\n"
    forged = resigned(published[1], lambda body: body.update(prev_checkpoint=published[0]["checkpoint"]["root"]))
    (folder / "2.json").write_text(json.dumps(forged))
    assert main(["witness", "--dir", str(folder), "--state", state]) == 1
    assert capsys.readouterr().out == "checkpoint 2: does not link to checkpoint 1 as seen before\n"
