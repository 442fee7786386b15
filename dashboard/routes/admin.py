"""The admin's register of homes: homes, their rooms, residents (and the rooms they lived in when), staff, and the
accounts people sign in with.

/admin lists every home (an admin belongs to none); each home's pages share the tabs of `home_tabs`: the
register (rooms, residents, staff), accounts, and the roster, devices and thresholds — those three are also the
home's manager's, as the API lets a manager keep their own home's roster, read its devices and set its
thresholds (dashboard/routes/roster.py, devices.py, thresholds.py). Every form calls the API's own service
function and its own model, so a page refuses exactly what the API refuses.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, status
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.forms import FormState, Refused, as_form_errors, checked, problem_text
from dashboard.templating import local_time, redirect_with_flash, render
from dashboard.viewer import Viewer, page_for
from hub.api.deps import SessionDep
from hub.api.problems import people_change
from hub.api.routes.accounts import AccountIn, disable_as
from hub.api.routes.home_settings import home_for
from hub.api.routes.people import HomeIn, MoveIn, MoveOut, ResidentIn, RoomIn, StaffIn
from hub.db.models import Account, AccountRole, Home, Resident, Room, Staff, StaffRole
from hub.people import homes
from hub.people.accounts import MIN_PASSWORD_CHARS, accounts_of_home, create_account
from hub.timelines.window import BadWindow, local_or_aware
from protocol.events import MAX_SAFE_INT

router = APIRouter(include_in_schema=False)

AdminDep = Annotated[Viewer, Depends(page_for(AccountRole.ADMIN))]
KeeperDep = Annotated[Viewer, Depends(page_for(AccountRole.ADMIN, AccountRole.MANAGER))]
"""An admin, or a manager (of the home in the address: `kept_home` checks it)."""

FormText = Annotated[str, Form(max_length=2000)]
HomeId = Annotated[str, Path(max_length=64)]
ResidentId = Annotated[str, Path(max_length=64)]

STAFF_ROLES = {StaffRole.STAFF: "Staff", StaffRole.NIGHT_LEAD: "Night lead", StaffRole.MANAGER: "Manager",
               StaffRole.ADMIN: "Admin"}
ACCOUNT_ROLES = {AccountRole.RESIDENT: "Resident", **{AccountRole(role.value): label
                                                     for role, label in STAFF_ROLES.items()}}


@dataclass(frozen=True)
class Tab:
    suffix: str
    label: str
    roles: frozenset[AccountRole]


ADMIN_ONLY = frozenset({AccountRole.ADMIN})
KEEPERS = frozenset({AccountRole.ADMIN, AccountRole.MANAGER})
HOME_TABS = (
    Tab("", "Rooms and people", ADMIN_ONLY),
    Tab("/accounts", "Accounts", ADMIN_ONLY),
    Tab("/roster", "Roster", KEEPERS),
    Tab("/devices", "Devices", KEEPERS),
    Tab("/thresholds", "Thresholds", KEEPERS),
)
"""The pages of a home, in the order of its tabs, each for its roles."""


def home_path(home_id: str, suffix: str = "") -> str:
    return f"/admin/homes/{home_id}{suffix}"


def home_tabs(viewer: Viewer, home: Home) -> list[dict[str, str]]:
    return [{"path": home_path(home.id, tab.suffix), "label": tab.label} for tab in HOME_TABS
            if viewer.role in tab.roles]


def page_context(viewer: Viewer, home: Home, **context: Any) -> dict[str, Any]:
    """What every page of a home gets: the home, its tabs, its clock, and an empty form unless one is given."""
    return {"page_home": home, "tabs": home_tabs(viewer, home), "zone": home.time_zone,
            **context, "forms": defaultdict(FormState, context.get("forms", {}))}


def registered_home(session: Session, home_id: str) -> Home:
    home = session.get(Home, home_id)
    if home is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no home {home_id}.")
    return home


def kept_home(session: Session, viewer: Viewer, home_id: str) -> Home:
    """The home, as the API decides who may keep its settings: any for an admin, their own for a manager (403 for
    any other id, before looking it up, so a stranger cannot learn which homes exist)."""
    try:
        return home_for(session, viewer.caller, home_id, frozenset({AccountRole.MANAGER}))
    except HTTPException as error:
        raise HTTPException(error.status_code, problem_text(error)[1]) from None


def local_moment(text: str, zone: ZoneInfo, field: str) -> datetime | None:
    """A date and time typed in `field` on the home's clock (an <input type="datetime-local">), in UTC; None when
    empty."""
    if not text.strip():
        return None
    try:
        return local_or_aware(text, zone)
    except BadWindow:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT,
                      {field: "Give a date and time, like 2026-11-01 22:30."}) from None


# homes ------------------------------------------------------------------------------------------------------------

HOME_LABELS = {"id": "the home's id", "name": "the home's name", "time_zone": "the time zone"}


def _admin_page(request: Request, viewer: Viewer, session: Session, forms: dict[str, FormState] | None = None,
                status_code: int = 200) -> Response:
    counts = {home_id: count for home_id, count in session.execute(select(Room.home_id, func.count())
                                                                   .group_by(Room.home_id))}
    residents = {home_id: count for home_id, count in session.execute(select(Resident.home_id, func.count())
                                                                      .group_by(Resident.home_id))}
    rows = [{"id": home.id, "name": home.name, "time_zone": home.time_zone, "rooms": counts.get(home.id, 0),
             "residents": residents.get(home.id, 0), "path": home_path(home.id)}
            for home in session.scalars(select(Home).order_by(Home.name, Home.id))]
    return render(request, "admin.html", {"homes": rows, "forms": defaultdict(FormState, forms or {})},
                  viewer=viewer, status_code=status_code)


@router.get("/admin")
def get_admin(request: Request, viewer: AdminDep, session: SessionDep) -> Response:
    return _admin_page(request, viewer, session)


@router.post("/admin/homes")
def post_home(request: Request, viewer: AdminDep, session: SessionDep, id: FormText = "", name: FormText = "",
              time_zone: FormText = "") -> Response:
    values = {"id": id.strip(), "name": name.strip(), "time_zone": time_zone.strip()}
    try:
        body = checked(HomeIn, values, HOME_LABELS)
        with as_form_errors({"bad_id": "id", "home_exists": "id", "unknown_time_zone": "time_zone"}), \
                people_change(session):
            home = homes.add_home(session, home_id=body.id, name=body.name, time_zone=body.time_zone)
    except Refused as refused:
        return _admin_page(request, viewer, session, {"home": refused.state(values)}, refused.status_code)
    return redirect_with_flash(home_path(home.id), f"{home.name} is added. Add its rooms next.")


# a home's rooms, residents and staff --------------------------------------------------------------------------------

def _home_page(request: Request, viewer: Viewer, session: Session, home: Home,
               forms: dict[str, FormState] | None = None, status_code: int = 200) -> Response:
    residents = {resident.id: resident for resident in
                 session.scalars(select(Resident).where(Resident.home_id == home.id).order_by(Resident.display_name,
                                                                                              Resident.id))}
    rooms = []
    for room in session.scalars(select(Room).where(Room.home_id == home.id).order_by(Room.id)):
        resident_id = homes.occupant(session, home.id, room.id)
        rooms.append({"id": room.id, "resident": residents[resident_id].display_name if resident_id else None})
    people = []
    for resident in residents.values():
        tenancy = homes.current_tenancy(session, resident.id)
        people.append({"id": resident.id, "name": resident.display_name, "room": tenancy.room_id if tenancy else None,
                       "path": f"/admin/residents/{resident.id}"})
    staff = [{"id": member.id, "name": member.name, "role": STAFF_ROLES[StaffRole(member.role)]}
             for member in session.scalars(select(Staff).where(Staff.home_id == home.id).order_by(Staff.name,
                                                                                                  Staff.id))]
    return render(request, "admin_home.html", page_context(
        viewer, home, rooms=rooms, residents=people, staff=staff, forms=forms or {},
        staff_roles=[(role.value, label) for role, label in STAFF_ROLES.items()],
    ), viewer=viewer, status_code=status_code)


@router.get("/admin/homes/{home_id}")
def get_home(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep) -> Response:
    return _home_page(request, viewer, session, registered_home(session, home_id))


@router.post("/admin/homes/{home_id}/rooms")
def post_room(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep,
              id: FormText = "") -> Response:
    home = registered_home(session, home_id)
    values = {"id": id.strip()}
    try:
        body = checked(RoomIn, values, {"id": "the room's id"})
        with as_form_errors({"bad_id": "id", "room_exists": "id"}), people_change(session):
            room = homes.add_room(session, home.id, body.id)
    except Refused as refused:
        return _home_page(request, viewer, session, home, {"room": refused.state(values)}, refused.status_code)
    return redirect_with_flash(home_path(home.id), f"{room.id} is added to {home.name}.")


@router.post("/admin/homes/{home_id}/residents")
def post_resident(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep, id: FormText = "",
                  display_name: FormText = "") -> Response:
    home = registered_home(session, home_id)
    values = {"id": id.strip(), "display_name": display_name.strip()}
    try:
        body = checked(ResidentIn, {**values, "home": home.id},
                       {"id": "the resident's id", "display_name": "their name"})
        with as_form_errors({"bad_id": "id", "resident_exists": "id"}), people_change(session):
            resident = homes.add_resident(session, resident_id=body.id, display_name=body.display_name,
                                          home_id=home.id)
    except Refused as refused:
        return _home_page(request, viewer, session, home, {"resident": refused.state(values)}, refused.status_code)
    return redirect_with_flash(f"/admin/residents/{resident.id}",
                               f"{resident.display_name} is added to {home.name}. Choose their room next.")


@router.post("/admin/homes/{home_id}/staff")
def post_staff(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep, id: FormText = "",
               name: FormText = "", role: FormText = "") -> Response:
    home = registered_home(session, home_id)
    values = {"id": id.strip(), "name": name.strip(), "role": role}
    try:
        body = checked(StaffIn, {**values, "home": home.id},
                       {"id": "their staff id", "name": "their name", "role": "their role"})
        with as_form_errors({"bad_id": "id", "staff_exists": "id"}), people_change(session):
            member = homes.add_staff(session, staff_id=body.id, name=body.name, home_id=home.id, role=body.role)
    except Refused as refused:
        return _home_page(request, viewer, session, home, {"staff": refused.state(values)}, refused.status_code)
    return redirect_with_flash(home_path(home.id), f"{member.name} is added to the staff of {home.name}.")


# a resident's rooms: moving in and out -----------------------------------------------------------------------------

MOVE_FIELDS = {"unknown_room": "room", "already_there": "room", "room_occupied": "room", "future_time": "start",
               "before_last_move": "start", "naive_time": "start"}


def _resident(session: Session, resident_id: str) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no resident {resident_id}.")
    return resident


def _resident_page(request: Request, viewer: Viewer, session: Session, resident: Resident,
                   forms: dict[str, FormState] | None = None, status_code: int = 200) -> Response:
    home = session.get_one(Home, resident.home_id)
    tenancy = homes.current_tenancy(session, resident.id)
    names = {resident_id: name for resident_id, name in
             session.execute(select(Resident.id, Resident.display_name).where(Resident.home_id == home.id))}
    rooms = [("", "Choose a room")]
    for room in session.scalars(select(Room).where(Room.home_id == home.id).order_by(Room.id)):
        occupant = homes.occupant(session, home.id, room.id)
        rooms.append((room.id, f"{room.id} ({names[occupant]} lives here)" if occupant else f"{room.id} (free)"))
    return render(request, "admin_resident.html", page_context(
        viewer, home, resident=resident, room=tenancy.room_id if tenancy else None,
        history=homes.tenancy_history(session, resident.id), rooms=rooms, forms=forms or {},
    ), viewer=viewer, status_code=status_code)


@router.get("/admin/residents/{resident_id}")
def get_resident(request: Request, resident_id: ResidentId, viewer: AdminDep, session: SessionDep) -> Response:
    return _resident_page(request, viewer, session, _resident(session, resident_id))


@router.post("/admin/residents/{resident_id}/move-in")
def post_move_in(request: Request, resident_id: ResidentId, viewer: AdminDep, session: SessionDep,
                 room: FormText = "", start: FormText = "") -> Response:
    resident = _resident(session, resident_id)
    zone = ZoneInfo(session.get_one(Home, resident.home_id).time_zone)
    values = {"room": room, "start": start}
    try:
        body = checked(MoveIn, {"room": room, "from": local_moment(start, zone, "start")}, {"room": "a room"})
        with as_form_errors(MOVE_FIELDS), people_change(session):
            tenancy = homes.move_in(session, resident.id, body.room, body.start)
    except Refused as refused:
        return _resident_page(request, viewer, session, resident, {"move_in": refused.state(values)},
                              refused.status_code)
    return redirect_with_flash(f"/admin/residents/{resident.id}",
                               f"{resident.display_name} lives in {tenancy.room_id} from "
                               f"{local_time(tenancy.started_at, zone)}.")


@router.post("/admin/residents/{resident_id}/move-out")
def post_move_out(request: Request, resident_id: ResidentId, viewer: AdminDep, session: SessionDep,
                  end: FormText = "") -> Response:
    resident = _resident(session, resident_id)
    zone = ZoneInfo(session.get_one(Home, resident.home_id).time_zone)
    values = {"end": end}
    try:
        body = checked(MoveOut, {"to": local_moment(end, zone, "end")}, {})
        with as_form_errors({"future_time": "end", "before_last_move": "end", "naive_time": "end"}), \
                people_change(session):
            tenancy = homes.move_out(session, resident.id, body.end)
    except Refused as refused:
        return _resident_page(request, viewer, session, resident, {"move_out": refused.state(values)},
                              refused.status_code)
    return redirect_with_flash(f"/admin/residents/{resident.id}",
                               f"{resident.display_name} has moved out of {tenancy.room_id}. Their history is kept.")


# accounts ----------------------------------------------------------------------------------------------------------

ACCOUNT_FIELDS = {"bad_username": "username", "username_taken": "username", "weak_password": "password",
                  "password_too_long": "password", "bad_link": "person", "role_mismatch": "person",
                  "unknown_resident": "person", "unknown_staff": "person"}


def _home_accounts(session: Session, home_id: str) -> list[tuple[Account, str]]:
    """The accounts of the home's residents and staff (as the API lists them), each with whose it is."""
    names = {("resident", resident_id): name for resident_id, name in
             session.execute(select(Resident.id, Resident.display_name).where(Resident.home_id == home_id))}
    names |= {("staff", staff_id): name for staff_id, name in
              session.execute(select(Staff.id, Staff.name).where(Staff.home_id == home_id))}
    return [(account, names["resident", account.resident_id] if account.resident_id
             else names["staff", account.staff_id]) for account in accounts_of_home(session, home_id)]


def _people(session: Session, home_id: str) -> list[tuple[str, str]]:
    """Whom an account can be for: "resident:<id>" or "staff:<id>" of the home."""
    choices = [("", "Choose a person")]
    choices += [(f"resident:{resident.id}", f"{resident.display_name} (resident)")
                for resident in session.scalars(select(Resident).where(Resident.home_id == home_id)
                                                .order_by(Resident.display_name))]
    choices += [(f"staff:{member.id}", f"{member.name} ({STAFF_ROLES[StaffRole(member.role)].lower()})")
                for member in session.scalars(select(Staff).where(Staff.home_id == home_id).order_by(Staff.name))]
    return choices


def _accounts_page(request: Request, viewer: Viewer, session: Session, home: Home,
                   forms: dict[str, FormState] | None = None, status_code: int = 200) -> Response:
    accounts = [{"id": account.id, "username": account.username, "whose": whose,
                 "role": ACCOUNT_ROLES[AccountRole(account.role)], "disabled": account.disabled,
                 "own": account.id == viewer.account.id}
                for account, whose in _home_accounts(session, home.id)]
    return render(request, "admin_accounts.html", page_context(
        viewer, home, accounts=accounts, people=_people(session, home.id), forms=forms or {},
        min_password=MIN_PASSWORD_CHARS,
    ), viewer=viewer, status_code=status_code)


@router.get("/admin/homes/{home_id}/accounts")
def get_accounts(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep) -> Response:
    return _accounts_page(request, viewer, session, registered_home(session, home_id))


def _account_for(session: Session, home: Home, person: str) -> dict[str, Any]:
    """The role and link of an account for `person` ("resident:<id>" or "staff:<id>" of the home)."""
    kind, _, person_id = person.partition(":")
    if kind == "resident":
        resident = session.get(Resident, person_id)
        if resident is not None and resident.home_id == home.id:
            return {"role": AccountRole.RESIDENT, "resident": resident.id}
    elif kind == "staff":
        member = session.get(Staff, person_id)
        if member is not None and member.home_id == home.id:
            return {"role": AccountRole(member.role), "staff": member.id}
    raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT,
                  {"person": f"Choose a resident or member of staff of {home.name}."})


@router.post("/admin/homes/{home_id}/accounts")
def post_account(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep, username: FormText = "",
                 password: FormText = "", person: FormText = "") -> Response:
    home = registered_home(session, home_id)
    values = {"username": username.strip(), "password": password, "person": person}
    try:
        link = _account_for(session, home, person)
        body = checked(AccountIn, {"username": values["username"], "password": password, **link},
                       {"username": "a username", "password": "a password"})
        with as_form_errors(ACCOUNT_FIELDS), people_change(session):
            account = create_account(session, username=body.username, password=body.password, role=body.role,
                                     resident_id=body.resident, staff_id=body.staff)
    except Refused as refused:
        return _accounts_page(request, viewer, session, home, {"account": refused.state(values)},
                              refused.status_code)
    return redirect_with_flash(home_path(home.id, "/accounts"),
                               f"The account {account.username} is made. Give its password to its owner in person.")


@router.post("/admin/homes/{home_id}/accounts/{account_id}/disable")
def post_disable(request: Request, home_id: HomeId, account_id: Annotated[int, Path(ge=1, le=MAX_SAFE_INT)],
                 viewer: AdminDep, session: SessionDep) -> Response:
    home = registered_home(session, home_id)
    if account_id not in {account.id for account, _whose in _home_accounts(session, home.id)}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{home.name} has no account {account_id}.")
    try:
        with as_form_errors({}):
            account = disable_as(session, viewer.caller, account_id)
    except Refused as refused:
        return _accounts_page(request, viewer, session, home, {"disable": FormState(errors=refused.errors)},
                              refused.status_code)
    return redirect_with_flash(home_path(home.id, "/accounts"),
                               f"The account {account.username} is disabled: its sessions have ended and its API "
                               "tokens no longer work.")
