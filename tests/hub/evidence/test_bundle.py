"""A case's bundle shows what is in scope in full, the rest of the chain only as hashes, and verifies offline;
any change to it is named by the verifier."""

import ast
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.cli import main
from hub.evidence import verify_bundle
from hub.evidence.bundle import export_bundle
from hub.evidence.cases import open_case
from hub.evidence.checkpoints import merkle_root
from hub.evidence.merkle import tree_head
from protocol.signing import chain_hash, generate_private_key, private_key_to_pem, public_key_b64, signed_bytes
from tests.hub.evidence.bundles import as_lines, case_bundle, event_lines, members, rewrite
from tests.hub.evidence.conftest import HUB_KEY, SITE, T0, EvidenceHome

BUNDLE_EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def bundle(home: EvidenceHome, tmp_path: Path) -> Path:
    path = tmp_path / "case.zip"
    case_bundle(home, path, rooms=["room-01"], staff=[])
    return path


def test_a_room_case_shows_its_room_in_full_and_the_rest_of_the_chain_as_hashes(bundle: Path) -> None:
    assert verify_bundle.verify(str(bundle)) == ([], [
        f"hub key {public_key_b64(HUB_KEY)}",
        "10 events shown in full, 5 as hash and prev only, 2 sources, 1 checkpoints",
    ])
    entries = event_lines(bundle)
    full = [(entry["source"], entry["seq"]) for entry in entries if "signed" in entry]
    withheld = [(entry["source"], entry["seq"]) for entry in entries if "signed" not in entry]
    # Rounds one and two of room-01, then door-01 up to its head in checkpoint 1 (seq 12) and the hub's (seq 3).
    assert full == [("door-01", seq) for seq in range(1, 9)] + [("hub", 1), ("hub", 2)]
    assert withheld == [("door-01", seq) for seq in range(9, 13)] + [("hub", 3)]
    assert all(set(entry) == {"source", "seq", "hash", "prev", "withheld"} for entry in entries
               if "signed" not in entry)
    assert "door-02" not in json.loads(members(bundle)["keys.json"])
    assert [item["checkpoint"]["n"] for item in json.loads(members(bundle)["checkpoints.json"])] == [1]


def test_the_manifest_lists_every_file_and_is_signed(bundle: Path) -> None:
    contents = members(bundle)
    document = json.loads(contents["manifest.json"])
    files = document["manifest"]["files"]
    assert sorted(files) == sorted(set(contents) - {"manifest.json"}) == [
        "case.json", "checkpoints.json", "events.jsonl", "gaps.json", "keys.json", "timeline.pdf", "verify_bundle.py"]
    assert all(hashlib.sha256(contents[name]).hexdigest() == digest for name, digest in files.items())
    assert contents["verify_bundle.py"] == Path(verify_bundle.__file__).read_bytes()
    assert document["manifest"]["timeline_pdf"] == "timeline.pdf"
    HUB_KEY.public_key().verify(base64.b64decode(document["sig"]), signed_bytes(document["manifest"]))
    assert document["manifest"]["ranges"] == {"door-01": [1, 12], "hub": [1, 3]}


def test_a_staff_case_shows_their_knocks_and_the_hubs_records_of_them(home: EvidenceHome, tmp_path: Path) -> None:
    path = tmp_path / "sam.zip"
    case_bundle(home, path, rooms=[], staff=["sam"])
    assert verify_bundle.verify(str(path))[0] == []
    full = [(entry["source"], entry["seq"]) for entry in event_lines(path) if "signed" in entry]
    assert full == [("door-01", 1), ("door-01", 5), ("hub", 1), ("hub", 2)]


def test_progress_is_reported_to_the_end(home: EvidenceHome, tmp_path: Path) -> None:
    home.night(2)
    seen: list[tuple[int, int]] = []
    with home.sessions() as session:
        case = open_case(session, site=SITE, opened_by="meg", reason="r", rooms=["room-02"], staff=[],
                         window_from=T0, window_to=T0.replace(hour=23), now=T0)
        manifest = export_bundle(session, case.id, tmp_path / "b.zip", HUB_KEY, T0, progress=lambda *p: seen.append(p))
    assert seen[-1] == (4, 4)
    assert manifest["unanchored"] == ["door-02"]
    problems, notes = verify_bundle.verify(str(tmp_path / "b.zip"))
    assert problems == []
    assert "note: door-02 seq 4 is not yet pinned by a checkpoint in the bundle" in notes


@BUNDLE_EXAMPLES
@given(data=st.data())
def test_a_changed_byte_in_an_event_is_named(bundle: Path, tmp_path_factory: pytest.TempPathFactory,
                                            data: st.DataObject) -> None:
    entries = event_lines(bundle)
    index = data.draw(st.sampled_from([i for i, entry in enumerate(entries) if "signed" in entry]))
    signed = entries[index]["signed"]
    position = data.draw(st.integers(0, len(signed) - 1))
    entries[index]["signed"] = signed[:position] + data.draw(
        st.characters(codec="ascii").filter(lambda c: c != signed[position])) + signed[position + 1:]
    tampered = rewrite(bundle, tmp_path_factory.mktemp("t") / "b.zip", {"events.jsonl": as_lines(entries)})
    problems = verify_bundle.verify(str(tampered))[0]
    name = f"events.jsonl line {index + 1} ({entries[index]['source']} seq {entries[index]['seq']})"
    assert any(problem.startswith(name) for problem in problems), problems
    assert any(problem.startswith("events.jsonl: SHA-256 is") for problem in problems)


@BUNDLE_EXAMPLES
@given(data=st.data())
def test_a_dropped_event_is_named(bundle: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    entries = event_lines(bundle)
    index = data.draw(st.integers(0, len(entries) - 1))
    dropped = entries.pop(index)
    tampered = rewrite(bundle, tmp_path_factory.mktemp("t") / "b.zip", {"events.jsonl": as_lines(entries)})
    problems = verify_bundle.verify(str(tampered))[0]
    assert f"{dropped['source']} seq {dropped['seq']}: missing from events.jsonl and not a declared gap" in problems


@BUNDLE_EXAMPLES
@given(data=st.data())
def test_a_forged_withheld_hash_breaks_the_link_and_the_checkpoint(bundle: Path,
                                                                   tmp_path_factory: pytest.TempPathFactory,
                                                                   data: st.DataObject) -> None:
    entries = event_lines(bundle)
    index = data.draw(st.sampled_from([i for i, entry in enumerate(entries) if "signed" not in entry]))
    entries[index]["hash"] = chain_hash(b"something else")
    manifest = json.loads(members(bundle)["manifest.json"])
    tampered = rewrite(bundle, tmp_path_factory.mktemp("t") / "b.zip", {"events.jsonl": as_lines(entries)})
    problems = verify_bundle.verify(str(tampered))[0]
    entry = entries[index]
    assert manifest["manifest"]["ranges"][entry["source"]][1] >= entry["seq"]
    assert (f"checkpoint 1: head of {entry['source']} at seq {entry['seq']} does not match the bundle's event"
            in problems or any(problem.endswith(f"({entry['source']} seq {entry['seq'] + 1}): prev does not link to seq "
                                            f"{entry['seq']}") for problem in problems)), problems
    assert manifest["sig"]


def test_a_changed_manifest_hash_and_a_removed_file_are_named(bundle: Path, tmp_path: Path) -> None:
    document = json.loads(members(bundle)["manifest.json"])
    document["manifest"]["files"]["keys.json"] = "0" * 64
    tampered = rewrite(bundle, tmp_path / "m.zip", {"manifest.json": json.dumps(document).encode(), "gaps.json": None})
    problems = verify_bundle.verify(str(tampered))[0]
    assert "manifest.json: the hub's signature does not verify" in problems
    assert any(problem.startswith("keys.json: SHA-256 is") and problem.endswith("the manifest says " + "0" * 64)
               for problem in problems)
    assert "gaps.json: listed in the manifest but missing from the bundle" in problems


def test_a_pinned_hub_key_that_differs_is_named(bundle: Path) -> None:
    other = public_key_b64(generate_private_key())
    assert "keys.json: the hub key differs from the one given with --hub-key" in verify_bundle.verify(
        str(bundle), other)[0]


@settings(max_examples=100)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
), leaves=st.lists(st.binary(max_size=16), max_size=20))
def test_the_verifier_computes_what_protocol_and_the_hub_compute(value: Any, leaves: list[bytes]) -> None:
    assert verify_bundle.canonical({"v": value}) == signed_bytes({"v": value})
    assert verify_bundle.chain_hash(verify_bundle.canonical({"v": value})) == chain_hash(signed_bytes({"v": value}))
    assert verify_bundle.merkle_root(leaves) == tree_head(leaves)
    heads = [{"source": str(i), "seq": i, "hash": chain_hash(leaf), "acked": i, "key": "k"}
             for i, leaf in enumerate(leaves)]
    assert verify_bundle.checkpoint_root(heads) == merkle_root(heads)


def test_the_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(Path(verify_bundle.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module}
    assert imported - sys.stdlib_module_names == {"cryptography"}


def test_the_export_command_shows_progress_and_writes_the_bundle(home: EvidenceHome, migrated_url: str,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home.night(2)
    home.checkpoint()
    key_file = tmp_path / "hub-key.pem"
    key_file.write_bytes(private_key_to_pem(HUB_KEY))
    monkeypatch.setenv("THRESHOLD_HUB_DATABASE_URL", migrated_url)
    monkeypatch.setenv("THRESHOLD_HUB_KEY_FILE", str(key_file))
    assert main(["case", "open", "--site", "oakwood", "--by", "meg", "--reason", "a complaint", "--room", "room-02",
                 "--from", "2026-11-26T22:00:00+00:00", "--to", "2026-11-26T23:00:00+00:00"]) == 0
    assert capsys.readouterr().out == "case 1 opened\n"
    assert main(["export", "1", "--out", str(tmp_path / "case-1.zip")]) == 0
    captured = capsys.readouterr()
    assert f"[{'#' * 30}] 4/4 events" in captured.err
    assert verify_bundle.main([str(tmp_path / "case-1.zip")]) == 0
    assert capsys.readouterr().out.startswith("VALID\n")
    assert main(["case", "open", "--site", "oakwood", "--by", "meg", "--reason", "x", "--room", "r",
                 "--from", "2026-11-26T23:00:00+00:00", "--to", "2026-11-26T22:00:00+00:00"]) == 2
