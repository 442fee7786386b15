"""The night board: every room of the viewer's home with its state and the home's active alerts, server-rendered
from the database (nobody else's home); acknowledge, resolve, remote knock and check-in through its plain forms,
with the API's refusals said on the page; and in a real browser, an entry the simulator's door makes without a
knock arriving live, acknowledged from the page, while the page says plainly when it is not live and recovers by
itself."""

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dashboard.routes.board import alerts_words
from dashboard.templating import FLASH_COOKIE
from firmware_sim.home import SimulatedHome
from firmware_sim.local_services import LocalBroker
from hub.api.app import create_app
from hub.core.config import HubSettings
from hub.db.models import AlertRecord, CheckIn, EntryRecord, PendingHubEvent, StoredEvent
from hub.ingest.worker import run_worker
from hub.keys import load_or_create_hub_key
from hub.registry import register_device
from hub.rules.alerts import AlertType
from protocol.commands import Command, KnockArgs
from protocol.envelope import open_sealed
from protocol.signing import generate_private_key, public_key_b64
from protocol.topics import DeviceChannel, device_topic
from tests.dashboard.conftest import SECOND_FACTOR, Dashboard, enrol_second_factors, text_of
from tests.hub.api.conftest import add_alert, serving
from tests.hub.conftest import DEVICE, SITE, DeviceSide, People, registered, wait_until  # noqa: F401
from tests.system.tcp_link import CuttableLink

LONDON = ZoneInfo("Europe/London")


def on_the_clock(moment: datetime) -> str:
    """A time as the board shows one of today: the home's hour and minute."""
    return moment.astimezone(LONDON).strftime("%H:%M")


def board(dashboard: Dashboard, who: str) -> str:
    with dashboard.client() as client:
        response = client.get("/board", headers=dashboard.signed_in(who).headers)
    assert response.status_code == 200, response.text
    return response.text


def post_form(dashboard: Dashboard, who: str, path: str, **fields: str) -> httpx.Response:
    signed = dashboard.signed_in(who)
    with dashboard.client() as client:
        return client.post(path, data={"csrf_token": signed.csrf_token, **fields}, headers=signed.headers)


def flash(response: httpx.Response) -> str:
    """The one-time message a form's redirect leaves for the page it leads to."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/board"
    cookie = response.cookies.get(FLASH_COOKIE)
    assert cookie is not None
    return unquote(cookie.strip('"'))


def alert_row(people: People, alert_id: str) -> AlertRecord:
    with people.sessions() as session:
        return session.get_one(AlertRecord, alert_id)


# The page as the database has it -----------------------------------------------------------------------------

def _stored(session: Session, device: str, seq: int, type: str, room: str, at: datetime) -> int:
    event = StoredEvent(site="oakwood", device=device, seq=seq, type=type, door="d1", room=room,
                        ts_ms=int(at.timestamp() * 1000), mono_ms=seq, boot="b", prev="p", hash=f"h-{device}-{seq}",
                        sig="s", signed="{}", received_at=at)
    session.add(event)
    session.flush()
    return event.id


def test_the_board_shows_the_rooms_and_alerts_of_the_viewers_home_only(dashboard: Dashboard) -> None:
    now = datetime.now(UTC)
    opened, quiet_since = now - timedelta(minutes=7, seconds=10), now - timedelta(minutes=40)
    with dashboard.people.sessions() as session:
        for device, room in (("door-a", "room-12"), ("door-b", "room-14")):
            register_device(session, site="oakwood", device=device, doors={"d1": room},
                            public_key=public_key_b64(generate_private_key()))
        session.flush()
        # Someone went into room-12 seven minutes ago (an entry, decided); room-14's resident asked not to be disturbed.
        door_opened = _stored(session, "door-a", 1, "door.opened", "room-12", opened)
        session.add(EntryRecord(
            door_opened_event_id=door_opened, revision=1, cause="first", decided_at=opened, site="oakwood",
            room="room-12", device="door-a", door="d1", resident_id="ada", opened_at=opened, kind="entry",
            outcome="permitted", reason="consent", sentence="entry", rules_version="entries-v1",
            preference_version=None, who="sam", knock_event_id=None, answer_event_id=None, waited_ms=None,
            wait_s=30, closed_at=None, inside_ms=None, rests_on=[str(door_opened)], review_required=False))
        _stored(session, "door-b", 1, "dnd.on", "room-14", quiet_since)
        session.commit()
    add_alert(dashboard.people.sessions, "older", room="room-14", type=AlertType.HELP_REQUESTED,
              raised_at=now - timedelta(minutes=5))
    with dashboard.people.sessions() as session:
        session.get_one(AlertRecord, "older").escalated = [0, 1]  # the staff on duty, then the night lead, were called
        session.commit()
    add_alert(dashboard.people.sessions, "newer", room="room-12", raised_at=now - timedelta(minutes=1))
    add_alert(dashboard.people.sessions, "theirs", site="elmfield", room="room-01")

    page = board(dashboard, "sam")
    assert "Someone inside for 7 minutes (since " + on_the_clock(opened) + ")" in page
    assert "Do not disturb since " + on_the_clock(quiet_since) in page
    assert "room-12 <span class=\"room__resident\">Ada</span>" in page and ">Ben</span>" in page
    # Newest first, each with its neutral sentence, its time on the home's clock and the step it has reached.
    assert page.index('data-alert="newer"') < page.index('data-alert="older"')
    assert "An entry was recorded that the resident&#39;s entry preferences did not permit." in page
    assert "The resident asked for help." in page
    assert on_the_clock(now - timedelta(minutes=5)) in page
    assert "Step 2: the night lead" in page
    assert "(2 active alerts)" in page and page.count(">1 active alert<") == 2
    # Nothing of Elmfield's: its room, its resident, its alert.
    shown = text_of(page)  # the words: the page's random CSRF tokens may hold any two letters
    assert "room-01" not in shown and "Cy" not in shown and "theirs" not in page
    assert "Tablet for room-12" not in page  # pairing a tablet is for the night lead and manager
    assert "Tablet for room-12" in board(dashboard, "nia")
    assert "Oakwood" not in board(dashboard, "eve") and "room-01" in board(dashboard, "eve")  # Elmfield's own board


# The forms, without JavaScript --------------------------------------------------------------------------------

def test_acknowledge_and_resolve_through_the_forms_and_nobody_clears_their_own_entry(dashboard: Dashboard) -> None:
    people = dashboard.people
    add_alert(people.sessions, "a1", room="room-12")
    add_alert(people.sessions, "mine", room="room-14", subject="oakwood/room-14/entry", subject_staff="sam")
    add_alert(people.sessions, "e1", site="elmfield", room="room-01")

    done = post_form(dashboard, "sam", "/board/alerts/a1/acknowledge")
    assert flash(done) == "You acknowledged the alert for room-12."
    assert alert_row(people, "a1").acknowledged_by == "sam"
    assert "By Sam at " in board(dashboard, "nia")

    for action, fields in (("acknowledge", {}), ("resolve", {"note": "I looked in"})):
        refused = post_form(dashboard, "sam", f"/board/alerts/mine/{action}", **fields)
        assert refused.status_code == 403
        assert "That was not done" in refused.text
        assert "This alert is about your own entry: someone else acknowledges and resolves it." in refused.text
    assert alert_row(people, "mine").acknowledged_by is None and alert_row(people, "mine").cleared_at is None

    no_note = post_form(dashboard, "nia", "/board/alerts/mine/resolve", note="  ")
    assert no_note.status_code == 422 and "An alert is resolved with a note saying what was done." in no_note.text
    assert flash(post_form(dashboard, "nia", "/board/alerts/mine/resolve", note="Spoke with Sam; all well.")) \
        == "You resolved the alert for room-14."
    resolved = alert_row(people, "mine")
    assert (resolved.resolved_by, resolved.resolution_note) == ("nia", "Spoke with Sam; all well.")
    assert 'data-alert="mine"' not in board(dashboard, "sam")

    # The first acknowledgement won; an alert of another home is not found here, and is left as it was.
    again = post_form(dashboard, "nia", "/board/alerts/a1/acknowledge")
    assert again.status_code == 409 and "Already acknowledged by sam." in again.text
    elsewhere = post_form(dashboard, "sam", "/board/alerts/e1/acknowledge")
    assert elsewhere.status_code == 404 and "There is no such alert in Oakwood." in elsewhere.text
    assert alert_row(people, "e1").acknowledged_by is None


def test_a_remote_knock_and_a_check_in_through_the_forms(
    dashboard: Dashboard, registered: sessionmaker[Session], broker: LocalBroker,
) -> None:
    people = dashboard.people
    side = DeviceSide(broker.port)
    commands = device_topic(SITE, DEVICE, DeviceChannel.COMMAND)
    try:
        side.subscribe(commands)
        page = board(dashboard, "sam")
        assert 'action="/board/rooms/room-12/knock"' in page  # the vector device serves room-12
        assert 'action="/board/rooms/room-14/knock"' not in page and "No door device: knock at the door." in page

        assert flash(post_form(dashboard, "sam", "/board/rooms/room-12/knock")) \
            == "Knocked at the door of room-12. Wait for the resident's answer."
        (message,) = wait_until(lambda: side.on(commands), what="the knock on the door's command topic")
        hub_public = load_or_create_hub_key(dashboard.settings.key_file).public_key()
        command = Command.model_validate(open_sealed(message.payload, "command", hub_public))
        assert command.name == "knock"
        assert KnockArgs.model_validate(command.args) == KnockArgs(door="d1", staff="sam", staff_name="Sam")
    finally:
        side.close()
    no_door = post_form(dashboard, "sam", "/board/rooms/room-14/knock")
    assert no_door.status_code == 409 and "No door device serves &#39;room-14&#39;; knock at the door" in no_door.text
    assert post_form(dashboard, "sam", "/board/rooms/room-01/knock").status_code == 404  # Elmfield's room
    with people.sessions() as session:
        knocks = session.scalars(select(PendingHubEvent).where(PendingHubEvent.type == "hub.knock.sent")).all()
    assert [(knock.room, knock.data["staff"]) for knock in knocks] == [("room-12", "sam")]

    checked = flash(post_form(dashboard, "nia", "/board/check-ins", room="room-14"))
    assert re.fullmatch(r"Checked in from room-14 at \d\d:\d\d: all is well\.", checked)
    assert post_form(dashboard, "nia", "/board/check-ins", room="room-01").status_code == 404
    with people.sessions() as session:
        rows = session.scalars(select(CheckIn)).all()
    assert [(row.staff_id, row.site, row.room) for row in rows] == [("nia", "oakwood", "room-14")]
    assert checked == f"Checked in from room-14 at {on_the_clock(rows[0].at)}: all is well."


# In a real browser, live ----------------------------------------------------------------------------------------

@dataclass
class Night:
    """Oakwood at night: two simulated doors, the hub's worker deciding what they send, and the hub's API and pages
    served with the API's broker connection running through a relay the test can cut."""

    dashboard: Dashboard
    doors: SimulatedHome
    api_link: CuttableLink


DOOR_ROOMS = ("room-12", "room-14")
"""door-01 is at Ada's room, door-02 at Ben's."""


@pytest.fixture
def night(hub_settings: HubSettings, people: People, broker: LocalBroker, tmp_path: Path) -> Iterator[Night]:
    hub_key = load_or_create_hub_key(hub_settings.key_file)
    doors = SimulatedHome(len(DOOR_ROOMS), broker_port=broker.port, data_dir=tmp_path / "doors", site="oakwood",
                          hub_public_key=public_key_b64(hub_key))
    with people.sessions() as session:
        for (site, device, key, _doors), room in zip(doors.devices(), DOOR_ROOMS, strict=True):
            register_device(session, site=site, device=device, public_key=key, doors={"d1": room})
        session.commit()
    enrol_second_factors(people, SECOND_FACTOR)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(hub_settings.model_copy(update={"rounds_s": 1.0}), stop),
                              name="hub-worker", daemon=True)
    worker.start()
    doors.start()
    api_link = CuttableLink(broker.port)
    # A heartbeat each second, so the page would notice a silent stream within seconds too.
    settings = hub_settings.model_copy(update={"mqtt_port": api_link.port, "live_heartbeat_s": 1.0,
                                               "live_retry_ms": 500})
    app = create_app(settings)
    try:
        wait_until(lambda: all(room.agent.link.connected.is_set() for room in doors.rooms.values()),
                   what="both doors connected")
        with serving(app) as url:
            yield Night(Dashboard(url, app, settings, people), doors, api_link)
    finally:
        api_link.close()
        doors.stop()
        stop.set()
        worker.join(timeout=15)
    assert not worker.is_alive(), "the worker did not stop"


SHOWN = """() => ({
    alerts: Array.from(document.querySelectorAll(".alert-card")).map((card) => card.dataset.alert),
    count: document.querySelector('[data-field="alerts-count"]').textContent,
    rooms: Object.fromEntries(Array.from(document.querySelectorAll(".room[data-room]")).map(
        (room) => [room.dataset.room, room.querySelector('[data-field="room-alerts"]').textContent])),
})"""


def shows_the_homes_active_alerts(page: Page, people: People) -> None:
    """The board comes to show exactly the home's active alerts as the database has them, newest first, with their
    count, and each room's. (Besides the test's own, the doors may add theirs: a door on a machine whose clock is not
    synchronised reports it, and the hub raises an alert for that.)"""

    last: list[tuple[dict, dict]] = []

    def agree() -> bool:
        shown = page.evaluate(SHOWN)
        with people.sessions() as session:
            active = session.scalars(select(AlertRecord).where(AlertRecord.site == "oakwood",
                                                               AlertRecord.cleared_at.is_(None))
                                     .order_by(AlertRecord.raised_at.desc(), AlertRecord.id)).all()
        per_room = {room: alerts_words(sum(1 for row in active if row.room == room)) for room in DOOR_ROOMS}
        expected = {"alerts": [row.id for row in active], "count": f"({alerts_words(len(active))})",
                    "rooms": per_room}
        last[:] = [(shown, expected)]
        return shown == expected

    try:
        wait_until(agree, what="the board to show the home's active alerts as the database has them")
    except AssertionError as late:
        raise AssertionError(f"{late}: the board shows {last[0][0]}, the database has {last[0][1]}") from None


def entry_alert(people: People) -> AlertRecord | None:
    with people.sessions() as session:
        return session.scalars(select(AlertRecord).where(AlertRecord.type == AlertType.UNPERMITTED_ENTRY,
                                                         AlertRecord.room == "room-12")).one_or_none()


def test_an_entry_without_a_knock_arrives_live_is_acknowledged_and_the_board_says_when_it_is_not_live(
    night: Night, browser: Browser, page_checks: Callable[[Page, str], None]
) -> None:
    """The simulator's door-01 (the real door agent on mock pins) opens with no knock; the real worker decides it
    an unpermitted entry and raises the alert; it appears on Sam's open board without a reload, and Sam
    acknowledges and resolves it there.

    How the board is made to lose its live feed, honestly: (1) the API process's own connection to the broker
    runs through a TCP relay (tests/system/tcp_link.py) which the test cuts and then restores, as a network fault
    between the API and the broker would — the doors and the worker carry on, only the API stops hearing, so its
    streams end and new ones are refused until it hears again; (2) the phone's own network: playwright takes the
    browser offline and back. Each time the page must say so in words, and come back by itself with the state as
    it now is."""
    people = night.dashboard.people
    add_alert(people.sessions, "mine", room="room-14", subject="oakwood/room-14/earlier-entry", subject_staff="sam",
              raised_at=datetime.now(UTC) - timedelta(minutes=20))
    context = browser.new_context(base_url=night.dashboard.url)
    try:
        page = context.new_page()
        night.dashboard.sign_in_page(page, "sam")
        expect(page).to_have_url(f"{night.dashboard.url}/board")
        live_words = page.locator("#live-words")
        expect(live_words).to_have_text("Live: changes appear here as they happen.")
        page.evaluate("window.sameBoard = true")  # gone if the page is ever reloaded

        night.doors.open_door(1)
        card = page.locator(".alert-card").filter(has_text="Entry recorded with no knock before the door opened.")
        expect(card).to_have_count(1, timeout=20_000)
        expect(card).to_contain_text("room-12: Entry the preferences did not permit")
        expect(card.locator('[data-field="step"]')).to_have_text("Step 1: staff on duty")
        alert = entry_alert(people)
        assert alert is not None
        expect(card.locator('time[data-field="raised"]')).to_have_text(on_the_clock(alert.raised_at))
        room_12 = page.locator('.room[data-room="room-12"]')
        expect(room_12.locator('[data-field="state"]')).to_contain_text("Someone inside for less than a minute")
        shows_the_homes_active_alerts(page, people)

        # Nobody acknowledges an alert about their own entry: the API's refusal, said on the card.
        mine = page.locator('.alert-card[data-alert="mine"]')
        mine.get_by_role("button", name=re.compile(r"^Acknowledge the alert for room-14")).click()
        expect(mine.locator('[data-field="said"]')).to_have_text(
            "This alert is about your own entry: someone else acknowledges and resolves it. "
            "You can add your account to the entry.")
        assert alert_row(people, "mine").acknowledged_by is None

        card.get_by_role("button", name=re.compile(r"^Acknowledge the alert for room-12")).click()
        expect(card.locator('[data-field="said"]')).to_have_text("You acknowledged the alert for room-12.")
        expect(card.locator('[data-field="acknowledged"]')).to_contain_text("By Sam at ")
        expect(card.locator('form[data-board-action="acknowledge"]')).to_be_hidden()
        assert alert_row(people, alert.id).acknowledged_by == "sam"
        # Both alerts showing, one acknowledged, the refusal said on the other.
        page_checks(page, "board-with-alerts")
        # At the phone's width (page_checks leaves it there): the alerts come first, nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator(".board__alerts").bounding_box()["y"] < page.locator(".board__rooms").bounding_box()["y"]
        page.set_viewport_size({"width": 1280, "height": 900})

        # The API loses the broker: the board says it is not live, and since when it has heard nothing.
        night.api_link.cut()
        expect(page.locator("[data-live-state]")).to_have_attribute("data-live-state", "not-live")
        expect(live_words).to_contain_text("Not live — reconnecting… Last update ")
        page_checks(page, "board-not-live")
        # Meanwhile the door closes: the worker hears it; the API, and so the board, cannot. And Nia resolves the
        # alert about Sam's entry from her own handset.
        night.doors.close_door(1)
        wait_until(lambda: closed_entry(people), what="the worker to record the door closing")
        with httpx.Client(base_url=night.dashboard.url) as client:
            assert client.post("/api/v1/alerts/mine/resolve", json={"note": "Asked Sam; he was called in."},
                               headers=people.auth("nia")).status_code == 200
        expect(room_12.locator('[data-field="state"]')).to_contain_text("Someone inside")
        expect(mine).to_have_count(1)
        night.api_link.restore()
        expect(live_words).to_have_text("Live: changes appear here as they happen.", timeout=30_000)
        # Back by itself, with the home as it is now.
        expect(room_12.locator('[data-field="state"]')).to_have_text("Quiet")
        expect(mine).to_have_count(0)
        shows_the_homes_active_alerts(page, people)

        # The phone loses its own network, and finds it again.
        context.set_offline(True)
        expect(live_words).to_contain_text("Not live — reconnecting…")
        context.set_offline(False)
        expect(live_words).to_have_text("Live: changes appear here as they happen.", timeout=30_000)

        # A knock from the handset: the door gets it and says so, live.
        room_14 = page.locator('.room[data-room="room-14"]')
        room_14.get_by_role("button", name="Knock at room-14").click()
        expect(room_14.locator('[data-field="said"]')).to_have_text(
            "Knocked at the door of room-14. Wait for the resident's answer.")
        expect(room_14.locator('[data-field="state"]')).to_contain_text("Knock waiting for an answer since",
                                                                         timeout=20_000)
        page.get_by_label("Room you are in").select_option("room-12")
        page.get_by_role("button", name="Check in: all is well").click()
        expect(page.locator('.check-in [data-field="said"]')).to_have_text(
            re.compile(r"Checked in from room-12 at \d\d:\d\d: all is well\."))

        card.locator("summary").click()
        card.get_by_label("What was done").fill("Went in to Ada; she had called out. All well.")
        card.get_by_role("button", name="Resolve the alert for room-12", exact=True).click()
        expect(page.locator('[data-field="alerts-said"]')).to_have_text("You resolved the alert for room-12.")
        expect(card).to_have_count(0)
        shows_the_homes_active_alerts(page, people)
        assert page.evaluate("window.sameBoard") is True  # all of it without a reload
    finally:
        context.close()
    resolved = alert_row(people, alert.id)
    assert (resolved.resolved_by, resolved.resolution_note) == ("sam", "Went in to Ada; she had called out. All well.")
    with people.sessions() as session:
        assert [(row.staff_id, row.room) for row in session.scalars(select(CheckIn))] == [("sam", "room-12")]


def closed_entry(people: People) -> bool:
    with people.sessions() as session:
        return session.scalar(select(EntryRecord.closed_at).where(EntryRecord.room == "room-12")
                              .order_by(EntryRecord.revision.desc()).limit(1)) is not None


def test_the_board_works_without_javascript(dashboard: Dashboard, browser: Browser) -> None:
    """The same board with scripts off: its real forms post, carry their CSRF token and come back with what was
    done, or with the API's refusal said at the top. (No axe here: axe is itself a script; the live test checks
    the page.)"""
    people = dashboard.people
    add_alert(people.sessions, "a1", room="room-12")
    add_alert(people.sessions, "mine", room="room-14", subject="oakwood/room-14/entry", subject_staff="sam")
    context = browser.new_context(base_url=dashboard.url, java_script_enabled=False)
    try:
        page = context.new_page()
        dashboard.sign_in_page(page, "sam")
        expect(page).to_have_url(f"{dashboard.url}/board")
        expect(page.locator("#live-words")).to_contain_text("This page does not update by itself without JavaScript")

        page.get_by_role("button", name=re.compile(r"^Acknowledge the alert for room-14")).click()
        expect(page.get_by_role("alert")).to_contain_text(
            "That was not done This alert is about your own entry: someone else acknowledges and resolves it.")

        page.get_by_role("button", name=re.compile(r"^Acknowledge the alert for room-12")).click()
        expect(page).to_have_url(f"{dashboard.url}/board")
        expect(page.locator(".flash")).to_have_text("You acknowledged the alert for room-12.")
        card = page.locator('.alert-card[data-alert="a1"]')
        expect(card.locator('[data-field="acknowledged"]')).to_contain_text("By Sam at ")

        card.locator("summary").click()
        card.get_by_label("What was done").fill("Ada was awake; we talked. All well.")
        card.get_by_role("button", name="Resolve the alert for room-12", exact=True).click()
        expect(page.locator(".flash")).to_have_text("You resolved the alert for room-12.")
        expect(card).to_have_count(0)

        page.get_by_label("Room you are in").select_option("room-14")
        page.get_by_role("button", name="Check in: all is well").click()
        expect(page.locator(".flash")).to_have_text(re.compile(r"Checked in from room-14 at \d\d:\d\d: all is well\."))
    finally:
        context.close()
    resolved = alert_row(people, "a1")
    assert (resolved.acknowledged_by, resolved.resolved_by) == ("sam", "sam")
    assert alert_row(people, "mine").acknowledged_by is None


def test_a_board_whose_sign_in_ends_says_so_at_once_and_offers_to_sign_in_again(
        hub_settings: HubSettings, people: People, browser: Browser) -> None:
    """A board left open after its sign-in ended (here the account is disabled) must not sit on "reconnecting":
    nothing new will ever reach it, and the carer must know."""
    enrol_second_factors(people, SECOND_FACTOR)
    settings = hub_settings.model_copy(update={"live_heartbeat_s": 1.0, "live_retry_ms": 500})
    app = create_app(settings)
    with serving(app) as url:
        dashboard = Dashboard(url, app, settings, people)
        context = browser.new_context(base_url=url)
        try:
            page = context.new_page()
            dashboard.sign_in_page(page, "sam")
            live_words = page.locator("#live-words")
            expect(live_words).to_have_text("Live: changes appear here as they happen.")
            with httpx.Client(base_url=url) as client:
                disabled = client.post(f"/api/v1/accounts/{dashboard.account('sam').id}/disable",
                                       headers=people.auth("admin"))
                assert disabled.status_code == 200
            expect(live_words).to_have_text(
                "Signed out: this board is not live and shows no new alerts. Sign in again.", timeout=20_000)
            expect(page.get_by_role("link", name="Sign in again")).to_have_attribute("href", "/sign-in?next=%2Fboard")
        finally:
            context.close()
