"""Setting up a home through the API: an admin registers, the home's staff read, bad input changes nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.db.models import Home, Resident, Room, Shift, Staff, Tenancy
from tests.hub.conftest import People

SHIFT = {"staff": "sam", "start": "2026-11-26T20:00:00Z", "end": "2026-11-27T08:00:00+00:00"}


def counts(people: People) -> tuple[int, ...]:
    with people.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(table))
                     for table in (Home, Room, Resident, Tenancy, Staff, Shift))


def test_an_admin_sets_up_a_home(api: TestClient, people: People) -> None:
    admin = people.auth("admin")
    home = api.post("/api/v1/homes", headers=admin, json={"id": "birch", "name": "Birch Lodge",
                                                          "time_zone": "Europe/London"})
    assert home.status_code == 201 and home.json()["time_zone"] == "Europe/London"
    assert api.post("/api/v1/homes/birch/rooms", headers=admin, json={"id": "room-03"}).status_code == 201
    assert api.post("/api/v1/residents", headers=admin,
                    json={"id": "dot", "display_name": "Dot", "home": "birch"}).status_code == 201
    assert api.post("/api/v1/staff", headers=admin,
                    json={"id": "kai", "name": "Kai", "home": "birch", "role": "night_lead"}).status_code == 201
    moved = api.post("/api/v1/residents/dot/tenancies", headers=admin, json={"room": "room-03"})
    assert moved.status_code == 201 and moved.json()["to"] is None and moved.json()["room"] == "room-03"
    shift = api.post("/api/v1/shifts", headers=admin, json={**SHIFT, "staff": "kai"})
    assert shift.status_code == 201 and shift.json()["start"].startswith("2026-11-26T20:00:00")

    assert [h["id"] for h in api.get("/api/v1/homes", headers=admin).json()] == ["birch", "elmfield", "oakwood"]
    assert api.get("/api/v1/homes/birch/rooms", headers=admin).json() == [
        {"home": "birch", "id": "room-03", "resident": "dot"}]
    assert api.get("/api/v1/residents/dot", headers=admin).json()["room"] == "room-03"
    assert [s["id"] for s in api.get("/api/v1/homes/birch/staff", headers=admin).json()] == ["kai"]
    roster = api.get("/api/v1/homes/birch/shifts", headers=admin,
                     params={"from": "2026-11-26T00:00:00Z", "to": "2026-11-28T00:00:00Z"}).json()
    assert [s["staff"] for s in roster] == ["kai"]


def test_moves_are_kept_as_history(api: TestClient, people: People) -> None:
    admin = people.auth("admin")
    assert api.post("/api/v1/homes/oakwood/rooms", headers=admin, json={"id": "room-20"}).status_code == 201
    assert api.post("/api/v1/residents/ada/tenancies", headers=admin, json={"room": "room-20"}).status_code == 201
    history = api.get("/api/v1/residents/ada/tenancies", headers=people.auth("ada")).json()
    assert [(t["room"], t["to"] is None) for t in history] == [("room-12", False), ("room-20", True)]
    assert history[0]["to"] == history[1]["from"]

    taken = api.post("/api/v1/residents/ben/tenancies", headers=admin, json={"room": "room-20"})
    assert taken.status_code == 409 and taken.json()["detail"]["reason"] == "room_occupied"
    out = api.post("/api/v1/residents/ada/move-out", headers=admin, json={})
    assert out.status_code == 200 and out.json()["to"] is not None
    assert api.get("/api/v1/residents/ada", headers=people.auth("sam")).json()["room"] is None
    assert len(api.get("/api/v1/residents/ada/tenancies", headers=admin).json()) == 2


@pytest.mark.parametrize(("path", "body", "status", "reason"), [
    ("/homes", {"id": "birch", "name": "B", "time_zone": "Mars/Olympus"}, 400, "unknown_time_zone"),
    ("/homes", {"id": "Birch Lodge", "name": "B"}, 400, "bad_id"),
    ("/homes", {"id": "oakwood", "name": "Again"}, 409, "home_exists"),
    ("/homes", {"id": "birch"}, 422, None),
    ("/homes/nowhere/rooms", {"id": "room-01"}, 404, "unknown_home"),
    ("/homes/oakwood/rooms", {"id": "room-12"}, 409, "room_exists"),
    ("/residents", {"id": "dot", "display_name": "Dot", "home": "nowhere"}, 404, "unknown_home"),
    ("/residents", {"id": "ada", "display_name": "Ada", "home": "oakwood"}, 409, "resident_exists"),
    ("/staff", {"id": "kai", "name": "Kai", "home": "oakwood", "role": "boss"}, 422, None),
    ("/staff", {"id": "sam", "name": "Sam", "home": "oakwood", "role": "staff"}, 409, "staff_exists"),
    ("/residents/nobody/tenancies", {"room": "room-12"}, 404, "unknown_resident"),
    ("/residents/ada/tenancies", {"room": "room-99"}, 404, "unknown_room"),
    ("/residents/ada/tenancies", {"room": "room-12"}, 409, "already_there"),
    ("/residents/ada/tenancies", {"room": "room-14"}, 409, "room_occupied"),
    ("/residents/ada/tenancies", {"room": "room-01"}, 404, "unknown_room"),  # elmfield's, not ada's home
    ("/residents/ada/tenancies", {"room": "room-14", "from": "2099-01-01T00:00:00Z"}, 400, "future_time"),
    ("/residents/ada/tenancies", {"room": "room-14", "from": "2020-01-01T00:00:00Z"}, 400, "before_last_move"),
    ("/residents/ada/tenancies", {"room": "room-14", "from": "2026-01-01T00:00:00"}, 422, None),
    ("/shifts", {**SHIFT, "end": "2026-11-26T19:00:00Z"}, 400, "shift_ends_before_start"),
    ("/shifts", {**SHIFT, "staff": "ghost"}, 404, "unknown_staff"),
    ("/shifts", {**SHIFT, "start": "2026-11-26T20:00:00"}, 422, None),
])
def test_bad_setup_is_refused_with_a_reason_and_changes_nothing(
    api: TestClient, people: People, path: str, body: dict[str, Any], status: int, reason: str | None
) -> None:
    before = counts(people)
    response = api.post(f"/api/v1{path}", headers=people.auth("admin"), json=body)
    assert response.status_code == status, response.text
    if reason:
        assert response.json()["detail"]["reason"] == reason
    assert counts(people) == before


def test_overlapping_shifts_are_refused(api: TestClient, people: People) -> None:
    assert api.post("/api/v1/shifts", headers=people.auth("meg"), json=SHIFT).status_code == 201
    again = api.post("/api/v1/shifts", headers=people.auth("meg"),
                     json={**SHIFT, "start": "2026-11-27T07:00:00Z", "end": "2026-11-27T09:00:00Z"})
    assert again.status_code == 409 and again.json()["detail"]["reason"] == "shift_overlaps"
    after = api.post("/api/v1/shifts", headers=people.auth("meg"),
                     json={**SHIFT, "start": "2026-11-27T08:00:00Z", "end": "2026-11-27T09:00:00Z"})
    assert after.status_code == 201


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), [
    ("meg", "post", "/homes", {"id": "birch", "name": "B"}, 403),
    ("sam", "post", "/residents", {"id": "dot", "display_name": "Dot", "home": "oakwood"}, 403),
    ("ada", "post", "/staff", {"id": "kai", "name": "Kai", "home": "oakwood", "role": "staff"}, 403),
    ("meg", "post", "/residents/ben/tenancies", {"room": "room-12"}, 403),
    ("sam", "post", "/shifts", SHIFT, 403),
    ("max", "post", "/shifts", SHIFT, 403),  # elmfield's manager, oakwood's staff member
    ("meg", "post", "/shifts", SHIFT, 201),
    ("sam", "get", "/homes", None, 403),
    ("sam", "get", "/homes/oakwood/residents", None, 200),
    ("eve", "get", "/homes/oakwood/residents", None, 403),
    ("ada", "get", "/homes/oakwood/residents", None, 403),
    ("admin", "get", "/homes/oakwood/residents", None, 200),
    ("admin", "get", "/homes/nowhere/residents", None, 404),
    ("ada", "get", "/residents/ada", None, 200),
    ("ada", "get", "/residents/ben", None, 403),
    ("eve", "get", "/residents/ben/tenancies", None, 403),
    ("nia", "get", "/homes/oakwood/shifts", None, 200),
    ("ben", "get", "/homes/oakwood/shifts", None, 403),
    ("admin", "get", "/residents/nobody", None, 404),
])
def test_roles_and_homes_scope_every_route(
    api: TestClient, people: People, who: str, method: str, path: str, body: Any, status: int
) -> None:
    kwargs = {"json": body} if body is not None else {}
    response = api.request(method.upper(), f"/api/v1{path}", headers=people.auth(who), **kwargs)
    assert response.status_code == status, response.text


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/homes"), ("get", "/homes"), ("get", "/homes/oakwood/rooms"), ("post", "/residents"),
    ("get", "/residents/ada"), ("post", "/shifts"), ("get", "/preferences/review"),
])
def test_every_people_route_needs_a_token(api: TestClient, method: str, path: str) -> None:
    assert api.request(method.upper(), f"/api/v1{path}", json={}).status_code == 401
