"""A home's thresholds: its escalation ladder (who is called, and when, about an alert nobody has acknowledged)
and each room's environment limits.

The admin's for any home, the home's manager's for their own, as the API decides (home_settings.home_for). The
forms show minutes, degrees and per cent; what is saved is what the API's models accept, checked by the same rules
(a ladder whose last step is off is refused with the rules' own words).
"""

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.forms import WHOLE_FORM, FormState, FormValuesDep, Refused, as_form_errors, sentence
from dashboard.routes.admin import FormText, HomeId, KeeperDep, home_path, kept_home, page_context
from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import Viewer
from hub.api.deps import SessionDep
from hub.api.problems import people_change
from hub.api.routes.home_settings import (
    MAX_STEPS,
    LadderIn,
    LimitsIn,
    LimitsOut,
    environment_limits,
    escalation_ladder,
    ladder_out,
    limits_out,
)
from hub.db.models import Home, Room, RoomEnvironmentLimits
from hub.people.environment_limits import get_room, set_room_limits
from hub.people.errors import PeopleError
from hub.people.ladders import set_ladder
from hub.rules.alerts import Audience, EscalationLadder

router = APIRouter(include_in_schema=False)

AUDIENCES = {Audience.STAFF_ON_DUTY: "Staff on duty", Audience.NIGHT_LEAD: "Night lead",
             Audience.ON_CALL_MANAGER: "Manager on call", Audience.MANAGER: "Manager"}
SPARE_STEPS = 2
"""Empty rows under a ladder's steps, to add a step without a script."""
LADDER_FIELD = re.compile(r"(?:after|audience|enabled)_([1-9][0-9]?)")


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g}"


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def thresholds_path(home_id: str) -> str:
    return home_path(home_id, "/thresholds")


# the page ----------------------------------------------------------------------------------------------------------

def _limits_rows(session: Session, home: Home) -> list[LimitsOut]:
    own = {row.room_id: row for row in session.scalars(select(RoomEnvironmentLimits)
                                                        .where(RoomEnvironmentLimits.home_id == home.id))}
    return [limits_out(home.id, room, own.get(room))
            for room in session.scalars(select(Room.id).where(Room.home_id == home.id).order_by(Room.id))]


def _ladder_rows(session: Session, home: Home, form: FormState) -> list[dict[str, Any]]:
    """The ladder as form rows: what was sent, when a refused form is shown again; else the ladder in force and
    spare rows to add steps."""
    if form.values:
        count = max((int(found.group(1)) for name in form.values if (found := LADDER_FIELD.fullmatch(name))),
                    default=1)
        return [{"after": form.values.get(f"after_{row}", ""), "audience": form.values.get(f"audience_{row}", ""),
                 "enabled": form.values.get(f"enabled_{row}") == "on"} for row in range(1, count + 1)]
    steps = ladder_out(session, home).steps
    rows = [{"after": _minutes(step.after_s), "audience": step.audience.value, "enabled": step.enabled}
            for step in steps]
    spare = min(SPARE_STEPS, MAX_STEPS - len(rows))
    return rows + [{"after": "", "audience": "", "enabled": True} for _ in range(spare)]


def _thresholds_page(request: Request, viewer: Viewer, session: Session, home: Home,
                     forms: dict[str, FormState] | None = None, status_code: int = 200) -> Response:
    forms = forms or {}
    ladder = ladder_out(session, home)
    return render(request, "admin_thresholds.html", page_context(
        viewer, home, ladder=ladder, rows=_ladder_rows(session, home, forms.get("ladder", FormState())),
        audiences=[("", "No step here")] + [(audience.value, label) for audience, label in AUDIENCES.items()],
        audience_words={audience.value: label for audience, label in AUDIENCES.items()},
        limits=_limits_rows(session, home), forms=forms,
    ), viewer=viewer, status_code=status_code)


@router.get("/admin/homes/{home_id}/thresholds")
def get_thresholds(request: Request, home_id: HomeId, viewer: KeeperDep, session: SessionDep) -> Response:
    return _thresholds_page(request, viewer, session, kept_home(session, viewer, home_id))


# the escalation ladder ---------------------------------------------------------------------------------------------

LADDER_ROWS = MAX_STEPS + SPARE_STEPS
"""The most rows a ladder form has."""
LADDER_WORDS = {"too_short": "Give at least one step: an alert always calls someone.",
                "too_long": f"A ladder has at most {MAX_STEPS} steps."}
"""The API model's refusals of the list of steps, in the page's words; the rules' own refusals keep theirs."""


def _step_field(loc: tuple[Any, ...], used: list[int]) -> str:
    """The field of the form a ladder error is about: ("steps", 1, "after_s") is the second step's minutes."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[1] < len(used):
        name = {"audience": "audience", "enabled": "enabled"}.get(str(loc[2]) if len(loc) > 2 else "", "after")
        return f"{name}_{used[loc[1]]}"
    return WHOLE_FORM


def _ladder(values: dict[str, str]) -> EscalationLadder:
    """The ladder typed in, as the API's body and then as the rules hold it, or `Refused`. Rows without someone
    to call are left out."""
    steps: list[dict[str, Any]] = []
    used: list[int] = []
    errors: dict[str, str] = {}
    for row in range(1, LADDER_ROWS + 1):
        if not values.get(f"audience_{row}"):
            continue
        minutes = _number(values.get(f"after_{row}", ""))
        if minutes is None:
            errors[f"after_{row}"] = "Give the minutes after the alert is raised, like 2."
        steps.append({"after_s": round(minutes * 60) if minutes is not None else 0,
                      "audience": values[f"audience_{row}"], "enabled": values.get(f"enabled_{row}") == "on"})
        used.append(row)
    if errors:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
    try:
        return escalation_ladder(LadderIn.model_validate({"steps": steps}))
    except ValidationError as error:
        refused: dict[str, str] = {}
        for item in error.errors():
            # The rules refuse a last step switched off: say so beside that step's switch.
            field = f"enabled_{used[-1]}" if item["type"] == "last_step_off" else _step_field(item["loc"], used)
            refused.setdefault(field, LADDER_WORDS.get(item["type"], sentence(item["msg"])))
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, refused) from None


@router.post("/admin/homes/{home_id}/ladder")
def post_ladder(request: Request, home_id: HomeId, viewer: KeeperDep, session: SessionDep,
                values: FormValuesDep) -> Response:
    home = kept_home(session, viewer, home_id)
    try:
        ladder = _ladder(values)
        with as_form_errors({}), people_change(session):
            version = set_ladder(session, home.id, ladder, viewer.account).version
    except Refused as refused:
        return _thresholds_page(request, viewer, session, home, {"ladder": refused.state(values)},
                                refused.status_code)
    return redirect_with_flash(thresholds_path(home.id),
                               f"The escalation ladder of {home.name} is saved as version {version}.")


# a room's environment limits ---------------------------------------------------------------------------------------

LIMIT_FIELDS = {  # form field → (the API's field, its units in one of the form's, the form's unit)
    "min_temp": ("min_temp_c_x100", 100, "°C"),
    "max_temp": ("max_temp_c_x100", 100, "°C"),
    "min_rh": ("min_rh_x100", 100, "%"),
    "max_rh": ("max_rh_x100", 100, "%"),
    "sustained": ("sustained_s", 60, "minutes"),
}


def _range(api_field: str, scale: int, unit: str) -> str:
    """"Give a number from 0 to 40 °C.": the API's own bounds, in the form's units."""
    bounds = {name: getattr(rule, name) for rule in LimitsIn.model_fields[api_field].metadata
              for name in ("ge", "le") if hasattr(rule, name)}
    return f"Give a number from {bounds['ge'] / scale:g} to {bounds['le'] / scale:g} {unit}."


def _limits_refused(error: ValidationError) -> dict[str, str]:
    """The API model's and the rules' refusals of some limits, each beside its field in the form's units."""
    fields = {api_field: field for field, (api_field, _scale, _unit) in LIMIT_FIELDS.items()}
    errors: dict[str, str] = {}
    for item in error.errors():
        field = fields.get(str(item["loc"][0])) if item["loc"] else None
        if field is None:
            errors.setdefault(WHOLE_FORM, sentence(item["msg"]))
        else:
            errors.setdefault(field, _range(*LIMIT_FIELDS[field]))
    return errors


def _limits_values(limits: LimitsOut) -> dict[str, str]:
    return {field: f"{getattr(limits, api_field) / scale:g}" for field, (api_field, scale, _unit) in
            LIMIT_FIELDS.items()}


def _room(session: Session, home: Home, room_id: str) -> Room:
    try:
        return get_room(session, home.id, room_id)
    except PeopleError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{home.name} has no room {room_id}.") from None


def _limits_page(request: Request, viewer: Viewer, session: Session, home: Home, room: Room,
                 form: FormState | None = None, status_code: int = 200) -> Response:
    limits = limits_out(home.id, room.id, session.get(RoomEnvironmentLimits, (home.id, room.id)))
    return render(request, "admin_limits.html", page_context(
        viewer, home, room=room, limits=limits, current=_limits_values(limits),
        forms={"limits": form or FormState(_limits_values(limits))},
    ), viewer=viewer, status_code=status_code)


RoomId = Annotated[str, Path(max_length=64)]


@router.get("/admin/homes/{home_id}/rooms/{room_id}/limits")
def get_limits(request: Request, home_id: HomeId, room_id: RoomId, viewer: KeeperDep,
               session: SessionDep) -> Response:
    home = kept_home(session, viewer, home_id)
    return _limits_page(request, viewer, session, home, _room(session, home, room_id))


@router.post("/admin/homes/{home_id}/rooms/{room_id}/limits")
def post_limits(request: Request, home_id: HomeId, room_id: RoomId, viewer: KeeperDep, session: SessionDep,
                min_temp: FormText = "", max_temp: FormText = "", min_rh: FormText = "", max_rh: FormText = "",
                sustained: FormText = "") -> Response:
    home = kept_home(session, viewer, home_id)
    room = _room(session, home, room_id)
    values = {"min_temp": min_temp, "max_temp": max_temp, "min_rh": min_rh, "max_rh": max_rh, "sustained": sustained}
    try:
        body: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for field, (api_field, scale, unit) in LIMIT_FIELDS.items():
            number = _number(values[field])
            if number is None:
                errors[field] = _range(api_field, scale, unit)
            else:
                body[api_field] = round(number * scale)
        if errors:
            raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
        try:
            limits = environment_limits(LimitsIn.model_validate(body))
        except ValidationError as error:
            raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, _limits_refused(error)) from None
        with as_form_errors({}), people_change(session):
            set_room_limits(session, home.id, room.id, limits, viewer.account)
    except Refused as refused:
        return _limits_page(request, viewer, session, home, room, refused.state(values), refused.status_code)
    return redirect_with_flash(thresholds_path(home.id), f"The environment limits of {room.id} are saved.")
