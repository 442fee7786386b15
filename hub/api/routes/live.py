"""The night board's live feed: Server-Sent Events of a home's room states and alert changes.

A plain StreamingResponse: the format is four short lines, and owning the loop keeps the heartbeat, the retry
hint and the slow-client rule in view (no extra dependency for them).

Every connection starts with the whole current state: `event: room` for each room, `event: alert` for each active
alert, then `event: ready`; after it, `event: alert` / `event: room` as they happen, and `event: heartbeat` every
heartbeat interval (an event rather than a comment line: a browser's EventSource shows a page events only, and a
board that hears nothing for a while knows its stream has died even when the network has not said so). Because each
(re)connection resends everything current, a client that reconnects (with or without Last-Event-ID) is whole
again without a replay, so events carry no id. A client too slow for its queue has its stream ended and
reconnects to a fresh snapshot. So has every client when the API loses the broker: while it is away, a connection
is refused (503 broker_unavailable, with Retry-After), so no client believes itself live when nothing can reach
it; once the broker is back, a connection gets the fresh snapshot again.

A stream does not outlive the sign-in that opened it: before each heartbeat it asks whether its bearer token or
dashboard session is still live (one small query) and ends when it is not, so signing out, a session's absolute
end, disabling the account or revoking the token closes it within one interval; reconnecting then gets 401. An open
stream counts as using its session: a night board left open is not signed out by the idle timeout.
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
from hub.api.deps import (
    CarerAtHomeDep,
    LiveDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    StillSignedIn,
    StillSignedInDep,
)
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


async def stream(live: LiveLink, sessions: sessionmaker[Session], site: str, still_signed_in: StillSignedIn,
                 heartbeat_s: float, retry_ms: int) -> AsyncIterator[bytes]:
    # Listen before reading the snapshot, so nothing that happens while it is read is missed (it may come twice;
    # every message carries the whole state of its alert or room, so a repeat changes nothing).
    listener = live.listen(site)
    loop = asyncio.get_running_loop()
    try:
        yield f"retry: {retry_ms}\n\n".encode()
        rooms = live.room_states(site)
        for room in rooms:
            yield sse("room", room.model_dump_json())
        alerts = await run_in_threadpool(active_alerts, sessions, site)
        for alert in alerts:
            yield sse("alert", alert.model_dump_json())
        yield sse("ready", f'{{"rooms": {len(rooms)}, "alerts": {len(alerts)}}}')
        # On a fixed beat rather than after each quiet spell: a busy home's stream is asked about its caller too.
        beat_at = loop.time() + heartbeat_s
        while True:
            try:
                message = await asyncio.wait_for(listener.queue.get(), timeout=max(0.0, beat_at - loop.time()))
            except TimeoutError:
                if not await run_in_threadpool(still_signed_in):
                    return
                yield sse("heartbeat", "{}")
                beat_at = loop.time() + heartbeat_s
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
async def get_live(at_home: CarerAtHomeDep, live: LiveDep, sessions: SessionFactoryDep, settings: SettingsDep,
                   still_signed_in: StillSignedInDep, session: SessionDep) -> StreamingResponse:
    """A home's room states and alert changes as they happen (Server-Sent Events). Staff, night lead or manager
    of the home. Send `Authorization: Bearer <token>` (a fetch-based EventSource), or the dashboard's session
    cookie (a browser's EventSource). At every heartbeat the stream asks again whether that token or session is
    live, and ends once it is not (revoked, signed out, past its absolute end, account disabled): reconnecting then
    gets 401. An open stream keeps its session from the idle timeout.
    503 while the API cannot reach the broker: nothing would arrive live."""
    if not live.connected:
        raise problem(status.HTTP_503_SERVICE_UNAVAILABLE, "broker_unavailable",
                      "the hub cannot receive live changes just now; try again shortly",
                      headers={"Retry-After": str(math.ceil(settings.live_retry_ms / 1000))})
    home_id = at_home.home.id
    # The request's own session (the checks above) lives until the response ends, a whole night for a board left
    # open: its transaction, left open, would keep PostgreSQL from vacuuming every row the hub updates meanwhile.
    # The stream reads through sessions of its own.
    session.close()
    return StreamingResponse(
        stream(live, sessions, home_id, still_signed_in, settings.live_heartbeat_s,
               settings.live_retry_ms),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
