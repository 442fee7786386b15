"""Every route of the app, as every role, against the table below: the API's routes (from its OpenAPI description),
every dashboard page and form, the static files and the API's own documentation.

Each role signs in with a dashboard session (cookie), so the API's cookie path and CSRF check are walked too; a
change carries its session's CSRF token, as a page would send it. Path parameters are real ids of the data made
below: "ours" is Oakwood's (ada's room and record, the home of every walked member of staff), "theirs" is
Elmfield's (cy's). A route the table does not name fails the test, so a new route comes with its row.

Adding a row: ("METHOD", "/path/{param}", OURS or THEIRS): "anonymous ada cy sam nia meg admin" — seven statuses
in the order of ROLES. A route that needs a body gets one in BODIES (built from the row's ids and the role), a
query in QUERIES; PARAMS points a path parameter at another of the ids (a spare resident a route may move out).
Rows run in the order written, each role in the order of ROLES, every request on a fresh session: where a change
decides what the next request finds (the first acknowledgement wins), the table says so.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select
from starlette.routing import Mount, Route

from hub.db.models import Account, EntryRecord, StoredEvent
from hub.evidence.cases import open_case
from hub.people.homes import add_resident, add_room
from hub.registry import register_device
from protocol.signing import public_key_b64
from tests.dashboard.conftest import Dashboard
from tests.hub.api.conftest import add_alert
from tests.hub.conftest import TEST_PASSWORD

ROLES = ("anonymous", "ada", "cy", "sam", "nia", "meg", "admin")
"""Nobody signed in; a resident of Oakwood; a resident of Elmfield; Oakwood's staff member, night lead, manager;
an admin (of no home)."""

OURS, THEIRS = "ours", "theirs"

WALK: dict[tuple[str, str, str], str] = {
    # The API ------------------------------------------------------ anonymous ada cy sam nia meg admin
    ("GET", "/api/v1/health", OURS): "200 200 200 200 200 200 200",
    ("GET", "/api/v1/devices", OURS): "401 403 403 200 200 200 200",
    ("POST", "/api/v1/devices", OURS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/devices/{device_id}/gaps", OURS): "401 403 403 200 200 200 200",
    ("GET", "/api/v1/devices/{device_id}/gaps", THEIRS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/devices/{device_id}/identify", OURS): "401 403 403 403 403 403 202",
    ("POST", "/api/v1/devices/{device_id}/identify", THEIRS): "401 403 403 403 403 403 202",
    ("GET", "/api/v1/events", OURS): "401 403 403 403 200 200 200",
    ("POST", "/api/v1/accounts", OURS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/accounts/me", OURS): "401 200 200 200 200 200 200",
    ("GET", "/api/v1/homes/{home_id}/accounts", OURS): "401 403 403 403 403 403 200",
    ("GET", "/api/v1/homes/{home_id}/accounts", THEIRS): "401 403 403 403 403 403 200",
    # Signing in for a token needs nobody signed in: each role signs in as itself (anonymous as sam), with a code
    # for a manager or admin; a resident, on no tablet and with nobody beside them, is refused.
    ("POST", "/api/v1/auth/token", OURS): "201 403 403 201 201 201 201",
    ("POST", "/api/v1/accounts/{account_id}/disable", OURS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/accounts/{account_id}/disable", THEIRS): "401 403 403 403 403 403 200",
    ("GET", "/api/v1/homes", OURS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/homes", OURS): "401 403 403 403 403 403 201",
    ("POST", "/api/v1/homes/{home_id}/rooms", OURS): "401 403 403 403 403 403 201",
    ("POST", "/api/v1/homes/{home_id}/rooms", THEIRS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/homes/{home_id}/rooms", OURS): "401 403 403 200 200 200 200",
    ("GET", "/api/v1/homes/{home_id}/rooms", THEIRS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/residents", OURS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/homes/{home_id}/residents", OURS): "401 403 403 200 200 200 200",
    ("GET", "/api/v1/homes/{home_id}/residents", THEIRS): "401 403 403 403 403 403 200",
    ("GET", "/api/v1/residents/{resident_id}", OURS): "401 200 403 200 200 200 200",
    ("GET", "/api/v1/residents/{resident_id}", THEIRS): "401 403 200 403 403 403 200",
    # A spare resident of each home moves into a spare room, then out again.
    ("POST", "/api/v1/residents/{resident_id}/tenancies", OURS): "401 403 403 403 403 403 201",
    ("POST", "/api/v1/residents/{resident_id}/tenancies", THEIRS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/residents/{resident_id}/tenancies", OURS): "401 200 403 200 200 200 200",
    ("GET", "/api/v1/residents/{resident_id}/tenancies", THEIRS): "401 403 200 403 403 403 200",
    ("POST", "/api/v1/residents/{resident_id}/move-out", OURS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/residents/{resident_id}/move-out", THEIRS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/staff", OURS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/homes/{home_id}/staff", OURS): "401 403 403 200 200 200 200",
    ("GET", "/api/v1/homes/{home_id}/staff", THEIRS): "401 403 403 403 403 403 200",
    ("POST", "/api/v1/shifts", OURS): "401 403 403 403 403 201 201",
    ("POST", "/api/v1/shifts", THEIRS): "401 403 403 403 403 403 201",
    ("GET", "/api/v1/homes/{home_id}/shifts", OURS): "401 403 403 200 200 200 200",
    ("GET", "/api/v1/homes/{home_id}/shifts", THEIRS): "401 403 403 403 403 403 200",
    # Residents record their own choice, staff with support; an admin reads and records nobody's preferences.
    ("POST", "/api/v1/residents/{resident_id}/preferences", OURS): "401 201 403 201 201 201 403",
    ("POST", "/api/v1/residents/{resident_id}/preferences", THEIRS): "401 403 201 403 403 403 403",
    ("GET", "/api/v1/residents/{resident_id}/preferences", OURS): "401 200 403 200 200 200 403",
    ("GET", "/api/v1/residents/{resident_id}/preferences", THEIRS): "401 403 200 403 403 403 403",
    ("GET", "/api/v1/preferences/review", OURS): "401 403 403 403 403 200 403",
    # Who came into a resident's room: the resident themself, their home's night lead and manager.
    ("GET", "/api/v1/residents/{resident_id}/entries", OURS): "401 200 403 403 200 200 403",
    ("GET", "/api/v1/residents/{resident_id}/entries", THEIRS): "401 403 200 403 403 403 403",
    ("GET", "/api/v1/alerts", OURS): "401 403 403 200 200 200 403",
    ("GET", "/api/v1/alerts", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/alerts/{alert_id}", OURS): "401 403 403 200 200 200 403",
    ("GET", "/api/v1/alerts/{alert_id}", THEIRS): "401 403 403 403 403 403 403",
    # The first acknowledgement (or resolution) wins; the carers after it are told it came first.
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge", OURS): "401 403 403 200 409 409 403",
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge", THEIRS): "401 403 403 403 403 403 403",
    ("POST", "/api/v1/alerts/{alert_id}/resolve", OURS): "401 403 403 200 409 409 403",
    ("POST", "/api/v1/alerts/{alert_id}/resolve", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/live", OURS): "401 403 403 200 200 200 403",
    ("GET", "/api/v1/live", THEIRS): "401 403 403 403 403 403 403",
    ("POST", "/api/v1/rooms/{site}/{room}/knock", OURS): "401 403 403 202 202 202 403",
    ("POST", "/api/v1/rooms/{site}/{room}/knock", THEIRS): "401 403 403 403 403 403 403",
    ("POST", "/api/v1/check-ins", OURS): "401 403 403 201 201 201 403",
    ("POST", "/api/v1/check-ins", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/entries", OURS): "401 403 403 403 200 200 403",
    ("GET", "/api/v1/entries", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/entries/{door_opened_event_id}", OURS): "401 403 403 403 200 200 403",
    ("GET", "/api/v1/entries/{door_opened_event_id}", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/entries/review", OURS): "401 403 403 403 200 200 403",
    ("GET", "/api/v1/entries/review", THEIRS): "401 403 403 403 403 403 403",
    # Only the member of staff an entry names explains it (sam, in Oakwood); they and the leads read explanations.
    ("GET", "/api/v1/entries/{door_opened_event_id}/explanations", OURS): "401 403 403 200 200 200 403",
    ("GET", "/api/v1/entries/{door_opened_event_id}/explanations", THEIRS): "401 403 403 403 403 403 403",
    ("POST", "/api/v1/entries/{door_opened_event_id}/explanations", OURS): "401 403 403 201 403 403 403",
    ("POST", "/api/v1/entries/{door_opened_event_id}/explanations", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/summary/night", OURS): "401 403 403 403 200 200 403",
    ("GET", "/api/v1/summary/night", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/timelines/room/{site}/{room}", OURS): "401 403 403 403 200 200 403",
    ("GET", "/api/v1/timelines/room/{site}/{room}", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/timelines/home/{site}", OURS): "401 403 403 403 200 200 403",
    ("GET", "/api/v1/timelines/home/{site}", THEIRS): "401 403 403 403 403 403 403",
    # Sam reads his own night; the night lead and manager anyone's of their home.
    ("GET", "/api/v1/timelines/staff/{staff_id}", OURS): "401 403 403 200 200 200 403",
    ("GET", "/api/v1/timelines/staff/{staff_id}", THEIRS): "401 403 403 403 403 403 403",
    ("POST", "/api/v1/cases", OURS): "401 403 403 403 403 201 403",
    ("POST", "/api/v1/cases", THEIRS): "401 403 403 403 403 403 403",
    ("POST", "/api/v1/cases/{case_id}/export", OURS): "401 403 403 403 403 200 403",
    ("POST", "/api/v1/cases/{case_id}/export", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/cases", OURS): "401 403 403 403 403 200 403",
    ("GET", "/api/v1/cases", THEIRS): "401 403 403 403 403 403 403",
    ("GET", "/api/v1/checkpoints", OURS): "401 403 403 403 403 200 403",
    ("GET", "/api/v1/homes/{home_id}/escalation-ladder", OURS): "401 403 403 200 200 200 200",
    ("GET", "/api/v1/homes/{home_id}/escalation-ladder", THEIRS): "401 403 403 403 403 403 200",
    ("PUT", "/api/v1/homes/{home_id}/escalation-ladder", OURS): "401 403 403 403 403 200 200",
    ("PUT", "/api/v1/homes/{home_id}/escalation-ladder", THEIRS): "401 403 403 403 403 403 200",
    ("GET", "/api/v1/homes/{home_id}/rooms/{room_id}/environment-limits", OURS): "401 403 403 403 403 200 200",
    ("GET", "/api/v1/homes/{home_id}/rooms/{room_id}/environment-limits", THEIRS): "401 403 403 403 403 403 200",
    ("PUT", "/api/v1/homes/{home_id}/rooms/{room_id}/environment-limits", OURS): "401 403 403 403 403 200 200",
    ("PUT", "/api/v1/homes/{home_id}/rooms/{room_id}/environment-limits", THEIRS): "401 403 403 403 403 403 200",
    # The pages -------------------------------------------------- anonymous ada cy sam nia meg admin
    ("GET", "/", OURS): "303 303 303 303 303 303 303",
    ("GET", "/sign-in", OURS): "200 303 303 303 303 303 303",
    # Anyone may sign in (as sam, here); signing in again replaces the session a browser had.
    ("POST", "/sign-in", OURS): "303 303 303 303 303 303 303",
    ("POST", "/sign-out", OURS): "303 303 303 303 303 303 303",
    ("GET", "/account/totp", OURS): "303 403 403 403 403 200 200",
    # Already enrolled: a second enrolment is refused.
    ("POST", "/account/totp", OURS): "303 403 403 403 403 409 409",
    ("GET", "/board", OURS): "303 403 403 200 200 200 403",
    # The board's forms: sam's acknowledgement (then resolution) comes first; nia and meg are told it did (409).
    ("POST", "/board/alerts/{alert_id}/acknowledge", OURS): "303 403 403 303 409 409 403",
    ("POST", "/board/alerts/{alert_id}/acknowledge", THEIRS): "303 403 403 404 404 404 403",
    ("POST", "/board/alerts/{alert_id}/resolve", OURS): "303 403 403 303 409 409 403",
    ("POST", "/board/alerts/{alert_id}/resolve", THEIRS): "303 403 403 404 404 404 403",
    ("POST", "/board/rooms/{room_id}/knock", OURS): "303 403 403 303 303 303 403",
    ("POST", "/board/rooms/{room_id}/knock", THEIRS): "303 403 403 404 404 404 403",
    ("POST", "/board/check-ins", OURS): "303 403 403 303 303 303 403",
    ("POST", "/board/check-ins", THEIRS): "303 403 403 404 404 404 403",
    ("GET", "/me", OURS): "303 200 200 403 403 403 403",
    # A resident's own preferences form: another resident's id is a 404 that shows nothing of them.
    ("GET", "/residents/{resident_id}/preferences", OURS): "303 200 404 403 403 403 403",
    ("GET", "/residents/{resident_id}/preferences", THEIRS): "303 404 200 403 403 403 403",
    ("POST", "/residents/{resident_id}/preferences", OURS): "303 303 404 403 403 403 403",
    ("POST", "/residents/{resident_id}/preferences", THEIRS): "303 404 303 403 403 403 403",
    ("GET", "/manage", OURS): "303 403 403 403 200 200 403",
    # The explorer reads a room of the viewer's own home; another home's room is not found.
    ("GET", "/timelines", OURS): "303 403 403 403 200 200 403",
    ("GET", "/timelines", THEIRS): "303 403 403 403 404 404 403",
    ("GET", "/cases", OURS): "303 403 403 403 403 200 403",
    # A case names the manager's own home's rooms: another home's is refused.
    ("POST", "/cases", OURS): "303 403 403 403 403 303 403",
    ("POST", "/cases", THEIRS): "303 403 403 403 403 400 403",
    ("POST", "/cases/{case_id}/export", OURS): "303 403 403 403 403 200 403",
    ("POST", "/cases/{case_id}/export", THEIRS): "303 403 403 403 403 403 403",
    ("GET", "/admin", OURS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes", OURS): "303 403 403 403 403 403 303",
    ("GET", "/admin/homes/{home_id}", OURS): "303 403 403 403 403 403 200",
    ("GET", "/admin/homes/{home_id}", THEIRS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes/{home_id}/rooms", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/rooms", THEIRS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/residents", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/residents", THEIRS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/staff", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/staff", THEIRS): "303 403 403 403 403 403 303",
    ("GET", "/admin/residents/{resident_id}", OURS): "303 403 403 403 403 403 200",
    ("GET", "/admin/residents/{resident_id}", THEIRS): "303 403 403 403 403 403 200",
    # The spare resident, moved in and out by the API's rows above, moves in again and out.
    ("POST", "/admin/residents/{resident_id}/move-in", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/residents/{resident_id}/move-in", THEIRS): "303 403 403 403 403 403 303",
    ("POST", "/admin/residents/{resident_id}/move-out", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/residents/{resident_id}/move-out", THEIRS): "303 403 403 403 403 403 303",
    ("GET", "/admin/homes/{home_id}/accounts", OURS): "303 403 403 403 403 403 200",
    ("GET", "/admin/homes/{home_id}/accounts", THEIRS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes/{home_id}/accounts", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/accounts", THEIRS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/accounts/{account_id}/disable", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/accounts/{account_id}/disable", THEIRS): "303 403 403 403 403 403 303",
    # A manager keeps their own home's roster and thresholds and reads its devices, as the API lets them.
    ("GET", "/admin/homes/{home_id}/roster", OURS): "303 403 403 403 403 200 200",
    ("GET", "/admin/homes/{home_id}/roster", THEIRS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes/{home_id}/roster", OURS): "303 403 403 403 403 303 303",
    ("POST", "/admin/homes/{home_id}/roster", THEIRS): "303 403 403 403 403 403 303",
    ("GET", "/admin/homes/{home_id}/devices", OURS): "303 403 403 403 403 200 200",
    ("GET", "/admin/homes/{home_id}/devices", THEIRS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes/{home_id}/devices", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/devices", THEIRS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/devices/{device_id}/identify", OURS): "303 403 403 403 403 403 303",
    ("POST", "/admin/homes/{home_id}/devices/{device_id}/identify", THEIRS): "303 403 403 403 403 403 303",
    ("GET", "/admin/homes/{home_id}/thresholds", OURS): "303 403 403 403 403 200 200",
    ("GET", "/admin/homes/{home_id}/thresholds", THEIRS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes/{home_id}/ladder", OURS): "303 403 403 403 403 303 303",
    ("POST", "/admin/homes/{home_id}/ladder", THEIRS): "303 403 403 403 403 403 303",
    ("GET", "/admin/homes/{home_id}/rooms/{room_id}/limits", OURS): "303 403 403 403 403 200 200",
    ("GET", "/admin/homes/{home_id}/rooms/{room_id}/limits", THEIRS): "303 403 403 403 403 403 200",
    ("POST", "/admin/homes/{home_id}/rooms/{room_id}/limits", OURS): "303 403 403 403 403 303 303",
    ("POST", "/admin/homes/{home_id}/rooms/{room_id}/limits", THEIRS): "303 403 403 403 403 403 303",
    ("GET", "/my-record", OURS): "303 403 403 200 200 200 403",
    ("POST", "/my-record/entries/{door_opened_event_id}/explanations", OURS): "303 403 403 303 403 403 403",
    ("POST", "/my-record/entries/{door_opened_event_id}/explanations", THEIRS): "303 403 403 403 403 403 403",
    ("GET", "/data-use", OURS): "200 200 200 200 200 200 200",
    ("GET", "/rooms/{room_id}/tablet", OURS): "303 403 403 403 200 200 403",
    ("GET", "/rooms/{room_id}/tablet", THEIRS): "303 403 403 403 404 404 403",
    ("POST", "/rooms/{room_id}/tablet", OURS): "303 403 403 403 303 303 403",
    ("POST", "/rooms/{room_id}/tablet", THEIRS): "303 403 403 403 404 404 403",
    ("POST", "/rooms/{room_id}/tablet/unpair", OURS): "303 403 403 403 303 303 403",
    ("POST", "/rooms/{room_id}/tablet/unpair", THEIRS): "303 403 403 403 404 404 403",
    ("GET", "/static/{path}", OURS): "200 200 200 200 200 200 200",
    ("GET", "/api-docs/assets/{path}", OURS): "200 200 200 200 200 200 200",
    # The API's own documentation -------------------------------- anonymous ada cy sam nia meg admin
    ("GET", "/openapi.json", OURS): "200 200 200 200 200 200 200",
    ("GET", "/docs", OURS): "200 200 200 200 200 200 200",
    ("GET", "/docs/oauth2-redirect", OURS): "200 200 200 200 200 200 200",
}

Ids = dict[str, Any]
Body = Callable[[Ids, str], dict[str, Any]]
TODAY = date.today().isoformat()


def _shift(ids: Ids, role: str) -> dict[str, Any]:
    # A day apart for each role: a member of staff's shifts may not overlap.
    start = datetime(2030, 1, 1, 20, tzinfo=UTC) + timedelta(days=ROLES.index(role))
    return {"staff": ids["staff_id"], "start": start.isoformat(), "end": (start + timedelta(hours=12)).isoformat()}


def _page_shift(ids: Ids, role: str) -> dict[str, str]:
    # As _shift, on the roster page's form: a date and times on the home's clock.
    night = date(2031, 1, 1) + timedelta(days=ROLES.index(role))
    return {"staff": ids["staff_id"], "date": night.isoformat(), "start": "20:00", "end": "08:00"}


def _token(ids: Ids, role: str) -> dict[str, Any]:
    username = "sam" if role == "anonymous" else role
    secret = ids["second_factors"].get(username)
    return {"username": username, "password": TEST_PASSWORD, **({"totp": pyotp.TOTP(secret).now()} if secret else {})}


def _preferences(_ids: Ids, role: str) -> dict[str, Any]:
    basis = "own_choice" if role in ("ada", "cy") else "with_support"
    return {"basis": basis, "preferences": {"wait_s": 45}}


BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/api/v1/devices"): lambda ids, _role: {
        "site": ids["site"], "device": "door-walk", "doors": {"d1": ids["spare_room"]},
        "public_key": public_key_b64(Ed25519PrivateKey.generate())},
    ("POST", "/api/v1/accounts"): lambda ids, _role: {
        "username": "walk.account", "password": TEST_PASSWORD, "role": "resident", "resident": ids["spare_resident"]},
    ("POST", "/api/v1/auth/token"): _token,
    ("POST", "/api/v1/homes"): lambda _ids, _role: {"id": "walk-home", "name": "Walk House"},
    ("POST", "/api/v1/homes/{home_id}/rooms"): lambda _ids, _role: {"id": "room-30"},
    ("POST", "/api/v1/residents"): lambda ids, _role: {"id": "walk-resident", "display_name": "W", "home": ids["site"]},
    ("POST", "/api/v1/residents/{resident_id}/tenancies"): lambda ids, _role: {"room": ids["spare_room"]},
    ("POST", "/api/v1/residents/{resident_id}/move-out"): lambda _ids, _role: {},
    ("POST", "/api/v1/staff"): lambda ids, _role: {"id": "walk-staff", "name": "W", "home": ids["site"],
                                                   "role": "staff"},
    ("POST", "/api/v1/shifts"): _shift,
    ("POST", "/api/v1/residents/{resident_id}/preferences"): _preferences,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): lambda _ids, _role: {"note": "went in, all well"},
    ("POST", "/api/v1/check-ins"): lambda ids, _role: {"site": ids["site"], "room": ids["room"]},
    ("POST", "/api/v1/cases"): lambda ids, _role: {
        "site": ids["site"], "rooms": [ids["room"]], "from": f"{TODAY}T00:00:00+00:00",
        "to": f"{TODAY}T23:00:00+00:00", "reason": "a family's question about the night"},
    ("PUT", "/api/v1/homes/{home_id}/escalation-ladder"): lambda _ids, _role: {
        "steps": [{"after_s": 0, "audience": "staff_on_duty"}, {"after_s": 300, "audience": "night_lead"}]},
    ("PUT", "/api/v1/homes/{home_id}/rooms/{room_id}/environment-limits"): lambda _ids, _role: {
        "min_temp_c_x100": 1800, "max_temp_c_x100": 2600, "min_rh_x100": 3000, "max_rh_x100": 7000,
        "sustained_s": 1800},
    ("POST", "/sign-in"): lambda _ids, _role: {"username": "sam", "password": TEST_PASSWORD},
    ("POST", "/account/totp"): lambda _ids, _role: {"code": "000000"},
    ("POST", "/api/v1/entries/{door_opened_event_id}/explanations"): lambda _ids, _role: {
        "text": "The resident called out, so I went in."},
    ("POST", "/my-record/entries/{door_opened_event_id}/explanations"): lambda _ids, _role: {
        "text": "The resident called out, so I went in.", "night": TODAY},
    ("POST", "/cases"): lambda ids, _role: {
        "room": ids["room"], "from": f"{TODAY}T00:00", "to": f"{TODAY}T23:00", "reason": "a family's question"},
    ("POST", "/residents/{resident_id}/preferences"): lambda _ids, _role: {
        "wait": "20", "quiet": "none", "dnd": "yes", "knocker": "no"},
    ("POST", "/board/alerts/{alert_id}/resolve"): lambda _ids, _role: {"note": "went in, all well"},
    ("POST", "/board/check-ins"): lambda ids, _role: {"room": ids["room"]},
    ("POST", "/admin/homes"): lambda _ids, _role: {"id": "walk-page-home", "name": "Walk Page House",
                                                   "time_zone": "Europe/London"},
    ("POST", "/admin/homes/{home_id}/rooms"): lambda _ids, _role: {"id": "room-31"},
    ("POST", "/admin/homes/{home_id}/residents"): lambda ids, _role: {"id": f"walk-page-{ids['site']}",
                                                                      "display_name": "W"},
    ("POST", "/admin/homes/{home_id}/staff"): lambda ids, _role: {"id": f"walk-page-staff-{ids['site']}",
                                                                  "name": "W", "role": "staff"},
    ("POST", "/admin/residents/{resident_id}/move-in"): lambda ids, _role: {"room": ids["spare_room"]},
    ("POST", "/admin/homes/{home_id}/accounts"): lambda ids, _role: {
        "username": f"walk.page.{ids['site']}", "password": TEST_PASSWORD,
        "person": f"resident:{ids['spare_resident']}"},
    ("POST", "/admin/homes/{home_id}/roster"): _page_shift,
    ("POST", "/admin/homes/{home_id}/devices"): lambda ids, _role: {
        "device": f"door-page-{ids['site']}", "public_key": public_key_b64(Ed25519PrivateKey.generate()),
        "door_1": "d1", "room_1": ids["spare_room"]},
    ("POST", "/admin/homes/{home_id}/ladder"): lambda _ids, _role: {
        "after_1": "0", "audience_1": "staff_on_duty", "enabled_1": "on"},
    ("POST", "/admin/homes/{home_id}/rooms/{room_id}/limits"): lambda _ids, _role: {
        "min_temp": "18", "max_temp": "26", "min_rh": "30", "max_rh": "70", "sustained": "30"},
}

QUERIES: dict[tuple[str, str], Callable[[Ids], dict[str, str]]] = {
    ("GET", "/api/v1/alerts"): lambda ids: {"site": ids["site"]},
    ("GET", "/api/v1/live"): lambda ids: {"site": ids["site"]},
    ("GET", "/api/v1/entries"): lambda ids: {"site": ids["site"]},
    ("GET", "/api/v1/entries/review"): lambda ids: {"site": ids["site"]},
    ("GET", "/api/v1/cases"): lambda ids: {"site": ids["site"]},
    ("GET", "/timelines"): lambda ids: {"view": "room", "room": ids["room"], "night": TODAY},
    ("GET", "/api/v1/summary/night"): lambda ids: {"site": ids["site"], "date": TODAY},
    ("GET", "/api/v1/timelines/room/{site}/{room}"): lambda _ids: {"night": TODAY},
    ("GET", "/api/v1/timelines/home/{site}"): lambda _ids: {"night": TODAY},
    ("GET", "/api/v1/timelines/staff/{staff_id}"): lambda _ids: {"night": TODAY},
}

PARAMS: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api-docs/assets/{path}"): {"path": "swagger_asset"},
    ("POST", "/api/v1/residents/{resident_id}/tenancies"): {"resident_id": "spare_resident"},
    ("POST", "/api/v1/residents/{resident_id}/move-out"): {"resident_id": "spare_resident"},
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): {"alert_id": "alert_to_acknowledge"},
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): {"alert_id": "alert_to_resolve"},
    ("POST", "/admin/residents/{resident_id}/move-in"): {"resident_id": "spare_resident"},
    ("POST", "/admin/residents/{resident_id}/move-out"): {"resident_id": "spare_resident"},
}


def app_routes(dashboard: Dashboard) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: the API's from its OpenAPI description, and every other route (its
    pages, its static files, the API's documentation), however deeply included."""
    app = dashboard.app
    found = {(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            if not context.include_in_schema:
                found |= {(method, context.path) for method in context.methods or ()}
        elif isinstance(route, Mount):
            found.add(("GET", f"{context.path}/{{path}}"))
        elif isinstance(route, Route):
            # Starlette answers HEAD wherever it answers GET.
            found |= {(method, context.path) for method in context.methods or () if method != "HEAD"}
        else:
            raise AssertionError(f"a route of a kind the walk does not know: {route!r}")
    return found


@dataclass(frozen=True)
class Data:
    ours: Ids
    theirs: Ids


def _event(session: Any, site: str, device: str) -> int:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    session.execute(StoredEvent.__table__.insert(), [{
        "site": site, "device": device, "seq": 1, "type": "door.opened", "door": "d1", "room": None, "ts_ms": now_ms,
        "mono_ms": 1, "boot": "b", "prev": "p", "hash": f"h-{device}", "sig": "s", "signed": "{}",
        "received_at": datetime.now(UTC)}])
    return session.scalar(select(StoredEvent.id).where(StoredEvent.device == device))


def _entry(session: Any, event_id: int, site: str, room: str, device: str, resident: str, who: str) -> None:
    opened = datetime.now(UTC)
    session.add(EntryRecord(
        door_opened_event_id=event_id, revision=1, cause="first", decided_at=opened, site=site, room=room,
        device=device, door="d1", resident_id=resident, opened_at=opened, kind="entry", outcome="unpermitted",
        reason="no_knock", sentence="entry recorded without a knock", rules_version="entries-v1",
        preference_version=None, who=who, knock_event_id=None, answer_event_id=None, waited_ms=None, wait_s=30,
        closed_at=None, inside_ms=None, rests_on=[str(event_id)], review_required=True))


@pytest.fixture
def data(dashboard: Dashboard) -> Data:
    """Each home's own: a door, an opening and its entry, alerts, a case, a spare resident and room, and an account
    an admin may disable (Ben's in Oakwood, Eve's in Elmfield: nobody the walk signs in as); and every enrolled
    second factor's secret, for the codes a manager's or admin's token request sends."""
    people = dashboard.people
    homes = {OURS: ("oakwood", "room-12", "ada", "sam", "meg", "ben", "dot", "room-16"),
             THEIRS: ("elmfield", "room-01", "cy", "eve", "max", "eve", "eli", "room-02")}
    ids: dict[str, Ids] = {}
    with people.sessions() as session:
        second_factors = {username: secret for username, secret in session.execute(
            select(Account.username, Account.totp_secret).where(Account.totp_enrolled_at.is_not(None)))}
    for variant, (site, room, resident, staff, manager, disable, spare, spare_room) in homes.items():
        device = f"door-{site[:3]}"
        with people.sessions() as session:
            register_device(session, site=site, device=device, doors={"d1": room},
                            public_key=public_key_b64(Ed25519PrivateKey.generate()))
            add_room(session, site, spare_room)
            add_resident(session, resident_id=spare, display_name=spare.title(), home_id=site)
            session.flush()
            event_id = _event(session, site, device)
            _entry(session, event_id, site, room, device, resident, staff)
            case = open_case(session, site=site, opened_by=manager, reason="walk", rooms=[room], staff=[],
                             window_from=datetime.now(UTC) - timedelta(hours=1), window_to=datetime.now(UTC),
                             now=datetime.now(UTC))
            account_id = session.scalar(select(Account.id).where(Account.username == disable))
            session.commit()
            ids[variant] = {
                "site": site, "home_id": site, "room": room, "room_id": room, "resident_id": resident,
                "staff_id": staff, "device_id": device, "door_opened_event_id": event_id, "case_id": case.id,
                "account_id": account_id, "spare_resident": spare, "spare_room": spare_room, "path": "threshold.css",
                "second_factors": second_factors,
                "swagger_asset": "swagger-ui.css",
            }
        for name in ("alert", "alert_to_acknowledge", "alert_to_resolve"):
            alert_id = f"{name.replace('_', '-')}-{site}"
            add_alert(people.sessions, alert_id, site=site, room=room, subject=f"{site}/{room}/{name}")
            ids[variant][name if name != "alert" else "alert_id"] = alert_id
    return Data(ids[OURS], ids[THEIRS])


def _request(client: httpx.Client, dashboard: Dashboard, method: str, path: str, ids: Ids, role: str) -> int:
    filled = path.format(**{name: ids[PARAMS.get((method, path), {}).get(name, name)]
                            for name in _placeholders(path)})
    headers: dict[str, str] = {}
    body = BODIES[(method, path)](ids, role) if (method, path) in BODIES else None
    is_page = not path.startswith("/api/")
    if role != "anonymous":
        signed = dashboard.signed_in(role)
        headers.update(signed.headers)
        if method != "GET":
            if is_page:
                body = {**(body or {}), "csrf_token": signed.csrf_token}
            else:
                headers["X-CSRF-Token"] = signed.csrf_token
    query = QUERIES[(method, path)](ids) if (method, path) in QUERIES else None
    form_or_json = {"data": body} if is_page else {"json": body}
    if path == "/api/v1/live":
        with client.stream(method, filled, params=query, headers=headers) as response:
            return response.status_code
    return client.request(method, filled, params=query, headers=headers,
                          **(form_or_json if body is not None else {})).status_code


def _placeholders(path: str) -> list[str]:
    return [part[1:-1] for part in path.replace("/", " / ").split() if part.startswith("{")]


def test_every_route_has_a_row(dashboard: Dashboard) -> None:
    routes = app_routes(dashboard)
    walked = {(method, path) for method, path, _whose in WALK}
    assert routes - walked == set(), "routes with no row in WALK: add one for each"
    assert walked - routes == set(), "rows in WALK for routes the app does not have"


def test_every_route_answers_every_role_as_the_table_says(dashboard: Dashboard, data: Data) -> None:
    differences = []
    with dashboard.client() as client:
        for (method, path, whose), expected in WALK.items():
            ids = data.ours if whose == OURS else data.theirs
            got = " ".join(str(_request(client, dashboard, method, path, ids, role)) for role in ROLES)
            if got != expected:
                differences.append(f"{method} {path} ({whose}): expected {expected}, got {got}")
    assert differences == [], "\n".join(differences)
