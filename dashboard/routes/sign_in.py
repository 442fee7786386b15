"""Signing in and out, and enrolling a second factor.

Everyone signs in with their username and password. Managers and admins add the code from their authenticator
app; until they have one, their session reaches only the enrolment page. A resident signs in only on the tablet
paired to their own room, or with a member of staff of their home beside them who signs in with them (recorded on
the session). The rules are hub/people/sign_in.py's, which the API's token endpoint follows too. Every failure gets
the same message, and counts towards the rate limits per username and address.
"""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import (
    ENROL_PATH,
    LANDING,
    OptionalViewerDep,
    SignedInDep,
    Viewer,
    clear_session_cookie,
    local_path,
    page_for,
    see_other,
    set_session_cookie,
)
from hub.api.deps import SessionDep, SettingsDep, client_address, sign_in_limits
from hub.db.models import AccountRole
from hub.people.errors import Conflict, PeopleError
from hub.people.passwords import MAX_PASSWORD_BYTES
from hub.people.second_factor import (
    NEEDS_SECOND_FACTOR,
    confirm_enrolment,
    enrolled,
    pending_secret,
    provisioning_uri,
)
from hub.people.sign_in import Admitted, Attempt, admit, record_outcome
from hub.people.sign_in_limits import retry_after
from hub.people.tablets import TABLET_COOKIE, tablet_room
from hub.people.web_sessions import EndedReason, SignInMethod, end_session, start_session

router = APIRouter(include_in_schema=False)

FAILED = ("That did not work. Check the username and password (and the code from your app, if you use one) and "
          "try again.")

Username = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD_BYTES)]
MaybeUsername = Annotated[str, Form(max_length=64)]


def _same_origin(request: Request) -> bool:
    """A browser names the page a form came from; a sign-in posted from another site is refused (login CSRF)."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.url.netloc


def _form(request: Request, session: Session, next_page: str, *, error: str = "", status_code: int = 200,
          headers: dict[str, str] | None = None, username: str = "") -> Response:
    cookie = request.cookies.get(TABLET_COOKIE)
    pairing = tablet_room(session, cookie) if cookie else None
    return render(request, "sign_in.html", {
        "next": next_page, "error": error, "username": username,
        "tablet_room": pairing.room_id if pairing else None,
        "second_factor_roles": sorted(role.value.replace("_", " ") for role in NEEDS_SECOND_FACTOR),
    }, viewer=None, status_code=status_code, headers=headers)


@router.get("/sign-in")
def get_sign_in(request: Request, viewer: OptionalViewerDep, session: SessionDep, next: str = "") -> Response:
    if viewer is not None and not viewer.web_session.enrolling:
        return see_other(local_path(next, viewer.landing))
    return _form(request, session, next)


@router.post("/sign-in")
def post_sign_in(request: Request, viewer: OptionalViewerDep, session: SessionDep, settings: SettingsDep,
                 username: Username, password: Password, totp: Annotated[str, Form(max_length=16)] = "",
                 staff_username: MaybeUsername = "", staff_password: Password = "",
                 next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    if not _same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Sign in from this site's own sign-in page.")
    attempt = Attempt(username, password, code=totp, tablet=request.cookies.get(TABLET_COOKIE),
                      staff_username=staff_username, staff_password=staff_password)
    address = client_address(request)
    wait = retry_after(session, attempt.usernames, address, sign_in_limits(settings))
    if wait is not None:
        minutes = -(-wait // 60)
        return _form(request, session, next, status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                     headers={"Retry-After": str(wait)}, username=username,
                     error=f"Too many tries. Wait {minutes} minute{'s' if minutes != 1 else ''} and try again.")
    admitted = admit(session, attempt)
    record_outcome(session, attempt, address, succeeded=isinstance(admitted, Admitted))
    if not isinstance(admitted, Admitted):
        session.commit()
        return _form(request, session, next, error=FAILED, status_code=status.HTTP_401_UNAUTHORIZED,
                     username=username)
    if viewer is not None:
        end_session(session, viewer.web_session, EndedReason.RENEWED)
    started = start_session(session, admitted.account, address=address, method=admitted.method,
                            beside_staff_id=admitted.beside_staff_id, enrolling=admitted.enrolling)
    session.commit()
    landing = LANDING[AccountRole(admitted.account.role)]
    response = see_other(ENROL_PATH if admitted.enrolling else local_path(next, landing))
    set_session_cookie(response, started)
    return response


@router.post("/sign-out")
def post_sign_out(viewer: SignedInDep, session: SessionDep) -> Response:
    end_session(session, viewer.web_session, EndedReason.SIGNED_OUT)
    session.commit()
    response = redirect_with_flash("/sign-in", "You are signed out.")
    clear_session_cookie(response)
    return response


SecondFactorDep = Annotated[Viewer, Depends(page_for(*NEEDS_SECOND_FACTOR))]


def _enrolment(request: Request, session: Session, viewer: Viewer, *, error: str = "",
               status_code: int = 200) -> Response:
    if enrolled(viewer.account):
        return render(request, "totp.html", {"enrolled": True, "error": error}, viewer=viewer,
                      status_code=status_code)
    secret = pending_secret(session, viewer.account)
    session.commit()
    return render(request, "totp.html", {
        "enrolled": False, "error": error, "secret": secret,
        "secret_groups": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "uri": provisioning_uri(viewer.account, secret),
    }, viewer=viewer, status_code=status_code)


@router.get(ENROL_PATH)
def get_enrolment(request: Request, viewer: SecondFactorDep, session: SessionDep) -> Response:
    return _enrolment(request, session, viewer)


@router.post(ENROL_PATH)
def post_enrolment(request: Request, viewer: SecondFactorDep, session: SessionDep,
                   code: Annotated[str, Form(max_length=16)]) -> Response:
    try:
        confirm_enrolment(session, viewer.account, code)
    except Conflict as error:
        return _enrolment(request, session, viewer, error=error.detail, status_code=status.HTTP_409_CONFLICT)
    except PeopleError as error:
        return _enrolment(request, session, viewer, error=error.detail, status_code=status.HTTP_400_BAD_REQUEST)
    # A session that has just gained its second factor gets a new id, like any sign-in.
    end_session(session, viewer.web_session, EndedReason.RENEWED)
    started = start_session(session, viewer.account, address=client_address(request), method=SignInMethod.PASSWORD)
    session.commit()
    response = redirect_with_flash(viewer.landing, "Your second factor is set up: sign in with a code from now on.")
    set_session_cookie(response, started)
    return response
