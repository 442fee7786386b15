"""Accounts and tokens: argon2id hashes and token digests stored, never the secrets; sign-in; who may make one."""

import hashlib
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from hub.core.config import HubSettings
from hub.db.models import Account, ApiToken, SignInAttempt
from hub.people.accounts import account_named
from hub.people.second_factor import confirm_enrolment, pending_secret
from hub.people.tablets import TABLET_COOKIE, pair_tablet
from tests.hub.conftest import TEST_PASSWORD, People

NEW = {"username": "dee.ward", "password": "a long passphrase", "role": "resident", "resident": "ben"}


def accounts(people: People) -> int:
    with people.sessions() as session:
        return session.scalar(select(func.count()).select_from(Account))


def tokens(people: People) -> int:
    with people.sessions() as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def token_for(api: TestClient, username: str, headers: dict[str, str] | None = None, **more: str) -> Response:
    return api.post("/api/v1/auth/token", json={"username": username, "password": TEST_PASSWORD, **more},
                    headers=headers)


def refused(response: Response, status: int, reason: str) -> str:
    """The sentence of a refusal, once its status and reason are as expected."""
    assert response.status_code == status, response.text
    assert response.json()["detail"]["reason"] == reason
    return response.json()["detail"]["detail"]


def attempts(people: People, username: str) -> list[bool]:
    with people.sessions() as session:
        return list(session.scalars(select(SignInAttempt.succeeded).where(SignInAttempt.username == username)
                                    .order_by(SignInAttempt.id)))


def test_an_admin_makes_an_account_that_signs_in(api: TestClient, people: People) -> None:
    made = api.post("/api/v1/accounts", headers=people.auth("admin"), json=NEW)
    assert made.status_code == 201, made.text
    assert made.json() == {"id": made.json()["id"], "username": "dee.ward", "role": "resident", "resident": "ben",
                           "staff": None, "disabled": False}
    with people.sessions() as session:
        stored = session.scalar(select(Account).where(Account.username == "dee.ward"))
        assert stored.password_hash.startswith("$argon2id$") and NEW["password"] not in stored.password_hash

    # Ben's new account signs in as a resident does: with a member of staff of his home beside him.
    signed = api.post("/api/v1/auth/token", json={"username": "dee.ward", "password": NEW["password"],
                                                  "staff_username": "sam", "staff_password": TEST_PASSWORD})
    assert signed.status_code == 201 and signed.json()["account"]["username"] == "dee.ward"
    token = signed.json()["token"]
    me = api.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["resident"] == "ben"
    with people.sessions() as session:
        digests = set(session.scalars(select(ApiToken.token_sha256)))
    assert hashlib.sha256(token.encode()).hexdigest() in digests and token not in digests


@pytest.mark.parametrize("credentials", [
    {"username": "sam", "password": "wrong password"},
    {"username": "nobody", "password": TEST_PASSWORD},
    {"username": "ada", "password": "wrong password", "staff_username": "sam", "staff_password": TEST_PASSWORD},
])
def test_wrong_credentials_get_401_and_no_token(api: TestClient, people: People, credentials: dict) -> None:
    before = tokens(people)
    response = api.post("/api/v1/auth/token", json=credentials)
    assert response.status_code == 401 and response.json()["detail"]["reason"] == "bad_credentials"
    assert tokens(people) == before
    assert api.post("/api/v1/auth/token", json={"username": "sam", "password": TEST_PASSWORD}).status_code == 201


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


# Signing in for a token under the dashboard's rules ---------------------------------------------------------------


def test_a_resident_with_only_a_password_gets_no_token_and_is_told_how_to_sign_in(api: TestClient,
                                                                                  people: People) -> None:
    before = tokens(people)
    sentence = refused(token_for(api, "ada"), 403, "resident_needs_tablet_or_staff")
    assert "tablet paired with their own room" in sentence and "member of staff of their home" in sentence
    assert tokens(people) == before
    assert attempts(people, "ada") == [False]


def test_a_resident_on_the_tablet_paired_with_their_own_room_gets_a_token(api: TestClient, people: People) -> None:
    with people.sessions() as session:
        tablet = pair_tablet(session, "oakwood", "room-12", by=account_named(session, "nia"))
        session.commit()
    on_tablet = {"Cookie": f"{TABLET_COOKIE}={tablet}"}

    signed = token_for(api, "ada", headers=on_tablet)
    assert signed.status_code == 201, signed.text
    me = api.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {signed.json()['token']}"})
    assert me.status_code == 200 and me.json()["resident"] == "ada"
    # Ben lives in room-14: room-12's tablet is not his. A made-up cookie is no tablet at all.
    refused(token_for(api, "ben", headers=on_tablet), 403, "resident_needs_tablet_or_staff")
    refused(token_for(api, "ada", headers={"Cookie": f"{TABLET_COOKIE}=not-a-tablet"}), 403,
            "resident_needs_tablet_or_staff")


def test_a_resident_with_staff_of_their_home_beside_them_gets_a_token(api: TestClient, people: People) -> None:
    beside = token_for(api, "ada", staff_username="sam", staff_password=TEST_PASSWORD)
    assert beside.status_code == 201, beside.text
    assert beside.json()["account"]["resident"] == "ada"

    for staff, password in (("eve", TEST_PASSWORD),  # Elmfield's: not Ada's home
                            ("ben", TEST_PASSWORD),  # a resident, not a member of staff
                            ("sam", "not his password")):
        refused(token_for(api, "ada", staff_username=staff, staff_password=password), 403,
                "resident_needs_tablet_or_staff")
    # A refused sign-in counts against the member of staff named too: no guessing a carer's password this way.
    assert attempts(people, "eve") == attempts(people, "sam") == [False]


def test_a_refused_resident_counts_towards_the_rate_limit(api: TestClient, people: People,
                                                          hub_settings: HubSettings) -> None:
    for _attempt in range(hub_settings.sign_in_account_failures):
        refused(token_for(api, "ada"), 403, "resident_needs_tablet_or_staff")
    limited = token_for(api, "ada", staff_username="sam", staff_password=TEST_PASSWORD)
    refused(limited, 429, "too_many_attempts")
    assert int(limited.headers["retry-after"]) > 0


@pytest.mark.parametrize("who", ["meg", "admin"])
def test_a_manager_or_admin_without_a_second_factor_gets_no_token(api: TestClient, people: People,
                                                                  who: str) -> None:
    before = tokens(people)
    sentence = refused(token_for(api, who), 403, "second_factor_required")
    assert "enrols an authenticator app" in sentence and "dashboard" in sentence
    refused(token_for(api, who, totp="123456"), 403, "second_factor_required")
    refused(api.post("/api/v1/auth/token", json={"username": who, "password": "wrong password"}), 401,
            "bad_credentials")
    assert tokens(people) == before


def enrol(people: People, username: str) -> pyotp.TOTP:
    """Enrol the account's second factor as the dashboard's enrolment page does: a pending secret, confirmed with
    a code from it."""
    with people.sessions() as session:
        account = account_named(session, username)
        app = pyotp.TOTP(pending_secret(session, account))
        confirm_enrolment(session, account, app.now())
        session.commit()
    return app


def next_code(app: pyotp.TOTP) -> str:
    """A code the hub accepts once enrolment has used this step's: the next step's, within the drift allowed."""
    return app.generate_otp(app.timecode(datetime.now(UTC)) + 1)


@pytest.mark.parametrize("who", ["meg", "admin"])
def test_an_enrolled_manager_or_admin_gets_a_token_with_a_right_code_only(api: TestClient, people: People,
                                                                         who: str) -> None:
    app = enrol(people, who)
    code = next_code(app)
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    refused(token_for(api, who), 401, "bad_credentials")
    refused(token_for(api, who, totp=wrong), 401, "bad_credentials")
    signed = token_for(api, who, totp=code)
    assert signed.status_code == 201, signed.text
    assert signed.json()["account"]["username"] == who
    refused(token_for(api, who, totp=code), 401, "bad_credentials")  # a code works once


def test_staff_and_night_leads_sign_in_with_a_password(api: TestClient, people: People) -> None:
    for who in ("sam", "nia"):
        signed = token_for(api, who)
        assert signed.status_code == 201 and signed.json()["account"]["username"] == who


def test_the_openapi_description_says_who_needs_what(api: TestClient) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/auth/token"]["post"]
    for needed in ("second_factor_required", "resident_needs_tablet_or_staff", "threshold_tablet", "staff_username"):
        assert needed in operation["description"]
