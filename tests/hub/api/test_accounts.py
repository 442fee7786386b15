"""Accounts and tokens: argon2id hashes and token digests stored, never the secrets; sign-in; who may make one."""

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.db.models import Account, ApiToken
from tests.hub.conftest import TEST_PASSWORD, People

NEW = {"username": "dee.ward", "password": "a long passphrase", "role": "resident", "resident": "ben"}


def accounts(people: People) -> int:
    with people.sessions() as session:
        return session.scalar(select(func.count()).select_from(Account))


def test_an_admin_makes_an_account_that_signs_in(api: TestClient, people: People) -> None:
    made = api.post("/api/v1/accounts", headers=people.auth("admin"), json=NEW)
    assert made.status_code == 201, made.text
    assert made.json() == {"id": made.json()["id"], "username": "dee.ward", "role": "resident", "resident": "ben",
                           "staff": None, "disabled": False}
    with people.sessions() as session:
        stored = session.scalar(select(Account).where(Account.username == "dee.ward"))
        assert stored.password_hash.startswith("$argon2id$") and NEW["password"] not in stored.password_hash

    signed = api.post("/api/v1/auth/token", json={"username": "dee.ward", "password": NEW["password"]})
    assert signed.status_code == 201 and signed.json()["account"]["username"] == "dee.ward"
    token = signed.json()["token"]
    me = api.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["resident"] == "ben"
    with people.sessions() as session:
        digests = set(session.scalars(select(ApiToken.token_sha256)))
    assert hashlib.sha256(token.encode()).hexdigest() in digests and token not in digests


@pytest.mark.parametrize("credentials", [
    {"username": "ada", "password": "wrong password"},
    {"username": "nobody", "password": TEST_PASSWORD},
])
def test_wrong_credentials_get_401_and_no_token(api: TestClient, people: People, credentials: dict) -> None:
    response = api.post("/api/v1/auth/token", json=credentials)
    assert response.status_code == 401 and response.json()["detail"]["reason"] == "bad_credentials"
    assert api.post("/api/v1/auth/token", json={"username": "ada", "password": TEST_PASSWORD}).status_code == 201


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop(api: TestClient, people: People) -> None:
    with people.sessions() as session:
        session.scalar(select(Account).where(Account.username == "sam")).disabled = True
        session.commit()
    assert api.post("/api/v1/auth/token", json={"username": "sam", "password": TEST_PASSWORD}).status_code == 401
    assert api.get("/api/v1/accounts/me", headers=people.auth("sam")).status_code == 401


@pytest.mark.parametrize(("who", "change", "status", "reason"), [
    ("meg", {}, 403, "role_not_allowed"),
    ("ada", {}, 403, "role_not_allowed"),
    ("admin", {"username": "ada"}, 409, "username_taken"),
    ("admin", {"username": "Dee Ward"}, 400, "bad_username"),
    ("admin", {"password": "short"}, 400, "weak_password"),
    ("admin", {"resident": None}, 400, "bad_link"),
    ("admin", {"resident": "nobody"}, 404, "unknown_resident"),
    ("admin", {"role": "manager", "resident": None, "staff": "sam"}, 400, "role_mismatch"),
    ("admin", {"role": "staff", "resident": None, "staff": "ghost"}, 404, "unknown_staff"),
    ("admin", {"role": "staff", "resident": "ben", "staff": "sam"}, 400, "bad_link"),
    ("admin", {"role": "owner"}, 422, None),
    ("admin", {"password": None}, 422, None),
])
def test_bad_accounts_are_refused_and_nothing_is_written(
    api: TestClient, people: People, who: str, change: dict[str, Any], status: int, reason: str | None
) -> None:
    before = accounts(people)
    response = api.post("/api/v1/accounts", headers=people.auth(who), json={**NEW, **change})
    assert response.status_code == status, response.text
    if reason:
        assert response.json()["detail"]["reason"] == reason
    assert accounts(people) == before


def test_making_an_account_needs_a_token(api: TestClient, people: People) -> None:
    assert api.post("/api/v1/accounts", json=NEW).status_code == 401


def test_an_admin_lists_the_accounts_of_a_home(api: TestClient, people: People) -> None:
    listed = api.get("/api/v1/homes/oakwood/accounts", headers=people.auth("admin"))
    assert listed.status_code == 200
    assert [(account["username"], account["role"], account["resident"], account["staff"])
            for account in listed.json()] == [("ada", "resident", "ada", None), ("ben", "resident", "ben", None),
                                              ("meg", "manager", None, "meg"), ("nia", "night_lead", None, "nia"),
                                              ("sam", "staff", None, "sam")]
    elmfield = api.get("/api/v1/homes/elmfield/accounts", headers=people.auth("admin")).json()
    assert [account["username"] for account in elmfield] == ["cy", "eve", "max"]
    unknown = api.get("/api/v1/homes/nowhere/accounts", headers=people.auth("admin"))
    assert unknown.status_code == 404 and unknown.json()["detail"]["reason"] == "unknown_home"
    for who in ("meg", "sam", "ada"):
        refused = api.get("/api/v1/homes/oakwood/accounts", headers=people.auth(who))
        assert refused.status_code == 403 and refused.json()["detail"]["reason"] == "role_not_allowed"
