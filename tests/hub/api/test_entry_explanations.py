"""Entries to review, and the explanations of the member of staff each names: only they may explain one; a second
explanation is kept beside the first (the table refuses any change); each is an event for the hub's chain; the
review list carries them, for the night lead and managers of the home."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import EntryExplanation, EntryRecord, PendingHubEvent, StoredEvent
from hub.ingest.store import VerifyKeys, store_batch
from tests.hub.conftest import EVENT_TOPIC, SITE, People, received, vector_payload

AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def openings(registered: sessionmaker[Session], people: People) -> list[int]:
    """Ids of stored events of the vector chain, for entry decisions to be about."""
    with registered() as session:
        store_batch(session, [received(EVENT_TOPIC, vector_payload(i)) for i in range(6)], VerifyKeys())
        session.commit()
        return list(session.scalars(select(StoredEvent.id).order_by(StoredEvent.seq)))


def decide(people: People, event_id: int, *, revision: int = 1, who: str = "sam", outcome: str = "unpermitted",
           reason: str = "did_not_wait", review: bool = False, minutes: int = 0) -> None:
    opened = AT + timedelta(minutes=minutes)
    with people.sessions() as session:
        session.add(EntryRecord(
            door_opened_event_id=event_id, revision=revision, cause="first" if revision == 1 else "late_event",
            decided_at=opened + timedelta(seconds=revision), site=SITE, room="room-12", device="door-0007",
            door="d1", resident_id="ada", opened_at=opened, kind="entry", outcome=outcome, reason=reason,
            sentence=f"{outcome}: {reason}", rules_version="entries-v1", preference_version=1, who=who,
            knock_event_id=None, answer_event_id=None, waited_ms=None, wait_s=30, closed_at=None, inside_ms=None,
            rests_on=[str(event_id)], review_required=review))
        session.commit()


def chain_events(people: People, type: str) -> list[dict[str, Any]]:
    with people.sessions() as session:
        return [row.data for row in session.scalars(select(PendingHubEvent).where(PendingHubEvent.type == type)
                                                    .order_by(PendingHubEvent.id))]


def explain(api: TestClient, people: People, who: str, event_id: int, words: str = "The resident called out "
            "for help through the door, so I went in at once.") -> Any:
    return api.post(f"/api/v1/entries/{event_id}/explanations", json={"text": words}, headers=people.auth(who))


def test_the_named_member_of_staff_explains_and_a_second_explanation_is_kept_beside_the_first(
        api: TestClient, people: People, openings: list[int]) -> None:
    entry = openings[1]
    decide(people, entry)
    first = explain(api, people, "sam", entry)
    assert first.status_code == 201, first.text
    assert (first.json()["staff"], first.json()["staff_name"], first.json()["given_by"]) == ("sam", "Sam", "sam")
    second = explain(api, people, "sam", entry, "  I knocked first; the indicator was not lit.  ")
    assert second.status_code == 201
    assert second.json()["text"] == "I knocked first; the indicator was not lit."

    for reader in ("sam", "nia", "meg"):
        answer = api.get(f"/api/v1/entries/{entry}/explanations", headers=people.auth(reader))
        assert answer.status_code == 200, (reader, answer.text)
        assert [item["text"] for item in answer.json()] == [
            "The resident called out for help through the door, so I went in at once.",
            "I knocked first; the indicator was not lit."]

    recorded = chain_events(people, "hub.entry.explained")
    assert [(event["door_opened"], event["staff"], event["by"], event["explanation"]) for event in recorded] == [
        (entry, "sam", "sam", first.json()["id"]), (entry, "sam", "sam", second.json()["id"])]
    assert recorded[1]["text"] == "I knocked first; the indicator was not lit."
    with people.sessions() as session:
        assert session.scalars(select(PendingHubEvent.room).where(
            PendingHubEvent.type == "hub.entry.explained")).all() == ["room-12", "room-12"]


@pytest.mark.parametrize("statement", ["UPDATE entry_explanations SET text = 'something else'",
                                       "DELETE FROM entry_explanations"])
def test_an_explanation_cannot_be_edited_or_removed(api: TestClient, people: People, openings: list[int],
                                                    statement: str) -> None:
    decide(people, openings[1])
    assert explain(api, people, "sam", openings[1], "as it happened").status_code == 201
    with people.sessions() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
        session.flush()
    with people.sessions() as session:
        assert session.scalars(select(EntryExplanation.text)).all() == ["as it happened"]


@pytest.mark.parametrize("who", ["nia", "meg", "ada", "max", "eve", "admin"])
def test_nobody_else_may_explain_an_entry_and_nothing_is_written(api: TestClient, people: People,
                                                                 openings: list[int], who: str) -> None:
    decide(people, openings[1])
    refused = explain(api, people, who, openings[1])
    assert refused.status_code == 403
    assert refused.json()["detail"]["reason"] in ("not_named", "role_not_allowed")
    with people.sessions() as session:
        assert session.scalars(select(EntryExplanation)).all() == []
    assert chain_events(people, "hub.entry.explained") == []


def test_the_decision_in_force_says_who_may_explain(api: TestClient, people: People, openings: list[int]) -> None:
    decide(people, openings[1], who="sam")
    decide(people, openings[1], revision=2, who="nia")  # a late badge event named someone else
    assert explain(api, people, "sam", openings[1]).status_code == 403
    assert explain(api, people, "nia", openings[1]).status_code == 201
    decide(people, openings[2], who="unidentified")
    assert explain(api, people, "sam", openings[2]).status_code == 403


@pytest.mark.parametrize(("event", "body", "status"), [
    (999_999, {"text": "x"}, 404),
    (None, {"text": ""}, 422),
    (None, {"text": "   "}, 422),
    (None, {"text": "x" * 4001}, 422),
    (None, {"text": "x", "staff": "nia"}, 422),
    (None, {}, 422),
])
def test_bad_explanations_are_refused_with_a_reason(api: TestClient, people: People, openings: list[int],
                                                    event: int | None, body: dict[str, Any], status: int) -> None:
    decide(people, openings[1])
    answer = api.post(f"/api/v1/entries/{event or openings[1]}/explanations", json=body, headers=people.auth("sam"))
    assert answer.status_code == status, answer.text
    with people.sessions() as session:
        assert session.scalars(select(EntryExplanation)).all() == []


def test_the_review_list_holds_unpermitted_and_emergency_entries_newest_first_with_explanations(
        api: TestClient, people: People, openings: list[int]) -> None:
    did_not_wait, emergency, permitted, redecided = openings[1:5]
    decide(people, did_not_wait, minutes=0)
    decide(people, emergency, who="nia", outcome="permitted", reason="emergency", review=True, minutes=10)
    decide(people, permitted, outcome="permitted", reason="consent", minutes=20)
    decide(people, redecided, minutes=30)
    decide(people, redecided, revision=2, outcome="permitted", reason="consent", minutes=30)  # a late "come in"
    assert explain(api, people, "nia", emergency, "Ada pressed help; I went straight in.").status_code == 201

    answer = api.get("/api/v1/entries/review", headers=people.auth("meg"))
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert [(item["entry"]["door_opened_event_id"], item["staff_name"]) for item in page["entries"]] == [
        (emergency, "Nia"), (did_not_wait, "Sam")]
    assert [item["text"] for item in page["entries"][0]["explanations"]] == ["Ada pressed help; I went straight in."]
    assert page["entries"][1]["explanations"] == [] and page["truncated"] is False

    limited = api.get("/api/v1/entries/review", params={"limit": 1}, headers=people.auth("nia")).json()
    assert [item["entry"]["door_opened_event_id"] for item in limited["entries"]] == [emergency]
    assert limited["truncated"] is True
    windowed = api.get("/api/v1/entries/review", headers=people.auth("nia"), params={
        "from": AT.isoformat(), "to": (AT + timedelta(minutes=5)).isoformat()}).json()
    assert [item["entry"]["door_opened_event_id"] for item in windowed["entries"]] == [did_not_wait]
    reads = chain_events(people, "hub.timeline.read")
    assert [(read["by"], read["what"]) for read in reads if read["what"] == "entries.review"] == [
        ("meg", "entries.review"), ("nia", "entries.review"), ("nia", "entries.review")]


@pytest.mark.parametrize(("who", "params", "status"), [
    ("sam", {}, 403), ("ada", {}, 403), ("admin", {}, 403), ("max", {"site": SITE}, 403),
    ("meg", {"from": "2026-11-26T02:00:00+00:00", "to": "2026-11-26T01:00:00+00:00"}, 400),
    ("meg", {"from": "2026-11-26T02:00:00"}, 422),
])
def test_the_review_list_is_for_the_homes_leads(api: TestClient, people: People, openings: list[int], who: str,
                                                params: dict[str, str], status: int) -> None:
    decide(people, openings[1])
    assert api.get("/api/v1/entries/review", params=params, headers=people.auth(who)).status_code == status
    assert chain_events(people, "hub.timeline.read") == []


def test_explanations_are_read_by_the_named_member_of_staff_and_the_homes_leads_only(
        api: TestClient, people: People, openings: list[int]) -> None:
    decide(people, openings[1], who="nia")
    assert explain(api, people, "nia", openings[1]).status_code == 201
    for who, status in (("sam", 403), ("ada", 403), ("max", 403), ("admin", 403), ("nia", 200), ("meg", 200)):
        assert api.get(f"/api/v1/entries/{openings[1]}/explanations", headers=people.auth(who)).status_code == status
    assert api.get("/api/v1/entries/999999/explanations", headers=people.auth("meg")).status_code == 404
