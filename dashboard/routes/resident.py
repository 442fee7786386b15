"""The resident's own page, easy read (made with the Accessible Information Standard in mind): what they asked of
people who knock, in their own words; changing it; who came into their room today and this week.

- /me: the page, the resident's start page;
- /residents/{id}/preferences: the change form and its post, for the resident themself only: another resident's
  id is a 404 that shows nothing of them. A change is a new preference version, made by the API's own service
  function (so the door gets a new signed config): the resident's own choice, or with the support of the member
  of staff who signed in beside them (their session says who).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dashboard.forms import Refused, as_form_errors
from dashboard.templating import redirect_with_flash, render
from dashboard.viewer import Viewer, page_for
from hub.api.deps import SessionDep, SettingsDep
from hub.api.problems import people_change
from hub.api.routes.entries import EntryOut
from hub.api.routes.room_entries import DAYS, NotKnown, local_midnight, read_room_entries
from hub.core.config import HubSettings
from hub.db.models import Account, AccountRole, Basis, PreferenceVersion, Resident, Staff
from hub.people.homes import current_tenancy
from hub.people.preferences import (
    DEFAULT_PREFERENCES,
    EntryPreferences,
    QuietSpan,
    current_version,
    preferences_of,
    record_preferences,
)
from hub.people.web_sessions import SignInMethod
from hub.rules.entries import Reason

router = APIRouter(include_in_schema=False)

ResidentViewer = Annotated[Viewer, Depends(page_for(AccountRole.RESIDENT))]

ROLE_WORDS = {"staff": "night staff", "night_lead": "night lead", "manager": "manager", "admin": "admin"}

CAME_IN = {  # after "<who> came in", in neutral words: what was recorded, never a judgement
    Reason.CONSENT: "after you said come in",
    Reason.NO_ANSWER_AFTER_WAIT: "without your answer, after the wait you asked for",
    Reason.DID_NOT_WAIT: "without your answer, before the wait you asked for was over",
    Reason.DECLINED: "after you said not now",
    Reason.DO_NOT_DISTURB: "while your door said do not disturb",
    Reason.EXCLUDED_PERSON: "— you had asked for them not to come into your room",
    Reason.CARE_PLAN: "for the night check you agreed",
    Reason.EMERGENCY: "for an emergency",
    Reason.NO_KNOCK: "without knocking",
}

WAITS = (10, 20, 30, 60)
QUIET_SPANS = (("21:00", "07:00"), ("22:00", "07:00"), ("23:00", "08:00"))
NEVER, NONE, AS_NOW, YES, NO = "never", "none", "as-now", "yes", "no"
FIELDS = ("wait", "quiet", "dnd", "knocker")


# What they asked for, in their words ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Said:
    """One sentence of the page and the symbol beside it (a name from templates/symbols.html)."""

    symbol: str
    text: str


def _seconds(wait_s: int) -> str:
    if wait_s < 120:
        return f"{wait_s} second{'s' if wait_s != 1 else ''}"
    return f"{wait_s // 60} minutes"


def wait_sentences(preferences: EntryPreferences) -> list[str]:
    """What a resident asked of people who knock, in their own words."""
    if preferences.wait_s is None:
        return ["When someone knocks, they wait for my answer.", "Nobody comes in without it."]
    if preferences.wait_s == 0:
        return ["When someone knocks, they may come straight in."]
    return [f"When someone knocks, they wait {_seconds(preferences.wait_s)} for my answer.",
            "If I do not answer, staff may come in after that."]


def door_now(preferences: EntryPreferences, now: str = "now") -> str:
    """The door's wait, said to the resident after they saved ("now") or saved nothing new ("still")."""
    if preferences.wait_s is None:
        return f"Your door {now} waits for your answer. Nobody comes in without it."
    if preferences.wait_s == 0:
        return f"People may {now} come straight in after they knock."
    return f"Your door {now} waits {_seconds(preferences.wait_s)}."


def _span(span: QuietSpan) -> str:
    return f"from {span.start} to {span.end}"


def staff_names(session: Session, staff_ids: list[str]) -> dict[str, Staff]:
    return {staff_id: member for staff_id in set(staff_ids) if (member := session.get(Staff, staff_id)) is not None}


def asked_for(session: Session, preferences: EntryPreferences) -> list[Said]:
    said = [Said("clock" if preferences.wait_s is not None else "lock", text)
            for text in wait_sentences(preferences)]
    said += [Said("moon", f"Quiet time is {_span(span)}.") for span in preferences.quiet_hours]
    if not preferences.quiet_hours:
        said.append(Said("sun", "I have no quiet time."))
    said.append(Said("no-entry", "I can say 'do not disturb'." if preferences.dnd_allowed
                     else "My door does not use 'do not disturb'."))
    said.append(Said("person", "My panel shows me who is knocking." if preferences.show_knocker
                     else "My panel does not show who is knocking."))
    names = staff_names(session, preferences.excluded_staff)
    said += [Said("no-person", f"I do not want {names[staff_id].name if staff_id in names else staff_id} "
                               "to come into my room.") for staff_id in preferences.excluded_staff]
    said += [Said("eye", f"Staff check on me at night {_span(check)}. We agreed how: {check.how.rstrip('.')}.")
             for check in preferences.night_checks]
    return said


def who_set_it(session: Session, version: PreferenceVersion | None, zone: ZoneInfo) -> list[Said]:
    """Who set the version in force, and on what authority."""
    if version is None:
        return [Said("door", "Nobody has changed these yet. They are what every door does at first.")]
    when = version.created_at.astimezone(zone)
    if version.basis == Basis.OWN_CHOICE.value:
        lines = [Said("person", "This is my own choice.")]
    elif version.basis == Basis.WITH_SUPPORT.value:
        helper = session.get(Staff, version.supporter_staff_id) if version.supporter_staff_id else None
        lines = [Said("helper", f"I chose this with help from {helper.name if helper else 'a member of staff'}.")]
    else:
        author = session.get_one(Account, version.set_by_account_id)
        manager = session.get(Staff, author.staff_id) if author.staff_id else None
        by = f"The manager, {manager.name}," if manager else "The manager"
        lines = [Said("helper", f"{by} made this decision in my best interests.")]
        if version.review_date is not None:
            lines.append(Said("clock", f"It will be looked at again by {_day(version.review_date)}."))
    lines.append(Said("clock", f"It was set on {_day(when.date())} at {when:%H:%M}."))
    return lines


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# Who came into my room ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    """One part of "who came into my room": its heading, the entries and what the door could not record."""

    heading: str
    entries: list[str]
    not_known: list[str]
    nobody: str


def _who(entry: EntryOut, names: dict[str, Staff]) -> str:
    member = names.get(entry.who)
    if member is None:
        return "Someone (we do not know who)"
    return f"{member.name} ({ROLE_WORDS.get(member.role, member.role)})"


def _clock(moment: datetime, zone: ZoneInfo, with_day: bool) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A %H:%M}" if with_day else f"{local:%H:%M}"


def _not_known(span: NotKnown, start: datetime, end: datetime, now: datetime, zone: ZoneInfo,
               with_day: bool) -> str | None:
    """The span inside [start, end) in one honest sentence, or None when it is outside. A span still going on
    runs "until now" in the part that reaches now, and to the part's end in an earlier one."""
    begins = max(span.start, start)
    ends = min(span.end, end) if span.end is not None else (None if end >= now else end)
    if begins >= (ends or end):
        return None
    if ends is None:
        return (f"We do not know about {_clock(begins, zone, with_day)} until now: "
                "the door sensor is not working.")
    same_day = begins.astimezone(zone).date() == ends.astimezone(zone).date()
    return (f"We do not know about {_clock(begins, zone, with_day)} to {_clock(ends, zone, with_day and not same_day)}:"
            " the door sensor was not working.")


def _part(heading: str, entries: list[EntryOut], not_known: list[NotKnown], start: datetime, end: datetime,
          now: datetime, zone: ZoneInfo, names: dict[str, Staff], when: str, with_day: bool) -> Day:
    shown = [entry for entry in entries if start <= entry.opened_at < end]
    lines = [f"{_clock(entry.opened_at, zone, with_day)} — {_who(entry, names)} came in "
             f"{CAME_IN.get(entry.reason, entry.sentence)}." for entry in shown]
    gaps = [line for span in not_known if (line := _not_known(span, start, end, now, zone, with_day)) is not None]
    nobody = (f"We did not see anyone come into your room {when}." if gaps
              else f"Nobody came into your room {when}.")
    return Day(heading, lines, gaps, nobody)


def came_in(session: Session, viewer: Viewer, resident: Resident, settings: HubSettings,
            zone: ZoneInfo) -> list[Day]:
    now = datetime.now(UTC)
    today = local_midnight(now, zone)
    week = local_midnight(now, zone, days_before=DAYS - 1)
    found = read_room_entries(session, viewer.caller, resident, week, now, settings, now)
    names = staff_names(session, [entry.who for entry in found.entries])
    return [
        _part("Today", found.entries, found.not_known, today, now, now, zone, names, "today", with_day=False),
        _part(f"Earlier this week: the {DAYS - 1} days before today", found.entries, found.not_known, week, today,
              now, zone, names, "earlier this week", with_day=True),
    ]


# The page ------------------------------------------------------------------------------------------------------

def _resident_of(session: Session, viewer: Viewer) -> Resident:
    assert viewer.account.resident_id is not None  # every resident account names its resident
    return session.get_one(Resident, viewer.account.resident_id)


@router.get("/me")
def get_me(request: Request, viewer: ResidentViewer, session: SessionDep, settings: SettingsDep) -> Response:
    resident = _resident_of(session, viewer)
    zone = ZoneInfo(viewer.home.time_zone if viewer.home else "UTC")
    version = current_version(session, resident.id)
    tenancy = current_tenancy(session, resident.id)
    return render(request, "me.html", {
        "resident": resident,
        "room": tenancy.room_id if tenancy else None,
        "asked": asked_for(session, preferences_of(version) if version else DEFAULT_PREFERENCES),
        "set_by": who_set_it(session, version, zone),
        "days": came_in(session, viewer, resident, settings, zone) if tenancy else [],
    }, viewer=viewer)


# Changing what they asked for ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    symbol: str


def _wait_value(wait_s: int | None) -> str:
    return NEVER if wait_s is None else str(wait_s)


def _quiet_value(spans: list[QuietSpan]) -> str:
    if not spans:
        return NONE
    if len(spans) == 1 and (spans[0].start, spans[0].end) in QUIET_SPANS:
        return f"{spans[0].start}-{spans[0].end}"
    return AS_NOW


def choices(current: EntryPreferences) -> dict[str, list[Choice]]:
    """What the form offers: the usual choices, and what they have now when it is none of those."""
    waits: list[int] = sorted({*WAITS, *([current.wait_s] if current.wait_s is not None else [])})
    quiet = [Choice(NONE, "No quiet time", "sun")]
    quiet += [Choice(f"{start}-{end}", f"From {start} to {end}", "moon") for start, end in QUIET_SPANS]
    if _quiet_value(current.quiet_hours) == AS_NOW:
        quiet.append(Choice(AS_NOW, "As now: " + " and ".join(_span(span) for span in current.quiet_hours), "moon"))
    return {
        "wait": [*(Choice(str(wait), "Come straight in" if wait == 0 else _seconds(wait), "clock") for wait in waits),
                 Choice(NEVER, "Never come in without my answer", "lock")],
        "quiet": quiet,
        "dnd": [Choice(YES, "Yes, I can say 'do not disturb'", "no-entry"),
                Choice(NO, "No, my door does not use it", "cross")],
        "knocker": [Choice(YES, "Yes, show me who is knocking", "person"),
                    Choice(NO, "No, do not show me", "cross")],
    }


def chosen(current: EntryPreferences) -> dict[str, str]:
    return {"wait": _wait_value(current.wait_s), "quiet": _quiet_value(current.quiet_hours),
            "dnd": YES if current.dnd_allowed else NO, "knocker": YES if current.show_knocker else NO}


MISSING = {
    "wait": "Choose how long people wait for your answer.",
    "quiet": "Choose your quiet time.",
    "dnd": "Choose if you can say 'do not disturb'.",
    "knocker": "Choose if your panel shows who is knocking.",
}


def changed(current: EntryPreferences, sent: dict[str, str]) -> EntryPreferences:
    """The preferences with the form's choices; anything the form does not show stays as it is."""
    offered = choices(current)
    wrong = {name: MISSING[name] for name in FIELDS if sent[name] not in {choice.value for choice in offered[name]}}
    if wrong:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, wrong)
    values = current.model_dump(by_alias=True)
    values["wait_s"] = None if sent["wait"] == NEVER else int(sent["wait"])
    if sent["quiet"] != AS_NOW:
        values["quiet_hours"] = [] if sent["quiet"] == NONE else [dict(zip(("from", "to"), sent["quiet"].split("-"),
                                                                           strict=True))]
    values["dnd_allowed"] = sent["dnd"] == YES
    values["show_knocker"] = sent["knocker"] == YES
    return EntryPreferences.model_validate(values)


def _own(viewer: Viewer, resident_id: str) -> None:
    """Only the resident themself: any other id shows nothing, not even whether it exists."""
    if viewer.account.resident_id != resident_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND)


def _helper(session: Session, viewer: Viewer) -> Staff | None:
    """The member of staff who signed in beside the resident, if that is how this session began."""
    record = viewer.web_session
    if record.method != SignInMethod.STAFF_BESIDE.value or record.beside_staff_id is None:
        return None
    return session.get(Staff, record.beside_staff_id)


def _form(request: Request, viewer: Viewer, session: Session, resident: Resident, current: EntryPreferences,
          values: dict[str, str], errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    helper = _helper(session, viewer)
    return render(request, "my_preferences.html", {
        "resident": resident, "choices": choices(current), "values": values, "errors": errors or {},
        "helper": helper.name if helper else None,
    }, viewer=viewer, status_code=status_code)


def _current(session: Session, resident_id: str) -> EntryPreferences:
    version = current_version(session, resident_id)
    return preferences_of(version) if version else DEFAULT_PREFERENCES


@router.get("/residents/{resident_id}/preferences")
def get_my_preferences(request: Request, resident_id: str, viewer: ResidentViewer, session: SessionDep) -> Response:
    _own(viewer, resident_id)
    resident = _resident_of(session, viewer)
    current = _current(session, resident.id)
    return _form(request, viewer, session, resident, current, chosen(current))


Picked = Annotated[str, Form(max_length=16)]


@router.post("/residents/{resident_id}/preferences")
def post_my_preferences(request: Request, resident_id: str, viewer: ResidentViewer, session: SessionDep,
                        wait: Picked = "", quiet: Picked = "", dnd: Picked = "", knocker: Picked = "") -> Response:
    _own(viewer, resident_id)
    resident = _resident_of(session, viewer)
    current = _current(session, resident.id)
    sent = {"wait": wait, "quiet": quiet, "dnd": dnd, "knocker": knocker}
    try:
        wanted = changed(current, sent)
        if wanted == current:
            return redirect_with_flash("/me", f"Nothing changed. {door_now(current, 'still')}")
        helper = _helper(session, viewer)
        with as_form_errors({}), people_change(session):
            record_preferences(session, resident=resident, author=viewer.account,
                               basis=Basis.WITH_SUPPORT if helper is not None else Basis.OWN_CHOICE,
                               preferences=wanted, supporter_staff_id=helper.id if helper is not None else None)
    except Refused as refused:
        return _form(request, viewer, session, resident, current, sent, refused.errors, refused.status_code)
    return redirect_with_flash("/me", f"Saved. {door_now(wanted)}")

