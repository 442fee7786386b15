"""The night board's live feed: Server-Sent Events of a home's room states and alert changes.

A plain StreamingResponse: the format is four short lines, and owning the loop keeps the heartbeat, the retry
hint and the slow-client rule in view (no extra dependency for them).

Every connection starts with the whole current state: `event: room` for each room, `event: alert` for each active
alert, then `event: ready`; after it, `event: alert` / `event: room` as they happen, and `event: heartbeat` when
idle (an event rather than a comment line: a browser's EventSource shows a page events only, and a board that
hears nothing for a while knows its stream has died even when the network has not said so). Because each
(re)connection resends everything current, a client that reconnects (with or without Last-Event-ID) is whole
again without a replay, so events carry no id. A client too slow for its queue has its stream ended and
reconnects to a fresh snapshot. So has every client when the API loses the broker: while it is away, a connection
is refused (503 broker_unavailable, with Retry-After), so no client believes itself live when nothing can reach
it; once the broker is back, a connection gets the fresh snapshot again.
"""

import asyncio
import math
from collections.abc import AsyncIterator

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.api.broker import LiveLink
from hub.api.deps import CarerAtHomeDep, LiveDep, SessionFactoryDep, SettingsDep
from hub.api.problems import PROBLEMS, problem
from hub.db.models import AlertChangeRecord, AlertRecord
from hub.decisions.alerts import alert_message
from hub.live import AlertMessage, RoomStateMessage
from hub.rules.alerts import Action

router = APIRouter(tags=["live"], responses=PROBLEMS)

EVENT_STREAM = "text/event-stream"


def sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def active_alerts(sessions: sessionmaker[Session], site: str) -> list[AlertMessage]:
    """The home's active alerts as live messages, each with its latest change."""
    with sessions() as session:
        records = list(session.scalars(select(AlertRecord).where(AlertRecord.site == site,
                                                                 AlertRecord.cleared_at.is_(None))
                                       .order_by(AlertRecord.raised_at, AlertRecord.id)))
        latest: dict[str, AlertChangeRecord] = {}
        if records:
            for line in session.scalars(select(AlertChangeRecord)
                                        .where(AlertChangeRecord.alert_id.in_([r.id for r in records]))
                                        .order_by(AlertChangeRecord.id)):
                latest[line.alert_id] = line
        return [
            alert_message(record, latest[record.id].action, latest[record.id].at, latest[record.id].note)
            if record.id in latest else alert_message(record, Action.RAISED.value, record.raised_at)
            for record in records
        ]


async def stream(live: LiveLink, sessions: sessionmaker[Session], site: str, heartbeat_s: float,
                 retry_ms: int) -> AsyncIterator[bytes]:
    # Listen before reading the snapshot, so nothing that happens while it is read is missed (it may come twice;
    # every message carries the whole state of its alert or room, so a repeat changes nothing).
    listener = live.listen(site)
    try:
        yield f"retry: {retry_ms}\n\n".encode()
        rooms = live.room_states(site)
        for room in rooms:
            yield sse("room", room.model_dump_json())
        alerts = await run_in_threadpool(active_alerts, sessions, site)
        for alert in alerts:
            yield sse("alert", alert.model_dump_json())
        yield sse("ready", f'{{"rooms": {len(rooms)}, "alerts": {len(alerts)}}}')
        while True:
            try:
                message = await asyncio.wait_for(listener.queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                yield sse("heartbeat", "{}")
                continue
            if message is None:
                return
            kind = "room" if isinstance(message, RoomStateMessage) else "alert"
            yield sse(kind, message.model_dump_json())
    finally:
        live.forget(listener)


@router.get(
    "/live",
    response_class=StreamingResponse,
    responses={200: {"content": {EVENT_STREAM: {}}, "description": "A Server-Sent Events stream"},
               503: PROBLEMS[409]},
)
async def get_live(at_home: CarerAtHomeDep, live: LiveDep, sessions: SessionFactoryDep,
                   settings: SettingsDep) -> StreamingResponse:
    """A home's room states and alert changes as they happen (Server-Sent Events). Staff, night lead or manager
    of the home. Send `Authorization: Bearer <token>` (a fetch-based EventSource), or the dashboard's session
    cookie (a browser's EventSource). 503 while the API cannot reach the broker: nothing would arrive live."""
    if not live.connected:
        raise problem(status.HTTP_503_SERVICE_UNAVAILABLE, "broker_unavailable",
                      "the hub cannot receive live changes just now; try again shortly",
                      headers={"Retry-After": str(math.ceil(settings.live_retry_ms / 1000))})
    return StreamingResponse(
        stream(live, sessions, at_home.home.id, settings.live_heartbeat_s, settings.live_retry_ms),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
