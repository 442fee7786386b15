"""Entry decisions (latest per door opening, with their history) and the night summary: for a home's night lead
and managers, each read recorded in the hub's chain."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import EntryRecord, PendingHubEvent, StoredEvent
from hub.ingest.store import VerifyKeys, store_batch
from hub.registry import register_device
from hub.rules.alerts import AlertType
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, generate_private_key, public_key_b64
from protocol.topics import DeviceChannel, device_topic
from tests.hub.api.conftest import add_alert
from tests.hub.conftest import EVENT_TOPIC, SITE, People, received, vector_payload

NIGHT = "2026-11-25"  # 20:00 that evening to 08:00 on the 26th; London is on UTC in November
AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def openings(registered: sessionmaker[Session], people: People) -> list[int]:
    """Ids of stored events of the vector chain, for entry decisions to be about."""
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, vector_payload(i)) for i in range(8)], VerifyKeys())
        session.commit()
        return list(session.scalars(select(StoredEvent.id).order_by(StoredEvent.seq)))


def add_entry(people: People, event_id: int, revision: int, outcome: str, reason: str, opened_at: datetime,
              kind: str = "entry", room: str = "room-12", site: str = SITE) -> None:
    with people.sessions() as session:
        session.add(EntryRecord(
            door_opened_event_id=event_id, revision=revision, cause="first" if revision == 1 else "late_event",
            decided_at=opened_at + timedelta(seconds=revision), site=site, room=room, device="door-0007", door="d1",
            resident_id="ada", opened_at=opened_at, kind=kind, outcome=outcome, reason=reason,
            sentence=f"{outcome}: {reason}", rules_version="entries-v1", preference_version=1, who="sam",
            knock_event_id=None, answer_event_id=None, waited_ms=None, wait_s=30, closed_at=None, inside_ms=None,
            rests_on=[str(event_id)], review_required=outcome == "unpermitted",
        ))
        session.commit()


def reads(people: People) -> list[dict[str, Any]]:
    with people.sessions() as session:
        return [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read").order_by(PendingHubEvent.id))]


def test_entries_show_the_latest_decision_per_opening(api: TestClient, people: People, openings: list[int]) -> None:
    first, second, third = openings[1], openings[2], openings[3]
    add_entry(people, first, 1, "unpermitted", "did_not_wait", AT)
    add_entry(people, first, 2, "permitted", "consent", AT)  # a late consent re-decided it
    add_entry(people, second, 1, "unpermitted", "no_knock", AT + timedelta(minutes=5))
    add_entry(people, third, 1, "permitted", "consent", AT + timedelta(minutes=9), room="room-14")

    everything = api.get("/api/v1/entries", headers=people.auth("nia"))
    assert everything.status_code == 200
    assert [(e["door_opened_event_id"], e["revision"], e["reason"]) for e in everything.json()["entries"]] == [
        (first, 2, "consent"), (second, 1, "no_knock"), (third, 1, "consent")]
    assert everything.json()["truncated"] is False

    def ids(**params: str) -> list[int]:
        response = api.get("/api/v1/entries", params=params, headers=people.auth("meg"))
        assert response.status_code == 200, response.text
        return [e["door_opened_event_id"] for e in response.json()["entries"]]

    assert ids(outcome="unpermitted") == [second]  # the first opening is no longer unpermitted
    assert ids(room="room-14") == [third]
    assert ids(**{"from": (AT + timedelta(minutes=1)).isoformat(), "to": (AT + timedelta(minutes=9)).isoformat()}) \
        == [second]
    assert ids(limit="1") == [first]

    history = api.get(f"/api/v1/entries/{first}", headers=people.auth("meg")).json()
    assert history["current"]["revision"] == 2
    assert [(e["revision"], e["outcome"]) for e in history["history"]] == [(2, "permitted"), (1, "unpermitted")]
    assert [read["what"] for read in reads(people)][-1] == "entry"
    assert reads(people)[0] == {"by": "nia", "role": "night_lead", "staff": "nia", "what": "entries", "query": {}}


@pytest.mark.parametrize(("who", "params", "status", "reason"), [
    ("sam", {}, 403, "role_not_allowed"),
    ("ada", {}, 403, "role_not_allowed"),
    ("admin", {"site": SITE}, 403, "role_not_allowed"),
    ("max", {"site": SITE}, 403, "not_your_home"),
    ("meg", {"from": "2026-11-26T01:00:00"}, 422, None),  # no offset
    ("meg", {"from": "yesterday"}, 422, None),
    ("meg", {"outcome": "maybe"}, 422, None),
    ("meg", {"from": "2026-11-26T02:00:00Z", "to": "2026-11-26T01:00:00Z"}, 400, "bad_window"),
])
def test_entries_bad_input_and_roles(api: TestClient, people: People, who: str, params: dict, status: int,
                                     reason: str | None) -> None:
    response = api.get("/api/v1/entries", params=params, headers=people.auth(who))
    assert response.status_code == status
    if reason:
        assert response.json()["detail"]["reason"] == reason
    assert reads(people) == []


def test_one_entry_history_is_for_its_home_leads(api: TestClient, people: People, openings: list[int]) -> None:
    add_entry(people, openings[1], 1, "unpermitted", "no_knock", AT)
    assert api.get(f"/api/v1/entries/{openings[1]}", headers=people.auth("max")).status_code == 403
    assert api.get(f"/api/v1/entries/{openings[1]}", headers=people.auth("sam")).status_code == 403
    assert api.get("/api/v1/entries/999999", headers=people.auth("meg")).status_code == 404
    assert api.get("/api/v1/entries/99999999999999999999", headers=people.auth("meg")).status_code == 422


def _override_event(people: People, at: datetime) -> None:
    key = generate_private_key()
    with people.sessions() as session:
        register_device(session, site=SITE, device="door-0099", public_key=public_key_b64(key),
                        doors={"d1": "room-14"})
        body = event_body(device="door-0099", seq=1, prev=GENESIS_PREV, boot="b", mono_ms=1,
                          ts_ms=int(at.timestamp() * 1000), type="override.emergency", door="d1",
                          data={"staff": "sam", "reason": "smoke alarm"})
        topic = device_topic(SITE, "door-0099", DeviceChannel.EVENT)
        store_batch(session, [received(topic, seal(key, "event", body))], VerifyKeys())
        session.commit()


def test_the_night_summary(api: TestClient, people: People, openings: list[int]) -> None:
    add_entry(people, openings[1], 1, "permitted", "consent", AT)
    add_entry(people, openings[2], 1, "unpermitted", "no_knock", AT + timedelta(hours=1))
    add_entry(people, openings[3], 1, "permitted", "resident_left", AT + timedelta(hours=2), kind="exit")
    add_entry(people, openings[4], 1, "unpermitted", "declined", AT + timedelta(hours=9))  # 10:00, the next day
    _override_event(people, AT + timedelta(hours=1, minutes=30))
    add_alert(people.sessions, "a1", subject="s1", raised_at=AT, acknowledged_by="nia",
              acknowledged_at=AT + timedelta(seconds=30), resolved_by="nia", resolved_at=AT + timedelta(seconds=300),
              cleared_at=AT + timedelta(seconds=300), resolution_note="fine")
    add_alert(people.sessions, "a2", subject="s2", raised_at=AT + timedelta(hours=1), acknowledged_by="meg",
              acknowledged_at=AT + timedelta(hours=1, seconds=90))
    add_alert(people.sessions, "off", subject="door-0007", room=None, type=AlertType.DEVICE_OFFLINE,
              raised_at=AT + timedelta(hours=2), cleared_at=AT + timedelta(hours=2, minutes=10))
    add_alert(people.sessions, "cold", subject="room-14", room="room-14", type=AlertType.ENVIRONMENT_OUT_OF_RANGE,
              raised_at=datetime(2026, 11, 25, 19, 0, tzinfo=UTC))  # before the night, still going
    add_alert(people.sessions, "later", subject="s3", raised_at=AT + timedelta(hours=11))

    response = api.get("/api/v1/summary/night", params={"date": NIGHT}, headers=people.auth("meg"))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["start"], summary["end"]) == ("2026-11-25T20:00:00Z", "2026-11-26T08:00:00Z")
    assert summary["entries_by_kind"] == {"entry": 2, "exit": 1}
    assert summary["entries_by_outcome"] == {"permitted": 1, "unpermitted": 1}
    assert summary["entries_by_reason"] == {"consent": 1, "no_knock": 1, "resident_left": 1}
    assert [flag["reason"] for flag in summary["flags"]] == ["no_knock"]
    (override,) = summary["emergency_overrides"]
    assert (override["room"], override["staff"], override["reason"]) == ("room-14", "sam", "smoke alarm")
    assert [(s["alert"], s["end"] is not None) for s in summary["device_offline"]] == [("off", True)]
    assert [(s["alert"], s["end"]) for s in summary["environment_excursions"]] == [("cold", None)]
    assert summary["alerts_by_type"] == {"unpermitted_entry": 2, "device_offline": 1}
    assert summary["time_to_acknowledge"] == {"alerts": 3, "done": 2, "median_s": 60.0, "worst_s": 90.0}
    assert summary["time_to_resolve"] == {"alerts": 3, "done": 1, "median_s": 300.0, "worst_s": 300.0}
    assert reads(people)[-1]["what"] == "night_summary"


def test_a_night_across_the_october_clock_change_is_thirteen_hours(api: TestClient, people: People) -> None:
    summary = api.get("/api/v1/summary/night", params={"date": "2026-10-24"}, headers=people.auth("nia")).json()
    assert (summary["start"], summary["end"]) == ("2026-10-24T19:00:00Z", "2026-10-25T08:00:00Z")
    assert summary["time_to_acknowledge"] == {"alerts": 0, "done": 0, "median_s": None, "worst_s": None}


@pytest.mark.parametrize(("who", "params", "status"), [
    ("sam", {"date": NIGHT}, 403), ("ada", {"date": NIGHT}, 403), ("admin", {"date": NIGHT, "site": SITE}, 403),
    ("max", {"date": NIGHT, "site": SITE}, 403), ("meg", {}, 422), ("meg", {"date": "26/11/2026"}, 422),
    ("meg", {"date": "9999-12-31"}, 400),
])
def test_night_summary_roles_and_bad_input(api: TestClient, people: People, who: str, params: dict,
                                           status: int) -> None:
    assert api.get("/api/v1/summary/night", params=params, headers=people.auth(who)).status_code == status
    assert reads(people) == []
