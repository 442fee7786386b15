"""A home's cases, listed for its managers; a case names only its own home's rooms and staff."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.db.models import Case, PendingHubEvent
from tests.hub.conftest import People

WINDOW = {"from": "2026-11-19T22:00:00+00:00", "to": "2026-11-19T23:00:00+00:00"}


def case_body(**changes: Any) -> dict[str, Any]:
    return {"site": "oakwood", "rooms": ["room-12"], "staff": [], **WINDOW, "reason": "a family's question",
            **changes}


def test_a_manager_lists_the_homes_cases_newest_first(api: TestClient, people: People) -> None:
    first = api.post("/api/v1/cases", json=case_body(), headers=people.auth("meg"))
    second = api.post("/api/v1/cases", json=case_body(rooms=[], staff=["sam"], reason="sam's night"),
                      headers=people.auth("meg"))
    assert first.status_code == second.status_code == 201
    elmfield = api.post("/api/v1/cases", json=case_body(site="elmfield", rooms=["room-01"]),
                        headers=people.auth("max"))
    assert elmfield.status_code == 201

    listed = api.get("/api/v1/cases", headers=people.auth("meg"))
    assert listed.status_code == 200
    assert [(case["id"], case["reason"], case["rooms"], case["staff"]) for case in listed.json()] == [
        (second.json()["id"], "sam's night", [], ["sam"]), (first.json()["id"], "a family's question", ["room-12"], [])]
    assert listed.json()[0]["window_from"] == "2026-11-19T22:00:00+00:00" and listed.json()[0]["closed_at"] is None
    assert [case["id"] for case in api.get("/api/v1/cases", headers=people.auth("max")).json()] == [
        elmfield.json()["id"]]


@pytest.mark.parametrize(("who", "params"), [("nia", {}), ("sam", {}), ("ada", {}), ("admin", {}),
                                             ("max", {"site": "oakwood"}), ("meg", {"site": "elmfield"})])
def test_cases_are_listed_for_the_homes_managers_only(api: TestClient, people: People, who: str,
                                                      params: dict[str, str]) -> None:
    assert api.get("/api/v1/cases", params=params, headers=people.auth(who)).status_code == 403


@pytest.mark.parametrize(("changes", "reason"), [
    ({"rooms": ["room-01"]}, "unknown_room"),  # Elmfield's
    ({"rooms": ["room-12", "room-99"]}, "unknown_room"),
    ({"rooms": [], "staff": ["eve"]}, "unknown_staff"),  # Elmfield's
    ({"rooms": [], "staff": ["nobody"]}, "unknown_staff"),
])
def test_a_case_names_only_its_own_homes_rooms_and_staff(api: TestClient, people: People, changes: dict[str, Any],
                                                         reason: str) -> None:
    refused = api.post("/api/v1/cases", json=case_body(**changes), headers=people.auth("meg"))
    assert (refused.status_code, refused.json()["detail"]["reason"]) == (400, reason)
    with people.sessions() as session:
        assert session.scalars(select(Case)).all() == []
        assert session.scalars(select(PendingHubEvent).where(PendingHubEvent.type == "hub.timeline.read")).all() == []
