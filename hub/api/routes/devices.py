"""The device registry and what the hub last heard from each door: for admins (installers) and a home's own staff."""

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.broker import LiveLink
from hub.api.deps import CARERS, AdminDep, CallerDep, HubKeyDep, LiveDep, SessionDep
from hub.api.problems import PROBLEMS, problem
from hub.db.models import AccountRole, Device, DeviceHead
from hub.device_commands import sealed_command
from hub.ingest.gaps import find_gaps
from hub.people.accounts import SignedIn
from hub.registry import RegistryError, list_devices, register_device
from protocol.commands import IdentifyArgs
from protocol.hub_events import HUB_SOURCE
from protocol.topics import DeviceChannel, device_topic

router = APIRouter(tags=["devices"], responses=PROBLEMS)


class DeviceOut(BaseModel):
    """A registered device and what the hub last heard from it."""

    id: str = Field(title="Device id")
    site: str = Field(title="Site id")
    public_key: str = Field(title="Ed25519 public key (base64)")
    doors: dict[str, str] = Field(title="Door id → room")
    config_version: int = Field(title="Config version")
    created_at: datetime
    retired_at: datetime | None = Field(title="When the device was retired, if it was")
    status: str = Field(title="online, offline or unknown", description="From the device's retained status and will.")
    status_boot: str | None = Field(title="Boot id in the last status")
    status_fw: str | None = Field(title="Firmware in the last status")
    status_at: datetime | None = Field(title="When the hub received the last status change")
    last_seen_at: datetime | None = Field(title="When the hub last received an event from it")
    last_heartbeat: dict[str, Any] | None = Field(title="The latest heartbeat: seq, ts_ms, boot and its data")
    acked_seq: int = Field(title="Highest seq stored with none missing below it (what its receipt says)")
    max_seq: int = Field(title="Highest seq stored")


class DeviceIn(BaseModel):
    """A door agent to register."""

    site: str = Field(title="Site id", description="1-64 characters of [a-z0-9-]")
    device: str = Field(title="Device id", description="1-64 characters of [a-z0-9-]")
    public_key: str = Field(title="Ed25519 public key", description="base64 of the raw 32 bytes, with padding")
    doors: dict[str, str] = Field(title="Doors", description="door id → room id, e.g. {\"d1\": \"room-01\"}")


class Gaps(BaseModel):
    device: str
    acked_seq: int = Field(title="Highest seq stored with none missing below it")
    max_seq: int = Field(title="Highest seq stored")
    gaps: list[tuple[int, int]] = Field(title="Missing seq ranges, first and last inclusive")


def _out(device: Device, head: DeviceHead | None) -> DeviceOut:
    return DeviceOut.model_validate({
        **{column: getattr(device, column) for column in DeviceOut.model_fields if hasattr(device, column)},
        "acked_seq": head.acked_seq if head else 0,
        "max_seq": head.max_seq if head else 0,
    })


def _check_site(caller: SignedIn, site: str | None) -> str | None:
    """The site the caller may look at: any for an admin (None: all), their own home for its staff."""
    if caller.role == AccountRole.ADMIN:
        return site
    if caller.role not in CARERS:
        raise problem(status.HTTP_403_FORBIDDEN, "role_not_allowed", "devices are for admins and a home's staff")
    if site is not None and site != caller.home_id:
        raise problem(status.HTTP_403_FORBIDDEN, "not_your_home", "a home's devices are for its staff and admins")
    return caller.home_id


@router.get("/devices", response_model=list[DeviceOut])
def get_devices(caller: CallerDep, session: SessionDep, site: str | None = None) -> list[DeviceOut]:
    """Registered devices with their status, last seen time and how far their stored chains reach.
    Admin (every home, or `site`), or a home's staff (their own home)."""
    return devices_out(session, _check_site(caller, site))


def devices_out(session: Session, site: str | None) -> list[DeviceOut]:
    """The registered devices of `site` (None: every site), as the API lists them."""
    heads = {head.device: head for head in session.scalars(select(DeviceHead))}
    return [_out(device, heads.get(device.id)) for device in list_devices(session, site=site)]


@router.post("/devices", response_model=DeviceOut, status_code=status.HTTP_201_CREATED)
def post_device(body: DeviceIn, _admin: AdminDep, session: SessionDep) -> DeviceOut:
    """Register a device. The worker publishes its signed config within a few seconds. Admin."""
    return _out(register(session, body), None)


def register(session: Session, body: DeviceIn) -> Device:
    """Register the device and commit it; a 4xx problem with the registry's reason (409 for an id taken)."""
    try:
        device = register_device(
            session, site=body.site, device=body.device, public_key=body.public_key, doors=body.doors
        )
        session.commit()
    except RegistryError as error:
        session.rollback()
        code = status.HTTP_409_CONFLICT if error.reason == "device_exists" else status.HTTP_400_BAD_REQUEST
        raise problem(code, error.reason, error.detail) from None
    return device


@router.get("/devices/{device_id}/gaps", response_model=Gaps)
def get_gaps(device_id: str, caller: CallerDep, session: SessionDep) -> Gaps:
    """The seqs missing from a device's stored chain while later ones are held. Admin, or its home's staff."""
    _check_site(caller, None)
    device = session.get(Device, device_id)
    if device is None:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_device", f"no device {device_id!r} is registered")
    _check_site(caller, device.site)
    head = session.get(DeviceHead, device_id)
    return Gaps(
        device=device_id,
        acked_seq=head.acked_seq if head else 0,
        max_seq=head.max_seq if head else 0,
        gaps=find_gaps(session, device_id),
    )


class IdentifyOut(BaseModel):
    command: str = Field(title="Command id")
    device: str
    door: str | None = Field(title="Door whose indicator blinks; null: every door of the device")
    broker_confirmed: bool = Field(title="Whether the broker acknowledged the command (PUBACK)")


@router.post("/devices/{device_id}/identify", response_model=IdentifyOut, status_code=status.HTTP_202_ACCEPTED)
def post_identify(device_id: str, _admin: AdminDep, session: SessionDep, live: LiveDep, hub_key: HubKeyDep,
                  door: str | None = None) -> IdentifyOut:
    """Blink a door's indicator so an installer can find it. Admin. 404 for an unknown or retired device or
    door, 503 while the hub cannot reach the broker."""
    return identify(session, live, hub_key, device_id, door)


def identify(session: Session, live: LiveLink, hub_key: Ed25519PrivateKey, device_id: str,
             door: str | None) -> IdentifyOut:
    """Send the device a signed `identify` command; a 404 or 503 problem as post_identify says."""
    device = session.get(Device, device_id)
    if device is None or device.retired_at is not None or device.id == HUB_SOURCE:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_device", f"no device {device_id!r} is registered")
    if door is not None and door not in device.doors:
        raise problem(status.HTTP_404_NOT_FOUND, "unknown_door", f"{device_id!r} has no door {door!r}")
    if not live.connected:
        raise problem(status.HTTP_503_SERVICE_UNAVAILABLE, "broker_unavailable", "the hub cannot reach the doors")
    command, sealed = sealed_command(hub_key, device.id, "identify", IdentifyArgs(door=door).model_dump())
    confirmed = live.publish(device_topic(device.site, device.id, DeviceChannel.COMMAND), sealed, confirm=True)
    return IdentifyOut(command=command.id, device=device.id, door=door, broker_confirmed=confirmed)
