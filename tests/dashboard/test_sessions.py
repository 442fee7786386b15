"""Dashboard sessions over real HTTP: the cookie and its flags, a new session at every sign-in, the idle and
absolute timeouts, signing out, disabling an account, and the API accepting the same cookie."""

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from hub.db.models import Account, ApiToken, WebSession
from hub.people.web_sessions import SESSION_COOKIE
from tests.dashboard.conftest import Dashboard, SignedInCookie
from tests.hub.conftest import TEST_PASSWORD


def set_cookie(response: httpx.Response, name: str) -> str:
    """The Set-Cookie line for `name`, as the server sent it."""
    lines = [line for line in response.headers.get_list("set-cookie") if line.startswith(f"{name}=")]
    assert len(lines) == 1, response.headers.get_list("set-cookie")
    return lines[0]


def cookie_value(response: httpx.Response, name: str = SESSION_COOKIE) -> str:
    return set_cookie(response, name).split(";")[0].split("=", 1)[1]


def sign_in(client: httpx.Client, username: str, **more: str) -> httpx.Response:
    return client.post("/sign-in", data={"username": username, "password": TEST_PASSWORD, **more})


def session_row(dashboard: Dashboard, cookie: str) -> WebSession:
    with dashboard.people.sessions() as session:
        return session.scalars(select(WebSession).where(
            WebSession.id_sha256 == hashlib.sha256(cookie.encode()).hexdigest())).one()


def board(client: httpx.Client, cookie: str) -> httpx.Response:
    return client.get("/board", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})


def test_signing_in_sets_a_session_cookie_only_this_site_and_no_script_reads(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        response = sign_in(client, "sam")
    assert response.status_code == 303 and response.headers["location"] == "/board"
    line = set_cookie(response, SESSION_COOKIE)
    flags = {part.strip().lower() for part in line.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    # No lifetime of its own: the server's timeouts end it, and the browser forgets it when closed.
    assert not any(flag.startswith(("max-age", "expires")) for flag in flags)
    cookie = cookie_value(response)
    assert len(cookie) >= 43  # 256 random bits, base64url
    row = session_row(dashboard, cookie)
    assert row.id_sha256 != cookie and cookie not in (row.csrf_token, row.id_sha256)
    assert row.method == "password" and row.address == "127.0.0.1" and row.ended_at is None


def test_every_sign_in_starts_a_new_session_and_ends_the_one_before(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        first = cookie_value(sign_in(client, "sam"))
        again = client.post("/sign-in", data={"username": "nia", "password": TEST_PASSWORD},
                            headers={"Cookie": f"{SESSION_COOKIE}={first}"})
        second = cookie_value(again)
        assert second != first
        assert board(client, first).status_code == 303
        page = board(client, second)
    assert page.status_code == 200 and "Signed in as nia" in page.text
    assert session_row(dashboard, first).ended_reason == "renewed"
    assert session_row(dashboard, second).account_id == dashboard.account("nia").id


def _age(dashboard: Dashboard, cookie: str, **columns: datetime) -> None:
    with dashboard.people.sessions() as session:
        row = session.scalars(select(WebSession).where(
            WebSession.id_sha256 == hashlib.sha256(cookie.encode()).hexdigest())).one()
        for name, value in columns.items():
            setattr(row, name, value)
        session.commit()


def test_a_session_left_idle_ends(dashboard: Dashboard) -> None:
    idle = timedelta(minutes=dashboard.settings.session_idle_minutes)
    kept, left = dashboard.signed_in("sam"), dashboard.signed_in("sam")
    now = datetime.now(UTC)
    _age(dashboard, kept.cookie, last_seen_at=now - idle + timedelta(minutes=2))
    _age(dashboard, left.cookie, last_seen_at=now - idle - timedelta(minutes=1))
    with dashboard.client() as client:
        assert board(client, kept.cookie).status_code == 200
        refused = board(client, left.cookie)
    assert refused.status_code == 303 and refused.headers["location"] == "/sign-in?next=%2Fboard"
    assert session_row(dashboard, left.cookie).ended_reason == "idle"
    # Using a session moves its idle clock on.
    assert session_row(dashboard, kept.cookie).last_seen_at > now - timedelta(seconds=5)


def test_a_session_ends_at_its_absolute_age_even_in_use(dashboard: Dashboard) -> None:
    absolute = timedelta(hours=dashboard.settings.session_absolute_hours)
    young, old = dashboard.signed_in("sam"), dashboard.signed_in("sam")
    now = datetime.now(UTC)
    _age(dashboard, young.cookie, created_at=now - absolute + timedelta(minutes=5))
    _age(dashboard, old.cookie, created_at=now - absolute - timedelta(minutes=1))
    with dashboard.client() as client:
        assert board(client, young.cookie).status_code == 200
        assert board(client, old.cookie).status_code == 303
        assert client.get("/api/v1/accounts/me", headers=old.headers).status_code == 401
    assert session_row(dashboard, old.cookie).ended_reason == "absolute"


def test_signing_out_ends_the_session(dashboard: Dashboard) -> None:
    signed = dashboard.signed_in("sam")
    with dashboard.client() as client:
        response = client.post("/sign-out", data={"csrf_token": signed.csrf_token}, headers=signed.headers)
        assert response.status_code == 303 and response.headers["location"] == "/sign-in"
        assert cookie_value(response) in ("", '""')  # the browser is told to drop it
        assert board(client, signed.cookie).status_code == 303
        assert client.get("/api/v1/accounts/me", headers=signed.headers).status_code == 401
        after = client.get("/sign-in", headers={"Cookie": set_cookie(response, "threshold_flash").split(";")[0]})
    assert "You are signed out." in after.text
    assert session_row(dashboard, signed.cookie).ended_reason == "signed_out"


def test_disabling_an_account_ends_its_sessions_and_revokes_its_tokens(dashboard: Dashboard) -> None:
    people = dashboard.people
    sam, nia = dashboard.signed_in("sam"), dashboard.signed_in("nia")
    sam_id = dashboard.account("sam").id
    with dashboard.client() as client:
        assert client.get("/api/v1/accounts/me", headers=people.auth("sam")).status_code == 200
        disabled = client.post(f"/api/v1/accounts/{sam_id}/disable", headers=people.auth("admin"))
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        assert board(client, sam.cookie).status_code == 303
        assert client.get("/api/v1/accounts/me", headers=sam.headers).status_code == 401
        assert client.get("/api/v1/accounts/me", headers=people.auth("sam")).status_code == 401
        assert sign_in(client, "sam").status_code == 401
        # Nobody else's session is touched.
        assert board(client, nia.cookie).status_code == 200
        own = client.post(f"/api/v1/accounts/{dashboard.account('admin').id}/disable", headers=people.auth("admin"))
        unknown = client.post("/api/v1/accounts/999999/disable", headers=people.auth("admin"))
    assert own.status_code == 400 and own.json()["detail"]["reason"] == "own_account"
    assert unknown.status_code == 404
    assert session_row(dashboard, sam.cookie).ended_reason == "account_disabled"
    with people.sessions() as session:
        assert all(token.revoked_at is not None
                   for token in session.scalars(select(ApiToken).where(ApiToken.account_id == sam_id)))
        assert session.get_one(Account, sam_id).disabled


def test_the_api_takes_the_session_cookie(dashboard: Dashboard) -> None:
    signed: SignedInCookie = dashboard.signed_in("ada")
    with dashboard.client() as client:
        me = client.get("/api/v1/accounts/me", headers=signed.headers)
        nobody = client.get("/api/v1/accounts/me", headers={"Cookie": f"{SESSION_COOKIE}=not-a-session"})
        # A bearer token, when sent, decides alone: a wrong one is not rescued by a good cookie.
        both = client.get("/api/v1/accounts/me", headers={**signed.headers, "Authorization": "Bearer wrong"})
    assert me.status_code == 200 and me.json()["username"] == "ada"
    assert nobody.status_code == 401 and both.status_code == 401
