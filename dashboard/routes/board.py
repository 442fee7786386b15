"""The night board (/board), made for a phone held in one hand at night: the home's active alerts first, newest
first, each with Acknowledge and Resolve (with a note); a lone-worker check-in; then every room of the home with its
state (quiet, a knock waiting, someone inside and for how long, do not disturb, door offline) and a remote knock.

Whole without JavaScript: the page shows the home as the hub's database has it when it loads (rooms by
`room_messages`, as the worker publishes them; alerts by `home_alerts`, as GET /api/v1/alerts lists them), and its
forms post here, to the functions the API's routes call. static/board.js then keeps it live from /api/v1/live,
says plainly when it is not, and sends the same changes straight to the API.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.templating import local_time, redirect_with_flash, render
from dashboard.viewer import Viewer, page_for
from hub.api.deps import CARERS, LEADS, HubKeyDep, LiveDep, SessionDep, SettingsDep
from hub.api.routes.alerts import AlertOut, acknowledge_alert, home_alerts, resolve_alert
from hub.api.routes.check_ins import check_in_from
from hub.api.routes.knocks import door_serving, send_knock
from hub.db.models import AlertRecord, Home, Resident, Room, Staff
from hub.decisions.alerts import alert_ladder
from hub.decisions.live import room_messages
from hub.live import RoomState
from hub.people.homes import occupant
from hub.rules.alerts import AlertStatus, AlertType, Audience

router = APIRouter(include_in_schema=False)

CarerDep = Annotated[Viewer, Depends(page_for(*CARERS))]
AlertId = Annotated[str, Path(max_length=64)]
RoomId = Annotated[str, Path(max_length=64)]

BOARD = "/board"
MAX_NOTE = 4000  # as the API's ResolveIn

# The board's words, here once: the page is rendered with them and board.js is given them, so what a room or an
# alert says does not depend on whether it was drawn by the server or changed live. {at} is a time on the home's
# clock, {duration} how long.
STATE_PHRASES = {
    RoomState.IDLE: "Quiet",
    RoomState.KNOCK_WAITING: "Knock waiting for an answer since {at}",
    RoomState.OCCUPIED: "Someone inside for {duration} (since {at})",
    RoomState.DO_NOT_DISTURB: "Do not disturb since {at}",
    RoomState.OFFLINE: "Door offline since {at}",
}
TYPE_LABELS = {
    AlertType.UNPERMITTED_ENTRY: "Entry the preferences did not permit",
    AlertType.DOOR_HELD_OPEN: "Door held open",
    AlertType.HELP_REQUESTED: "Help asked for",
    AlertType.LONE_WORKER_OVERDUE: "Lone-worker check-in overdue",
    AlertType.ENVIRONMENT_OUT_OF_RANGE: "Temperature or humidity out of range",
    AlertType.DEVICE_OFFLINE: "Door device not heard from",
    AlertType.CLOCK_UNSYNCED: "Door device clock not synchronised",
    AlertType.TAMPER: "Door device disturbed",
    AlertType.BAD_SIGNATURE: "Message that did not verify",
    AlertType.SEQ_REUSE: "Sequence number used twice",
    AlertType.UNKNOWN_DEVICE: "Message from an unknown device",
    AlertType.WELFARE_CHECK: "Welfare check suggested",
}
AUDIENCES = {
    Audience.STAFF_ON_DUTY: "staff on duty",
    Audience.NIGHT_LEAD: "the night lead",
    Audience.ON_CALL_MANAGER: "the on-call manager",
    Audience.MANAGER: "the manager",
}
WORDS = {
    "step": "Step {step}: {who}",
    "acknowledged": "By {who}",
    "acknowledged_at": "By {who} at {at}",
    "not_acknowledged": "Not yet",
    "whole_home": "The home",
    "alerts_0": "No active alerts",
    "alerts_1": "1 active alert",
    "alerts_n": "{n} active alerts",
    "knocked": "Knocked at the door of {room}. Wait for the resident's answer.",
    "knock_unconfirmed": "The knock at {room} is recorded, but the door has not confirmed it: knock at the door.",
    "checked_in": "Checked in from {room} at {at}: all is well.",
    "acknowledged_done": "You acknowledged the alert for {room}.",
    "resolved_done": "You resolved the alert for {room}.",
}


def clock(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A time on the home's clock: the hour and minute when it is today there, else with its date."""
    if moment.astimezone(zone).date() == now.astimezone(zone).date():
        return moment.astimezone(zone).strftime("%H:%M")
    return local_time(moment, zone)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def how_long(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes == 0:
        return "less than a minute"
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return _count(minutes, "minute")
    return _count(hours, "hour") + (f" {_count(rest, 'minute')}" if rest else "")


def alerts_words(number: int) -> str:
    return WORDS.get(f"alerts_{number}", WORDS["alerts_n"]).format(n=number)


@dataclass(frozen=True)
class RoomView:
    id: str
    resident: str | None
    state: RoomState
    since: datetime
    words: str
    alerts: int
    alerts_words: str
    has_door: bool


@dataclass(frozen=True)
class AlertView:
    id: str
    room: str | None
    type: str
    label: str
    sentence: str
    raised_at: datetime | None
    raised: str
    acknowledged: bool
    acknowledged_words: str
    step: str | None
    own: bool


BLANK_ALERT = AlertView(id="__ID__", room=None, type="", label="", sentence="", raised_at=None, raised="",
                        acknowledged=False, acknowledged_words=WORDS["not_acknowledged"], step=None, own=False)
"""What board.js fills in for an alert that arrives live: the page's own card, so both look the same."""


def _rooms(session: Session, home: Home, zone: ZoneInfo, now: datetime) -> list[RoomView]:
    rooms = []
    home_rooms = session.scalars(select(Room).where(Room.home_id == home.id).order_by(Room.id)).all()
    states = room_messages(session, home.id, [room.id for room in home_rooms], now)
    for room, state in zip(home_rooms, states, strict=True):
        resident_id = occupant(session, home.id, room.id)
        rooms.append(RoomView(
            id=room.id,
            resident=session.get_one(Resident, resident_id).display_name if resident_id else None,
            state=state.state, since=state.since,
            words=STATE_PHRASES[state.state].format(at=clock(state.since, zone, now),
                                                    duration=how_long(state.since, now)),
            alerts=state.active_alerts,
            alerts_words=alerts_words(state.active_alerts),
            has_door=door_serving(session, home.id, room.id) is not None,
        ))
    return rooms


def _step(session: Session, alert: AlertOut) -> str | None:
    """The last escalation step sent, and whom it called."""
    if not alert.escalated:
        return None
    index = max(alert.escalated)
    steps = alert_ladder(session, alert.site, alert.type).steps
    who = AUDIENCES[steps[index].audience] if index < len(steps) else "someone further up the ladder"
    return WORDS["step"].format(step=index + 1, who=who)


def _alerts(session: Session, viewer: Viewer, home: Home, names: dict[str, str], zone: ZoneInfo,
            now: datetime) -> list[AlertView]:
    views = []
    for alert in home_alerts(session, home.id):
        acknowledged = alert.status == AlertStatus.ACTIVE_ACKNOWLEDGED
        who = names.get(alert.acknowledged_by or "", alert.acknowledged_by)
        views.append(AlertView(
            id=alert.id, room=alert.room, type=alert.type, label=TYPE_LABELS.get(alert.type, alert.type),
            sentence=alert.sentence, raised_at=alert.raised_at, raised=clock(alert.raised_at, zone, now),
            acknowledged=acknowledged,
            acknowledged_words=(WORDS["acknowledged_at"].format(who=who, at=clock(alert.acknowledged_at, zone, now))
                                if acknowledged and alert.acknowledged_at else WORDS["not_acknowledged"]),
            step=_step(session, alert),
            own=alert.subject_staff is not None and alert.subject_staff == viewer.account.staff_id,
        ))
    return views


def board_page(request: Request, viewer: Viewer, session: Session, heartbeat_s: float, *, error: str | None = None,
               status_code: int = status.HTTP_200_OK) -> Response:
    """The board as the database has it now; with `error`, what a form asked was refused, said at the top."""
    home = viewer.home
    assert home is not None  # every carer belongs to a home
    zone = ZoneInfo(home.time_zone)
    now = datetime.now(UTC)
    names = {member.id: member.name for member in session.scalars(select(Staff).where(Staff.home_id == home.id))}
    rooms = _rooms(session, home, zone, now)
    alerts = _alerts(session, viewer, home, names, zone, now)
    data: dict[str, Any] = {
        "site": home.id, "zone": home.time_zone, "me": viewer.account.staff_id, "staff": names,
        "heartbeatS": heartbeat_s, "states": STATE_PHRASES, "types": TYPE_LABELS, "audiences": AUDIENCES,
        "words": WORDS,
    }
    return render(request, "board.html", {
        "rooms": rooms,
        "alerts": alerts,
        "alerts_words": alerts_words(len(alerts)),
        "loaded_at": clock(now, zone, now),
        "can_pair": viewer.role in LEADS,
        "error": error,
        "blank_alert": BLANK_ALERT,
        "board_data": data,
        "max_note": MAX_NOTE,
    }, viewer=viewer, status_code=status_code)


def _refused(request: Request, viewer: Viewer, session: Session, heartbeat_s: float, error: HTTPException) -> Response:
    """The API's refusal, said on the board with the API's status (a missing room or alert: the 404 page)."""
    session.rollback()
    detail = error.detail.get("detail", "") if isinstance(error.detail, dict) else str(error.detail)
    sentence = detail[:1].upper() + detail[1:]
    if error.status_code == status.HTTP_404_NOT_FOUND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, sentence) from None
    return board_page(request, viewer, session, heartbeat_s, error=sentence, status_code=error.status_code)


def _alert_here(session: Session, viewer: Viewer, alert_id: str) -> AlertRecord:
    """An alert of the viewer's own home; any other id is 404, whoever's it is."""
    assert viewer.home is not None
    record = session.get(AlertRecord, alert_id)
    if record is None or record.site != viewer.home.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no such alert in {viewer.home.name}.")
    return record


def _room_words(record: AlertRecord) -> str:
    return record.room or WORDS["whole_home"].lower()


@router.get(BOARD)
def get_board(request: Request, viewer: CarerDep, session: SessionDep, settings: SettingsDep) -> Response:
    return board_page(request, viewer, session, settings.live_heartbeat_s)


@router.post(BOARD + "/alerts/{alert_id}/acknowledge")
def post_acknowledge(request: Request, alert_id: AlertId, viewer: CarerDep, session: SessionDep, live: LiveDep,
                     settings: SettingsDep) -> Response:
    record = _alert_here(session, viewer, alert_id)
    try:
        acknowledge_alert(session, live, viewer.caller, alert_id)
    except HTTPException as refused:
        return _refused(request, viewer, session, settings.live_heartbeat_s, refused)
    return redirect_with_flash(BOARD, WORDS["acknowledged_done"].format(room=_room_words(record)))


@router.post(BOARD + "/alerts/{alert_id}/resolve")
def post_resolve(request: Request, alert_id: AlertId, viewer: CarerDep, session: SessionDep, live: LiveDep,
                 settings: SettingsDep, note: Annotated[str, Form(max_length=MAX_NOTE)] = "") -> Response:
    record = _alert_here(session, viewer, alert_id)
    try:
        resolve_alert(session, live, viewer.caller, alert_id, note)
    except HTTPException as refused:
        return _refused(request, viewer, session, settings.live_heartbeat_s, refused)
    return redirect_with_flash(BOARD, WORDS["resolved_done"].format(room=_room_words(record)))


@router.post(BOARD + "/rooms/{room_id}/knock")
def post_knock(request: Request, room_id: RoomId, viewer: CarerDep, session: SessionDep, live: LiveDep,
               hub_key: HubKeyDep, settings: SettingsDep) -> Response:
    assert viewer.home is not None
    try:
        knock = send_knock(session, live, hub_key, viewer.caller, viewer.home.id, room_id)
    except HTTPException as refused:
        return _refused(request, viewer, session, settings.live_heartbeat_s, refused)
    said = WORDS["knocked"] if knock.broker_confirmed else WORDS["knock_unconfirmed"]
    return redirect_with_flash(BOARD, said.format(room=room_id))


@router.post(BOARD + "/check-ins")
def post_check_in(request: Request, viewer: CarerDep, session: SessionDep, settings: SettingsDep,
                  room: Annotated[str, Form(min_length=1, max_length=64)]) -> Response:
    assert viewer.home is not None
    try:
        done = check_in_from(session, viewer.caller, viewer.home.id, room)
    except HTTPException as refused:
        return _refused(request, viewer, session, settings.live_heartbeat_s, refused)
    zone = ZoneInfo(viewer.home.time_zone)
    return redirect_with_flash(BOARD, WORDS["checked_in"].format(room=room, at=clock(done.at, zone, done.at)))
