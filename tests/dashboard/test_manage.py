"""/manage: entries to review with the named member of staff's explanation (given on their own record page, by
them alone), the night summary's numbers, and best-interests decisions due for review."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from hub.db.models import Account, EntryExplanation, PendingHubEvent, PreferenceVersion
from hub.rules.alerts import AlertType
from tests.dashboard.conftest import Dashboard
from tests.dashboard.nights import decided_entry
from tests.hub.api.conftest import add_alert

LONDON = ZoneInfo("Europe/London")
Checks = Callable[[Page, str], None]


def page(dashboard: Dashboard, who: str, path: str, status: int = 200) -> str:
    with dashboard.client() as client:
        response = client.get(path, headers=dashboard.signed_in(who).headers)
    assert response.status_code == status, response.text
    return unescape(response.text)


def post(dashboard: Dashboard, who: str, path: str, form: dict[str, str]) -> Any:
    signed = dashboard.signed_in(who)
    with dashboard.client() as client:
        return client.post(path, data={**form, "csrf_token": signed.csrf_token}, headers=signed.headers)


NIGHT = date.today() - timedelta(days=2)
"""A recent night: its entries are within the fortnight /manage lists."""


def on_night(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(NIGHT, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def test_entries_to_review_show_the_named_staff_members_explanation(dashboard: Dashboard) -> None:
    by_sam = decided_entry(dashboard.people.sessions, on_night(22), "sam", sentence="Entry recorded with no knock before the door opened.")
    decided_entry(dashboard.people.sessions, on_night(23), "nia", outcome="permitted", reason="emergency", review=True,
          sentence="Emergency entry: the help call was open.")
    decided_entry(dashboard.people.sessions, on_night(23, 30), "sam", outcome="permitted", reason="consent", sentence="Entered after come in.")

    mine = page(dashboard, "sam", f"/my-record?night={NIGHT.isoformat()}")
    assert mine.count("Explain this entry") == 2 and f'action="/my-record/entries/{by_sam}/explanations"' in mine
    given = post(dashboard, "sam", f"/my-record/entries/{by_sam}/explanations",
                 {"text": "Ada called out for help; I went straight in.", "night": NIGHT.isoformat()})
    assert given.status_code == 303
    assert given.headers["location"] == f"/my-record?night={NIGHT.isoformat()}#entry-{by_sam}"
    assert "Ada called out for help; I went straight in." in page(dashboard, "sam", given.headers["location"])
    assert post(dashboard, "sam", f"/my-record/entries/{by_sam}/explanations",
                {"text": "I had knocked, but the knock did not register.", "night": NIGHT.isoformat()}
                ).status_code == 303

    manage = page(dashboard, "meg", "/manage")
    assert '<span class="count">2</span> entries to review' in manage
    emergency_at, sams_at = manage.index("Emergency entry: the help call was open."), manage.index(
        "Entry recorded with no knock before the door opened.")
    assert emergency_at < sams_at  # newest first
    assert "Entered after come in." not in manage  # permitted: nothing to review
    sams = manage[sams_at:]
    assert sams.index("Ada called out for help; I went straight in.") < sams.index(
        "I had knocked, but the knock did not register.")  # both kept, the first first
    assert "Member of staff named: Sam." in sams and "Recorded without the resident's permission." in sams
    assert f"Sam, {datetime.now(UTC).astimezone(LONDON):%d %b %Y}" in sams  # when it was given
    assert "Emergency entry: always reviewed." in manage and "No explanation from Nia yet." in manage
    opened = on_night(23).astimezone(LONDON)
    assert "/timelines?" + urlencode({"view": "room", "room": "room-12",
                                      "from": (opened - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                                      "to": (opened + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}) in manage
    with dashboard.people.sessions() as session:
        chained = session.scalars(select(PendingHubEvent.data).where(
            PendingHubEvent.type == "hub.entry.explained")).all()
    assert [(event["door_opened"], event["staff"]) for event in chained] == [(by_sam, "sam"), (by_sam, "sam")]


def test_only_the_member_of_staff_an_entry_names_may_explain_it(dashboard: Dashboard) -> None:
    by_sam = decided_entry(dashboard.people.sessions, on_night(22), "sam")
    for who, status in (("nia", 403), ("meg", 403), ("eve", 403), ("ada", 403)):
        refused = post(dashboard, who, f"/my-record/entries/{by_sam}/explanations", {"text": "it was me"})
        assert refused.status_code == status, (who, refused.text)
    assert "only the member of staff this entry names may explain it" in unescape(
        post(dashboard, "nia", f"/my-record/entries/{by_sam}/explanations", {"text": "it was me"}).text)
    assert post(dashboard, "sam", "/my-record/entries/999999/explanations", {"text": "x"}).status_code == 404
    assert post(dashboard, "sam", f"/my-record/entries/{by_sam}/explanations", {"text": "   "}).status_code == 400
    with dashboard.people.sessions() as session:
        assert session.scalars(select(EntryExplanation)).all() == []
    # Without the form's CSRF token, nothing is recorded either.
    with dashboard.client() as client:
        forged = client.post(f"/my-record/entries/{by_sam}/explanations", data={"text": "forged"},
                             headers=dashboard.signed_in("sam").headers)
    assert forged.status_code == 403


def test_the_night_summary_counts_entries_and_times_alerts_took(dashboard: Dashboard) -> None:
    night = date(2026, 11, 19)  # London on GMT: 20:00 to 08:00 UTC
    at = datetime.combine(night, time(23, 0), tzinfo=LONDON).astimezone(UTC)
    decided_entry(dashboard.people.sessions, at, "sam")
    decided_entry(dashboard.people.sessions, at + timedelta(minutes=10), "nia", outcome="permitted", reason="emergency", review=True)
    decided_entry(dashboard.people.sessions, at + timedelta(minutes=20), "sam", outcome="permitted", reason="consent")
    sessions = dashboard.people.sessions
    add_alert(sessions, "a1", raised_at=at, acknowledged_at=at + timedelta(seconds=60), acknowledged_by="sam",
              resolved_at=at + timedelta(minutes=10), resolved_by="sam", cleared_at=at + timedelta(minutes=10))
    add_alert(sessions, "a2", subject="oakwood/room-14", room="room-14", raised_at=at + timedelta(hours=1),
              acknowledged_at=at + timedelta(hours=1, seconds=120), acknowledged_by="nia")
    add_alert(sessions, "a3", type=AlertType.DEVICE_OFFLINE, subject="device:door-x", room=None,
              raised_at=at + timedelta(hours=2))
    add_alert(sessions, "a4", subject="oakwood/room-12/late", raised_at=at + timedelta(days=1))  # another night

    manage = page(dashboard, "meg", f"/manage?night={night.isoformat()}")
    assert "The night of Thursday 19 November 2026, 20:00 to 08:00 the next morning" in manage
    summary = manage[manage.index("The night of Thursday"):]
    assert "<dt>Entries</dt><dd>3: 2 permitted, 1 recorded without the resident's permission</dd>" in summary
    assert "<dt>Doors not heard from</dt><dd>1</dd>" in summary
    assert "<dt>Alerts raised</dt><dd>3</dd>" in summary
    assert "<dt>Time to acknowledge</dt><dd>2 of 3 acknowledged; median 1 min 30 s, longest 2 min.</dd>" in summary
    assert "<dt>Time to resolve</dt><dd>1 of 3 resolved; median 10 min, longest 10 min.</dd>" in summary
    with dashboard.people.sessions() as session:
        reads = [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read").order_by(PendingHubEvent.id))]
    assert [(read["what"], read["query"].get("date")) for read in reads] == [
        ("entries.review", None), ("night_summary", "2026-11-19")]
    quiet = page(dashboard, "nia", "/manage?night=2026-11-10")
    assert "No alerts were raised." in quiet and "<dt>Entries</dt><dd>0: 0 permitted" in quiet
    assert "is not a date" in page(dashboard, "meg", "/manage?night=someday", status=400)


def test_best_interests_decisions_due_for_review_are_for_the_manager(dashboard: Dashboard) -> None:
    with dashboard.people.sessions() as session:
        meg = session.scalars(select(Account.id).where(Account.username == "meg")).one()
        # The review date has passed: written directly, as the API refuses a date already behind us.
        session.add(PreferenceVersion(
            resident_id="ben", version=1, created_at=datetime.now(UTC) - timedelta(days=90), set_by_account_id=meg,
            basis="best_interests", mca_reference="MCA-2026-031", review_date=date.today() - timedelta(days=1),
            wait_s=60, quiet_hours=[], dnd_allowed=True, not_now_hold_s=300, show_knocker=False, excluded_staff=[],
            night_checks=[]))
        session.commit()
    manage = page(dashboard, "meg", "/manage")
    assert '<span class="count">1</span> best-interests decision due for review' in manage
    due = manage[manage.index("Best-interests decisions due for review"):]
    assert "<td>Ben</td>" in due and "MCA-2026-031" in due
    assert (date.today() - timedelta(days=1)).strftime("%d %b %Y") in due
    assert "best-interests" not in page(dashboard, "nia", "/manage")  # the API gives that list to managers only
    assert "No best-interests decision is due" in page(dashboard, "max", "/manage")


def test_in_a_browser_sam_explains_his_entry_and_the_manager_reads_it(dashboard: Dashboard, browser: Browser,
                                                                     page_checks: Checks) -> None:
    decided_entry(dashboard.people.sessions, on_night(22), "sam", sentence="Entry recorded with no knock before the door opened.")
    decided_entry(dashboard.people.sessions, on_night(23), "nia", outcome="permitted", reason="emergency", review=True,
          sentence="Emergency entry: the help call was open.")
    for who in ("sam", "meg"):
        context = browser.new_context(base_url=dashboard.url)
        try:
            page = context.new_page()
            dashboard.sign_in_page(page, who)
            if who == "sam":
                page.goto(f"/my-record?night={NIGHT.isoformat()}")
                page.get_by_text("Explain this entry").click()
                page.get_by_label("What happened").fill("Ada called out for help; I went straight in.")
                page_checks(page, "my-record-explain")
                page.get_by_role("button", name="Record my explanation").click()
                expect(page.get_by_role("status")).to_contain_text("Your explanation is recorded")
                expect(page.get_by_text("Ada called out for help; I went straight in.")).to_be_visible()
            else:
                expect(page.get_by_role("heading", level=1)).to_have_text("Manage Oakwood")
                review = page.get_by_role("list", name="Entries to review").get_by_role("listitem")
                expect(review).to_have_count(2)
                expect(review.nth(1)).to_contain_text("Ada called out for help; I went straight in.")
                expect(review.nth(0)).to_contain_text("No explanation from Nia yet.")
                page_checks(page, "manage-to-review")
        finally:
            context.close()
