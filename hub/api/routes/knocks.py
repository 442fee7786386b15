"""Remote knock: a member of staff knocks from their handset; the door serving the room gets a signed `knock`
command (PROTOCOL.md §6) and acts as if its button was pressed, reporting `knock.requested` with source remote.

The knock is recorded in the hub's chain whether or not the knocker is on shift (that is for the timeline to
show, not for the door to refuse), and before the command is published, so no knock leaves without a record.
"""

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.broker import LiveLink
from hub.api.deps import CARERS, CallerDep, HubKeyDep, LiveDep, SessionDep, ensure_at_home
from hub.api.problems import PROBLEMS, problem
from hub.chain import record_for_chain
from hub.db.models import Device, Room, Shift, Staff
from hub.device_commands import sealed_command
from hub.people.accounts import SignedIn
from protocol.commands import KnockArgs
from protocol.hub_events import HubEventType
from protocol.topics import DeviceChannel, device_topic

router = APIRouter(tags=["knocks"], responses={**PROBLEMS, 503: PROBLEMS[409]})

class KnockOut(BaseModel):
    command: str = Field(title="Command id", description="The door's knock.requested carries it as `request`.")
    site: str
    room: str
    device: str = Field(title="Device serving the room")
    door: str = Field(title="Door of that device")
    staff: str = Field(title="Who knocked (staff id)")
    on_shift: bool = Field(title="Whether the roster had them on shift")
    issued_ms: int
    expires_ms: int = Field(title="The door ignores the command after this (epoch ms)")
    broker_confirmed: bool = Field(title="Whether the broker acknowledged the command (PUBACK)",
                                   description="It does not mean the door has it: watch for its knock.requested.")


def door_serving(session: Session, site: str, room: str) -> tuple[str, str] | None:
    """(device, door) of the active device serving `room`, if any."""
    devices = session.scalars(select(Device).where(Device.site == site, Device.retired_at.is_(None))
                              .order_by(Device.id))
    for device in devices:
        for door, served in sorted(device.doors.items()):
            if served == room:
                return device.id, door
    return None


def _on_shift(session: Session, staff_id: str, at: datetime) -> bool:
    return session.scalar(select(Shift.id).where(Shift.staff_id == staff_id, Shift.starts_at <= at,
                                                 Shift.ends_at > at).limit(1)) is not None


@router.post("/rooms/{site}/{room}/knock", response_model=KnockOut, status_code=status.HTTP_202_ACCEPTED)
def post_knock(site: str, room: str, caller: CallerDep, session: SessionDep, live: LiveDep,
               hub_key: HubKeyDep) -> KnockOut:
    """Knock at a room's door from your handset. Staff, night lead or manager of the home, on shift or not.
    404 for an unknown room, 409 when no door serves it, 503 while the hub cannot reach the broker."""
    return send_knock(session, live, hub_key, caller, site, room)


def send_knock(session: Session, live: LiveLink, hub_key: Ed25519PrivateKey, caller: SignedIn, site: str,
               room: str) -> KnockOut:
    """`caller` knocks at `room` of `site` (the API's route and the night board's form alike)."""
    at_home = ensure_at_home(session, caller, site, CARERS)
    if session.get(Room, (site, room)) is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_room", f"no room {room!r} in {site!r}")
    serving = door_serving(session, site, room)
    if serving is None:
        raise problem(status.HTTP_409_CONFLICT, "no_door", f"no door device serves {room!r}; knock at the door")
    if not live.connected:
        raise problem(status.HTTP_503_SERVICE_UNAVAILABLE, "broker_unavailable",
                      "the hub cannot reach the doors just now; knock at the door")
    device, door = serving
    staff = session.get_one(Staff, at_home.staff_id)
    now = datetime.now(UTC)
    command, sealed = sealed_command(hub_key, device, "knock",
                                     KnockArgs(door=door, staff=staff.id, staff_name=staff.name).model_dump())
    on_shift = _on_shift(session, staff.id, now)
    record_for_chain(session, site, HubEventType.KNOCK_SENT, {
        "command": command.id, "device": device, "door": door, "staff": staff.id, "on_shift": on_shift,
        "issued_ms": command.issued_ms, "expires_ms": command.expires_ms,
    }, room=room)
    session.commit()
    confirmed = live.publish(device_topic(site, device, DeviceChannel.COMMAND), sealed, confirm=True)
    return KnockOut(command=command.id, site=site, room=room, device=device, door=door, staff=staff.id,
                    on_shift=on_shift, issued_ms=command.issued_ms, expires_ms=command.expires_ms,
                    broker_confirmed=confirmed)
