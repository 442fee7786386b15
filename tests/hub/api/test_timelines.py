"""Timelines over HTTP: who may read which, every read in the hub's chain, the PDF, and cases with their bundle."""

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import EntryRecord, PendingHubEvent, StoredEvent
from hub.evidence import verify_bundle
from hub.ingest.store import VerifyKeys, store_batch
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, chain_hash, signed_bytes
from hub.ingest.message import ReceivedMessage
from tests.hub.conftest import DEVICE, EVENT_TOPIC, SITE, VECTOR_KEY, People

T0 = datetime(2026, 11, 19, 22, 0, tzinfo=UTC)
WINDOW = {"from": "2026-11-19T22:00:00+00:00", "to": "2026-11-19T23:00:00+00:00"}


def _store(sessions: sessionmaker[Session], events: list[tuple[str, float, dict[str, Any] | None, str | None]]) -> None:
    prev, payloads = GENESIS_PREV, []
    for seq, (type, minute, data, door) in enumerate(events, start=1):
        body = event_body(device=DEVICE, seq=seq, prev=prev, boot="b1", mono_ms=seq,
                          ts_ms=int((T0 + timedelta(minutes=minute)).timestamp() * 1000), type=type, door=door,
                          data=data)
        prev = chain_hash(signed_bytes(body))
        arrived = T0 + timedelta(minutes=minute, milliseconds=300)
        payloads.append(ReceivedMessage(EVENT_TOPIC, seal(VECTOR_KEY, "event", body), seq, 1, False, arrived))
    with sessions() as session:
        outcome = store_batch(session, payloads, VerifyKeys())
        assert not outcome.rejected
        session.commit()


def _beat(minute: float) -> tuple[str, float, dict[str, Any], None]:
    return ("device.heartbeat", minute,
            {"uptime_s": 1, "clock_synced": True, "clock_offset_ms": 0, "outbox": 0, "fw": "1"}, None)


@pytest.fixture
def night(people: People, registered: sessionmaker[Session]) -> People:
    """Room-12's door: a knock by sam, "come in", the door opening (decided), then silence from 22:05 to 22:40."""
    _store(registered, [
        _beat(0), _beat(1),
        ("knock.requested", 2, {"request": "r1", "source": "button", "staff": "sam"}, "d1"),
        ("indicator.changed", 2.01, {"state": "waiting"}, "d1"),
        ("consent.granted", 2.5, {"request": "r1"}, "d1"),
        _beat(2.9),
        ("door.opened", 3, None, "d1"),
        _beat(4), _beat(5), _beat(40), _beat(41),
    ])
    with registered() as session:
        ids = {row.type: row.id for row in session.scalars(select(StoredEvent))}
        session.add(EntryRecord(
            door_opened_event_id=ids["door.opened"], revision=1, cause="first", decided_at=T0 + timedelta(minutes=3),
            site=SITE, room="room-12", device=DEVICE, door="d1", resident_id="ada", opened_at=T0 + timedelta(minutes=3),
            kind="entry", outcome="permitted", reason="consent", sentence="entered after the resident said come in",
            rules_version="entries-v1", preference_version=None, who="sam", knock_event_id=ids["knock.requested"],
            answer_event_id=ids["consent.granted"], waited_ms=60_000, wait_s=30, closed_at=None, inside_ms=None,
            rests_on=[str(ids["knock.requested"]), str(ids["consent.granted"]), str(ids["door.opened"])],
            review_required=False))
        session.commit()
    return people


def _reads(people: People) -> list[dict[str, Any]]:
    with people.sessions() as session:
        return [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read").order_by(PendingHubEvent.id))]


def test_a_manager_reads_a_rooms_night_with_its_entry_corroboration_and_silence(api: TestClient,
                                                                              night: People) -> None:
    answer = api.get(f"/api/v1/timelines/room/{SITE}/room-12", params={**WINDOW, "reason": "family concern"},
                     headers=night.auth("meg"))
    assert answer.status_code == 200, answer.text
    timeline = answer.json()
    assert [item["type"] for item in timeline["items"] if item["lane"] != "device"] == [
        "knock.requested", "indicator.changed", "consent.granted", "door.opened"]
    assert {item["basis"] for item in timeline["items"]} == {"device clock, synced"}
    [entry] = timeline["entries"]
    assert (entry["who"], entry["corroborated_by"]) == ("sam", 3)
    assert entry["missing"] == ["remote knock through the hub", "motion", "badge"]
    assert [(u["kind"], u["start"], u["end"]) for u in timeline["unknowns"]] == [
        ("device_offline", "2026-11-19T22:05:00Z", "2026-11-19T22:40:00Z"),  # mid-night
        ("device_offline", "2026-11-19T22:41:00Z", None),  # not heard from since, to the end of the window
    ]
    assert timeline["summary"][0].startswith(f"The door device {DEVICE} (room-12) was not heard from 19 Nov 22:05")
    assert timeline["order_basis"]["counts"] == {"device clock, synced": 11}
    [read] = _reads(night)
    assert read["by"] == "meg" and read["what"] == "timeline.room"
    assert read["query"]["reason"] == "family concern" and read["query"]["room"] == "room-12"


def test_the_night_lead_reads_the_home_and_a_pdf_of_it(api: TestClient, night: People) -> None:
    assert api.get(f"/api/v1/timelines/home/{SITE}", params=WINDOW, headers=night.auth("nia")).status_code == 200
    pdf = api.get(f"/api/v1/timelines/home/{SITE}", params={**WINDOW, "format": "pdf"}, headers=night.auth("nia"))
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "entered after the resident said come in" in text
    assert [(read["by"], read["what"], read["query"]["format"]) for read in _reads(night)] == [
        ("nia", "timeline.home", "json"), ("nia", "timeline.home", "pdf")]


def test_staff_read_their_own_night_and_nobody_elses(api: TestClient, night: People) -> None:
    own = api.get("/api/v1/timelines/staff/sam", params={"night": "2026-11-19"}, headers=night.auth("sam"))
    assert own.status_code == 200, own.text
    assert own.json()["staff_night"]["knocks"] == 1 and own.json()["staff_night"]["entries"] == 1
    assert own.json()["staff_night"]["waits_ms"] == [60_000]
    assert api.get("/api/v1/timelines/staff/nia", params=WINDOW, headers=night.auth("sam")).status_code == 403
    assert api.get("/api/v1/timelines/staff/sam", params=WINDOW, headers=night.auth("meg")).status_code == 200
    assert [read["by"] for read in _reads(night)] == ["sam", "meg"]


@pytest.mark.parametrize("who", ["admin", "ada", "sam", "max"])
def test_room_and_home_timelines_are_refused_to_others_and_nothing_is_recorded(api: TestClient, night: People,
                                                                              who: str) -> None:
    for path in (f"/api/v1/timelines/room/{SITE}/room-12", f"/api/v1/timelines/home/{SITE}"):
        assert api.get(path, params=WINDOW, headers=night.auth(who)).status_code == 403
    assert api.get("/api/v1/timelines/staff/sam", params=WINDOW,
                   headers=night.auth(who)).status_code == (200 if who == "sam" else 403)
    assert [read["by"] for read in _reads(night)] == (["sam"] if who == "sam" else [])


def test_a_bad_window_is_refused(api: TestClient, night: People) -> None:
    answer = api.get(f"/api/v1/timelines/home/{SITE}", params={"from": "2026-11-27T00:00", "to": "2026-11-19T00:00"},
                     headers=night.auth("meg"))
    assert (answer.status_code, answer.json()["detail"]["reason"]) == (400, "bad_window")
    assert _reads(night) == []


def test_a_manager_opens_a_case_and_downloads_its_bundle_which_verifies(api: TestClient, night: People,
                                                                        tmp_path: Path) -> None:
    body = {"site": SITE, "rooms": ["room-12"], "staff": [], "from": WINDOW["from"], "to": WINDOW["to"],
            "reason": "conflicting accounts of the night"}
    assert api.post("/api/v1/cases", json=body, headers=night.auth("nia")).status_code == 403
    assert api.post("/api/v1/cases", json={**body, "rooms": []}, headers=night.auth("meg")).status_code == 400
    opened = api.post("/api/v1/cases", json=body, headers=night.auth("meg"))
    assert opened.status_code == 201, opened.text
    case = opened.json()["id"]
    assert api.post(f"/api/v1/cases/{case}/export", headers=night.auth("max")).status_code == 403
    exported = api.post(f"/api/v1/cases/{case}/export", headers=night.auth("meg"))
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    path = tmp_path / "case.zip"
    path.write_bytes(exported.content)
    problems, _notes = verify_bundle.verify(str(path))
    assert problems == []
    with zipfile.ZipFile(path) as archive:
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read("timeline.pdf"))).pages)
    assert "entered after the resident said come in" in text
    assert [read["what"] for read in _reads(night)] == ["case.opened", "case.exported"]


def test_checkpoints_download_for_managers_only(api: TestClient, night: People) -> None:
    assert api.get("/api/v1/checkpoints", headers=night.auth("meg")).json() == []
    assert api.get("/api/v1/checkpoints", headers=night.auth("sam")).status_code == 403
