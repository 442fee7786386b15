"""Entry preferences through the API: who may record which basis, versions kept, bad input refused whole."""

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.db.models import PreferenceVersion
from tests.hub.conftest import People

TOMORROW = (date.today() + timedelta(days=2)).isoformat()
VALUES: dict[str, Any] = {
    "wait_s": 45,
    "quiet_hours": [{"from": "22:00", "to": "07:00"}],
    "dnd_allowed": True,
    "not_now_hold_s": 300,
    "show_knocker": True,
    "excluded_staff": ["sam"],
    "night_checks": [{"from": "02:00", "to": "02:30", "how": "open quietly, no knock"}],
}


def post(api: TestClient, people: People, who: str, resident: str, **body: Any) -> Any:
    return api.post(f"/api/v1/residents/{resident}/preferences", headers=people.auth(who),
                    json={"basis": "own_choice", "preferences": VALUES, **body})


def stored_versions(people: People) -> int:
    with people.sessions() as session:
        return session.scalar(select(func.count()).select_from(PreferenceVersion))


def test_a_resident_sets_their_own_and_every_version_is_kept(api: TestClient, people: People) -> None:
    first = post(api, people, "ada", "ada")
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["basis"] == "own_choice"
    assert first.json()["set_by"] == "ada" and first.json()["preferences"] == VALUES
    before = api.get("/api/v1/residents/ada/preferences", headers=people.auth("ada")).json()

    never = {**VALUES, "wait_s": None, "quiet_hours": []}
    second = post(api, people, "ada", "ada", preferences=never)
    assert second.status_code == 201 and second.json()["version"] == 2

    after = api.get("/api/v1/residents/ada/preferences", headers=people.auth("ada")).json()
    assert after["current"]["version"] == 2 and after["in_force"]["wait_s"] is None
    assert [v["version"] for v in after["history"]] == [2, 1]
    assert after["history"][1] == before["current"]  # the first version, exactly as it was


def test_with_no_version_the_defaults_are_in_force(api: TestClient, people: People) -> None:
    body = api.get("/api/v1/residents/ben/preferences", headers=people.auth("sam")).json()
    assert body["current"] is None and body["history"] == [] and body["in_force"]["wait_s"] == 30


@pytest.mark.parametrize("who", ["sam", "nia"])
def test_staff_of_the_home_record_a_version_with_support(api: TestClient, people: People, who: str) -> None:
    response = post(api, people, who, "ada", basis="with_support")
    assert response.status_code == 201
    assert response.json()["basis"] == "with_support" and response.json()["supporter_staff"] == who


def test_a_manager_records_a_best_interests_decision(api: TestClient, people: People) -> None:
    response = post(api, people, "meg", "ada", basis="best_interests", mca_reference="MCA-2026-014",
                    review_date=TOMORROW)
    assert response.status_code == 201
    assert (response.json()["mca_reference"], response.json()["review_date"]) == ("MCA-2026-014", TOMORROW)


@pytest.mark.parametrize(("who", "resident", "body", "status", "reason"), [
    ("meg", "ada", {"basis": "best_interests", "review_date": TOMORROW}, 400, "mca_reference_required"),
    ("meg", "ada", {"basis": "best_interests", "mca_reference": "  ", "review_date": TOMORROW}, 400,
     "mca_reference_required"),
    ("meg", "ada", {"basis": "best_interests", "mca_reference": "MCA-1"}, 400, "review_date_required"),
    ("meg", "ada", {"basis": "best_interests", "mca_reference": "MCA-1", "review_date": date.today().isoformat()},
     400, "review_date_past"),
    ("ada", "ada", {"mca_reference": "MCA-1"}, 400, "not_best_interests"),
    ("sam", "ada", {"basis": "best_interests", "mca_reference": "MCA-1", "review_date": TOMORROW}, 403,
     "basis_not_allowed"),
    ("sam", "ada", {"basis": "own_choice"}, 403, "basis_not_allowed"),
    ("ada", "ada", {"basis": "with_support"}, 403, "basis_not_allowed"),
    ("ada", "ben", {}, 403, "not_your_resident"),
    ("eve", "ada", {"basis": "with_support"}, 403, "not_your_resident"),
    ("max", "ada", {"basis": "with_support"}, 403, "not_your_resident"),
    ("admin", "ada", {"basis": "with_support"}, 403, "not_your_resident"),
    ("meg", "nobody", {"basis": "with_support"}, 404, "unknown_resident"),
    ("ada", "ada", {"preferences": {**VALUES, "excluded_staff": ["eve"]}}, 400, "unknown_staff"),
    ("ada", "ada", {"preferences": {**VALUES, "quiet_hours": [{"from": "25:00", "to": "07:00"}]}}, 422, None),
    ("ada", "ada", {"preferences": {**VALUES, "quiet_hours": [{"from": "22:00", "to": "22:00"}]}}, 422, None),
    ("ada", "ada", {"preferences": {**VALUES, "wait_s": -1}}, 422, None),
    ("ada", "ada", {"preferences": {**VALUES, "colour": "blue"}}, 422, None),
    ("ada", "ada", {"preferences": {k: v for k, v in VALUES.items() if k != "wait_s"}}, 422, None),
    ("ada", "ada", {"basis": "whim"}, 422, None),
])
def test_bad_or_unauthorised_versions_are_refused_and_nothing_is_written(
    api: TestClient, people: People, who: str, resident: str, body: dict, status: int, reason: str | None
) -> None:
    response = post(api, people, who, resident, **body)
    assert response.status_code == status, response.text
    if reason:
        assert response.json()["detail"]["reason"] == reason and response.json()["detail"]["detail"]
    assert stored_versions(people) == 0


def test_no_token_is_401_and_a_wrong_one_too(api: TestClient, people: People) -> None:
    assert api.get("/api/v1/residents/ada/preferences").status_code == 401
    wrong = api.get("/api/v1/residents/ada/preferences", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert wrong.json()["detail"]["reason"] == "not_signed_in"
    assert post(api, people, "ada", "ada").status_code == 201  # the same request, signed in


@pytest.mark.parametrize(("who", "status"), [
    ("ada", 200), ("sam", 200), ("nia", 200), ("meg", 200), ("ben", 403), ("eve", 403), ("max", 403), ("admin", 403),
])
def test_preferences_are_read_only_by_the_resident_and_their_home(
    api: TestClient, people: People, who: str, status: int
) -> None:
    assert post(api, people, "ada", "ada").status_code == 201
    response = api.get("/api/v1/residents/ada/preferences", headers=people.auth(who))
    assert response.status_code == status
    if status == 200:
        assert response.json()["current"]["preferences"] == VALUES
    else:
        assert "preferences" not in response.text


def test_the_managers_review_list(api: TestClient, people: People) -> None:
    assert post(api, people, "meg", "ada", basis="best_interests", mca_reference="MCA-7",
                review_date=TOMORROW).status_code == 201
    assert api.get("/api/v1/preferences/review", headers=people.auth("meg")).json() == []
    # The review date passes: recorded here as a version whose date is already behind us (the DB allows inserts).
    with people.sessions() as session:
        session.add(PreferenceVersion(
            resident_id="ben", version=1, created_at=session.get_one(PreferenceVersion, 1).created_at,
            set_by_account_id=session.get_one(PreferenceVersion, 1).set_by_account_id, basis="best_interests",
            mca_reference="MCA-3", review_date=date.today() - timedelta(days=1), **VALUES,
        ))
        session.commit()
    listed = api.get("/api/v1/preferences/review", headers=people.auth("meg"))
    assert listed.status_code == 200
    assert [(v["resident"], v["mca_reference"]) for v in listed.json()] == [("ben", "MCA-3")]
    assert api.get("/api/v1/preferences/review", headers=people.auth("max")).json() == []  # another home's manager
    for who in ("sam", "nia", "admin", "ben"):
        assert api.get("/api/v1/preferences/review", headers=people.auth(who)).status_code == 403

    # Ben chooses for himself (supported): his best-interests decision is no longer the one in force.
    assert post(api, people, "sam", "ben", basis="with_support").status_code == 201
    assert api.get("/api/v1/preferences/review", headers=people.auth("meg")).json() == []
