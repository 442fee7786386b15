"""Events as stored, with their signed bytes: a home's timeline for those who look back over its nights, and
the devices' own health events for admins, who never read a room's timeline (DESIGN.md: without a manager's role).
Every read of a home's events is recorded in the hub's chain."""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select

from hub.api.deps import LEADS, CallerDep, SessionDep, SettingsDep
from hub.api.problems import PROBLEMS, problem
from hub.api.reads import record_read
from hub.db.models import AccountRole, StoredEvent
from protocol.events import MAX_SAFE_INT

router = APIRouter(tags=["events"], responses=PROBLEMS)

DEVICE_HEALTH = "device.%"
"""What an admin may read: device.heartbeat, device.tamper — about the device, nothing about a room."""

MAX_LIMIT = 1000


class EventOut(BaseModel):
    """One stored event: the fields the hub filters on, and the exact signed body with its signature."""

    id: int = Field(title="Hub's row id")
    site: str
    device: str
    seq: int
    type: str = Field(title="Event type")
    door: str | None
    room: str | None = Field(title="Room behind the door, from the registry when the event arrived")
    ts_ms: int = Field(title="Device wall clock, Unix epoch ms, UTC")
    mono_ms: int
    boot: str
    prev: str = Field(title="Base64 SHA-256 of the previous event's signed bytes")
    hash: str = Field(title="Base64 SHA-256 of this event's signed bytes")
    event: dict[str, Any] = Field(title="The signed event body, parsed")
    signed: str = Field(title="The exact signed bytes (UTF-8 text)", description="Verify `sig` against these.")
    sig: str = Field(title="Ed25519 signature (base64)")
    received_at: datetime = Field(title="When the hub received it (UTC)")


class EventPage(BaseModel):
    events: list[EventOut]
    next_cursor: str | None = Field(title="Pass as `cursor` for the next page; null on the last page")


def _epoch_ms(value: str | None, name: str, settings: SettingsDep) -> int | None:
    """Epoch milliseconds, or an ISO 8601 time (read in the home's zone when it has no offset)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if text.lstrip("-").isdigit():
            epoch_ms = int(text)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=settings.zone)
            epoch_ms = int(moment.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_time",
                      f"{name}={value!r} is neither epoch milliseconds nor an ISO 8601 time") from None
    if abs(epoch_ms) > MAX_SAFE_INT:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_time", f"{name}={value!r} is out of range")
    return epoch_ms


def _cursor(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    ts_ms, sep, row_id = value.partition(".")
    try:
        if not sep:
            raise ValueError
        parsed = int(ts_ms), int(row_id)
        if max(abs(parsed[0]), abs(parsed[1])) > MAX_SAFE_INT:
            raise ValueError
        return parsed
    except ValueError:
        raise problem(status.HTTP_400_BAD_REQUEST, "bad_cursor", "cursor must be a value given as next_cursor") from None


@router.get("/events", response_model=EventPage)
def get_events(
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    site: str | None = None,
    device: str | None = None,
    room: str | None = None,
    from_: Annotated[str | None, Query(alias="from", description="Start (inclusive): epoch ms or ISO 8601")] = None,
    to: Annotated[str | None, Query(description="End (exclusive): epoch ms or ISO 8601")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(description="From a previous page's next_cursor")] = None,
) -> EventPage:
    """Events in device-time order, filtered by site, device, room and a time window on `ts_ms`.
    Night lead or manager: their own home's events. Admin: only the devices' health events (device.*)."""
    query = select(StoredEvent).order_by(StoredEvent.ts_ms, StoredEvent.id).limit(limit + 1)
    if caller.role == AccountRole.ADMIN:
        if room is not None:
            raise problem(status.HTTP_403_FORBIDDEN, "not_for_admin",
                          "a room's timeline is for its home's night lead and managers, not for admins")
        query = query.where(StoredEvent.type.like(DEVICE_HEALTH))
    elif caller.role in LEADS:
        if site is not None and site != caller.home_id:
            raise problem(status.HTTP_403_FORBIDDEN, "not_your_home", "a home's events are for its own staff")
        site = caller.home_id
    else:
        raise problem(status.HTTP_403_FORBIDDEN, "role_not_allowed", "this needs one of: admin, manager, night_lead")
    start, end, after = _epoch_ms(from_, "from", settings), _epoch_ms(to, "to", settings), _cursor(cursor)
    for column, wanted in ((StoredEvent.site, site), (StoredEvent.device, device), (StoredEvent.room, room)):
        if wanted is not None:
            query = query.where(column == wanted)
    if start is not None:
        query = query.where(StoredEvent.ts_ms >= start)
    if end is not None:
        query = query.where(StoredEvent.ts_ms < end)
    if after is not None:
        query = query.where(or_(StoredEvent.ts_ms > after[0], and_(StoredEvent.ts_ms == after[0],
                                                                   StoredEvent.id > after[1])))
    rows = list(session.scalars(query))
    page = rows[:limit]
    events = [
        EventOut.model_validate({
            **{name: getattr(row, name) for name in EventOut.model_fields if name != "event"},
            "event": json.loads(row.signed),
        })
        for row in page
    ]
    next_cursor = f"{page[-1].ts_ms}.{page[-1].id}" if len(rows) > limit else None
    if caller.role in LEADS and site is not None:
        record_read(session, caller, site, "events",
                    {"device": device, "room": room, "from": from_, "to": to, "cursor": cursor}, room=room)
    return EventPage(events=events, next_cursor=next_cursor)
