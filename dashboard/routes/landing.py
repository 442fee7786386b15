"""Where each role lands: `/` sends everyone to their own start page.

- /board (staff, night lead, manager): every room of the home and its state;
- /me (resident): what they asked of people who knock;
- /manage (manager): what waits for their review;
- /admin (admin): the homes.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from dashboard.templating import render
from dashboard.viewer import SignedInDep, Viewer, page_for, see_other
from hub.api.deps import CARERS, LEADS, LiveDep, SessionDep
from hub.api.routes.entries import latest_entries
from hub.db.models import AccountRole, EntryRecord, Home, Resident, Room
from hub.people.homes import current_tenancy, occupant
from hub.people.preferences import (
    DEFAULT_PREFERENCES,
    EntryPreferences,
    current_version,
    due_for_review,
    preferences_of,
)

router = APIRouter(include_in_schema=False)

ROOM_STATES = {
    "idle": "Quiet",
    "knock_waiting": "Knock waiting for an answer",
    "occupied": "Someone inside",
    "do_not_disturb": "Do not disturb",
    "offline": "Door offline",
}


def wait_sentence(preferences: EntryPreferences) -> str:
    """What a resident asked of people who knock, in their own words."""
    if preferences.wait_s is None:
        return "When someone knocks, they wait for my answer. Nobody comes in without it."
    if preferences.wait_s == 0:
        return "When someone knocks, they may come straight in."
    if preferences.wait_s < 120:
        return f"When someone knocks, they wait {preferences.wait_s} seconds for my answer."
    minutes = preferences.wait_s // 60
    return f"When someone knocks, they wait {minutes} minutes for my answer."


@router.get("/")
def get_start(viewer: SignedInDep) -> Response:
    return see_other(viewer.landing)


@router.get("/board")
def get_board(request: Request, viewer: Annotated[Viewer, Depends(page_for(*CARERS))], session: SessionDep,
              live: LiveDep) -> Response:
    assert viewer.home is not None  # every carer belongs to a home
    states = {state.room: state for state in live.room_states(viewer.home.id)}
    rooms = []
    for room in session.scalars(select(Room).where(Room.home_id == viewer.home.id).order_by(Room.id)):
        resident_id = occupant(session, viewer.home.id, room.id)
        state = states.get(room.id)
        rooms.append({
            "id": room.id,
            "resident": session.get_one(Resident, resident_id).display_name if resident_id else None,
            "state": ROOM_STATES.get(state.state.value, state.state.value) if state else "Not known yet",
            "alerts": state.active_alerts if state else 0,
        })
    return render(request, "board.html", {"rooms": rooms, "can_pair": viewer.role in LEADS}, viewer=viewer)


@router.get("/me")
def get_me(request: Request, viewer: Annotated[Viewer, Depends(page_for(AccountRole.RESIDENT))],
           session: SessionDep) -> Response:
    resident_id = viewer.account.resident_id
    assert resident_id is not None  # every resident account names its resident
    version = current_version(session, resident_id)
    tenancy = current_tenancy(session, resident_id)
    return render(request, "me.html", {
        "resident": session.get_one(Resident, resident_id),
        "room": tenancy.room_id if tenancy else None,
        "wait": wait_sentence(preferences_of(version) if version else DEFAULT_PREFERENCES),
    }, viewer=viewer)


@router.get("/manage")
def get_manage(request: Request, viewer: Annotated[Viewer, Depends(page_for(AccountRole.MANAGER))],
               session: SessionDep) -> Response:
    assert viewer.home is not None
    to_review = latest_entries(viewer.home.id).where(EntryRecord.review_required.is_(True)).subquery()
    return render(request, "manage.html", {
        "entries_to_review": session.scalar(select(func.count()).select_from(to_review)) or 0,
        "preferences_to_review": len(due_for_review(session, viewer.home)),
    }, viewer=viewer)


@router.get("/admin")
def get_admin(request: Request, viewer: Annotated[Viewer, Depends(page_for(AccountRole.ADMIN))],
              session: SessionDep) -> Response:
    rooms = {home_id: count for home_id, count in session.execute(select(Room.home_id, func.count())
                                                                  .group_by(Room.home_id))}
    homes = [{"id": home.id, "name": home.name, "time_zone": home.time_zone, "rooms": rooms.get(home.id, 0)}
             for home in session.scalars(select(Home).order_by(Home.name, Home.id))]
    return render(request, "admin.html", {"homes": homes}, viewer=viewer)
