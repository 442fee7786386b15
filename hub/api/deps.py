"""What routes depend on: a database session per request, the settings, and who is asking.

Who is asking comes from `Authorization: Bearer <token>`; the checks on role and on whose data are small
dependencies a route names in its signature, so a route cannot forget one without it showing there.
"""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from hub.api.problems import problem
from hub.core.config import HubSettings
from hub.db.models import AccountRole, Home, Resident
from hub.people.accounts import SignedIn, signed_in

CARERS = frozenset({AccountRole.STAFF, AccountRole.NIGHT_LEAD, AccountRole.MANAGER})
"""Roles that care for a home's residents and so may see their data."""


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> HubSettings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[HubSettings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/auth/token")


def current_account(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> SignedIn:
    """The signed-in account; 401 without a live token."""
    found = signed_in(session, credentials.credentials) if credentials else None
    if found is None:
        raise problem(status.HTTP_401_UNAUTHORIZED, "not_signed_in",
                      "send Authorization: Bearer <token> with a live token (POST /api/v1/auth/token)",
                      headers={"WWW-Authenticate": "Bearer"})
    return found


CallerDep = Annotated[SignedIn, Depends(current_account)]


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
