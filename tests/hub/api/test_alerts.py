"""Alerts through the API: who may see and change them, the first acknowledgement wins (in the database), nobody
acknowledges their own entry, a resolve needs a note; every change is kept, chained and published live."""

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.decisions.alerts import alert_state, write_if_unchanged
from hub.db.models import AlertChangeRecord, AlertRecord, PendingHubEvent
from hub.live import AlertMessage, alerts_topic
from hub.rules.alerts import acknowledge
from tests.hub.api.conftest import add_alert
from tests.hub.conftest import DeviceSide, People, wait_until


def counts(people: People) -> tuple[int, int]:
    """History lines and chain events waiting to be signed: what a change writes."""
    with people.sessions() as session:
        return (session.scalar(select(func.count()).select_from(AlertChangeRecord)),
                session.scalar(select(func.count()).select_from(PendingHubEvent)))


def stored(people: People, alert_id: str) -> AlertRecord:
    with people.sessions() as session:
        return session.get_one(AlertRecord, alert_id)


def ack(api: TestClient, people: People, who: str, alert_id: str = "a1") -> Any:
    return api.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=people.auth(who))


def test_the_home_staff_list_active_alerts_and_can_ask_for_all(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    add_alert(people.sessions, "a2", room="room-14")
    add_alert(people.sessions, "a3", subject="oakwood/room-12/old")
    assert api.post("/api/v1/alerts/a3/resolve", headers=people.auth("nia"), json={"note": "checked"}).status_code == 200
    add_alert(people.sessions, "e1", site="elmfield", room="room-01")

    for who in ("sam", "nia", "meg"):
        active = api.get("/api/v1/alerts", headers=people.auth(who))
        assert active.status_code == 200
        assert sorted(alert["id"] for alert in active.json()) == ["a1", "a2"]
    every = api.get("/api/v1/alerts", params={"state": "all"}, headers=people.auth("sam")).json()
    assert sorted(alert["id"] for alert in every) == ["a1", "a2", "a3"]
    room = api.get("/api/v1/alerts", params={"room": "room-14"}, headers=people.auth("sam")).json()
    assert [alert["id"] for alert in room] == ["a2"]
    first = active.json()[0]
    assert first["status"] == "active_unacknowledged" and "did not permit" in first["sentence"]
    elsewhere = api.get("/api/v1/alerts", headers=people.auth("eve")).json()
    assert [alert["id"] for alert in elsewhere] == ["e1"]


@pytest.mark.parametrize(("who", "params", "status", "reason"), [
    ("eve", {"site": "oakwood"}, 403, "not_your_home"),
    ("ada", {}, 403, "role_not_allowed"),
    ("admin", {"site": "oakwood"}, 403, "role_not_allowed"),
    (None, {}, 401, "not_signed_in"),
    ("sam", {"state": "cleared"}, 422, None),
    ("sam", {"limit": 0}, 422, None),
])
def test_alert_lists_are_for_the_home_staff(api: TestClient, people: People, who: str | None, params: dict,
                                            status: int, reason: str | None) -> None:
    add_alert(people.sessions, "a1")
    response = api.get("/api/v1/alerts", params=params, headers=people.auth(who) if who else {})
    assert response.status_code == status
    if reason:
        assert response.json()["detail"]["reason"] == reason


def test_an_alert_with_its_history(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    assert ack(api, people, "sam").status_code == 200
    detail = api.get("/api/v1/alerts/a1", headers=people.auth("meg"))
    assert detail.status_code == 200
    assert [(line["action"], line["by"]) for line in detail.json()["history"]] == [("raised", "hub"),
                                                                                  ("acknowledged", "sam")]
    assert api.get("/api/v1/alerts/nope", headers=people.auth("meg")).status_code == 404
    other = api.get("/api/v1/alerts/a1", headers=people.auth("eve"))
    assert other.status_code == 403 and other.json()["detail"]["reason"] == "not_your_home"


def test_acknowledging_names_the_person_is_chained_and_reaches_every_board(
    api: TestClient, people: People, devices_side: DeviceSide
) -> None:
    add_alert(people.sessions, "a1")
    devices_side.subscribe(alerts_topic("oakwood"))
    response = ack(api, people, "sam")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active_acknowledged" and body["acknowledged_by"] == "sam"
    assert body["history"][-1]["action"] == "acknowledged"

    assert stored(people, "a1").acknowledged_by == "sam"
    with people.sessions() as session:
        (pending,) = session.scalars(select(PendingHubEvent).where(PendingHubEvent.type == "hub.alert.changed"))
    assert pending.type == "hub.alert.changed" and pending.site == "oakwood" and pending.room == "room-12"
    assert pending.data["action"] == "acknowledged" and pending.data["by"] == "sam" and pending.data["alert"] == "a1"

    (published,) = wait_until(lambda: devices_side.on(alerts_topic("oakwood")), what="the live alert message")
    message = AlertMessage.model_validate_json(published.payload)
    assert (message.id, message.change, message.acknowledged_by, message.status) == (
        "a1", "acknowledged", "sam", "active_acknowledged")


def test_the_first_acknowledgement_wins(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    assert ack(api, people, "sam").status_code == 200
    before = counts(people)
    second = ack(api, people, "nia")
    assert second.status_code == 409
    assert second.json()["detail"]["reason"] == "already_acknowledged" and "sam" in second.json()["detail"]["detail"]
    assert stored(people, "a1").acknowledged_by == "sam" and counts(people) == before


def test_two_people_acknowledging_at_once_one_wins(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def press(who: str) -> None:
        start.wait()
        answers[who] = ack(api, people, who).status_code

    threads = [threading.Thread(target=press, args=(who,)) for who in ("sam", "nia")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers.values()) == [200, 409]
    winner = next(who for who, code in answers.items() if code == 200)
    assert stored(people, "a1").acknowledged_by == winner
    detail = api.get("/api/v1/alerts/a1", headers=people.auth("meg")).json()
    assert [line["by"] for line in detail["history"] if line["action"] == "acknowledged"] == [winner]


def test_the_database_decides_between_two_writers_that_read_the_same_state(people: People) -> None:
    add_alert(people.sessions, "a1")
    sessions: sessionmaker[Session] = people.sessions
    with sessions() as first, sessions() as second:
        seen_first = alert_state(first.get_one(AlertRecord, "a1"))
        seen_second = alert_state(second.get_one(AlertRecord, "a1"))
        first_ack, second_ack = acknowledge(seen_first, "sam", seen_first.raised_at), acknowledge(
            seen_second, "nia", seen_second.raised_at)
        assert write_if_unchanged(first, seen_first, first_ack.alert)  # type: ignore[union-attr]
        first.commit()
        assert not write_if_unchanged(second, seen_second, second_ack.alert)  # type: ignore[union-attr]
        second.rollback()
    assert stored(people, "a1").acknowledged_by == "sam"


def test_nobody_acknowledges_or_resolves_an_alert_about_their_own_entry(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1", subject_staff="sam")
    before = counts(people)
    own = ack(api, people, "sam")
    assert own.status_code == 403 and own.json()["detail"]["reason"] == "own_entry"
    resolve = api.post("/api/v1/alerts/a1/resolve", headers=people.auth("sam"), json={"note": "it was me"})
    assert resolve.status_code == 403 and resolve.json()["detail"]["reason"] == "own_entry"
    assert counts(people) == before and stored(people, "a1").acknowledged_by is None
    assert ack(api, people, "nia").status_code == 200


def test_resolving_needs_a_note_and_happens_once(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    before = counts(people)
    for body in ({}, {"note": ""}, {"note": None}, {"note": "ok", "extra": 1}):
        response = api.post("/api/v1/alerts/a1/resolve", headers=people.auth("nia"), json=body)
        assert response.status_code == 422, body
    blank = api.post("/api/v1/alerts/a1/resolve", headers=people.auth("nia"), json={"note": "   "})
    assert blank.status_code == 422 and blank.json()["detail"]["reason"] == "needs_note"
    assert counts(people) == before

    done = api.post("/api/v1/alerts/a1/resolve", headers=people.auth("nia"),
                    json={"note": "Spoke with Ada; she is fine."})
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "cleared_acknowledged" and body["resolved_by"] == "nia"
    assert body["acknowledged_by"] == "nia" and body["resolution_note"] == "Spoke with Ada; she is fine."
    again = api.post("/api/v1/alerts/a1/resolve", headers=people.auth("meg"), json={"note": "again"})
    assert again.status_code == 409 and again.json()["detail"]["reason"] == "already_resolved"
    assert ack(api, people, "sam").json()["detail"]["reason"] == "already_acknowledged"


def test_resolving_keeps_an_earlier_acknowledgement(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    ack(api, people, "sam")
    body = api.post("/api/v1/alerts/a1/resolve", headers=people.auth("meg"), json={"note": "reviewed"}).json()
    assert (body["acknowledged_by"], body["resolved_by"]) == ("sam", "meg")


@pytest.mark.parametrize(("who", "status", "reason"), [
    ("eve", 403, "not_your_home"), ("ada", 403, "role_not_allowed"), ("admin", 403, "role_not_allowed"),
])
def test_only_the_home_staff_change_an_alert(api: TestClient, people: People, who: str, status: int,
                                             reason: str) -> None:
    add_alert(people.sessions, "a1")
    before = counts(people)
    for response in (ack(api, people, who),
                     api.post("/api/v1/alerts/a1/resolve", headers=people.auth(who), json={"note": "x"})):
        assert response.status_code == status and response.json()["detail"]["reason"] == reason
    assert counts(people) == before
    assert ack(api, people, "sam", "missing").status_code == 404
    assert api.post("/api/v1/alerts/a1/acknowledge").status_code == 401


def test_history_lines_match_the_chain_events(api: TestClient, people: People) -> None:
    add_alert(people.sessions, "a1")
    ack(api, people, "sam")
    api.post("/api/v1/alerts/a1/resolve", headers=people.auth("nia"), json={"note": "done"})
    with people.sessions() as session:
        lines = list(session.scalars(select(AlertChangeRecord).order_by(AlertChangeRecord.id)))
        chained = [p.data for p in session.scalars(select(PendingHubEvent)
                                                   .where(PendingHubEvent.type == "hub.alert.changed")
                                                   .order_by(PendingHubEvent.id))]
    assert [(line.action, line.by) for line in lines[1:]] == [(c["action"], c["by"]) for c in chained]
