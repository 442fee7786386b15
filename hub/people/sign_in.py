"""Who may sign in, and how: the rules the dashboard's sign-in form and the API's token endpoint share, so a
client cannot go round the one by using the other.

Everyone gives their username and password. A resident signs in only on the tablet paired to the room they live in
now, or with a member of staff of their home beside them who gives their own username and password too. Managers
and admins add the code from their authenticator app; until they have enrolled one, they may only enrol it.
"""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from hub.db.models import Account, AccountRole, Resident
from hub.people.accounts import CARERS, credentials_match, signed_in_as
from hub.people.second_factor import code_accepted, enrolled, needs_second_factor
from hub.people.sign_in_limits import record_attempt
from hub.people.tablets import on_own_tablet
from hub.people.web_sessions import SignInMethod


@dataclass(frozen=True)
class Attempt:
    """What someone signing in gives: `tablet` is the paired tablet's cookie, if they are on one; the staff
    username and password are those of the member of staff beside a resident."""

    username: str
    password: str
    code: str = ""
    tablet: str | None = None
    staff_username: str = ""
    staff_password: str = ""

    @property
    def usernames(self) -> list[str]:
        """Every username the attempt tries, for the rate limits."""
        return [self.username, self.staff_username]


@dataclass(frozen=True)
class Admitted:
    account: Account
    method: SignInMethod
    beside_staff_id: str | None = None
    enrolling: bool = False
    """A manager or admin with no second factor yet: admitted to enrol one, and to nothing else."""


class Refused(StrEnum):
    CREDENTIALS = "bad_credentials"
    """No enabled account with that username and password, or a code missing, wrong or used before."""
    RESIDENT_UNACCOMPANIED = "resident_needs_tablet_or_staff"
    """A resident's own password, but neither their room's tablet nor a member of staff of their home beside them."""


def staff_beside(session: Session, resident: Account, username: str, password: str) -> str | None:
    """The staff id of a carer of the resident's home who signed in beside them, else None."""
    if not username:
        return None
    staff = credentials_match(session, username, password)
    caller = signed_in_as(session, staff) if staff is not None else None
    assert resident.resident_id is not None
    home_id = session.get_one(Resident, resident.resident_id).home_id
    if caller is None or caller.role not in CARERS or caller.home_id != home_id:
        return None
    return caller.account.staff_id


def admit(session: Session, attempt: Attempt) -> Admitted | Refused:
    """Whether the attempt signs its account in, and how. Accepting a code marks it used; the caller commits."""
    account = credentials_match(session, attempt.username, attempt.password)
    if account is None:
        return Refused.CREDENTIALS
    if AccountRole(account.role) == AccountRole.RESIDENT:
        assert account.resident_id is not None
        if on_own_tablet(session, account.resident_id, attempt.tablet):
            return Admitted(account, SignInMethod.PAIRED_TABLET)
        beside = staff_beside(session, account, attempt.staff_username, attempt.staff_password)
        if beside is None:
            return Refused.RESIDENT_UNACCOMPANIED
        return Admitted(account, SignInMethod.STAFF_BESIDE, beside)
    if needs_second_factor(account):
        if not enrolled(account):
            return Admitted(account, SignInMethod.PASSWORD, enrolling=True)
        if not code_accepted(session, account, attempt.code):
            return Refused.CREDENTIALS
    return Admitted(account, SignInMethod.PASSWORD)


def record_outcome(session: Session, attempt: Attempt, address: str, *, succeeded: bool) -> None:
    """Count the attempt towards the rate limits; the caller commits. A failure counts against the member of staff
    named beside the resident too, so a resident's sign-in is no way round the limit on guessing a carer's
    password."""
    record_attempt(session, attempt.username, address, succeeded=succeeded)
    if not succeeded and attempt.staff_username:
        record_attempt(session, attempt.staff_username, address, succeeded=False)
