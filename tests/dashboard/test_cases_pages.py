"""Cases: opened from the page as POST /api/v1/cases opens them, listed, and exported as the bundle zip — with and
without script — which the standalone verifier inside it accepts. And the issue's flow in a real browser: a
manager opens a timeline and exports a case."""

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import select

from hub.db.models import Case, PendingHubEvent
from tests.dashboard.conftest import Dashboard
from tests.dashboard.nights import NIGHT, store_night

Checks = Callable[[Page, str], None]
CASE_FORM = {"room": "room-12", "from": "2026-07-15T22:00", "to": "2026-07-15T23:00",
             "reason": "A family's question about the night"}


def post(dashboard: Dashboard, who: str, path: str, form: dict[str, Any]) -> Any:
    signed = dashboard.signed_in(who)
    with dashboard.client() as client:
        return client.post(path, data={**form, "csrf_token": signed.csrf_token}, headers=signed.headers)


def get(dashboard: Dashboard, who: str, path: str, params: dict[str, Any] | None = None) -> Any:
    with dashboard.client() as client:
        return client.get(path, params=params, headers=dashboard.signed_in(who).headers)


def reads(dashboard: Dashboard) -> list[dict[str, Any]]:
    with dashboard.people.sessions() as session:
        return [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read").order_by(PendingHubEvent.id))]


def verified_by_its_own_verifier(bundle: Path, tmp_path: Path) -> str:
    """Run the verifier the bundle carries, as an outside body would: the file alone, by path."""
    with zipfile.ZipFile(bundle) as archive:
        assert {"manifest.json", "events.jsonl", "keys.json", "verify_bundle.py", "timeline.pdf"} <= set(
            archive.namelist())
        verifier = tmp_path / "verify_bundle.py"
        verifier.write_bytes(archive.read("verify_bundle.py"))
    run = subprocess.run([sys.executable, str(verifier), str(bundle)], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_a_manager_opens_a_case_from_the_form_and_it_is_listed_on_the_homes_clock(dashboard: Dashboard) -> None:
    prefilled = get(dashboard, "meg", "/cases", {"room": "room-12", "from": "2026-07-15T22:00",
                                                 "to": "2026-07-15T23:00"})
    assert prefilled.status_code == 200
    assert 'value="room-12" checked' in prefilled.text and 'value="2026-07-15T22:00"' in prefilled.text
    opened = post(dashboard, "meg", "/cases", {**CASE_FORM, "staff": ["sam", "nia"]})
    assert opened.status_code == 303, opened.text
    with dashboard.people.sessions() as session:
        [case] = session.scalars(select(Case)).all()
    assert opened.headers["location"] == f"/cases#case-{case.id}"
    assert (case.site, case.rooms, case.staff, case.opened_by) == ("oakwood", ["room-12"], ["nia", "sam"], "meg")
    assert case.window_from.isoformat() == "2026-07-15T21:00:00+00:00"  # 22:00 BST, as typed on the home's clock
    listed = unescape(get(dashboard, "meg", "/cases").text)
    assert f"Case {case.id} (open)" in listed and "A family's question about the night" in listed
    assert "15 Jul 2026 22:00:00 BST to 15 Jul 2026 23:00:00 BST" in listed
    assert [read["what"] for read in reads(dashboard)] == ["case.opened"]
    assert f"Case {case.id}" not in get(dashboard, "max", "/cases").text  # Elmfield's manager


@pytest.mark.parametrize(("form", "message"), [
    ({**CASE_FORM, "room": []}, "A case names at least one room or one member of staff."),
    ({**CASE_FORM, "room": "room-01"}, "Not a room of oakwood: room-01."),  # Elmfield's
    ({**CASE_FORM, "room": [], "staff": "eve"}, "Not a member of staff of oakwood: eve."),
    ({**CASE_FORM, "to": "2026-07-15T21:00"}, "The window must end after it starts."),
    ({**CASE_FORM, "from": "last tuesday"}, "'last tuesday' is not an ISO 8601 time."),
    ({**CASE_FORM, "to": ""}, "Give the window's end."),
    ({**CASE_FORM, "reason": ""}, "The reason: string should have at least 1 character."),
    ({**CASE_FORM, "reason": "   "}, "A case records why it was opened."),
])
def test_a_case_the_form_cannot_open_is_refused_with_the_form_kept(dashboard: Dashboard, form: dict[str, Any],
                                                                   message: str) -> None:
    refused = post(dashboard, "meg", "/cases", form)
    assert refused.status_code == 400
    page = unescape(refused.text)
    assert message in page and 'role="alert"' in page
    assert f'value="{form["reason"]}"' in page or f">{form['reason']}</textarea>" in page
    with dashboard.people.sessions() as session:
        assert session.scalars(select(Case)).all() == []
    assert reads(dashboard) == []


def test_the_export_form_answers_with_the_bundle_which_verifies(dashboard: Dashboard, tmp_path: Path) -> None:
    store_night(dashboard.people.sessions)
    assert post(dashboard, "meg", "/cases", CASE_FORM).status_code == 303
    with dashboard.people.sessions() as session:
        [case] = session.scalars(select(Case)).all()
    assert post(dashboard, "max", f"/cases/{case.id}/export", {}).status_code == 403  # another home's manager
    assert post(dashboard, "meg", "/cases/999999/export", {}).status_code == 404
    exported = post(dashboard, "meg", f"/cases/{case.id}/export", {})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    assert exported.headers["content-disposition"] == f'attachment; filename="case-{case.id}.zip"'
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(exported.content)
    assert verified_by_its_own_verifier(bundle, tmp_path).startswith("VALID")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert b"knock.requested" in archive.read("events.jsonl")
    assert [read["what"] for read in reads(dashboard)] == ["case.opened", "case.exported"]


def test_a_manager_opens_a_timeline_and_exports_a_case(dashboard: Dashboard, browser: Browser,
                                                       page_checks: Checks, tmp_path: Path) -> None:
    store_night(dashboard.people.sessions)
    context = browser.new_context(base_url=dashboard.url, accept_downloads=True)
    try:
        page = context.new_page()
        dashboard.sign_in_page(page, "meg")  # with the code from her authenticator
        expect(page.get_by_role("heading", level=1)).to_have_text("Manage Oakwood")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Timelines").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Timelines")
        page.get_by_label("A room").check()
        page.get_by_label("Room", exact=True).select_option("room-12")
        page.get_by_label("Night starting on").fill(NIGHT.isoformat())
        page.get_by_label("Why you are looking (optional)").fill("A family's question about the night")
        page.get_by_role("button", name="Show the timeline").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Timeline: Room room-12")
        picture = page.get_by_role("img", name="Timeline of Room room-12")
        expect(picture).to_be_visible()
        expect(picture.locator("rect.shade")).to_have_count(4)  # before, the gap, the silence, after
        events = page.get_by_role("region", name="Every event")
        expect(events.get_by_role("row")).to_have_count(11)  # a header and ten events
        expect(events.get_by_role("row").nth(3)).to_contain_text("15 Jul 2026 22:02:00 BST")
        expect(page.get_by_text("2 events never received (seq 8–9): from 15 Jul 2026 22:04:00 BST")).to_be_visible()
        page_checks(page, "timelines")

        page.get_by_role("link", name="Open a case for this room").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
        expect(page.get_by_label("room-12")).to_be_checked()
        expect(page.get_by_label("From")).to_have_value("2026-07-15T20:00")
        page.get_by_label("Why the case is opened").fill("A family's question about the night")
        page.get_by_role("button", name="Open the case").click()
        expect(page.get_by_role("status").first).to_contain_text("is open")
        with dashboard.people.sessions() as session:
            [case] = session.scalars(select(Case)).all()
        page_checks(page, "cases")

        # The export is held back at the network for a moment: the page says what is happening, and stays usable.
        held: list[Route] = []
        page.route("**/api/v1/cases/*/export", lambda route: held.append(route))
        status = page.locator(f"#case-{case.id}").get_by_role("status")
        with page.expect_download() as downloading:
            page.get_by_role("button", name=f"Export case {case.id} as a zip file").click()
            expect(status).to_have_text("Preparing the export… You can keep using this page.")
            page.get_by_label("Why the case is opened").fill("typing while it is prepared")
            assert len(held) == 1
            held[0].continue_()
        expect(status).to_have_text(f"The export is ready: case-{case.id}.zip has been downloaded.")
        download = downloading.value
        assert download.suggested_filename == f"case-{case.id}.zip"
        bundle = tmp_path / download.suggested_filename
        download.save_as(bundle)
        assert verified_by_its_own_verifier(bundle, tmp_path).startswith("VALID")
        with zipfile.ZipFile(bundle) as archive:
            assert "manifest.json" in archive.namelist()
            assert archive.read("case.json").decode().count("A family's question about the night") == 1
    finally:
        context.close()
    assert [(read["what"], read["query"].get("reason")) for read in reads(dashboard)] == [
        ("entries.review", None), ("night_summary", None),  # her landing page, /manage
        ("timeline.room", "A family's question about the night"),
        ("case.opened", "A family's question about the night"), ("case.exported", None)]
