"""What routes depend on: a database session per request, the settings, and who is asking.

Who is asking comes from `Authorization: Bearer <token>` or, without one, from the dashboard's session cookie, so
the pages' JavaScript calls the same endpoints as any other client. A cookie is sent by the browser on its own,
so a cookie-signed request that changes anything (any method but GET, HEAD, OPTIONS) must also carry its session's
CSRF token: header `X-CSRF-Token`, or form field `csrf_token` for a form post. The checks on role and on whose
data are small dependencies a route names in its signature, so a route cannot forget one without it showing there.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from hub.api.broker import LiveLink
from hub.api.problems import problem
from hub.core.config import HubSettings
from hub.db.models import Account, AccountRole, Home, Resident, WebSession
from hub.people.accounts import CARERS, SignedIn, signed_in, signed_in_as, token_live
from hub.people.sign_in_limits import Limits
from hub.people.web_sessions import SESSION_COOKIE, Timeouts, csrf_matches, live_session

LEADS = frozenset({AccountRole.NIGHT_LEAD, AccountRole.MANAGER})
"""Roles that look back over a home's nights: entries, timelines, the night summary."""


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> HubSettings:
    return request.app.state.settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """For a streaming response, which outlives its request's own session."""
    return request.app.state.sessions


def get_live(request: Request) -> LiveLink:
    return request.app.state.live


def get_hub_key(request: Request) -> Ed25519PrivateKey:
    return request.app.state.hub_key


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[HubSettings, Depends(get_settings)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
LiveDep = Annotated[LiveLink, Depends(get_live)]
HubKeyDep = Annotated[Ed25519PrivateKey, Depends(get_hub_key)]

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/auth/token")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def presented_csrf_token(request: Request) -> str | None:
    """The CSRF token a state-changing request carries: the header, else a form post's field. Async because a
    form body is read by awaiting it (Starlette keeps it, so the route reads the same form)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def session_timeouts(settings: HubSettings) -> Timeouts:
    return Timeouts(idle=timedelta(minutes=settings.session_idle_minutes),
                    absolute=timedelta(hours=settings.session_absolute_hours))


def sign_in_limits(settings: HubSettings) -> Limits:
    return Limits(window=timedelta(minutes=settings.sign_in_window_minutes),
                  per_account=settings.sign_in_account_failures, per_address=settings.sign_in_address_failures)


def client_address(request: Request) -> str:
    """The address the rate limits count by (behind a proxy, run uvicorn with --proxy-headers so it is the
    client's, not the proxy's)."""
    return request.client.host if request.client else "unknown"


def cookie_session(request: Request, session: Session, settings: HubSettings) -> tuple[WebSession, Account] | None:
    """The live dashboard session the request's cookie names, committed as seen (or as ended by a timeout)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = live_session(session, cookie, session_timeouts(settings))
    session.commit()
    return found


def current_account(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    csrf_token: Annotated[str | None, Depends(presented_csrf_token)],
) -> SignedIn:
    """The signed-in account: by its bearer token when one is sent (it alone decides), else by the session
    cookie; 401 without either, 403 `csrf_failed` for a cookie-signed change without its CSRF token."""
    if credentials is not None:
        found = signed_in(session, credentials.credentials)
    else:
        by_cookie = cookie_session(request, session, settings)
        found = None
        # A session still to enrol its second factor opens nothing but the enrolment page.
        if by_cookie is not None and not by_cookie[0].enrolling:
            web_session, account = by_cookie
            if request.method not in SAFE_METHODS and not csrf_matches(web_session, csrf_token):
                raise problem(status.HTTP_403_FORBIDDEN, "csrf_failed",
                              f"a change made with the session cookie needs the page's {CSRF_HEADER} header")
            found = signed_in_as(session, account)
    if found is None:
        raise problem(status.HTTP_401_UNAUTHORIZED, "not_signed_in",
                      "send Authorization: Bearer <token> with a live token (POST /api/v1/auth/token)",
                      headers={"WWW-Authenticate": "Bearer"})
    return found


CallerDep = Annotated[SignedIn, Depends(current_account)]

StillSignedIn = Callable[[], bool]
"""Asks again whether the credential a request signed in with is still live."""


def credential_check(
    request: Request,
    settings: SettingsDep,
    sessions: SessionFactoryDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StillSignedIn:
    """For a response that outlasts its request (a live stream): the question whether the credential
    `current_account` went by (the bearer token when one was sent, else the session cookie) is still live, so the
    response ends when its token is revoked, its session ends or its account is disabled. One query each time
    (and, for a session, marking it seen now and then)."""
    if credentials is not None:
        token = credentials.credentials

        def token_still_live() -> bool:
            with sessions() as session:
                return token_live(session, token)

        return token_still_live
    cookie = request.cookies.get(SESSION_COOKIE, "")
    timeouts = session_timeouts(settings)

    def cookie_still_live() -> bool:
        # An open stream is a page in use (a night board on a carer's phone): it keeps its session from the idle
        # timeout, never from the absolute one, sign-out or a disabled account.
        with sessions() as session:
            found = live_session(session, cookie, timeouts)
            session.commit()
            return found is not None

    return cookie_still_live


StillSignedInDep = Annotated[StillSignedIn, Depends(credential_check)]


def require_role(*roles: AccountRole) -> Callable[[SignedIn], SignedIn]:
    """A dependency letting through only the given roles (403 for the others)."""
    allowed = frozenset(roles)

    def check(caller: CallerDep) -> SignedIn:
        if caller.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise problem(status.HTTP_403_FORBIDDEN, "role_not_allowed", f"this needs one of: {names}")
        return caller

    return check


AdminDep = Annotated[SignedIn, Depends(require_role(AccountRole.ADMIN))]
ManagerDep = Annotated[SignedIn, Depends(require_role(AccountRole.MANAGER))]


def _resident(session: Session, resident_id: str) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_resident", f"no resident {resident_id!r}")
    return resident


def _cares_for(caller: SignedIn, resident: Resident) -> bool:
    if caller.role == AccountRole.RESIDENT:
        return caller.account.resident_id == resident.id
    return caller.role in CARERS and caller.home_id == resident.home_id


def resident_in_care(resident_id: str, caller: CallerDep, session: SessionDep) -> Resident:
    """A resident whose personal data (preferences) the caller may see: themself, or the carers of their home.
    Not an admin: registering people is not a reason to read what they asked for."""
    resident = _resident(session, resident_id)
    if not _cares_for(caller, resident):
        raise problem(status.HTTP_403_FORBIDDEN, "not_your_resident",
                      "a resident's data is for them and the staff of their home")
    return resident


def resident_on_register(resident_id: str, caller: CallerDep, session: SessionDep) -> Resident:
    """A resident whose register entry (name, home, rooms) the caller may see: as above, or an admin."""
    resident = _resident(session, resident_id)
    if caller.role != AccountRole.ADMIN and not _cares_for(caller, resident):
        raise problem(status.HTTP_403_FORBIDDEN, "not_your_resident",
                      "a resident's data is for them, the staff of their home and admins")
    return resident


ResidentInCareDep = Annotated[Resident, Depends(resident_in_care)]
ResidentOnRegisterDep = Annotated[Resident, Depends(resident_on_register)]


def home_on_register(home_id: str, caller: CallerDep, session: SessionDep) -> Home:
    """A home whose register (rooms, residents, staff, roster) the caller may see: an admin, or its own carers."""
    home = session.get(Home, home_id)
    if home is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_home", f"no home {home_id!r}")
    if caller.role != AccountRole.ADMIN and not (caller.role in CARERS and caller.home_id == home.id):
        raise problem(status.HTTP_403_FORBIDDEN, "not_your_home", "a home's register is for its staff and admins")
    return home


HomeOnRegisterDep = Annotated[Home, Depends(home_on_register)]


@dataclass(frozen=True)
class AtHome:
    """A caller acting in a home they work in, with a role the route allows."""

    caller: SignedIn
    home: Home

    @property
    def staff_id(self) -> str:
        # Carers' accounts always name their staff member (ck_accounts_link).
        assert self.caller.account.staff_id is not None
        return self.caller.account.staff_id


def ensure_at_home(session: Session, caller: SignedIn, site: str, roles: frozenset[AccountRole]) -> AtHome:
    """The caller, in `site`, if they have one of `roles` and work there; 403 otherwise (before looking the home
    up, so a stranger cannot learn which homes exist)."""
    if caller.role not in roles:
        names = ", ".join(sorted(role.value for role in roles))
        raise problem(status.HTTP_403_FORBIDDEN, "role_not_allowed", f"this needs one of: {names}")
    if caller.home_id != site:
        raise problem(status.HTTP_403_FORBIDDEN, "not_your_home", "this is for the staff of that home")
    home = session.get(Home, site)
    if home is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_home", f"no home {site!r}")
    return AtHome(caller, home)


def home_scope(*roles: AccountRole) -> Callable[..., AtHome]:
    """A dependency for routes taking `?site=`: the caller must have one of `roles` in that home; without
    `site`, their own home."""
    allowed = frozenset(roles)

    def check(caller: CallerDep, session: SessionDep,
              site: Annotated[str | None, Query(max_length=64, description="Home (site) id; default: your own")]
              = None) -> AtHome:
        # Every carer's account belongs to a home, so only roles refused anyway can lack a default.
        return ensure_at_home(session, caller, site if site is not None else caller.home_id or "", allowed)

    return check


CarerAtHomeDep = Annotated[AtHome, Depends(home_scope(*CARERS))]
LeadAtHomeDep = Annotated[AtHome, Depends(home_scope(*LEADS))]
