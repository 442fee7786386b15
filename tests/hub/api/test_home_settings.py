"""A home's escalation ladder and its rooms' environment limits over the API: who may read and set them, versions
and chain events for every change, and bad input refused with a reason and nothing written."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from firmware_sim.local_services import free_port
from hub.api.app import create_app
from hub.core.config import HubSettings
from hub.db.models import EscalationLadderVersion, PendingHubEvent, RoomEnvironmentLimits
from tests.hub.conftest import People

LADDER = "/api/v1/homes/oakwood/escalation-ladder"
LIMITS = "/api/v1/homes/oakwood/rooms/room-12/environment-limits"
A_LADDER = {"steps": [{"after_s": 0, "audience": "night_lead"}, {"after_s": 60, "audience": "manager"}]}
COLD_ROOM = {"min_temp_c_x100": 1600, "max_temp_c_x100": 2400, "min_rh_x100": 2500, "max_rh_x100": 6500,
             "sustained_s": 900}


@pytest.fixture
def api(migrated_url: str, people: People, tmp_path: Path) -> Iterator[TestClient]:
    """The API on the people's database; nothing here is published, so no broker listens on its port."""
    settings = HubSettings(database_url=migrated_url, mqtt_port=free_port(), key_file=tmp_path / "hub-key.pem",
                           _env_file=None)
    with TestClient(create_app(settings)) as client:
        yield client


def written(people: People) -> tuple[int, int, int]:
    """Ladder versions, rooms with their own limits, and chain events for either."""
    with people.sessions() as session:
        return (session.scalar(select(func.count()).select_from(EscalationLadderVersion)) or 0,
                session.scalar(select(func.count()).select_from(RoomEnvironmentLimits)) or 0,
                session.scalar(select(func.count()).select_from(PendingHubEvent).where(PendingHubEvent.type.in_(
                    ["hub.ladder.changed", "hub.environment_limits.changed"]))) or 0)


def chained(people: People, type: str) -> list[dict[str, Any]]:
    with people.sessions() as session:
        return [row.data for row in session.scalars(select(PendingHubEvent).where(PendingHubEvent.type == type)
                                                    .order_by(PendingHubEvent.id))]


def test_a_home_without_its_own_ladder_shows_the_default_to_its_carers(api: TestClient, people: People) -> None:
    response = api.get(LADDER, headers=people.auth("sam"))
    assert response.status_code == 200
    body = response.json()
    assert body["version"] is None
    assert [(step["after_s"], step["audience"]) for step in body["steps"]] == [
        (0, "staff_on_duty"), (120, "night_lead"), (300, "on_call_manager")]


def test_the_manager_sets_a_new_version_and_the_change_is_chained(api: TestClient, people: People) -> None:
    first = api.put(LADDER, headers=people.auth("meg"), json=A_LADDER)
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["updated_by"]) == (1, "meg")
    second = api.put(LADDER, headers=people.auth("admin"), json={"steps": [{"after_s": 30, "audience": "manager"}]})
    assert second.json()["version"] == 2
    shown = api.get(LADDER, headers=people.auth("nia")).json()
    assert [(step["after_s"], step["audience"]) for step in shown["steps"]] == [(30, "manager")]
    assert [(event["version"], event["set_by"]) for event in chained(people, "hub.ladder.changed")] == [
        (1, "meg"), (2, "admin")]
    with people.sessions() as session:  # both versions kept: the history of who set which ladder
        assert session.scalar(select(func.count()).select_from(EscalationLadderVersion)) == 2


@pytest.mark.parametrize(("body", "code", "reason"), [
    ({"steps": [{"after_s": 0, "audience": "staff_on_duty"}, {"after_s": 60, "audience": "manager",
                                                             "enabled": False}]}, 422, "last_step_off"),
    ({"steps": [{"after_s": 60, "audience": "staff_on_duty"}, {"after_s": 60, "audience": "manager"}]}, 422,
     "steps_out_of_order"),
    ({"steps": [{"after_s": 60, "audience": "staff_on_duty"}, {"after_s": 0, "audience": "manager"}]}, 422,
     "steps_out_of_order"),
])
def test_a_ladder_the_rules_refuse_is_422_with_its_reason(api: TestClient, people: People, body: dict[str, Any],
                                                           code: int, reason: str) -> None:
    response = api.put(LADDER, headers=people.auth("meg"), json=body)
    assert response.status_code == code and response.json()["detail"]["reason"] == reason
    assert written(people) == (0, 0, 0)


@pytest.mark.parametrize("body", [
    {"steps": []}, {"steps": [{"after_s": -1, "audience": "manager"}]},
    {"steps": [{"after_s": 0, "audience": "the_police"}]}, {"steps": [{"after_s": 0}]},
    {"steps": [{"after_s": 0, "audience": "manager", "colour": "red"}]}, {"ladder": []}, [],
    {"steps": [{"after_s": 10**12, "audience": "manager"}]},
    {"steps": [{"after_s": step, "audience": "manager"} for step in range(11)]},
])
def test_a_malformed_ladder_is_a_4xx_and_writes_nothing(api: TestClient, people: People, body: Any) -> None:
    response = api.put(LADDER, headers=people.auth("meg"), json=body)
    assert 400 <= response.status_code < 500
    assert written(people) == (0, 0, 0)


@pytest.mark.parametrize(("who", "method", "code"), [
    ("sam", "put", 403), ("nia", "put", 403), ("max", "put", 403), ("ada", "put", 403), ("max", "get", 403),
    ("ada", "get", 403), ("eve", "get", 403),
])
def test_only_the_homes_manager_or_an_admin_sets_it_and_its_carers_read_it(
    api: TestClient, people: People, who: str, method: str, code: int
) -> None:
    response = api.request(method.upper(), LADDER, headers=people.auth(who), json=A_LADDER)
    assert response.status_code == code
    assert written(people) == (0, 0, 0)


def test_an_unknown_home_is_404_and_nobody_signed_in_is_401(api: TestClient, people: People) -> None:
    assert api.get("/api/v1/homes/nowhere/escalation-ladder", headers=people.auth("admin")).status_code == 404
    assert api.put("/api/v1/homes/nowhere/escalation-ladder", headers=people.auth("admin"),
                   json=A_LADDER).status_code == 404
    assert api.get(LADDER).status_code == 401
    assert written(people) == (0, 0, 0)


def test_a_room_shows_the_defaults_until_its_manager_sets_its_own(api: TestClient, people: People) -> None:
    defaults = api.get(LIMITS, headers=people.auth("meg")).json()
    assert (defaults["own"], defaults["min_temp_c_x100"], defaults["max_temp_c_x100"], defaults["min_rh_x100"],
            defaults["max_rh_x100"], defaults["sustained_s"]) == (False, 1800, 2600, 3000, 7000, 1800)
    response = api.put(LIMITS, headers=people.auth("meg"), json=COLD_ROOM)
    assert response.status_code == 200, response.text
    assert response.json() == api.get(LIMITS, headers=people.auth("admin")).json()
    assert {name: response.json()[name] for name in COLD_ROOM} == COLD_ROOM
    changed = api.put(LIMITS, headers=people.auth("admin"), json={**COLD_ROOM, "sustained_s": 600})
    assert changed.json()["sustained_s"] == 600 and changed.json()["updated_by"] == "admin"
    assert [(event["room"], event["sustained_s"], event["set_by"])
            for event in chained(people, "hub.environment_limits.changed")] == [
        ("room-12", 900, "meg"), ("room-12", 600, "admin")]


@pytest.mark.parametrize(("body", "reason"), [
    ({**COLD_ROOM, "min_temp_c_x100": 2400}, "limits_reversed"),
    ({**COLD_ROOM, "max_rh_x100": 2000}, "limits_reversed"),
])
def test_limits_the_wrong_way_round_are_422_and_write_nothing(api: TestClient, people: People,
                                                              body: dict[str, int], reason: str) -> None:
    response = api.put(LIMITS, headers=people.auth("meg"), json=body)
    assert response.status_code == 422 and response.json()["detail"]["reason"] == reason
    assert written(people) == (0, 0, 0)


@pytest.mark.parametrize("body", [
    {}, {**COLD_ROOM, "sustained_s": -1}, {**COLD_ROOM, "min_temp_c_x100": "cold"},
    {**COLD_ROOM, "max_rh_x100": 10001}, {**COLD_ROOM, "co2": 5}, [], {**COLD_ROOM, "max_temp_c_x100": None},
])
def test_malformed_limits_are_a_4xx_and_write_nothing(api: TestClient, people: People, body: Any) -> None:
    response = api.put(LIMITS, headers=people.auth("meg"), json=body)
    assert 400 <= response.status_code < 500
    assert written(people) == (0, 0, 0)


@pytest.mark.parametrize(("who", "path", "code"), [
    ("sam", LIMITS, 403), ("nia", LIMITS, 403), ("max", LIMITS, 403), ("ada", LIMITS, 403),
    ("meg", "/api/v1/homes/oakwood/rooms/room-99/environment-limits", 404),
    ("admin", "/api/v1/homes/nowhere/rooms/room-12/environment-limits", 404),
    ("meg", "/api/v1/homes/elmfield/rooms/room-01/environment-limits", 403),
])
def test_room_limits_are_for_the_homes_manager_and_admins(api: TestClient, people: People, who: str, path: str,
                                                           code: int) -> None:
    assert api.get(path, headers=people.auth(who)).status_code == code
    assert api.put(path, headers=people.auth(who), json=COLD_ROOM).status_code == code
    assert written(people) == (0, 0, 0)
