"""A TOTP second factor (RFC 6238, 30-second steps, 6 digits) for the accounts that can see and change the most:
managers and admins.

Enrolment keeps a new secret on the account as pending until a code from it is confirmed; after that every sign-in
of the account needs a code. A code is accepted one step either side of now (phones' clocks drift) and only once.
"""

import hmac
from datetime import UTC, datetime

import pyotp
from sqlalchemy.orm import Session

from hub.db.models import Account, AccountRole
from hub.people.errors import Conflict, PeopleError

ISSUER = "Threshold"
NEEDS_SECOND_FACTOR = frozenset({AccountRole.MANAGER, AccountRole.ADMIN})
DRIFT_STEPS = 1


def needs_second_factor(account: Account) -> bool:
    return AccountRole(account.role) in NEEDS_SECOND_FACTOR


def enrolled(account: Account) -> bool:
    return account.totp_secret is not None and account.totp_enrolled_at is not None


def pending_secret(session: Session, account: Account) -> str:
    """The secret to enrol: the pending one if there is one (reloading the page keeps it), else a new one."""
    if enrolled(account):
        raise Conflict("already_enrolled", "this account already has a second factor")
    if account.totp_secret is None:
        account.totp_secret = pyotp.random_base32()
        session.flush()
    return account.totp_secret


def provisioning_uri(account: Account, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), digits):
            return candidate
    return None


def code_accepted(session: Session, account: Account, code: str, now: datetime | None = None) -> bool:
    """Whether `code` is a current code of the account's enrolled secret not used before; marks it used."""
    if not enrolled(account):
        return False
    assert account.totp_secret is not None
    step = _matching_step(account.totp_secret, code, now or datetime.now(UTC))
    if step is None or (account.totp_last_step is not None and step <= account.totp_last_step):
        return False
    account.totp_last_step = step
    session.flush()
    return True


def confirm_enrolment(session: Session, account: Account, code: str, now: datetime | None = None) -> None:
    """Enrol the pending secret if `code` is one of its current codes; the caller commits."""
    now = now or datetime.now(UTC)
    if enrolled(account):
        raise Conflict("already_enrolled", "this account already has a second factor")
    step = _matching_step(account.totp_secret, code, now) if account.totp_secret else None
    if step is None:
        raise PeopleError("wrong_code", "that code does not match: type the 6 digits the app shows now")
    account.totp_enrolled_at = now
    account.totp_last_step = step
    session.flush()
