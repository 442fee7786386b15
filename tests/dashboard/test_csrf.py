"""A change made with the session cookie needs its session's CSRF token — on a dashboard form (field `csrf_token`)
and on the API (header `X-CSRF-Token`) — and is refused, with nothing changed, without it or with another's."""

import pytest
from sqlalchemy import func, select

from hub.db.models import CheckIn, WebSession
from tests.dashboard.conftest import Dashboard

CHECK_IN = {"site": "oakwood", "room": "room-12"}


def check_ins(dashboard: Dashboard) -> int:
    with dashboard.people.sessions() as session:
        return session.scalar(select(func.count()).select_from(CheckIn))


@pytest.mark.parametrize("token", [None, "", "not-the-token", "other-session"])
def test_an_api_change_by_cookie_without_its_token_is_refused(dashboard: Dashboard, token: str | None) -> None:
    signed, other = dashboard.signed_in("sam"), dashboard.signed_in("nia")
    sent = {"other-session": other.csrf_token}.get(token or "", token)
    headers = {**signed.headers, **({"X-CSRF-Token": sent} if sent is not None else {})}
    with dashboard.client() as client:
        refused = client.post("/api/v1/check-ins", json=CHECK_IN, headers=headers)
        # Reading needs no token.
        assert client.get("/api/v1/accounts/me", headers=signed.headers).status_code == 200
    assert refused.status_code == 403 and refused.json()["detail"]["reason"] == "csrf_failed"
    assert check_ins(dashboard) == 0


def test_an_api_change_by_cookie_with_its_token_or_by_bearer_goes_through(dashboard: Dashboard) -> None:
    signed = dashboard.signed_in("sam")
    with dashboard.client() as client:
        by_cookie = client.post("/api/v1/check-ins", json=CHECK_IN,
                                headers={**signed.headers, "X-CSRF-Token": signed.csrf_token})
        # A bearer token is sent by a program, never by a browser on its own: no CSRF token needed.
        by_token = client.post("/api/v1/check-ins", json=CHECK_IN, headers=dashboard.people.auth("sam"))
    assert by_cookie.status_code == 201 and by_token.status_code == 201
    assert check_ins(dashboard) == 2


@pytest.mark.parametrize("form", [{}, {"csrf_token": ""}, {"csrf_token": "not-the-token"}])
def test_a_dashboard_form_without_its_token_is_refused(dashboard: Dashboard, form: dict[str, str]) -> None:
    signed = dashboard.signed_in("sam")
    with dashboard.client() as client:
        refused = client.post("/sign-out", data=form, headers=signed.headers)
        still = client.get("/board", headers=signed.headers)
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert "<main" in refused.text  # the error page, in the layout
    assert still.status_code == 200  # not signed out


def test_a_dashboard_form_with_its_token_goes_through(dashboard: Dashboard) -> None:
    signed = dashboard.signed_in("sam")
    with dashboard.client() as client:
        done = client.post("/sign-out", data={"csrf_token": signed.csrf_token}, headers=signed.headers)
        gone = client.get("/board", headers=signed.headers)
    assert done.status_code == 303 and gone.status_code == 303
    with dashboard.people.sessions() as session:
        assert session.scalar(select(WebSession.ended_reason).where(WebSession.csrf_token == signed.csrf_token)) \
            == "signed_out"


def test_a_sign_in_posted_from_another_site_is_refused(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        elsewhere = client.post("/sign-in", data={"username": "sam", "password": "x"},
                                headers={"Origin": "https://elsewhere.example"})
        here = client.post("/sign-in", data={"username": "sam", "password": "x"}, headers={"Origin": dashboard.url})
    assert elsewhere.status_code == 403 and here.status_code == 401
