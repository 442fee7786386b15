"""What each landing page and the own-record page show: real data of the viewer's own home, nobody else's (the
night board's own tests are in test_board.py)."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hub.db.models import PendingHubEvent
from tests.dashboard.conftest import Dashboard
from tests.dashboard.nights import decided_entry

LONDON = ZoneInfo("Europe/London")


def page(dashboard: Dashboard, who: str, path: str) -> str:
    with dashboard.client() as client:
        response = client.get(path, headers=dashboard.signed_in(who).headers)
    assert response.status_code == 200, response.text
    return response.text


def test_the_resident_page_says_what_they_asked_in_their_words(dashboard: Dashboard) -> None:
    assert "they wait 30 seconds for my answer" in page(dashboard, "ada", "/me")  # the default
    ada = dashboard.signed_in("ada")
    with dashboard.client() as client:
        for wait_s in (90, None):
            recorded = client.post("/api/v1/residents/ada/preferences",
                                   json={"basis": "own_choice", "preferences": {"wait_s": wait_s}},
                                   headers={**ada.headers, "X-CSRF-Token": ada.csrf_token})
            assert recorded.status_code == 201
            mine = page(dashboard, "ada", "/me")
            expected = "they wait 90 seconds" if wait_s else "Nobody comes in without it."
            assert expected in mine and "Hello, Ada" in mine and "My room is room-12" in mine
    assert "Nobody comes in" not in page(dashboard, "cy", "/me")


def test_my_record_is_my_own_night_and_the_look_is_recorded(dashboard: Dashboard) -> None:
    night = date(2026, 11, 1)
    opened = datetime.combine(night, time(23, 0), tzinfo=LONDON).astimezone(UTC)
    decided_entry(dashboard.people.sessions, opened, "sam", outcome="permitted", reason="consent",
                  sentence="entry by sam", waited_ms=12_000, inside_ms=300_000)
    decided_entry(dashboard.people.sessions, opened, "nia", review=True, sentence="entry by nia")
    record = page(dashboard, "sam", f"/my-record?night={night.isoformat()}")
    assert "Sunday 01 November 2026" in record
    assert "entry by sam" in record and "entry by nia" not in record
    assert "01 Nov 2026, 23:00" in record  # on the home's clock
    assert "12 seconds" in record and "5 minutes" in record
    with dashboard.people.sessions() as session:
        reads = [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read"))]
    assert [(read["by"], read["what"], read["query"]["staff"]) for read in reads] == [("sam", "timeline.staff", "sam")]


def test_the_manager_sees_what_waits_for_review_and_the_admin_the_homes(dashboard: Dashboard) -> None:
    decided_entry(dashboard.people.sessions, datetime.now(UTC), "sam", review=True)
    decided_entry(dashboard.people.sessions, datetime.now(UTC), "nia", outcome="permitted", reason="consent")
    manage = page(dashboard, "meg", "/manage")
    assert '<span class="count">1</span> entry to review' in manage
    assert '<span class="count">0</span> entries to review' in page(dashboard, "max", "/manage")  # Elmfield's
    admin = page(dashboard, "admin", "/admin")
    assert "Oakwood" in admin and "Elmfield" in admin and "Europe/London" in admin
