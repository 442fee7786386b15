"""Accounts (made and disabled by an admin) and signing in for an API token."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, status
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
    sign_in,
)
from hub.people.passwords import MAX_PASSWORD_BYTES
from hub.people.second_factor import code_accepted, enrolled
from hub.people.sign_in_limits import record_attempt, retry_after
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
                             description="Required once the account has enrolled a second factor.")


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


@router.post("/auth/token", response_model=Token, status_code=status.HTTP_201_CREATED,
             responses={429: PROBLEMS[400]})
def post_token(body: Credentials, request: Request, session: SessionDep, settings: SettingsDep) -> Token:
    """Sign in: a username and password (and a code, for an account with a second factor) for a new API token.
    Failures count towards the same rate limits as the dashboard's sign-in: 429 with Retry-After past them."""
    address = client_address(request)
    wait = retry_after(session, [body.username], address, sign_in_limits(settings))
    if wait is not None:
        raise problem(status.HTTP_429_TOO_MANY_REQUESTS, "too_many_attempts",
                      f"too many failed sign-ins: try again in {wait} seconds", headers={"Retry-After": str(wait)})
    found = sign_in(session, body.username, body.password)
    if found is not None and enrolled(found[0]) and not code_accepted(session, found[0], body.totp or ""):
        session.rollback()
        found = None
    record_attempt(session, body.username, address, succeeded=found is not None)
    session.commit()
    if found is None:
        raise problem(status.HTTP_401_UNAUTHORIZED, "bad_credentials",
                      "that username and password (and code) do not match an enabled account")
    account, token = found
    return Token(token=token, account=account_out(account))


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
