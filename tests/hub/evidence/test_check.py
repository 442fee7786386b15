"""check-db names each row an attacker with the database changed, dropped, inserted or reordered — on a real
database whose append-only triggers the attacker first switched off — and passes a database nobody touched."""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from hub.cli import main
from hub.db.models import Device, StoredEvent
from hub.evidence.check import describe
from protocol.events import event_body
from protocol.signing import chain_hash, generate_private_key, private_key_to_pem, public_key_b64, sign, signed_bytes
from tests.hub.evidence.conftest import HUB_KEY, EvidenceHome, unlock

DB_EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def night(home: EvidenceHome) -> EvidenceHome:
    """Three rounds, a checkpoint, two more rounds: door-01 at seq 20 (checkpointed at 12), door-02 at 10."""
    home.night(3)
    home.checkpoint()
    home.night(2)
    return home


def _rows(session: Session, device: str) -> list[Row[Any]]:
    """Plain rows, not ORM objects: they outlive the rollback that undoes each example's tampering."""
    return list(session.execute(
        select(StoredEvent.id, StoredEvent.device, StoredEvent.seq, StoredEvent.signed, StoredEvent.hash,
               StoredEvent.prev, StoredEvent.ts_ms, StoredEvent.received_at)
        .where(StoredEvent.device == device).order_by(StoredEvent.seq)
    ))


def _wheres(night: EvidenceHome, session: Session) -> list[str]:
    return [str(finding) for finding in night.check(session).findings]


def test_an_untouched_database_passes(night: EvidenceHome) -> None:
    report = night.check()
    assert report.ok, list(describe(report))
    assert report.events == 20 + 10 + 5 and report.checkpoints == 1
    assert report.gaps == {"door-01": [], "door-02": [], "hub": []}


def test_a_gap_is_listed_not_an_error(home: EvidenceHome) -> None:
    payloads = [home.body("door-01") for _ in range(6)]
    home.store("door-01", payloads[:2] + payloads[4:])
    report = home.check()
    assert report.ok
    assert report.gaps["door-01"] == [(3, 4)]
    assert "gap: door-01 seq 3–4 not stored" in list(describe(report))


@DB_EXAMPLES
@given(data=st.data())
def test_a_changed_byte_in_signed_bytes_is_named(night: EvidenceHome, data: st.DataObject) -> None:
    with night.sessions() as session:
        unlock(session)
        row = data.draw(st.sampled_from(_rows(session, data.draw(st.sampled_from(["door-01", "door-02", "hub"])))))
        position = data.draw(st.integers(0, len(row.signed) - 1))
        # PostgreSQL text cannot hold NUL at all, so a NUL is no tampering it could store.
        replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c not in (row.signed[position], "\x00")))
        changed = row.signed[:position] + replacement + row.signed[position + 1:]
        session.execute(text("UPDATE events SET signed = :signed WHERE id = :id"), {"signed": changed, "id": row.id})
        findings = _wheres(night, session)
        session.rollback()
    assert f"{row.device} seq {row.seq}: signed bytes changed (hash mismatch)" in findings


@DB_EXAMPLES
@given(data=st.data())
def test_a_changed_row_with_its_hash_recomputed_is_named(night: EvidenceHome, data: st.DataObject) -> None:
    with night.sessions() as session:
        unlock(session)
        row = data.draw(st.sampled_from(_rows(session, "door-01")[:-1]))
        body = json.loads(row.signed)
        body["ts_ms"] += data.draw(st.integers(1, 3_600_000))
        forged = signed_bytes(body)
        session.execute(text("UPDATE events SET signed = :signed, hash = :hash, ts_ms = :ts WHERE id = :id"),
                        {"signed": forged.decode(), "hash": chain_hash(forged), "ts": body["ts_ms"], "id": row.id})
        findings = _wheres(night, session)
        session.rollback()
    assert f"door-01 seq {row.seq}: signature does not verify with door-01's key" in findings
    assert f"door-01 seq {row.seq + 1}: prev does not link to seq {row.seq}" in findings


@DB_EXAMPLES
@given(data=st.data())
def test_a_dropped_row_is_named(night: EvidenceHome, data: st.DataObject) -> None:
    with night.sessions() as session:
        unlock(session)
        device = data.draw(st.sampled_from(["door-01", "door-02", "hub"]))
        row = data.draw(st.sampled_from(_rows(session, device)))
        session.execute(text("DELETE FROM events WHERE id = :id"), {"id": row.id})
        findings = _wheres(night, session)
        session.rollback()
    assert any(finding.startswith(f"{device} seq {row.seq}: seq {row.seq} dropped") for finding in findings), findings


@DB_EXAMPLES
@given(data=st.data())
def test_two_rows_swapped_are_named(night: EvidenceHome, data: st.DataObject) -> None:
    with night.sessions() as session:
        unlock(session)
        rows = _rows(session, "door-01")
        first, second = data.draw(st.lists(st.sampled_from(rows), min_size=2, max_size=2, unique_by=lambda r: r.seq))
        session.execute(text("UPDATE events SET seq = -1 WHERE id = :id"), {"id": first.id})
        session.execute(text("UPDATE events SET seq = :seq WHERE id = :id"), {"seq": first.seq, "id": second.id})
        session.execute(text("UPDATE events SET seq = :seq WHERE id = :id"), {"seq": second.seq, "id": first.id})
        findings = _wheres(night, session)
        session.rollback()
    for here, there in ((first, second), (second, first)):
        assert (f"door-01 seq {here.seq}: the row is seq {here.seq} but its signed bytes are door-01 seq {there.seq}"
                in findings)


@DB_EXAMPLES
@given(data=st.data())
def test_an_inserted_forged_row_is_named(night: EvidenceHome, data: st.DataObject) -> None:
    """A forger without door-01's key fills in a seq (dropping the real one first) or adds one past the head."""
    with night.sessions() as session:
        unlock(session)
        rows = _rows(session, "door-01")
        seq = data.draw(st.integers(1, len(rows) + 1))
        previous = rows[seq - 2].hash if seq > 1 else rows[0].prev
        if seq <= len(rows):
            session.execute(text("DELETE FROM events WHERE id = :id"), {"id": rows[seq - 1].id})
        body = event_body(device="door-01", seq=seq, prev=previous, boot="boot-1", mono_ms=1, ts_ms=rows[0].ts_ms,
                          type="consent.granted", door="d1", data={"request": None})
        forged = signed_bytes(body)
        session.execute(StoredEvent.__table__.insert(), [{
            "site": "oakwood", "device": "door-01", "seq": seq, "type": body["type"], "door": "d1",
            "room": "room-01", "ts_ms": body["ts_ms"], "mono_ms": 1, "boot": "boot-1", "prev": previous,
            "hash": chain_hash(forged), "sig": sign(generate_private_key(), body), "signed": forged.decode(),
            "received_at": rows[0].received_at,
        }])
        findings = _wheres(night, session)
        session.rollback()
    assert f"door-01 seq {seq}: signature does not verify with door-01's key" in findings


@DB_EXAMPLES
@given(data=st.data())
def test_a_rewrite_after_the_last_checkpoint_with_another_key_is_caught(night: EvidenceHome, data: st.DataObject) -> None:
    """The attacker replaces door-01's key with their own and re-signs its whole chain, rewriting what came after
    the checkpoint and re-chaining it consistently: every signature and link holds; the checkpoint still catches it."""
    attacker = generate_private_key()
    with night.sessions() as session:
        unlock(session)
        from_seq = data.draw(st.integers(13, 20))
        rows = _rows(session, "door-01")
        prev = rows[0].prev
        for row in rows:
            body = json.loads(row.signed)
            body["prev"] = prev
            if row.seq >= from_seq:
                body["type"], body["data"] = "door.closed", {}
            forged = signed_bytes(body)
            session.execute(text("UPDATE events SET signed = :signed, hash = :hash, prev = :prev, sig = :sig, "
                                 "type = :type WHERE id = :id"),
                            {"signed": forged.decode(), "hash": chain_hash(forged), "prev": prev,
                             "sig": sign(attacker, body), "type": body["type"], "id": row.id})
            prev = chain_hash(forged)
        session.execute(text("UPDATE devices SET public_key = :key WHERE id = 'door-01'"),
                        {"key": public_key_b64(attacker)})
        findings = _wheres(night, session)
        session.rollback()
    assert findings == ["door-01: its public key has changed since checkpoint 1"]


def test_a_rewrite_that_reaches_a_checkpointed_head_is_named(night: EvidenceHome) -> None:
    with night.sessions() as session:
        unlock(session)
        row = _rows(session, "door-01")[11]
        session.execute(text("UPDATE events SET hash = 'rewritten' WHERE id = :id"), {"id": row.id})
        findings = _wheres(night, session)
        session.rollback()
    assert "checkpoint 1: head of door-01 at seq 12 no longer matches" in findings


def test_a_changed_checkpoint_and_a_dropped_one_are_named(night: EvidenceHome) -> None:
    night.checkpoint()
    night.checkpoint()
    with night.sessions() as session:
        unlock(session, "checkpoints")
        session.execute(text("UPDATE checkpoints SET body = replace(body, :old, :new) WHERE n = 2"),
                        {"old": '"created_ms":', "new": '"created_ms":1'})
        session.execute(text("DELETE FROM checkpoints WHERE n = 1"))
        findings = _wheres(night, session)
        session.rollback()
    assert "checkpoint 2: checkpoints 1–1 are missing" in findings
    assert any(finding.startswith("checkpoint 2: does not verify") for finding in findings)
    assert night.check().ok


def test_the_command_exits_non_zero_and_names_the_row(night: EvidenceHome, migrated_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "hub-key.pem"
    key_file.write_bytes(private_key_to_pem(HUB_KEY))
    monkeypatch.setenv("THRESHOLD_HUB_DATABASE_URL", migrated_url)
    monkeypatch.setenv("THRESHOLD_HUB_KEY_FILE", str(key_file))
    assert main(["check-db"]) == 0
    assert "OK: 35 events (0 purged), 1 checkpoints, 0 gap(s)" in capsys.readouterr().out
    with night.sessions() as session:
        unlock(session)
        session.execute(text("UPDATE events SET signed = replace(signed, 'sam', 'sue') WHERE device = 'door-01' "
                             "AND seq = 5"))
        session.commit()
    assert main(["check-db"]) == 1
    out = capsys.readouterr().out
    assert "door-01 seq 5: signed bytes changed (hash mismatch)" in out
    assert "door-01 seq 5: signature does not verify with door-01's key" in out
    assert "2 finding(s)" in out
    with night.sessions() as session:
        assert session.get(Device, "door-01") is not None
