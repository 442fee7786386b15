"""Who is looking at a page, and the one dependency every page names: `page_for(*roles)`.

`page_for` reads the session cookie (through the same lookup as the API's), sends someone not signed in to
/sign-in (303, with `next` for a GET), sends a manager or admin still to enrol a second factor to /account/totp,
checks the CSRF token of every form post (any method but GET/HEAD/OPTIONS), and refuses other roles with the 403
page. A route cannot skip the CSRF check: it is part of the dependency that gives it the viewer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hub.api.deps import SAFE_METHODS, SessionDep, SettingsDep, cookie_session, presented_csrf_token
from hub.core.config import HubSettings
from hub.db.models import Account, AccountRole, Home, WebSession
from hub.people.accounts import SignedIn, signed_in_as
from hub.people.web_sessions import SESSION_COOKIE, Started, csrf_matches

ENROL_PATH = "/account/totp"
ENROLLING_PATHS = frozenset({ENROL_PATH, "/sign-out"})
"""All a session waiting for its second factor may reach."""

LANDING = {
    AccountRole.RESIDENT: "/me",
    AccountRole.STAFF: "/board",
    AccountRole.NIGHT_LEAD: "/board",
    AccountRole.MANAGER: "/manage",
    AccountRole.ADMIN: "/admin",
}
"""Where each role starts after signing in, and where `/` sends them."""

EVERYONE = frozenset(AccountRole)


@dataclass(frozen=True)
class Viewer:
    """A signed-in person looking at a page: their account as the API sees it, their session, their home."""

    caller: SignedIn
    web_session: WebSession
    home: Home | None

    @property
    def account(self) -> Account:
        return self.caller.account

    @property
    def role(self) -> AccountRole:
        return self.caller.role

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token

    @property
    def landing(self) -> str:
        return LANDING[self.role]


class SignInNeeded(Exception):
    """Raised by a page dependency: answered with a 303 to `to` (the sign-in or enrolment page)."""

    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


def find_viewer(request: Request, session: Session, settings: HubSettings) -> Viewer | None:
    """The viewer the request's session cookie names, if it is live and its account enabled."""
    found = cookie_session(request, session, settings)
    if found is None:
        return None
    record, account = found
    caller = signed_in_as(session, account)
    if caller is None:
        return None
    return Viewer(caller, record, session.get(Home, caller.home_id) if caller.home_id else None)


def optional_viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer | None:
    return find_viewer(request, session, settings)


OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


def _sign_in_url(request: Request) -> str:
    if request.method not in SAFE_METHODS:
        return "/sign-in"
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in?" + urlencode({"next": here})


def page_for(*roles: AccountRole) -> Callable[..., Viewer]:
    """The dependency of a page (or form post) for `roles`."""
    allowed = frozenset(roles)

    def check(request: Request, viewer: OptionalViewerDep,
              csrf_token: Annotated[str | None, Depends(presented_csrf_token)]) -> Viewer:
        if viewer is None:
            raise SignInNeeded(_sign_in_url(request))
        if viewer.web_session.enrolling and request.url.path not in ENROLLING_PATHS:
            raise SignInNeeded(ENROL_PATH)
        if request.method not in SAFE_METHODS and not csrf_matches(viewer.web_session, csrf_token):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "This form had expired or did not come from this site. Go back, reload the page "
                                "and try again.")
        if viewer.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "This page is not for your account.")
        return viewer

    return check


SignedInDep = Annotated[Viewer, Depends(page_for(*EVERYONE))]


def set_session_cookie(response: Response, started: Started) -> None:
    """The session cookie: HttpOnly (no script reads it), Secure, SameSite=Strict (never sent from another site),
    and no Max-Age: the server's own timeouts end it."""
    response.set_cookie(SESSION_COOKIE, started.cookie, httponly=True, secure=True, samesite="strict", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=True, samesite="strict", path="/")


def local_path(target: str | None, fallback: str) -> str:
    """`target` if it is a path on this site, else `fallback`: `next` must not send anyone elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def see_other(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=status.HTTP_303_SEE_OTHER)
