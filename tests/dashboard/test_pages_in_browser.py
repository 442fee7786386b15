"""The pages in a real browser (Debian's Chromium): each role signs in through the form and lands on its own page,
and every page so far has no WCAG 2.2 AA violation that axe-core finds, at a desktop and at a phone width
(screenshots in test-output/screenshots/)."""

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from hub.db.models import Account
from tests.dashboard.conftest import Dashboard, sign_in_form
from tests.hub.conftest import TEST_PASSWORD

Checks = Callable[[Page, str], None]


@pytest.fixture
def context(browser: Browser, dashboard: Dashboard) -> Iterator[BrowserContext]:
    opened = browser.new_context(base_url=dashboard.url)
    yield opened
    opened.close()


def test_each_role_signs_in_and_lands_on_its_own_page(dashboard: Dashboard, browser: Browser,
                                                      page_checks: Checks) -> None:
    landings = {"ada": ("/me", "Hello, Ada"), "sam": ("/board", "Night board"), "nia": ("/board", "Night board"),
                "meg": ("/manage", "Manage Oakwood"), "admin": ("/admin", "Admin")}
    for who, (landing, heading) in landings.items():
        context = browser.new_context(base_url=dashboard.url)
        page = context.new_page()
        page.goto("/")
        expect(page).to_have_url(f"{dashboard.url}/sign-in?next=%2F")
        if who == "ada":
            page_checks(page, "sign-in")
            sign_in_form(page, "ada", "not the password")
            expect(page.get_by_role("alert")).to_contain_text("That did not work")
            page_checks(page, "sign-in-failed")
            # Not on her room's tablet: a member of staff signs in beside her.
            sign_in_form(page, "ada", staff=("sam", TEST_PASSWORD))
        else:
            dashboard.sign_in_page(page, who)
        expect(page).to_have_url(f"{dashboard.url}{landing}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page_checks(page, landing.strip("/"))
        if who == "sam":
            page.get_by_role("link", name="My record").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("My record")
            page_checks(page, "my-record")
        page.get_by_role("link", name="Data use").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("What Threshold records")
        page_checks(page, f"data-use-{who}" if who == "ada" else "data-use")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
        context.close()


def test_error_tablet_and_enrolment_pages(dashboard: Dashboard, context: BrowserContext, page_checks: Checks) -> None:
    page = context.new_page()
    dashboard.sign_in_page(page, "nia")
    page.goto("/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for this account")
    page_checks(page, "error-403")
    page.goto("/nowhere")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page_checks(page, "error-404")
    page.goto("/board")
    page.get_by_role("link", name="Tablet for room-12").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tablet for room-12")
    page_checks(page, "tablet")
    page.get_by_role("button", name="Pair this device with room-12").click()
    expect(page.get_by_role("status")).to_contain_text("This tablet is paired with room-12")
    page_checks(page, "sign-in-on-a-tablet")
    # On the paired tablet, Ada signs in alone.
    sign_in_form(page, "ada")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    page.get_by_role("button", name="Sign out").click()

    with dashboard.people.sessions() as session:
        max_ = session.scalars(select(Account).where(Account.username == "max")).one()
        max_.totp_secret = max_.totp_enrolled_at = None
        session.commit()
    sign_in_form(page, "max")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your second factor")
    page_checks(page, "second-factor")
