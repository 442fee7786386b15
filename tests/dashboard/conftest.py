"""The dashboard's test parts: the hub's app served for real (uvicorn, the test's broker and database) with the
`people` fixture's homes and an account for every role, managers' and admins' second factors enrolled; Debian's
Chromium driven by playwright; and `page_checks`, which holds a page to axe-core's WCAG 2.2 AA rules at a desktop
and a phone width and saves a screenshot of each under test-output/screenshots/."""

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from hub.api.app import create_app
from hub.core.config import HubSettings
from hub.db.models import Account
from hub.people.web_sessions import SESSION_COOKIE, SignInMethod, start_session
from tests.hub.api.conftest import serving
# The hub's own fixtures, used here as they are: a migrated database on each engine, the people, the settings.
from tests.hub.conftest import (  # noqa: F401
    TEST_PASSWORD,
    People,
    engine,
    hub_settings,
    migrated_url,
    people,
    sessions,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SECOND_FACTOR = ("meg", "max", "admin")
"""The people fixture's managers and admin: enrolled, as every manager and admin must be before using a page."""


@dataclass(frozen=True)
class SignedInCookie:
    """A dashboard session made directly (as a sign-in would make it): its cookie value and CSRF token."""

    cookie: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        """For an HTTP client: the cookie by hand, since a client's jar keeps a Secure cookie off plain http."""
        return {"Cookie": f"{SESSION_COOKIE}={self.cookie}"}


@dataclass
class Dashboard:
    url: str
    app: FastAPI
    settings: HubSettings
    people: People

    def account(self, username: str) -> Account:
        with self.people.sessions() as session:
            return session.scalars(select(Account).where(Account.username == username)).one()

    def totp_code(self, username: str) -> str:
        """A code the account's authenticator would show that the hub has not yet accepted (a code works once):
        waits for the next 30-second step when this one and the next are both used."""
        account = self.account(username)
        assert account.totp_secret is not None, f"{username} has no second factor"
        totp = pyotp.TOTP(account.totp_secret)
        while True:
            step = max(totp.timecode(datetime.now(UTC)), (account.totp_last_step or -1) + 1)
            if step <= totp.timecode(datetime.now(UTC)) + 1:
                return totp.generate_otp(step)
            time.sleep(1)

    def signed_in(self, username: str) -> SignedInCookie:
        with self.people.sessions() as session:
            account = session.scalars(select(Account).where(Account.username == username)).one()
            started = start_session(session, account, address="127.0.0.1", method=SignInMethod.PASSWORD)
            session.commit()
            return SignedInCookie(started.cookie, started.record.csrf_token)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    def sign_in_page(self, page: Page, username: str, *, beside: str | None = None) -> None:
        """Sign `username` in through the form, as a person would: with a current code when they have a second
        factor; a resident (not on their room's tablet) with `beside`, a member of staff of their home."""
        page.goto(f"{self.url}/sign-in")
        code = self.totp_code(username) if self.account(username).totp_enrolled_at else ""
        sign_in_form(page, username, code=code, staff=(beside, TEST_PASSWORD) if beside else None)


def text_of(page_html: str) -> str:
    """What a person reads: the page without its tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page_html)))


def enrol_second_factors(people: People, usernames: tuple[str, ...]) -> None:
    with people.sessions() as session:
        for account in session.scalars(select(Account).where(Account.username.in_(usernames))):
            account.totp_secret = pyotp.random_base32()
            account.totp_enrolled_at = datetime.now(UTC)
        session.commit()


@pytest.fixture
def dashboard(hub_settings: HubSettings, people: People) -> Iterator[Dashboard]:
    """The hub (API and pages) served by uvicorn on the test's database and broker."""
    enrol_second_factors(people, SECOND_FACTOR)
    app = create_app(hub_settings)
    with serving(app) as url:
        yield Dashboard(url, app, hub_settings, people)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, one for the whole run (each test opens its own context: its own cookies)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


def _violations(found: list[dict]) -> str:
    return "\n".join(f"{item['id']} ({item['impact']}): {item['help']} — "
                     + "; ".join(" ".join(node["target"]) for node in item["nodes"]) for item in found)


@pytest.fixture
def page_checks(axe: Axe) -> Callable[[Page, str], None]:
    """Check the page as it is now: axe-core finds no WCAG 2.2 AA violation at either width, and a screenshot of
    each width is saved for a person to look at."""

    def check(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width_name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
            violations = results.response["violations"]
            assert violations == [], f"{name} at {width_name} width:\n{_violations(violations)}"
            page.screenshot(path=SCREENSHOTS / f"{name}-{width_name}.png", full_page=True)

    return check


def sign_in_form(page: Page, username: str, password: str = TEST_PASSWORD, *, code: str = "",
                 staff: tuple[str, str] | None = None) -> None:
    """Fill and send the sign-in form as a person would (the page must be open)."""
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    if code:
        page.get_by_label("Code from your authenticator app").fill(code)
    if staff is not None:
        page.get_by_label("Staff member's username").fill(staff[0])
        page.get_by_label("Staff member's password").fill(staff[1])
    page.get_by_role("button", name="Sign in").click()
