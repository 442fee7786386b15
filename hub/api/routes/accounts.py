"""Accounts (made by an admin) and signing in for an API token."""

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from hub.api.deps import AdminDep, CallerDep, SessionDep
from hub.api.problems import PROBLEMS, people_change, problem
from hub.db.models import Account, AccountRole
from hub.people.accounts import MIN_PASSWORD_CHARS, create_account, sign_in
from hub.people.passwords import MAX_PASSWORD_BYTES

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


@router.get("/accounts/me", response_model=AccountOut)
def get_me(caller: CallerDep) -> AccountOut:
    """The signed-in account."""
    return account_out(caller.account)


@router.post("/auth/token", response_model=Token, status_code=status.HTTP_201_CREATED)
def post_token(body: Credentials, session: SessionDep) -> Token:
    """Sign in: a username and password for a new API token."""
    found = sign_in(session, body.username, body.password)
    if found is None:
        raise problem(status.HTTP_401_UNAUTHORIZED, "bad_credentials",
                      "that username and password do not match an enabled account")
    session.commit()
    account, token = found
    return Token(token=token, account=account_out(account))
