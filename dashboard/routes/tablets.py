"""Pairing a tablet with a room, so the room's resident can sign in on it without a member of staff beside them.

The night lead or a manager signs in on the tablet itself, opens /rooms/{room}/tablet and pairs it: the tablet
gets its `threshold_tablet` cookie, and they are signed out on it, leaving it ready for the resident. Pairing
another tablet, or unpairing, stops the one before.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import Viewer, clear_session_cookie, page_for
from hub.api.deps import LEADS, SessionDep
from hub.db.models import Resident, Room
from hub.people.homes import occupant
from hub.people.tablets import TABLET_COOKIE, current_pairing, pair_tablet, tablet_room, unpair_room
from hub.people.web_sessions import EndedReason, end_session

router = APIRouter(include_in_schema=False)

TABLET_COOKIE_LIFE = timedelta(days=400)
"""The longest a browser keeps a cookie; unpairing is what ends a tablet's pairing."""

LeadDep = Annotated[Viewer, Depends(page_for(*LEADS))]
RoomId = Annotated[str, Path(max_length=64)]


def _room(session: Session, viewer: Viewer, room_id: str) -> Room:
    """A room of the viewer's own home: any other id is 404, whoever's it is."""
    assert viewer.home is not None  # night leads and managers belong to a home
    room = session.get(Room, (viewer.home.id, room_id))
    if room is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no room {room_id} in {viewer.home.name}.")
    return room


def _tablet_path(room_id: str) -> str:
    return f"/rooms/{room_id}/tablet"


@router.get("/rooms/{room_id}/tablet")
def get_tablet(request: Request, room_id: RoomId, viewer: LeadDep, session: SessionDep) -> Response:
    room = _room(session, viewer, room_id)
    resident_id = occupant(session, room.home_id, room.id)
    pairing = current_pairing(session, room.home_id, room.id)
    cookie = request.cookies.get(TABLET_COOKIE)
    here = tablet_room(session, cookie) if cookie else None
    return render(request, "tablet.html", {
        "room": room,
        "resident": session.get_one(Resident, resident_id).display_name if resident_id else None,
        "pairing": pairing,
        "this_device_paired": here is not None and pairing is not None and here.id == pairing.id,
    }, viewer=viewer)


@router.post("/rooms/{room_id}/tablet")
def post_pair(room_id: RoomId, viewer: LeadDep, session: SessionDep) -> Response:
    room = _room(session, viewer, room_id)
    secret = pair_tablet(session, room.home_id, room.id, viewer.account)
    end_session(session, viewer.web_session, EndedReason.TABLET_PAIRED)
    session.commit()
    response = redirect_with_flash("/sign-in", f"This tablet is paired with {room.id}. Its resident can sign "
                                               "in here. You have been signed out on it.")
    response.set_cookie(TABLET_COOKIE, secret, max_age=int(TABLET_COOKIE_LIFE.total_seconds()), httponly=True,
                        secure=True, samesite="strict", path="/")
    clear_session_cookie(response)
    return response


@router.post("/rooms/{room_id}/tablet/unpair")
def post_unpair(room_id: RoomId, viewer: LeadDep, session: SessionDep) -> Response:
    room = _room(session, viewer, room_id)
    unpaired = unpair_room(session, room.home_id, room.id, viewer.account)
    session.commit()
    return redirect_with_flash(_tablet_path(room.id), f"The tablet of {room.id} is unpaired." if unpaired
                               else f"{room.id} had no paired tablet.")
