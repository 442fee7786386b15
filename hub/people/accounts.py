"""Accounts (argon2id passwords) and the API tokens they sign in with (stored as SHA-256 only)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from hub.db.models import Account, AccountRole, ApiToken, Resident, Staff, StaffRole
from hub.people.errors import Conflict, NotFound, PeopleError
from hub.people.passwords import MAX_PASSWORD_BYTES, hash_password, new_token, password_matches, token_digest
from hub.people.web_sessions import EndedReason, end_sessions_of

USERNAME = re.compile(r"^[a-z0-9._-]{3,64}$")
MIN_PASSWORD_CHARS = 8

CARERS = frozenset({AccountRole.STAFF, AccountRole.NIGHT_LEAD, AccountRole.MANAGER})
"""Roles that care for a home's residents and so may see their data."""


@dataclass(frozen=True)
class SignedIn:
    """An account making a request, and the home it belongs to (none for an admin who is not on a home's staff)."""

    account: Account
    home_id: str | None

    @property
    def role(self) -> AccountRole:
        return AccountRole(self.account.role)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise PeopleError("weak_password", f"a password has at least {MIN_PASSWORD_CHARS} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise PeopleError("password_too_long", f"a password has at most {MAX_PASSWORD_BYTES} bytes")


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: AccountRole,
    resident_id: str | None = None,
    staff_id: str | None = None,
) -> Account:
    """Add an account; the caller commits. A resident account names its resident, a staff account its staff
    member (whose role it must have); an admin account may name an admin staff member or nobody."""
    if not USERNAME.fullmatch(username):
        raise PeopleError("bad_username", "a username is 3-64 characters of a-z, 0-9, '.', '_' and '-'")
    _check_password(password)
    role = AccountRole(role)
    if role == AccountRole.RESIDENT:
        if resident_id is None or staff_id is not None:
            raise PeopleError("bad_link", "a resident account names its resident, and no staff member")
        if session.get(Resident, resident_id) is None:
            raise NotFound("unknown_resident", f"no resident {resident_id!r}")
    else:
        if resident_id is not None:
            raise PeopleError("bad_link", f"a {role.value} account names no resident")
        if staff_id is None and role != AccountRole.ADMIN:
            raise PeopleError("bad_link", f"a {role.value} account names its staff member")
        if staff_id is not None:
            member = session.get(Staff, staff_id)
            if member is None:
                raise NotFound("unknown_staff", f"no staff member {staff_id!r}")
            if member.role != StaffRole(role.value):
                raise PeopleError("role_mismatch", f"{staff_id!r} is on the staff as {member.role}, not {role.value}")
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict("username_taken", f"the username {username!r} is taken")
    account = Account(username=username, password_hash=hash_password(password), role=role.value,
                      resident_id=resident_id, staff_id=staff_id, disabled=False, created_at=datetime.now(UTC))
    session.add(account)
    session.flush()
    return account


def accounts_of_home(session: Session, home_id: str) -> list[Account]:
    """The accounts of the home's residents and staff, by username."""
    return list(session.scalars(
        select(Account).outerjoin(Resident, Account.resident_id == Resident.id)
        .outerjoin(Staff, Account.staff_id == Staff.id)
        .where(or_(Resident.home_id == home_id, Staff.home_id == home_id)).order_by(Account.username)
    ))


def issue_token(session: Session, account: Account) -> str:
    """A new bearer token for the account; only its digest is stored, so this is the one time it is seen."""
    token = new_token()
    session.add(ApiToken(account_id=account.id, token_sha256=token_digest(token), created_at=datetime.now(UTC)))
    session.flush()
    return token


def account_named(session: Session, username: str) -> Account:
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise NotFound("unknown_account", f"no account {username!r}")
    return account


def credentials_match(session: Session, username: str, password: str) -> Account | None:
    """The enabled account with this username and password, else None (the same, in the same time, for every
    failure)."""
    account = session.scalar(select(Account).where(Account.username == username))
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return None
    if not password_matches(account.password_hash if account else None, password):
        return None
    if account is None or account.disabled:
        return None
    return account


def _token_holder(token: str) -> Select[tuple[Account]]:
    return (select(Account).join(ApiToken, ApiToken.account_id == Account.id)
            .where(ApiToken.token_sha256 == token_digest(token), ApiToken.revoked_at.is_(None)))


def signed_in(session: Session, token: str) -> SignedIn | None:
    """Who a bearer token belongs to, if it is live and their account enabled."""
    found = session.execute(_token_holder(token)).scalar_one_or_none()
    return signed_in_as(session, found) if found is not None else None


def token_live(session: Session, token: str) -> bool:
    """Whether a bearer token is still live and its account enabled: one query, for asking again while something
    it opened (a live stream) goes on."""
    return session.scalar(_token_holder(token).where(Account.disabled.is_(False))) is not None


def signed_in_as(session: Session, account: Account) -> SignedIn | None:
    """The account as a caller, with its home; None when it is disabled."""
    if account.disabled:
        return None
    if account.resident_id is not None:
        home_id = session.get_one(Resident, account.resident_id).home_id
    elif account.staff_id is not None:
        home_id = session.get_one(Staff, account.staff_id).home_id
    else:
        home_id = None
    return SignedIn(account, home_id)


def disable_account(session: Session, account: Account, now: datetime | None = None) -> Account:
    """Disable the account: it cannot sign in, its page sessions end and its API tokens are revoked; the caller
    commits."""
    now = now or datetime.now(UTC)
    account.disabled = True
    session.execute(update(ApiToken).where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now), execution_options={"synchronize_session": False})
    end_sessions_of(session, account.id, EndedReason.ACCOUNT_DISABLED, now)
    session.flush()
    return account
