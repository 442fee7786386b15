"""Signing in: rate limits per account and per address (429 with Retry-After), the second factor of managers and
admins (required, enrolled before anything else, each code once), and where a resident may sign in (on the tablet
paired with their own room, or with a member of staff of their home beside them). Every failure reads the same."""

import hashlib

import httpx
import pyotp
import pytest
from sqlalchemy import select

from hub.db.models import Account, SignInAttempt, WebSession
from hub.people.tablets import TABLET_COOKIE
from hub.people.web_sessions import SESSION_COOKIE
from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_sessions import cookie_value, set_cookie, sign_in
from tests.hub.conftest import TEST_PASSWORD

FAILED = "That did not work."


def wrong(client: httpx.Client, username: str) -> httpx.Response:
    return client.post("/sign-in", data={"username": username, "password": "not the password"})


def session_of(dashboard: Dashboard, response: httpx.Response) -> WebSession:
    digest = hashlib.sha256(cookie_value(response).encode()).hexdigest()
    with dashboard.people.sessions() as session:
        return session.scalars(select(WebSession).where(WebSession.id_sha256 == digest)).one()


# Rate limits ----------------------------------------------------------------------------------------------------


def test_an_account_is_limited_after_its_failures(dashboard: Dashboard) -> None:
    limit = dashboard.settings.sign_in_account_failures
    window_s = dashboard.settings.sign_in_window_minutes * 60
    with dashboard.client() as client:
        for _attempt in range(limit):
            assert wrong(client, "sam").status_code == 401
        limited = sign_in(client, "sam")  # even the right password, now
        token = client.post("/api/v1/auth/token", json={"username": "sam", "password": TEST_PASSWORD})
        other = sign_in(client, "nia")  # another account from the same address is not held up
    assert limited.status_code == 429 and "Too many tries" in limited.text
    assert 0 < int(limited.headers["retry-after"]) <= window_s
    assert token.status_code == 429 and token.json()["detail"]["reason"] == "too_many_attempts"
    assert other.status_code == 303
    with dashboard.people.sessions() as session:
        attempts = session.scalars(select(SignInAttempt).where(SignInAttempt.username == "sam")).all()
    # The limited attempts are not recorded, so trying on does not push the wait further away.
    assert [attempt.succeeded for attempt in attempts] == [False] * limit


def test_an_address_is_limited_after_its_failures(dashboard: Dashboard) -> None:
    limit = dashboard.settings.sign_in_address_failures
    names = [f"nobody-{n}" for n in range(limit)]  # each under its own account limit
    with dashboard.client() as client:
        for name in names:
            assert wrong(client, name).status_code == 401
        limited = sign_in(client, "nia")
    # Another address on this machine (the whole of 127.0.0.0/8 is loopback) is not held up.
    with httpx.Client(base_url=dashboard.url, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        elsewhere = sign_in(other, "nia")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert elsewhere.status_code == 303


def test_every_failure_reads_the_same(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        pages = [wrong(client, "sam"), wrong(client, "nobody-at-all"), sign_in(client, "ada"),
                 sign_in(client, "meg", totp="000000")]
    assert {page.status_code for page in pages} == {401}
    messages = {page.text.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0] for page in pages}
    assert len(messages) == 1 and FAILED in messages.pop()


# The second factor ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "landing"), [("meg", "/manage"), ("admin", "/admin")])
def test_managers_and_admins_sign_in_with_a_code_used_once(dashboard: Dashboard, who: str, landing: str) -> None:
    with dashboard.client() as client:
        without = sign_in(client, who)
        code = dashboard.totp_code(who)
        mistaken = sign_in(client, who, totp=code[:-1] + str((int(code[-1]) + 1) % 10))
        right = sign_in(client, who, totp=code)
        replayed = sign_in(client, who, totp=code)
    assert without.status_code == mistaken.status_code == replayed.status_code == 401
    assert right.status_code == 303 and right.headers["location"] == landing


def test_a_manager_without_a_second_factor_enrols_before_anything_else(dashboard: Dashboard) -> None:
    with dashboard.people.sessions() as session:
        meg = session.scalars(select(Account).where(Account.username == "meg")).one()
        meg.totp_secret = meg.totp_enrolled_at = meg.totp_last_step = None
        session.commit()
    with dashboard.client() as client:
        signed = sign_in(client, "meg")
        assert signed.status_code == 303 and signed.headers["location"] == "/account/totp"
        enrolling = {"Cookie": f"{SESSION_COOKIE}={cookie_value(signed)}"}
        csrf = session_of(dashboard, signed).csrf_token
        assert client.get("/manage", headers=enrolling).headers["location"] == "/account/totp"
        assert client.get("/api/v1/accounts/me", headers=enrolling).status_code == 401
        page = client.get("/account/totp", headers=enrolling)
        assert page.status_code == 200
        secret = dashboard.account("meg").totp_secret
        assert secret is not None and f"secret={secret}" in page.text and "otpauth://totp/Threshold:meg" in page.text
        assert client.get("/account/totp", headers=enrolling).status_code == 200
        assert dashboard.account("meg").totp_secret == secret  # reloading the page keeps the secret
        mistaken = client.post("/account/totp", data={"code": "12345x", "csrf_token": csrf}, headers=enrolling)
        assert mistaken.status_code == 400 and "does not match" in mistaken.text
        done = client.post("/account/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf},
                           headers=enrolling)
        assert done.status_code == 303 and done.headers["location"] == "/manage"
        renewed = {"Cookie": f"{SESSION_COOKIE}={cookie_value(done)}"}
        assert client.get("/manage", headers=renewed).status_code == 200
        assert client.get("/manage", headers=enrolling).status_code == 303  # the enrolling session ended
    assert dashboard.account("meg").totp_enrolled_at is not None


def test_the_api_token_needs_the_code_too_once_enrolled(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        without = client.post("/api/v1/auth/token", json={"username": "meg", "password": TEST_PASSWORD})
        right = client.post("/api/v1/auth/token", json={"username": "meg", "password": TEST_PASSWORD,
                                                        "totp": dashboard.totp_code("meg")})
    assert without.status_code == 401 and right.status_code == 201


# Residents --------------------------------------------------------------------------------------------------------


def test_a_resident_signs_in_with_staff_of_their_home_beside_them(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        alone = sign_in(client, "ada")
        wrong_password = sign_in(client, "ada", staff_username="sam", staff_password="not it")
        other_home = sign_in(client, "ada", staff_username="eve", staff_password=TEST_PASSWORD)
        a_resident = sign_in(client, "ada", staff_username="ben", staff_password=TEST_PASSWORD)
        beside = sign_in(client, "ada", staff_username="sam", staff_password=TEST_PASSWORD)
    for refused in (alone, wrong_password, other_home, a_resident):
        assert refused.status_code == 401 and FAILED in refused.text
    assert beside.status_code == 303 and beside.headers["location"] == "/me"
    row = session_of(dashboard, beside)
    assert (row.method, row.beside_staff_id) == ("staff_beside", "sam")


def test_a_resident_signs_in_alone_only_on_their_own_rooms_tablet(dashboard: Dashboard) -> None:
    nia = dashboard.signed_in("nia")
    with dashboard.client() as client:
        paired = client.post("/rooms/room-12/tablet", data={"csrf_token": nia.csrf_token}, headers=nia.headers)
        assert paired.status_code == 303 and paired.headers["location"] == "/sign-in"
        flags = {part.strip().lower() for part in set_cookie(paired, TABLET_COOKIE).split(";")[1:]}
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
        tablet = {"Cookie": f"{TABLET_COOKIE}={cookie_value(paired, TABLET_COOKIE)}"}
        # Pairing signs the night lead out on the tablet.
        assert client.get("/board", headers=nia.headers).status_code == 303
        assert "paired with room-12" in client.get("/sign-in", headers=tablet).text

        ada = client.post("/sign-in", data={"username": "ada", "password": TEST_PASSWORD}, headers=tablet)
        ben = client.post("/sign-in", data={"username": "ben", "password": TEST_PASSWORD}, headers=tablet)
        forged = client.post("/sign-in", data={"username": "ada", "password": TEST_PASSWORD},
                             headers={"Cookie": f"{TABLET_COOKIE}=not-a-tablet"})
        assert ada.status_code == 303 and ada.headers["location"] == "/me"
        assert session_of(dashboard, ada).method == "paired_tablet"
        assert ben.status_code == 401 and forged.status_code == 401  # Ben lives in room-14

        meg = dashboard.signed_in("meg")
        unpaired = client.post("/rooms/room-12/tablet/unpair", data={"csrf_token": meg.csrf_token},
                               headers=meg.headers)
        assert unpaired.status_code == 303
        after = client.post("/sign-in", data={"username": "ada", "password": TEST_PASSWORD}, headers=tablet)
    assert after.status_code == 401


def test_pairing_again_replaces_the_rooms_tablet(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        tablets = []
        for _tablet in range(2):
            nia = dashboard.signed_in("nia")
            paired = client.post("/rooms/room-12/tablet", data={"csrf_token": nia.csrf_token}, headers=nia.headers)
            tablets.append({"Cookie": f"{TABLET_COOKIE}={cookie_value(paired, TABLET_COOKIE)}"})
        old = client.post("/sign-in", data={"username": "ada", "password": TEST_PASSWORD}, headers=tablets[0])
        new = client.post("/sign-in", data={"username": "ada", "password": TEST_PASSWORD}, headers=tablets[1])
    assert old.status_code == 401 and new.status_code == 303


# Where signing in leads ------------------------------------------------------------------------------------------


def test_signing_in_returns_to_the_page_asked_for_and_never_off_the_site(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        asked = client.get("/my-record?night=2026-11-01")
        assert asked.status_code == 303
        assert asked.headers["location"] == "/sign-in?next=%2Fmy-record%3Fnight%3D2026-11-01"
        back = sign_in(client, "sam", next="/my-record?night=2026-11-01")
        away = [sign_in(client, "sam", next=target).headers["location"]
                for target in ("//elsewhere.example/", "https://elsewhere.example/", "/\\elsewhere.example")]
    assert back.headers["location"] == "/my-record?night=2026-11-01"
    assert away == ["/board"] * 3
