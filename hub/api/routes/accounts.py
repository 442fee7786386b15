"""Accounts (made and disabled by an admin) and signing in for an API token."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hub.api.deps import AdminDep, CallerDep, SessionDep, SettingsDep, client_address, sign_in_limits
from hub.api.problems import PROBLEMS, people_change, problem
from hub.db.models import Account, AccountRole, Home
from hub.people.accounts import (
    MIN_PASSWORD_CHARS,
    SignedIn,
    accounts_of_home,
    create_account,
    disable_account,
    issue_token,
)
from hub.people.passwords import MAX_PASSWORD_BYTES
from hub.people.sign_in import Admitted, Attempt, Refused, admit, record_outcome
from hub.people.sign_in_limits import retry_after
from hub.people.tablets import TABLET_COOKIE
from protocol.events import MAX_SAFE_INT

router = APIRouter(tags=["accounts"], responses=PROBLEMS)


class AccountIn(BaseModel):
    """An account to make. A resident account names its resident; a staff, night lead or manager account names
    its staff member, whose role it must have; an admin account may name an admin staff member."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64, title="Username", description="3-64 characters of a-z, 0-9, '.', '_', '-'")
    password: str = Field(max_length=MAX_PASSWORD_BYTES, title="Password",
                          description=f"At least {MIN_PASSWORD_CHARS} characters; stored only as an argon2id hash.")
    role: AccountRole
    resident: str | None = Field(default=None, max_length=64, title="Resident id (resident accounts)")
    staff: str | None = Field(default=None, max_length=64, title="Staff id (staff accounts)")


class AccountOut(BaseModel):
    id: int
    username: str
    role: AccountRole
    resident: str | None
    staff: str | None
    disabled: bool


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    password: str = Field(max_length=MAX_PASSWORD_BYTES)
    totp: str | None = Field(default=None, max_length=16, title="Code from the authenticator app",
                             description="Required of a manager or admin, who enrols the app on the dashboard first.")
    staff_username: str | None = Field(
        default=None, max_length=64, title="Username of the member of staff beside the resident",
        description="A resident not on the tablet paired with their room signs in with a member of staff of their "
        "home beside them, who gives their own username and password here.")
    staff_password: str | None = Field(default=None, max_length=MAX_PASSWORD_BYTES,
                                       title="Password of the member of staff beside the resident")

    def attempt(self, tablet: str | None) -> Attempt:
        return Attempt(self.username, self.password, code=self.totp or "", tablet=tablet,
                       staff_username=self.staff_username or "", staff_password=self.staff_password or "")


class Token(BaseModel):
    token: str = Field(title="API token", description="Send as `Authorization: Bearer <token>`. Shown only now.")
    token_type: str = Field(default="bearer")
    account: AccountOut


def account_out(account: Account) -> AccountOut:
    return AccountOut(id=account.id, username=account.username, role=AccountRole(account.role),
                      resident=account.resident_id, staff=account.staff_id, disabled=account.disabled)


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED)
def post_account(body: AccountIn, _admin: AdminDep, session: SessionDep) -> AccountOut:
    """Make an account. Admin."""
    with people_change(session):
        account = create_account(session, username=body.username, password=body.password, role=body.role,
                                 resident_id=body.resident, staff_id=body.staff)
    return account_out(account)


@router.get("/homes/{home_id}/accounts", response_model=list[AccountOut])
def get_home_accounts(home_id: Annotated[str, Path(max_length=64)], _admin: AdminDep,
                      session: SessionDep) -> list[AccountOut]:
    """The accounts of a home's residents and staff, disabled ones too. Admin."""
    if session.get(Home, home_id) is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_home", f"no home {home_id!r}")
    return [account_out(account) for account in accounts_of_home(session, home_id)]


@router.get("/accounts/me", response_model=AccountOut)
def get_me(caller: CallerDep) -> AccountOut:
    """The signed-in account."""
    return account_out(caller.account)


REFUSALS = {
    Refused.CREDENTIALS: (status.HTTP_401_UNAUTHORIZED,
                          "that username and password (and code) do not match an enabled account"),
    Refused.RESIDENT_UNACCOMPANIED: (
        status.HTTP_403_FORBIDDEN,
        "a resident signs in on the tablet paired with their own room (send its threshold_tablet cookie), or with a "
        "member of staff of their home beside them (send their staff_username and staff_password too)"),
}


def token_refusal(admitted: Admitted | Refused) -> HTTPException:
    """Why a sign-in gets no token."""
    if isinstance(admitted, Refused):
        code, sentence = REFUSALS[admitted]
        return problem(code, admitted.value, sentence)
    # Enrolling shows the new secret on a dashboard page; a token before it would be a way round the second factor.
    return problem(status.HTTP_403_FORBIDDEN, "second_factor_required",
                   "a manager or admin enrols an authenticator app first: sign in on the dashboard, which leads you "
                   "through it, then ask for a token with a code from the app")


@router.post("/auth/token", response_model=Token, status_code=status.HTTP_201_CREATED,
             responses={429: PROBLEMS[400]})
def post_token(body: Credentials, request: Request, session: SessionDep, settings: SettingsDep) -> Token:
    """Sign in for a new API token, under the same rules as the dashboard's sign-in: a username and password;
    a manager or admin adds a code from their authenticator app (403 `second_factor_required` until they have
    enrolled one on the dashboard); a resident signs in only on the tablet paired with their own room (the request
    carries its `threshold_tablet` cookie) or with a member of staff of their home beside them (`staff_username`
    and `staff_password`), else 403 `resident_needs_tablet_or_staff`. Wrong credentials or code: 401. Every refusal
    counts towards the same rate limits as the dashboard's sign-in: 429 with Retry-After past them."""
    attempt = body.attempt(request.cookies.get(TABLET_COOKIE))
    address = client_address(request)
    wait = retry_after(session, attempt.usernames, address, sign_in_limits(settings))
    if wait is not None:
        raise problem(status.HTTP_429_TOO_MANY_REQUESTS, "too_many_attempts",
                      f"too many failed sign-ins: try again in {wait} seconds", headers={"Retry-After": str(wait)})
    admitted = admit(session, attempt)
    if isinstance(admitted, Admitted) and not admitted.enrolling:
        record_outcome(session, attempt, address, succeeded=True)
        token = issue_token(session, admitted.account)
        session.commit()
        return Token(token=token, account=account_out(admitted.account))
    record_outcome(session, attempt, address, succeeded=False)
    session.commit()
    raise token_refusal(admitted)


@router.post("/accounts/{account_id}/disable", response_model=AccountOut)
def post_disable(account_id: Annotated[int, Path(ge=1, le=MAX_SAFE_INT)], admin: AdminDep,
                 session: SessionDep) -> AccountOut:
    """Disable an account: it can no longer sign in, its dashboard sessions end and its API tokens are revoked.
    Admin; not their own account (400 own_account)."""
    return account_out(disable_as(session, admin, account_id))


def disable_as(session: Session, admin: SignedIn, account_id: int) -> Account:
    """Disable the account for `admin` and commit it; a 404 problem for no such account, 400 for their own."""
    account = session.get(Account, account_id)
    if account is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_account", f"no account {account_id}")
    if account.id == admin.account.id:
        raise problem(status.HTTP_400_BAD_REQUEST, "own_account", "ask another admin to disable your account")
    disable_account(session, account)
    session.commit()
    return account
