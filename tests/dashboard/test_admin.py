"""The admin's pages (and a manager's pages of their own home), through their forms as a browser without scripts
posts them: homes, rooms, residents and their moves, staff, the roster, accounts, devices with what the hub last
heard from them, environment limits and the escalation ladder. Every refusal is a 4xx with its message beside
its field, and nothing written; then each page with data in a real browser, held to axe-core at both widths."""

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from dashboard.routes.roster import roster_day
from hub.db.models import Account, Device, EscalationLadderVersion, Home, Resident, Shift, Staff, WebSession
from hub.ingest.store import VerifyKeys, store_batch
from hub.people.accounts import credentials_match
from hub.people.homes import tenancy_history
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, public_key_b64
from protocol.topics import DeviceChannel, device_topic
from tests.dashboard.conftest import Dashboard
from tests.hub.conftest import TEST_PASSWORD, DeviceSide, received, wait_until

Checks = Callable[[Page, str], None]
LONDON = ZoneInfo("Europe/London")


class Admin:
    """One person's dashboard session, posting forms as a browser without scripts does (303 not followed)."""

    def __init__(self, dashboard: Dashboard, who: str) -> None:
        self.dashboard = dashboard
        self.signed = dashboard.signed_in(who)
        self.client = dashboard.client()

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.signed.headers)

    def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data={**form, "csrf_token": self.signed.csrf_token}, headers=self.signed.headers)

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def admin(dashboard: Dashboard) -> Iterator[Admin]:
    opened = Admin(dashboard, "admin")
    yield opened
    opened.close()


@pytest.fixture
def meg(dashboard: Dashboard) -> Iterator[Admin]:
    opened = Admin(dashboard, "meg")
    yield opened
    opened.close()


def done(response: httpx.Response, to: str) -> str:
    """A form's 303 back to `to`, and the one-time message it leaves."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == to
    return unquote(response.cookies["threshold_flash"])


def field_error(page: str, field_id: str) -> str:
    """The message shown beside a field, checking the field names it in aria-describedby and is marked invalid."""
    control = re.search(rf'<(?:input|select)[^>]*id="{re.escape(field_id)}"[^>]*>', page)
    assert control, f"no control {field_id}"
    assert f'{field_id}-error' in control.group(0) and 'aria-invalid="true"' in control.group(0), control.group(0)
    message = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    assert message, f"no message beside {field_id}"
    return unescape(re.sub(r"<[^>]+>", "", message.group(1))).replace("Error:", "").strip()


def count(dashboard: Dashboard, model: Any, *where: Any) -> int:
    with dashboard.people.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# homes, rooms, residents, staff ------------------------------------------------------------------------------------

def test_an_admin_adds_a_home_its_rooms_residents_and_staff(dashboard: Dashboard, admin: Admin) -> None:
    flash = done(admin.post("/admin/homes", {"id": "birch", "name": "Birch House", "time_zone": "Europe/Dublin"}),
                 "/admin/homes/birch")
    assert flash == "Birch House is added. Add its rooms next."
    homes = admin.get("/admin").text
    assert "Birch House" in homes and "Europe/Dublin" in homes and "Oakwood" in homes and "Elmfield" in homes

    done(admin.post("/admin/homes/birch/rooms", {"id": "room-01"}), "/admin/homes/birch")
    done(admin.post("/admin/homes/birch/residents", {"id": "fay", "display_name": "Fay Ward"}), "/admin/residents/fay")
    done(admin.post("/admin/homes/birch/staff", {"id": "gus", "name": "Gus Hale", "role": "night_lead"}),
         "/admin/homes/birch")
    page = admin.get("/admin/homes/birch").text
    assert "room-01" in page and "Fay Ward" in page and "Gus Hale" in page and "Night lead" in page
    with dashboard.people.sessions() as session:
        assert session.get_one(Home, "birch").time_zone == "Europe/Dublin"
        assert session.get_one(Resident, "fay").home_id == "birch"
        assert session.get_one(Staff, "gus").role == "night_lead"


@pytest.mark.parametrize(("path", "form", "status", "field", "message"), [
    ("/admin/homes", {"id": "Birch House", "name": "Birch", "time_zone": "Europe/London"}, 400, "home-id",
     "Home id 'Birch House' is not 1-64 characters of [a-z0-9-]."),
    ("/admin/homes", {"id": "birch", "name": "", "time_zone": "Europe/London"}, 422, "home-name",
     "Enter the home's name."),
    ("/admin/homes", {"id": "birch", "name": "Birch", "time_zone": "Mars/Base"}, 400, "home-time_zone",
     "'Mars/Base' is not an IANA time zone, e.g. Europe/London."),
    ("/admin/homes", {"id": "oakwood", "name": "Oakwood again", "time_zone": "Europe/London"}, 409, "home-id",
     "Home 'oakwood' already exists."),
    ("/admin/homes/oakwood/rooms", {"id": "room-12"}, 409, "room-id", "Room 'room-12' already exists in 'oakwood'."),
    ("/admin/homes/oakwood/rooms", {"id": ""}, 422, "room-id", "Enter the room's id."),
    ("/admin/homes/oakwood/residents", {"id": "ada", "display_name": "Another Ada"}, 409, "resident-id",
     "Resident 'ada' already exists."),
    ("/admin/homes/oakwood/staff", {"id": "gus", "name": "Gus", "role": ""}, 422, "staff-role", "Choose their role."),
])
def test_a_refused_form_says_why_beside_the_field_and_writes_nothing(
        dashboard: Dashboard, admin: Admin, path: str, form: dict[str, str], status: int, field: str,
        message: str) -> None:
    before = {model: count(dashboard, model) for model in (Home, Resident, Staff)}
    refused = admin.post(path, form)
    assert refused.status_code == status
    assert field_error(refused.text, field) == message
    assert 'class="error-summary" role="alert"' in refused.text and f'href="#{field}"' in refused.text
    # What was typed is kept, to correct it.
    for name, value in form.items():
        if value and name != "role":
            assert f'value="{value}"' in refused.text
    assert {model: count(dashboard, model) for model in before} == before


def test_moving_in_and_out_keeps_the_history(dashboard: Dashboard, admin: Admin) -> None:
    done(admin.post("/admin/homes/oakwood/rooms", {"id": "room-20"}), "/admin/homes/oakwood")
    occupied = admin.post("/admin/residents/ada/move-in", {"room": "room-14", "start": ""})
    assert occupied.status_code == 409
    assert field_error(occupied.text, "move-in-room") == "'room-14' is the room of 'ben' at that time."
    ahead = (datetime.now(LONDON) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    future = admin.post("/admin/residents/ada/move-in", {"room": "room-20", "start": ahead})
    assert future.status_code == 400 and "is in the future" in field_error(future.text, "move-in-start")
    garbled = admin.post("/admin/residents/ada/move-in", {"room": "room-20", "start": "next tuesday"})
    assert garbled.status_code == 422
    assert field_error(garbled.text, "move-in-start") == "Give a date and time, like 2026-11-01 22:30."

    flash = done(admin.post("/admin/residents/ada/move-in", {"room": "room-20", "start": ""}),
                 "/admin/residents/ada")
    with dashboard.people.sessions() as session:
        moved = tenancy_history(session, "ada")[-1].started_at
    assert flash == f"Ada lives in room-20 from {moved.astimezone(LONDON):%d %b %Y, %H:%M}."
    assert done(admin.post("/admin/residents/ada/move-out", {"end": ""}), "/admin/residents/ada") == \
        "Ada has moved out of room-20. Their history is kept."
    again = admin.post("/admin/residents/ada/move-out", {"end": ""})
    assert again.status_code == 409 and "'ada' has no room to move out of." in unescape(again.text)

    with dashboard.people.sessions() as session:
        history = tenancy_history(session, "ada")
    assert [tenancy.room_id for tenancy in history] == ["room-12", "room-20"]
    assert history[0].ended_at == history[1].started_at and history[1].ended_at is not None
    page = admin.get("/admin/residents/ada").text
    assert "They have no room now." in page
    rows = re.findall(r"<tr><td>(room-\d+)</td><td>([^<]+)</td>\s*<td>([^<]+)</td></tr>", page)
    shown = [(room, start, end) for room, start, end in rows]
    assert [room for room, _start, _end in shown] == ["room-12", "room-20"]
    # On the home's clock.
    assert shown[1][1] == history[1].started_at.astimezone(LONDON).strftime("%d %b %Y, %H:%M")
    assert "Lives there now" not in page


# accounts -----------------------------------------------------------------------------------------------------------

def test_an_account_is_made_for_a_resident_or_member_of_staff(dashboard: Dashboard, admin: Admin) -> None:
    flash = done(admin.post("/admin/homes/oakwood/accounts",
                            {"person": "resident:ben", "username": "ben.tablet", "password": TEST_PASSWORD}),
                 "/admin/homes/oakwood/accounts")
    assert flash == "The account ben.tablet is made. Give its password to its owner in person."
    done(admin.post("/admin/homes/oakwood/accounts",
                    {"person": "staff:nia", "username": "nia.two", "password": TEST_PASSWORD}),
         "/admin/homes/oakwood/accounts")
    with dashboard.people.sessions() as session:
        made = {name: credentials_match(session, name, TEST_PASSWORD) for name in ("ben.tablet", "nia.two")}
        assert {name: (account.role, account.resident_id, account.staff_id) for name, account in made.items()
                if account} == {"ben.tablet": ("resident", "ben", None), "nia.two": ("night_lead", None, "nia")}
    page = admin.get("/admin/homes/oakwood/accounts").text
    assert "ben.tablet" in page and "nia.two" in page and "cy" not in re.findall(r"<td>([a-z.]+)</td>", page)

    weak = admin.post("/admin/homes/oakwood/accounts",
                      {"person": "resident:ben", "username": "ben.three", "password": "short"})
    assert weak.status_code == 400
    assert field_error(weak.text, "account-password") == "A password has at least 8 characters."
    assert 'value="short"' not in weak.text  # a password is never sent back
    taken = admin.post("/admin/homes/oakwood/accounts",
                       {"person": "resident:ben", "username": "sam", "password": TEST_PASSWORD})
    assert taken.status_code == 409 and field_error(taken.text, "account-username") == "The username 'sam' is taken."
    elsewhere = admin.post("/admin/homes/oakwood/accounts",
                           {"person": "resident:cy", "username": "cy.two", "password": TEST_PASSWORD})
    assert elsewhere.status_code == 422
    assert field_error(elsewhere.text, "account-person") == "Choose a resident or member of staff of Oakwood."
    assert count(dashboard, Account, Account.username.in_(("ben.three", "cy.two"))) == 0


def test_disabling_an_account_ends_its_sessions_and_tokens(dashboard: Dashboard, admin: Admin) -> None:
    sam = dashboard.signed_in("sam")
    sam_id = dashboard.account("sam").id
    with dashboard.client() as client:
        assert client.get("/board", headers=sam.headers).status_code == 200
    elsewhere = admin.post(f"/admin/homes/elmfield/accounts/{sam_id}/disable", {})
    assert elsewhere.status_code == 404 and not dashboard.account("sam").disabled

    flash = done(admin.post(f"/admin/homes/oakwood/accounts/{sam_id}/disable", {}), "/admin/homes/oakwood/accounts")
    assert flash.startswith("The account sam is disabled")
    with dashboard.client() as client:
        assert client.get("/board", headers=sam.headers).status_code == 303
        token = client.get("/api/v1/accounts/me", headers=dashboard.people.auth("sam"))
        assert token.status_code == 401
    with dashboard.people.sessions() as session:
        ended = session.scalars(select(WebSession).where(WebSession.account_id == sam_id)).all()
    assert ended and {(row.ended_at is not None, row.ended_reason) for row in ended} == {(True, "account_disabled")}
    page = admin.get("/admin/homes/oakwood/accounts").text
    assert re.search(r"<td>sam</td><td>Sam</td><td>Staff</td>\s*<td>Disabled</td>", page)


# devices ------------------------------------------------------------------------------------------------------------

def _heartbeat(dashboard: Dashboard, key: Ed25519PrivateKey, device: str, data: dict[str, Any]) -> datetime:
    """A signed heartbeat and an online status from the device, stored by the hub's own ingest path."""
    sent = datetime.now(UTC).replace(microsecond=0)
    body = event_body(device=device, seq=1, prev=GENESIS_PREV, boot="boot-1", mono_ms=1000,
                      ts_ms=int(sent.timestamp() * 1000), type="device.heartbeat", door=None, data=data)
    status = json.dumps({"state": "online", "boot": "boot-1", "fw": data["fw"]}).encode()
    with dashboard.people.sessions() as session:
        outcome = store_batch(session, [
            received(device_topic("oakwood", device, DeviceChannel.EVENT), seal(key, "event", body)),
            received(device_topic("oakwood", device, DeviceChannel.STATUS), status, retain=True),
        ], VerifyKeys())
        session.commit()
    assert outcome.stored == 1 and outcome.statuses == 1 and not outcome.rejected
    return sent


def test_a_device_is_registered_by_its_public_key(dashboard: Dashboard, admin: Admin) -> None:
    key = Ed25519PrivateKey.generate()
    form = {"device": "door-0100", "public_key": public_key_b64(key), "door_1": "d1", "room_1": "room-12"}
    bad = admin.post("/admin/homes/oakwood/devices", {**form, "public_key": "bm90IGEga2V5"})
    assert bad.status_code == 400
    assert field_error(bad.text, "register-public_key").startswith("Public key is")
    no_room = admin.post("/admin/homes/oakwood/devices", {**form, "room_1": "room-01"})  # Elmfield's
    assert no_room.status_code == 422 and field_error(no_room.text, "register-room_1") == "Oakwood has no room room-01."
    no_door = admin.post("/admin/homes/oakwood/devices", {**form, "door_1": ""})
    assert no_door.status_code == 422
    assert field_error(no_door.text, "register-door_1") == "Give the id of the door to room-12, like d1."
    assert count(dashboard, Device, Device.id == "door-0100") == 0

    flash = done(admin.post("/admin/homes/oakwood/devices", form), "/admin/homes/oakwood/devices")
    assert flash == "door-0100 is registered. The hub sends it its settings within a few seconds."
    with dashboard.people.sessions() as session:
        device = session.get_one(Device, "door-0100")
        assert (device.site, device.doors, device.public_key) == ("oakwood", {"d1": "room-12"}, form["public_key"])
    again = admin.post("/admin/homes/oakwood/devices", form)
    assert again.status_code == 409 and "is already registered" in field_error(again.text, "register-device")


def test_the_device_list_shows_what_its_last_heartbeat_said(dashboard: Dashboard, admin: Admin) -> None:
    key = Ed25519PrivateKey.generate()
    done(admin.post("/admin/homes/oakwood/devices", {"device": "door-0101", "public_key": public_key_b64(key),
                                                     "door_1": "d1", "room_1": "room-14"}),
         "/admin/homes/oakwood/devices")
    before = admin.get("/admin/homes/oakwood/devices").text
    assert "Not heard from yet" in before and "Never" in before
    sent = _heartbeat(dashboard, key, "door-0101", {"uptime_s": 3600, "clock_synced": True, "clock_offset_ms": -42,
                                                    "outbox": 3, "fw": "1.4.2"})
    page = admin.get("/admin/homes/oakwood/devices").text
    card = page[page.index("door-0101"):]
    card = card[:card.index("</li>")]
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", card, re.S))
    plain = {name: re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", value))).strip()
             for name, value in facts.items()}
    with dashboard.people.sessions() as session:
        device = session.get_one(Device, "door-0101")
    assert "Online" in card
    assert plain["Doors"] == "d1 → room-14"
    assert plain["Last seen"] == device.last_seen_at.astimezone(LONDON).strftime("%d %b %Y, %H:%M")
    assert plain["Clock"] == "In sync, 42 ms behind"
    assert plain["Outbox"] == "3 events waiting to be sent"
    assert plain["Firmware"] == "1.4.2"
    assert plain["Config version"] == str(device.config_version)
    assert plain["Last heartbeat"] == sent.astimezone(LONDON).strftime("%d %b %Y, %H:%M") + " (its own clock)"
    assert plain["Events stored"] == "up to 1"


def test_identify_blinks_the_device_through_the_broker(dashboard: Dashboard, admin: Admin) -> None:
    key = Ed25519PrivateKey.generate()
    done(admin.post("/admin/homes/oakwood/devices", {"device": "door-0102", "public_key": public_key_b64(key),
                                                     "door_1": "d1", "room_1": "room-12"}),
         "/admin/homes/oakwood/devices")
    side = DeviceSide(dashboard.settings.mqtt_port)
    try:
        topic = device_topic("oakwood", "door-0102", DeviceChannel.COMMAND)
        side.subscribe(topic)
        side.publish(topic, b"probe")  # back to us once the subscription holds
        wait_until(lambda: side.on(topic), what="the subscription")
        flash = done(admin.post("/admin/homes/oakwood/devices/door-0102/identify", {}),
                     "/admin/homes/oakwood/devices")
        assert flash.startswith("The indicator of door-0102 blinks")
        _probe, command = wait_until(lambda: side.on(topic)[1:] and side.on(topic), what="the identify command")
        assert json.loads(command.payload)["command"]["name"] == "identify"
    finally:
        side.close()
    assert admin.post("/admin/homes/elmfield/devices/door-0102/identify", {}).status_code == 404


# the roster ---------------------------------------------------------------------------------------------------------

def test_the_roster_is_kept_night_by_night_on_the_home_clock(dashboard: Dashboard, meg: Admin) -> None:
    # The night the clocks go back: 22:00 BST to 07:00 GMT is ten hours.
    flash = done(meg.post("/admin/homes/oakwood/roster",
                          {"staff": "nia", "date": "2026-10-24", "start": "22:00", "end": "07:00"}),
                 "/admin/homes/oakwood/roster?night=2026-10-24")
    assert flash == "Nia is on the roster on 2026-10-24 from 22:00 to 07:00."
    with dashboard.people.sessions() as session:
        shift = session.scalars(select(Shift).where(Shift.staff_id == "nia")).one()
    assert (shift.starts_at, shift.ends_at) == (datetime(2026, 10, 24, 21, tzinfo=UTC),
                                                datetime(2026, 10, 25, 7, tzinfo=UTC))
    page = meg.get("/admin/homes/oakwood/roster", night="2026-10-24").text
    assert re.search(r"<td>Nia</td><td>Night lead</td><td>24 Oct 2026, 22:00</td><td>25 Oct 2026, 07:00</td>", page)
    assert "Nobody is on the roster for this day or its night yet." in \
        meg.get("/admin/homes/oakwood/roster", night="2026-10-26").text

    overlap = meg.post("/admin/homes/oakwood/roster",
                       {"staff": "nia", "date": "2026-10-25", "start": "06:00", "end": "14:00"})
    assert overlap.status_code == 409 and "is already on shift" in field_error(overlap.text, "shift-start")
    bad_time = meg.post("/admin/homes/oakwood/roster",
                        {"staff": "sam", "date": "2026-10-25", "start": "25:00", "end": "08:00"})
    assert bad_time.status_code == 422
    assert field_error(bad_time.text, "shift-start") == "Give a time on the home's clock, like 20:00."
    theirs = meg.post("/admin/homes/oakwood/roster",
                      {"staff": "eve", "date": "2026-10-25", "start": "20:00", "end": "08:00"})
    assert theirs.status_code == 422
    assert field_error(theirs.text, "shift-staff") == "Choose a member of the staff of Oakwood."
    assert count(dashboard, Shift) == 1


# thresholds ---------------------------------------------------------------------------------------------------------

def _api(dashboard: Dashboard, who: str, path: str) -> Any:
    with dashboard.client() as client:
        response = client.get(path, headers=dashboard.people.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_room_environment_limits_are_set_in_degrees_and_minutes(dashboard: Dashboard, admin: Admin) -> None:
    api_path = "/api/v1/homes/oakwood/rooms/room-12/environment-limits"
    form = admin.get("/admin/homes/oakwood/rooms/room-12/limits").text
    assert 'value="18"' in form and 'value="26"' in form and 'value="30"' in form  # the defaults
    limits = {"min_temp": "19.5", "max_temp": "25", "min_rh": "35", "max_rh": "65", "sustained": "20"}
    refusals = [
        ({"min_temp": "26", "max_temp": "18"}, "", "Each lower limit is below its upper limit."),
        ({"max_temp": "50"}, "limits-max_temp", "Give a number from 0 to 40 °C."),
        ({"max_rh": "lots"}, "limits-max_rh", "Give a number from 0 to 100 %."),
        ({"sustained": "-5"}, "limits-sustained", "Give a number from 0 to 1440 minutes."),
    ]
    for change, field, message in refusals:
        refused = admin.post("/admin/homes/oakwood/rooms/room-12/limits", {**limits, **change})
        assert refused.status_code == 422
        if field:
            assert field_error(refused.text, field) == message
        else:
            assert f"<li>{message}</li>" in refused.text
        assert _api(dashboard, "meg", api_path)["own"] is False

    flash = done(admin.post("/admin/homes/oakwood/rooms/room-12/limits", limits), "/admin/homes/oakwood/thresholds")
    assert flash == "The environment limits of room-12 are saved."
    saved = _api(dashboard, "meg", api_path)
    assert {name: saved[name] for name in ("min_temp_c_x100", "max_temp_c_x100", "min_rh_x100", "max_rh_x100",
                                          "sustained_s", "own", "updated_by")} == {
        "min_temp_c_x100": 1950, "max_temp_c_x100": 2500, "min_rh_x100": 3500, "max_rh_x100": 6500,
        "sustained_s": 1200, "own": True, "updated_by": "admin"}
    page = admin.get("/admin/homes/oakwood/thresholds").text
    assert re.search(r"<td>room-12</td>\s*<td>19.5 °C</td><td>25 °C</td>\s*<td>35 %</td><td>65 %</td>\s*"
                     r"<td>20 minutes</td>\s*<td>By admin, ", page)
    assert re.search(r"<td>room-14</td>\s*<td>18 °C</td>.*?<td>Defaults</td>", page, re.S)


def _ladder_form(*steps: tuple[str, str, bool]) -> dict[str, str]:
    form: dict[str, str] = {}
    for row, (after, audience, enabled) in enumerate(steps, start=1):
        form |= {f"after_{row}": after, f"audience_{row}": audience}
        if enabled:
            form[f"enabled_{row}"] = "on"
    return form


def test_the_escalation_ladder_is_edited_and_its_last_step_stays_on(dashboard: Dashboard, meg: Admin) -> None:
    api_path = "/api/v1/homes/oakwood/escalation-ladder"
    page = meg.get("/admin/homes/oakwood/thresholds").text
    assert "The default ladder: Oakwood has not set its own." in page
    assert re.search(r'id="ladder-after_2"[^>]*value="2"', page)  # the default's night lead, after 120 s

    flash = done(meg.post("/admin/homes/oakwood/ladder", _ladder_form(
        ("0", "staff_on_duty", True), ("1.5", "night_lead", False), ("4", "manager", True), ("", "", True))),
        "/admin/homes/oakwood/thresholds")
    assert flash == "The escalation ladder of Oakwood is saved as version 1."
    saved = _api(dashboard, "meg", api_path)
    assert [(step["after_s"], step["audience"], step["enabled"]) for step in saved["steps"]] == [
        (0, "staff_on_duty", True), (90, "night_lead", False), (240, "manager", True)]
    assert saved["version"] == 1 and saved["updated_by"] == "meg"

    last_off = meg.post("/admin/homes/oakwood/ladder", _ladder_form(
        ("0", "staff_on_duty", True), ("5", "night_lead", False), ("", "", True)))
    assert last_off.status_code == 422
    assert field_error(last_off.text, "ladder-enabled_2") == \
        "The last step of an escalation ladder cannot be switched off."
    assert 'href="#ladder-enabled_2"' in last_off.text
    # What was sent is shown again, to put right.
    assert re.search(r'id="ladder-after_2"[^>]*value="5"', last_off.text)
    assert not re.search(r'id="ladder-enabled_2"[^>]*checked', last_off.text)

    out_of_order = meg.post("/admin/homes/oakwood/ladder", _ladder_form(
        ("5", "staff_on_duty", True), ("2", "night_lead", True)))
    assert out_of_order.status_code == 422
    assert "<li>Escalation steps come in order of time, each later than the one before.</li>" in out_of_order.text
    nobody = meg.post("/admin/homes/oakwood/ladder", _ladder_form(("", "", True)))
    assert nobody.status_code == 422 and "Give at least one step: an alert always calls someone." in nobody.text
    assert _api(dashboard, "meg", api_path)["version"] == 1
    assert count(dashboard, EscalationLadderVersion) == 1


def test_a_manager_keeps_their_own_home_only(dashboard: Dashboard, meg: Admin, admin: Admin) -> None:
    own = meg.get("/admin/homes/oakwood/thresholds")
    assert own.status_code == 200 and "room-12" in own.text and "room-01" not in own.text
    assert 'href="/admin/homes/oakwood/roster">Home settings</a>' in own.text  # the manager's way in
    assert "Rooms and people" not in own.text and "Accounts" not in own.text  # the admin's tabs
    for path in ("/admin/homes/elmfield/thresholds", "/admin/homes/elmfield/roster", "/admin/homes/elmfield/devices",
                 "/admin/homes/elmfield/rooms/room-01/limits", "/admin/homes/nowhere/thresholds"):
        refused = meg.get(path)
        assert refused.status_code == 403 and "room-01" not in refused.text and "Elmfield" not in refused.text, path
    for path, form in (("/admin/homes/elmfield/ladder", _ladder_form(("0", "manager", True))),
                       ("/admin/homes/elmfield/rooms/room-01/limits", {"min_temp": "1", "max_temp": "2",
                                                                      "min_rh": "1", "max_rh": "2",
                                                                      "sustained": "1"})):
        assert meg.post(path, form).status_code == 403
    assert _api(dashboard, "max", "/api/v1/homes/elmfield/escalation-ladder")["version"] is None
    assert _api(dashboard, "max", "/api/v1/homes/elmfield/rooms/room-01/environment-limits")["own"] is False
    for path in ("/admin", "/admin/homes/oakwood", "/admin/homes/oakwood/accounts", "/admin/residents/ada"):
        assert meg.get(path).status_code == 403, path
    devices = meg.get("/admin/homes/oakwood/devices").text
    assert "Register a device" not in devices and "Identify" not in devices  # the installer's, as in the API

    # An admin, of no home, sees every home.
    assert admin.get("/admin").text.count('href="/admin/homes/') == 2
    for home, room in (("oakwood", "room-12"), ("elmfield", "room-01")):
        page = admin.get(f"/admin/homes/{home}/thresholds")
        assert page.status_code == 200 and room in page.text
    assert admin.get("/admin/homes/nowhere/thresholds").status_code == 404


# in a real browser ---------------------------------------------------------------------------------------------------

@pytest.fixture
def context(browser: Browser, dashboard: Dashboard) -> Iterator[BrowserContext]:
    opened = browser.new_context(base_url=dashboard.url)
    yield opened
    opened.close()


def _a_night_of_data(dashboard: Dashboard) -> None:
    """A device that has sent its heartbeat, staff on tonight's roster, a room with its own limits."""
    key = Ed25519PrivateKey.generate()
    admin = Admin(dashboard, "admin")
    try:
        done(admin.post("/admin/homes/oakwood/devices", {"device": "door-0200", "public_key": public_key_b64(key),
                                                         "door_1": "d1", "room_1": "room-12"}),
             "/admin/homes/oakwood/devices")
        _heartbeat(dashboard, key, "door-0200", {"uptime_s": 60, "clock_synced": False, "clock_offset_ms": 1250,
                                                 "outbox": 1, "fw": "1.4.2"})
        night = roster_day(datetime.now(UTC), LONDON).isoformat()  # before 08:00, still last night's roster
        for staff, start, end in (("nia", "20:00", "08:00"), ("sam", "08:00", "20:00")):
            done(admin.post("/admin/homes/oakwood/roster", {"staff": staff, "date": night, "start": start,
                                                            "end": end}),
                 f"/admin/homes/oakwood/roster?night={night}")
        done(admin.post("/admin/homes/oakwood/rooms/room-14/limits", {"min_temp": "20", "max_temp": "27",
                                                                      "min_rh": "30", "max_rh": "70",
                                                                      "sustained": "45"}),
             "/admin/homes/oakwood/thresholds")
    finally:
        admin.close()


def test_each_admin_page_in_a_browser(dashboard: Dashboard, context: BrowserContext, page_checks: Checks) -> None:
    _a_night_of_data(dashboard)
    page = context.new_page()
    dashboard.sign_in_page(page, "admin")
    expect(page).to_have_url(f"{dashboard.url}/admin")
    page_checks(page, "admin")

    page.get_by_role("link", name="Oakwood").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Oakwood")
    page_checks(page, "admin-home")
    page.get_by_label("Name, as staff know them").fill("Hal")
    page.get_by_label("Resident id").fill("Hal Jones")
    page.get_by_role("button", name="Add the resident").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Resident id 'Hal Jones' is not 1-64 characters")
    expect(summary).to_be_focused()  # heard first, by keyboard and screen reader users alike
    expect(page.get_by_label("Resident id")).to_have_attribute("aria-invalid", "true")
    page_checks(page, "admin-home-refused")
    page.get_by_label("Resident id").fill("hal")
    page.get_by_role("button", name="Add the resident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rooms of Hal")
    expect(page.get_by_role("status")).to_have_text("Hal is added to Oakwood. Choose their room next.")
    page.get_by_label("Room").select_option("room-12")
    page.get_by_role("button", name="Move Hal in").click()
    expect(page.get_by_role("alert")).to_contain_text("'room-12' is the room of 'ada'")
    page.get_by_role("link", name="Rooms and people").click()
    page.get_by_role("link", name="Rooms of Ada").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rooms of Ada")
    page_checks(page, "admin-resident")

    tabs = page.get_by_role("navigation", name="Pages of Oakwood")
    tabs.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts of Oakwood")
    page_checks(page, "admin-accounts")
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: it cannot be undone
    page.get_by_role("button", name="Disable the account ben").click()
    expect(page.get_by_role("status")).to_have_count(0)
    assert not dashboard.account("ben").disabled
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disable the account ben").click()
    expect(page.get_by_role("status")).to_contain_text("The account ben is disabled")
    assert dashboard.account("ben").disabled

    tabs.get_by_role("link", name="Roster").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Roster of Oakwood")
    expect(page.get_by_role("region", name="Shifts")).to_contain_text("Nia")
    page_checks(page, "admin-roster")

    tabs.get_by_role("link", name="Devices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Devices of Oakwood")
    expect(page.get_by_role("listitem").filter(has_text="door-0200")).to_contain_text("Not in sync, 1250 ms ahead")
    page_checks(page, "admin-devices")
    page.get_by_role("button", name="Identify door-0200: blink its light").click()
    expect(page.get_by_role("status")).to_have_text("The indicator of door-0200 blinks for a while now.")
    expect(page).to_have_url(f"{dashboard.url}/admin/homes/oakwood/devices")  # by script, without leaving

    tabs.get_by_role("link", name="Thresholds").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thresholds of Oakwood")
    page_checks(page, "admin-thresholds")
    page.get_by_role("group", name="Step 3").get_by_label("Switched on").uncheck()
    page.get_by_role("button", name="Save the ladder").click()
    expect(page.get_by_role("alert")).to_contain_text("The last step of an escalation ladder cannot be switched off.")
    page_checks(page, "admin-thresholds-refused")
    page.get_by_role("link", name="Change the limits of room-14").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Environment limits of room-14")
    expect(page.get_by_label("Too cold below (°C)")).to_have_value("20")
    page_checks(page, "admin-limits")


def test_the_forms_work_without_scripts(dashboard: Dashboard, browser: Browser) -> None:
    context = browser.new_context(base_url=dashboard.url, java_script_enabled=False)
    try:
        page = context.new_page()
        dashboard.sign_in_page(page, "admin")
        page.get_by_label("Name").fill("Birch House")
        page.get_by_label("Home id").fill("birch")
        page.get_by_role("button", name="Add the home").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Birch House")
        expect(page.get_by_role("status")).to_have_text("Birch House is added. Add its rooms next.")
        page.get_by_label("New room's id").fill("room-01")
        page.get_by_role("button", name="Add the room").click()
        expect(page.get_by_role("status")).to_have_text("room-01 is added to Birch House.")
    finally:
        context.close()


def test_a_manager_reaches_their_home_settings(dashboard: Dashboard, context: BrowserContext,
                                              page_checks: Checks) -> None:
    _a_night_of_data(dashboard)
    page = context.new_page()
    dashboard.sign_in_page(page, "meg")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Roster of Oakwood")
    page.get_by_label("Who").select_option("meg")
    page.get_by_label("Date it starts").fill("2030-01-02")
    page.get_by_label("Starts at").fill("09:00")
    page.get_by_label("Ends at").fill("17:00")
    page.get_by_role("button", name="Add the shift").click()
    expect(page.get_by_role("status")).to_have_text("Meg is on the roster on 2030-01-02 from 09:00 to 17:00.")
    page_checks(page, "manager-roster")
    page.get_by_role("navigation", name="Pages of Oakwood").get_by_role("link", name="Devices").click()
    expect(page.get_by_role("listitem").filter(has_text="door-0200")).to_contain_text("Online")
    page_checks(page, "manager-devices")
