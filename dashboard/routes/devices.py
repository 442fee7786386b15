"""A home's door agents: what the hub last heard from each (status, last seen, clock, outbox, firmware, config
version, from its last status and heartbeat), registering one by its public key, and making one blink.

Read as GET /api/v1/devices lists them, by the admin and by the home's manager; registering and "identify" are
the admin's (the installer's), as in the API.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.forms import FormState, Refused, as_form_errors, checked, sentence
from dashboard.routes.admin import AdminDep, FormText, HomeId, KeeperDep, home_path, kept_home, page_context
from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import Viewer
from hub.api.deps import HubKeyDep, LiveDep, SessionDep
from hub.api.routes.devices import DeviceIn, DeviceOut, devices_out, identify, register
from hub.db.models import AccountRole, Device, Home, Room
from protocol.errors import ProtocolError
from protocol.hub_events import HUB_SOURCE
from protocol.topics import check_id

router = APIRouter(include_in_schema=False)

DOOR_ROWS = 3
"""Doors a device can be registered with from the form (one agent usually serves one door): door_1 … room_3."""

REGISTER_FIELDS = {"bad_public_key": "public_key", "device_exists": "device", "reserved_id": "device",
                   "bad_id": "device", "no_doors": "door_1"}
STATUS_WORDS = {"online": "Online", "offline": "Offline", "unknown": "Not heard from yet"}


def _offset(milliseconds: int | None) -> str:
    if milliseconds is None:
        return "offset not known"
    if milliseconds == 0:
        return "no offset"
    return f"{abs(milliseconds)} ms {'ahead' if milliseconds > 0 else 'behind'}"


def device_card(device: DeviceOut) -> dict[str, Any]:
    """What the page shows of a device, from the API's own description of it."""
    heartbeat = device.last_heartbeat or {}
    data = heartbeat.get("data") or {}
    if device.retired_at is not None:
        state = "Retired"
    else:
        state = STATUS_WORDS.get(device.status, device.status)
    if "clock_synced" in data:
        clock = f"{'In sync' if data['clock_synced'] else 'Not in sync'}, {_offset(data.get('clock_offset_ms'))}"
    else:
        clock = "Not reported yet"
    return {
        "id": device.id, "doors": device.doors, "state": state, "status": device.status,
        "retired": device.retired_at is not None, "status_at": device.status_at, "last_seen": device.last_seen_at,
        "heartbeat_at": datetime.fromtimestamp(heartbeat["ts_ms"] / 1000, UTC) if "ts_ms" in heartbeat else None,
        "clock": clock,
        "outbox": data.get("outbox"), "firmware": data.get("fw") or device.status_fw,
        "config_version": device.config_version, "acked_seq": device.acked_seq, "max_seq": device.max_seq,
    }


def _devices_page(request: Request, viewer: Viewer, session: Session, home: Home,
                  forms: dict[str, FormState] | None = None, status_code: int = 200) -> Response:
    devices = [device_card(device) for device in devices_out(session, home.id) if device.id != HUB_SOURCE]
    rooms = [("", "No door")] + [(room, room) for room in
                                 session.scalars(select(Room.id).where(Room.home_id == home.id).order_by(Room.id))]
    return render(request, "admin_devices.html", page_context(
        viewer, home, devices=devices, rooms=rooms, door_rows=range(1, DOOR_ROWS + 1),
        installer=viewer.role == AccountRole.ADMIN, forms=forms or {},
    ), viewer=viewer, status_code=status_code)


@router.get("/admin/homes/{home_id}/devices")
def get_devices(request: Request, home_id: HomeId, viewer: KeeperDep, session: SessionDep) -> Response:
    return _devices_page(request, viewer, session, kept_home(session, viewer, home_id))


def _doors(form: dict[str, str], rooms: set[str], home: Home) -> dict[str, str]:
    """The door → room rows filled in, each room one of the home's; a row with only one of the two, or a room the
    home does not have, is an error beside it."""
    doors: dict[str, str] = {}
    errors: dict[str, str] = {}
    for row in range(1, DOOR_ROWS + 1):
        door, room = form.get(f"door_{row}", "").strip(), form.get(f"room_{row}", "")
        if door and not room:
            errors[f"room_{row}"] = f"Choose the room behind door {door}."
        elif room and not door:
            errors[f"door_{row}"] = f"Give the id of the door to {room}, like d1."
        elif room and room not in rooms:
            errors[f"room_{row}"] = f"{home.name} has no room {room}."
        elif door in doors:
            errors[f"door_{row}"] = f"Door {door} is named twice."
        elif door:
            try:
                doors[check_id("door", door)] = room
            except ProtocolError as error:
                errors[f"door_{row}"] = sentence(error.detail)
    if errors:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
    return doors


@router.post("/admin/homes/{home_id}/devices")
def post_device(request: Request, home_id: HomeId, viewer: AdminDep, session: SessionDep, device: FormText = "",
                public_key: FormText = "", door_1: FormText = "", room_1: FormText = "", door_2: FormText = "",
                room_2: FormText = "", door_3: FormText = "", room_3: FormText = "") -> Response:
    home = kept_home(session, viewer, home_id)
    values = {"device": device.strip(), "public_key": public_key.strip(), "door_1": door_1.strip(), "room_1": room_1,
              "door_2": door_2.strip(), "room_2": room_2, "door_3": door_3.strip(), "room_3": room_3}
    try:
        rooms = set(session.scalars(select(Room.id).where(Room.home_id == home.id)))
        body = checked(DeviceIn, {"site": home.id, "device": values["device"], "public_key": values["public_key"],
                                  "doors": _doors(values, rooms, home)},
                       {"device": "the device's id", "public_key": "its public key"})
        with as_form_errors(REGISTER_FIELDS):
            registered = register(session, body)
    except Refused as refused:
        return _devices_page(request, viewer, session, home, {"register": refused.state(values)},
                             refused.status_code)
    return redirect_with_flash(home_path(home.id, "/devices"),
                               f"{registered.id} is registered. The hub sends it its settings within a few seconds.")


@router.post("/admin/homes/{home_id}/devices/{device_id}/identify")
def post_identify(request: Request, home_id: HomeId, device_id: Annotated[str, Path(max_length=64)],
                  viewer: AdminDep, session: SessionDep, live: LiveDep, hub_key: HubKeyDep,
                  door: Annotated[str, Form(max_length=64)] = "") -> Response:
    home = kept_home(session, viewer, home_id)
    device = session.get(Device, device_id)
    if device is None or device.site != home.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{home.name} has no device {device_id}.")
    try:
        sent = identify(session, live, hub_key, device.id, door or None)
    except HTTPException as error:
        if error.status_code == status.HTTP_404_NOT_FOUND:
            raise
        # The broker is out of reach: say so on the page, with the API's status.
        return _devices_page(request, viewer, session, home, {
            "identify": FormState(errors={"": "The hub cannot reach the doors just now, so the device was not "
                                              "asked to blink. Try again in a minute."})}, error.status_code)
    where = f"door {door} of {device.id}" if door else device.id
    confirmed = "" if sent.broker_confirmed else " The broker did not confirm it: if nothing blinks, try again."
    return redirect_with_flash(home_path(home.id, "/devices"),
                               f"The indicator of {where} blinks for a while now.{confirmed}")
