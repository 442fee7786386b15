"""The resident's own page: what they asked for in their own words and who set it; changing it through the form
(a new version, the old one kept, and the door's signed config following it, to a real door agent); who came into
their room today and this week, honest about when the door could not record; nobody else's data; the whole flow by
keyboard in Chromium; axe-core at both widths."""

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from firmware_sim.home import SimulatedHome
from hub.db.models import (
    Account,
    Basis,
    Device,
    EntryRecord,
    PendingHubEvent,
    PreferenceVersion,
    Resident,
    StoredEvent,
    Tenancy,
)
from hub.keys import load_or_create_hub_key
from hub.people.preferences import EntryPreferences, PermissionRefused, record_preferences
from hub.people.web_sessions import SignInMethod, start_session
from hub.registry import register_device
from hub.rules.alerts import AlertType
from hub.rules.local_time import local_instant
from protocol.config import DeviceConfig
from protocol.envelope import open_sealed
from protocol.signing import public_key_b64
from protocol.topics import DeviceChannel, device_topic
from tests.dashboard.conftest import Dashboard, SignedInCookie, text_of
from tests.hub.api.conftest import add_alert
# The hub's running worker (it publishes the doors' signed configs), as the hub's tests use it.
from tests.hub.conftest import DeviceSide, registered, wait_until, worker  # noqa: F401

LONDON = ZoneInfo("Europe/London")
Checks = Callable[[Page, str], None]
FORM = "/residents/ada/preferences"
KEEP = {"quiet": "22:00-07:00", "dnd": "yes", "knocker": "no"}
"""The form's other answers as the defaults have them, for a post that changes only the wait."""


def get(dashboard: Dashboard, signed: SignedInCookie, path: str, flash: str = "") -> httpx.Response:
    cookies = signed.headers["Cookie"] + (f"; threshold_flash={flash}" if flash else "")
    with dashboard.client() as client:
        return client.get(path, headers={"Cookie": cookies})


def post_form(dashboard: Dashboard, signed: SignedInCookie, path: str, **fields: str) -> httpx.Response:
    with dashboard.client() as client:
        return client.post(path, headers=signed.headers, data={"csrf_token": signed.csrf_token, **fields})


def flash_of(response: httpx.Response) -> str:
    """The one-time message a form's redirect leaves for the next page."""
    cookie = response.headers["set-cookie"]
    return re.search(r"threshold_flash=([^;]*)", cookie).group(1)  # type: ignore[union-attr]


def beside(dashboard: Dashboard, resident: str, staff: str) -> SignedInCookie:
    """A resident's session begun with a member of staff signing in beside them, as the sign-in form makes it."""
    with dashboard.people.sessions() as session:
        account = session.scalars(select(Account).where(Account.username == resident)).one()
        started = start_session(session, account, address="127.0.0.1", method=SignInMethod.STAFF_BESIDE,
                                beside_staff_id=staff)
        session.commit()
        return SignedInCookie(started.cookie, started.record.csrf_token)


def versions(dashboard: Dashboard, resident: str) -> list[PreferenceVersion]:
    with dashboard.people.sessions() as session:
        rows = list(session.scalars(select(PreferenceVersion).where(PreferenceVersion.resident_id == resident)
                                    .order_by(PreferenceVersion.version)))
        session.expunge_all()
        return rows


def record(dashboard: Dashboard, author: str, basis: Basis, preferences: dict[str, Any], **authority: Any) -> None:
    with dashboard.people.sessions() as session:
        account = session.scalars(select(Account).where(Account.username == author)).one()
        record_preferences(session, resident=session.get_one(Resident, "ada"), author=account, basis=basis,
                           preferences=EntryPreferences.model_validate(preferences), **authority)
        session.commit()


def register_door(dashboard: Dashboard, device: str, room: str = "room-12", public_key: str | None = None) -> None:
    with dashboard.people.sessions() as session:
        register_device(session, site="oakwood", device=device, doors={"d1": room},
                        public_key=public_key or public_key_b64(Ed25519PrivateKey.generate()))
        session.commit()


def lived_here_since(dashboard: Dashboard, moved_in: datetime) -> None:
    """Ada's tenancy of room-12 as if she had moved in then (the people fixture moves her in as the test starts)."""
    with dashboard.people.sessions() as session:
        session.scalars(select(Tenancy).where(Tenancy.resident_id == "ada")).one().started_at = moved_in
        session.commit()


def config_version(dashboard: Dashboard, device: str) -> int:
    with dashboard.people.sessions() as session:
        return session.get_one(Device, device).config_version


# What they asked for, and who set it ----------------------------------------------------------------------------

KNOWN = {"wait_s": 30, "quiet_hours": [{"from": "22:00", "to": "07:00"}], "dnd_allowed": True, "show_knocker": True,
         "excluded_staff": ["nia"], "night_checks": [{"from": "01:00", "to": "03:00", "how": "open the door quietly"}]}


def test_the_page_says_what_they_asked_for_in_sentences_and_who_set_it(dashboard: Dashboard) -> None:
    ada = dashboard.signed_in("ada")
    first = text_of(get(dashboard, ada, "/me").text)
    assert "When someone knocks, they wait 30 seconds for my answer." in first  # the defaults
    assert "Nobody has changed these yet." in first

    record(dashboard, "ada", Basis.OWN_CHOICE, KNOWN)
    mine = text_of(get(dashboard, ada, "/me").text)
    for sentence in ("Hello, Ada", "My room is room-12.",
                     "When someone knocks, they wait 30 seconds for my answer.",
                     "If I do not answer, staff may come in after that.",
                     "Quiet time is from 22:00 to 07:00.",
                     "I can say 'do not disturb'.",
                     "My panel shows me who is knocking.",
                     "I do not want Nia to come into my room.",
                     "Staff check on me at night from 01:00 to 03:00. We agreed how: open the door quietly.",
                     "This is my own choice."):
        assert sentence in mine, sentence
    set_at = versions(dashboard, "ada")[-1].created_at.astimezone(LONDON)
    assert f"It was set on {set_at:%A} {set_at.day} {set_at:%B %Y} at {set_at:%H:%M}." in mine  # the home's clock

    record(dashboard, "sam", Basis.WITH_SUPPORT,
           {**KNOWN, "wait_s": None, "quiet_hours": [], "dnd_allowed": False, "show_knocker": False,
            "excluded_staff": [], "night_checks": []})
    helped = text_of(get(dashboard, ada, "/me").text)
    for sentence in ("When someone knocks, they wait for my answer.", "Nobody comes in without it.",
                     "I have no quiet time.", "My door does not use 'do not disturb'.",
                     "My panel does not show who is knocking.", "I chose this with help from Sam."):
        assert sentence in helped, sentence
    assert "Nia" not in helped and "This is my own choice." not in helped

    review = date.today() + timedelta(days=90)
    record(dashboard, "meg", Basis.BEST_INTERESTS, {"wait_s": 60}, mca_reference="MCA-2031",
           review_date=review)
    decided = text_of(get(dashboard, ada, "/me").text)
    assert "The manager, Meg, made this decision in my best interests." in decided
    assert f"It will be looked at again by {review:%A} {review.day} {review:%B %Y}." in decided
    assert "When someone knocks, they wait 60 seconds for my answer." in decided


def test_a_resident_records_with_support_only_with_the_member_of_staff_beside_them(dashboard: Dashboard) -> None:
    with pytest.raises(PermissionRefused, match="basis_not_allowed"):
        record(dashboard, "ada", Basis.WITH_SUPPORT, {"wait_s": 20})
    with pytest.raises(PermissionRefused, match="not_the_supporter"):
        record(dashboard, "sam", Basis.WITH_SUPPORT, {"wait_s": 20}, supporter_staff_id="nia")
    with pytest.raises(ValueError, match="unknown_staff"):  # Elmfield's: not of Ada's home
        record(dashboard, "ada", Basis.WITH_SUPPORT, {"wait_s": 20}, supporter_staff_id="eve")
    record(dashboard, "ada", Basis.WITH_SUPPORT, {"wait_s": 20}, supporter_staff_id="sam")
    [version] = versions(dashboard, "ada")
    assert (version.basis, version.supporter_staff_id) == ("with_support", "sam")


# Changing it through the form, without JavaScript --------------------------------------------------------------

def test_the_form_makes_a_new_version_keeps_the_old_one_and_the_door_follows(dashboard: Dashboard) -> None:
    register_door(dashboard, "door-ada")
    record(dashboard, "ada", Basis.OWN_CHOICE, KNOWN)
    [before] = versions(dashboard, "ada")
    door_before = config_version(dashboard, "door-ada")
    ada = dashboard.signed_in("ada")  # on her tablet: no one beside her

    form = text_of(get(dashboard, ada, FORM).text)
    assert "When someone knocks, how long do they wait for my answer?" in form
    for label in ("10 seconds", "20 seconds", "30 seconds", "60 seconds", "Never come in without my answer",
                  "From 22:00 to 07:00", "You choose for yourself."):
        assert label in form, label

    saved = post_form(dashboard, ada, FORM, wait="20", quiet="22:00-07:00", dnd="yes", knocker="yes")
    assert saved.status_code == 303 and saved.headers["location"] == "/me"
    assert unquote(flash_of(saved)) == "Saved. Your door now waits 20 seconds."
    shown = text_of(get(dashboard, ada, "/me", flash=flash_of(saved)).text)
    assert "Saved. Your door now waits 20 seconds." in shown
    assert "When someone knocks, they wait 20 seconds for my answer." in shown

    old, new = versions(dashboard, "ada")
    assert {name: getattr(old, name) for name in PreferenceVersion.__table__.columns.keys()} == \
        {name: getattr(before, name) for name in PreferenceVersion.__table__.columns.keys()}  # never edited
    assert (new.version, new.wait_s, new.basis, new.supporter_staff_id) == (2, 20, "own_choice", None)
    # What the form does not show stays as it was.
    assert (new.excluded_staff, new.night_checks, new.not_now_hold_s) == \
        (old.excluded_staff, old.night_checks, old.not_now_hold_s)
    assert config_version(dashboard, "door-ada") == door_before + 1

    same = post_form(dashboard, ada, FORM, wait="20", quiet="22:00-07:00", dnd="yes", knocker="yes")
    assert unquote(flash_of(same)) == "Nothing changed. Your door still waits 20 seconds."
    assert len(versions(dashboard, "ada")) == 2

    # With a member of staff beside her, the version records their support.
    helped = beside(dashboard, "ada", "sam")
    assert "Sam is helping you. We will write down that Sam helped." in text_of(get(dashboard, helped, FORM).text)
    never = post_form(dashboard, helped, FORM, wait="never", quiet="none", dnd="no", knocker="no")
    assert unquote(flash_of(never)) == "Saved. Your door now waits for your answer. Nobody comes in without it."
    latest = versions(dashboard, "ada")[-1]
    assert (latest.version, latest.wait_s, latest.quiet_hours, latest.dnd_allowed, latest.basis,
            latest.supporter_staff_id) == (3, None, [], False, "with_support", "sam")
    assert "I chose this with help from Sam." in text_of(get(dashboard, ada, "/me").text)


def test_a_choice_the_form_did_not_offer_is_refused_plainly(dashboard: Dashboard) -> None:
    ada = dashboard.signed_in("ada")
    refused = post_form(dashboard, ada, FORM, wait="45", quiet="02:00-03:00", dnd="yes")
    assert refused.status_code == 422
    page = text_of(refused.text)
    assert "Please choose again" in page
    for message in ("Choose how long people wait for your answer.", "Choose your quiet time.",
                    "Choose if your panel shows who is knocking."):
        assert message in page
    assert "Choose if you can say" not in page  # that one was fine
    assert versions(dashboard, "ada") == []


def test_another_residents_id_shows_nothing_of_theirs(dashboard: Dashboard) -> None:
    record(dashboard, "ada", Basis.OWN_CHOICE, {"wait_s": 45})
    with dashboard.people.sessions() as session:
        ben = session.scalars(select(Account).where(Account.username == "ben")).one()
        record_preferences(session, resident=session.get_one(Resident, "ben"), author=ben, basis=Basis.OWN_CHOICE,
                           preferences=EntryPreferences(wait_s=75))
        session.commit()
    ada = dashboard.signed_in("ada")
    nobody = get(dashboard, ada, "/residents/nobody/preferences")
    for other in ("ben", "cy"):
        seen = get(dashboard, ada, f"/residents/{other}/preferences")
        assert seen.status_code == 404
        # The same page as for an id of nobody at all: not even whether they exist.
        assert text_of(seen.text) == text_of(nobody.text)
        shown = text_of(seen.text)  # the words, not the page's random CSRF token
        assert "Ben" not in shown and "75" not in shown and "room-14" not in shown
        changed = post_form(dashboard, ada, f"/residents/{other}/preferences", wait="10", **KEEP)
        assert changed.status_code == 404
    assert [version.wait_s for version in versions(dashboard, "ben")] == [75]
    assert versions(dashboard, "cy") == []
    assert [version.wait_s for version in versions(dashboard, "ada")] == [45]
    with dashboard.client() as client:
        theirs = client.get("/api/v1/residents/ben/entries", headers=ada.headers)
    assert theirs.status_code == 403 and "ben" not in theirs.json()["detail"]["detail"]


# Who came into my room -----------------------------------------------------------------------------------------

def _opening(session: Any, device: str, seq: int, opened: datetime, room: str, resident: str | None, who: str,
             reason: str, kind: str = "entry") -> None:
    event = StoredEvent(site="oakwood", device=device, seq=seq, type="door.opened", door="d1", room=room,
                        ts_ms=int(opened.timestamp() * 1000), mono_ms=seq, boot="b", prev="p", hash=f"h-{device}-{seq}",
                        sig="s", signed="{}", received_at=opened)
    session.add(event)
    session.flush()
    session.add(EntryRecord(
        door_opened_event_id=event.id, revision=1, cause="first", decided_at=opened, site="oakwood", room=room,
        device=device, door="d1", resident_id=resident, opened_at=opened, kind=kind, outcome="permitted",
        reason=reason, sentence=f"recorded: {reason}", rules_version="entries-v1", preference_version=None, who=who,
        knock_event_id=None, answer_event_id=None, waited_ms=31_000, wait_s=30, closed_at=None, inside_ms=60_000,
        rests_on=[str(event.id)], review_required=False))


@pytest.fixture
def nights(dashboard: Dashboard) -> dict[str, Any]:
    """Ada has lived in room-12 for ten days. Today Sam came in after her "come in"; two days ago at 02:14 Nia came
    in before her wait was over, after the door had not been heard from 01:00 to 02:30; three days ago someone
    unidentified came in without knocking. Not hers: her own going out, an entry eight days ago (before this week),
    and Ben's room."""
    now = datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    today_start = local_instant(today, "00:00", LONDON)
    two_days_ago = today - timedelta(days=2)
    at = {
        "today": today_start + (now - today_start) / 2,
        "two days ago": local_instant(two_days_ago, "02:14", LONDON),
        "three days ago": local_instant(today - timedelta(days=3), "11:05", LONDON),
    }
    register_door(dashboard, "door-ada")
    register_door(dashboard, "door-ben", room="room-14")
    lived_here_since(dashboard, now - timedelta(days=10))
    with dashboard.people.sessions() as session:
        # In the afternoon: "today"'s entry (halfway through today so far) is never at the same minute.
        _opening(session, "door-ada", 1, local_instant(today - timedelta(days=8), "15:00", LONDON), "room-12", "ada",
                 "sam", "consent")
        _opening(session, "door-ada", 2, at["three days ago"], "room-12", "ada", "unidentified", "no_knock")
        _opening(session, "door-ada", 3, at["two days ago"], "room-12", "ada", "nia", "did_not_wait")
        _opening(session, "door-ada", 4, at["two days ago"] + timedelta(hours=1), "room-12", "ada", "unidentified",
                 "resident_left", kind="exit")
        _opening(session, "door-ada", 5, at["today"], "room-12", "ada", "sam", "consent")
        _opening(session, "door-ben", 1, at["today"], "room-14", "ben", "sam", "no_knock")
        session.commit()
    add_alert(dashboard.people.sessions, "offline-door-ada", room="room-12", type=AlertType.DEVICE_OFFLINE,
              subject="device:door-ada", raised_at=local_instant(two_days_ago, "01:00", LONDON),
              cleared_at=local_instant(two_days_ago, "02:30", LONDON))
    return {"at": at, "two days ago": two_days_ago}


def test_who_came_in_today_and_this_week_and_when_the_door_could_not_tell(dashboard: Dashboard,
                                                                          nights: dict[str, Any]) -> None:
    at = nights["at"]
    today = text_of(get(dashboard, dashboard.signed_in("ada"), "/me").text)
    part_today, part_week = today.split("Earlier this week: the 6 days before today")
    assert part_today.split("Who came into my room")[1].strip().startswith("Today")
    assert f"{at['today'].astimezone(LONDON):%H:%M} — Sam (night staff) came in after you said come in." in part_today
    weekday = f"{nights['two days ago']:%A}"
    assert (f"{weekday} 02:14 — Nia (night lead) came in without your answer, before the wait you asked for was "
            "over.") in part_week
    three = at["three days ago"].astimezone(LONDON)
    assert f"{three:%A} 11:05 — Someone (we do not know who) came in without knocking." in part_week
    assert f"We do not know about {weekday} 01:00 to 02:30: the door sensor was not working." in part_week
    assert "We do not know" not in part_today and "Nobody came into your room" not in today
    assert "went out" not in today and "resident_left" not in today  # her own going out is not an entry
    assert "15:00 —" not in today  # eight days ago: before this week
    assert today.count(" came in ") == 3  # not Ben's

    with dashboard.client() as client:
        answer = client.get("/api/v1/residents/ada/entries", headers=dashboard.signed_in("ada").headers).json()
        by_lead = client.get("/api/v1/residents/ada/entries", headers=dashboard.signed_in("nia").headers)
        by_staff = client.get("/api/v1/residents/ada/entries", headers=dashboard.signed_in("sam").headers)
    assert [(entry["who"], entry["reason"]) for entry in answer["entries"]] == [
        ("unidentified", "no_knock"), ("nia", "did_not_wait"), ("sam", "consent")]
    [blind] = answer["not_known"]
    assert (datetime.fromisoformat(blind["start"]), datetime.fromisoformat(blind["end"])) == (
        local_instant(nights["two days ago"], "01:00", LONDON), local_instant(nights["two days ago"], "02:30", LONDON))
    assert by_lead.status_code == 200 and by_staff.status_code == 403
    with dashboard.people.sessions() as session:
        reads = [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read"))]
    assert [(read["by"], read["what"]) for read in reads] == [("ada", "entries.room")] * 2 + [("nia", "entries.room")]

    quiet = text_of(get(dashboard, dashboard.signed_in("cy"), "/me").text)  # Elmfield: no door, no entries
    assert "Nobody came into your room today." in quiet and "Nobody came into your room earlier this week." in quiet


def test_an_outage_still_going_on_is_said_plainly(dashboard: Dashboard) -> None:
    register_door(dashboard, "door-ada")
    lived_here_since(dashboard, datetime.now(UTC) - timedelta(days=10))
    started = datetime.now(UTC) - timedelta(minutes=5)
    add_alert(dashboard.people.sessions, "offline-now", room="room-12", type=AlertType.DEVICE_OFFLINE,
              subject="device:door-ada", raised_at=started)
    page = text_of(get(dashboard, dashboard.signed_in("ada"), "/me").text)
    local = max(started, local_instant(datetime.now(UTC).astimezone(LONDON).date(), "00:00", LONDON))
    assert f"We do not know about {local.astimezone(LONDON):%H:%M} until now: the door sensor is not working." in page
    assert "We did not see anyone come into your room today." in page


# In Chromium ---------------------------------------------------------------------------------------------------

@pytest.fixture
def context(browser: Browser, dashboard: Dashboard) -> Iterator[BrowserContext]:
    opened = browser.new_context(base_url=dashboard.url)
    yield opened
    opened.close()


def small_targets(page: Page) -> list[str]:
    """Every control on the page smaller than 64 by 64 CSS pixels (the skip link, off-screen until focused, aside)."""
    return page.evaluate("""() => [...document.querySelectorAll('a, button, label.choice')]
        .filter(el => !el.classList.contains('skip-link'))
        .map(el => [el.textContent.trim().replace(/\\s+/g, ' '), el.getBoundingClientRect()])
        .filter(([, box]) => box.width < 64 || box.height < 64)
        .map(([name, box]) => `${name}: ${Math.round(box.width)}x${Math.round(box.height)}`)""")


@pytest.fixture
def door(dashboard: Dashboard, worker: threading.Thread, tmp_path: Path) -> Iterator[SimulatedHome]:
    """A real door agent on gpiozero's mock pins at Ada's door (room-12), registered at the hub, holding the config
    the worker signed for it."""
    hub_key = load_or_create_hub_key(dashboard.settings.key_file)
    home = SimulatedHome(1, broker_port=dashboard.settings.mqtt_port, data_dir=tmp_path / "doors", site="oakwood",
                         hub_public_key=public_key_b64(hub_key))
    agent = home.room(1).agent
    register_door(dashboard, agent.device, public_key=agent.public_key_b64)
    home.start()
    wait_until(lambda: agent.config is not None and agent.config.doors["d1"].room == "room-12",
               what="the door agent's first signed config")
    yield home
    home.stop()


def test_a_resident_changes_their_wait_in_chromium_and_the_doors_config_follows(
        dashboard: Dashboard, door: SimulatedHome, context: BrowserContext, page_checks: Checks) -> None:
    agent = door.room(1).agent
    assert agent.config is not None and agent.config.doors["d1"].wait_s == 30
    held = agent.config.version
    page = context.new_page()
    dashboard.sign_in_page(page, "ada", beside="sam")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    page_checks(page, "resident-me")
    assert small_targets(page) == []

    page.get_by_role("link", name="Change what I asked for").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change what I asked for")
    expect(page.get_by_role("radio", name="30 seconds")).to_be_checked()
    page_checks(page, "resident-preferences")
    assert small_targets(page) == []
    page.get_by_role("radio", name="20 seconds").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Saved. Your door now waits 20 seconds.")
    expect(page.get_by_text("When someone knocks, they wait 20 seconds for my answer.")).to_be_visible()
    expect(page.get_by_text("I chose this with help from Sam.")).to_be_visible()
    page_checks(page, "resident-me-saved")

    # The door: its config version rose, the retained signed config carries the new wait, and the agent runs on it.
    version = config_version(dashboard, agent.device)
    assert version > held
    wait_until(lambda: agent.config is not None and agent.config.version == version, what="the door's new config")
    assert agent.config.doors["d1"].wait_s == 20
    wait_until(lambda: agent.doors["d1"].machine.policy.wait_s == 20, what="the door to wait 20 seconds")
    late = DeviceSide(dashboard.settings.mqtt_port)
    try:
        topic = device_topic("oakwood", agent.device, DeviceChannel.CONFIG)
        late.subscribe(topic)
        retained = wait_until(lambda: late.on(topic), what="the retained config")[-1]
        assert retained.retain
        config = DeviceConfig.model_validate(open_sealed(retained.payload, "config",
                                                         load_or_create_hub_key(dashboard.settings.key_file)
                                                         .public_key()))
        assert (config.version, config.doors["d1"].wait_s) == (version, 20)
    finally:
        late.close()

    # A choice the form never offers, sent anyway, comes back as the form with the problem said plainly.
    page.get_by_role("link", name="Change what I asked for").click()
    page.locator("input[name=wait][value='20']").evaluate("radio => { radio.value = '45'; }")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose how long people wait for your answer.")
    expect(page.get_by_role("alert")).to_be_focused()
    page_checks(page, "resident-preferences-refused")


def test_the_page_with_its_entries_in_chromium(dashboard: Dashboard, nights: dict[str, Any], context: BrowserContext,
                                              page_checks: Checks) -> None:
    page = context.new_page()
    dashboard.sign_in_page(page, "ada", beside="nia")
    expect(page.get_by_text("the door sensor was not working")).to_be_visible()
    page_checks(page, "resident-me-entries")
    assert small_targets(page) == []


def _focused(page: Page) -> dict[str, str]:
    return page.evaluate("""() => { const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), id: el.id || '', name: el.name || '', value: el.value || '',
                text: (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' '),
                outline: getComputedStyle(el).outlineStyle}; }""")


def tab_to(page: Page, wanted: Callable[[dict[str, str]], bool], what: str, most: int = 40) -> dict[str, str]:
    """Press Tab until the focused element is `wanted`; fail if it never comes."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if wanted(focused):
            assert focused["outline"] != "none", f"{what} has no visible focus"
            return focused
    raise AssertionError(f"Tab never reached {what}")


def test_the_resident_flow_by_keyboard_alone(dashboard: Dashboard, context: BrowserContext) -> None:
    """Tab to move, typing to fill a field, Enter or Space to act. Inside the group of radio buttons, the arrow
    keys move the choice: a radio group is one Tab stop, as the browser (and WAI-ARIA) makes every radio group."""
    page = context.new_page()
    page.goto("/sign-in")
    for field, value in (("username", "ada"), ("password", "correct horse battery"),
                         ("staff_username", "sam"), ("staff_password", "correct horse battery")):
        tab_to(page, lambda focused, field=field: focused["id"] == field, field)
        page.keyboard.type(value)
    tab_to(page, lambda focused: focused["text"] == "Sign in", "the Sign in button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")

    tab_to(page, lambda focused: focused["text"] == "Change what I asked for", "the change link")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change what I asked for")
    tab_to(page, lambda focused: focused["name"] == "wait", "the wait choices")
    assert _focused(page)["value"] == "30"  # the group's Tab stop is the answer in force
    page.keyboard.press("ArrowUp")
    assert _focused(page)["value"] == "20"
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="20 seconds")).to_be_checked()
    tab_to(page, lambda focused: focused["text"] == "Save", "the Save button")
    page.keyboard.press("Enter")

    # Back on the page: the skip link leads straight to the confirmation, the first thing in the main content.
    expect(page.get_by_role("status")).to_have_text("Saved. Your door now waits 20 seconds.")
    page.keyboard.press("Tab")
    assert _focused(page)["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "main"
    assert page.evaluate("() => document.activeElement.firstElementChild.textContent.trim()") == \
        "Saved. Your door now waits 20 seconds."
    [latest] = versions(dashboard, "ada")
    assert (latest.wait_s, latest.basis, latest.supporter_staff_id) == (20, "with_support", "sam")
