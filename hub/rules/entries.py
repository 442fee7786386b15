"""Entries, rules version 1 (DESIGN.md "Entries: the rules, version 1"): one door opening in, one decision out.

`decide_entry` is a pure function of the facts on a door and its room, the resident's preference version, the
roster and the room. It reads no clock and no store, so a decision can be recomputed at any time from what it
says it rests on, and `redecide` does exactly that when a late event arrives.

Which facts count
- Only facts ordered before the door opened (by corrected time, then device and seq), inside the look-back
  window (10 min by default) and after the previous opening of the same door: an entry uses up the knock and
  answer before it, so a second opening is judged on its own.
- "Do not disturb" is whatever the last `dnd.on` / `dnd.off` before the opening said, however long ago; the
  caller passes facts reaching back far enough (to the previous opening of the door, and its last dnd change).
- The knock is replayed as the door agent runs it: a knock starts a request (a second knock while waiting starts
  it again); "not now" holds for the resident's `not_now_hold_s`, and a knock inside the hold is recorded but
  starts nothing; once the hold has run out a new knock starts a new request (the gentle re-knock). A "not now"
  stays the resident's last word on the door until a new request starts.
- The wait has run out when the door reported `knock.expired` for the request (it showed "may enter"), or, if that
  event is missing, when the resident's wait had passed since the knock and "do not disturb" was off (with it
  on, the agent's wait never runs out). `wait_s` None: it never runs out.
- Who: the staff id on an emergency override, else a badge on the roster, else a remote knock; else
  "unidentified".

Precedence when several rows apply (first match wins):
1. emergency — `override.emergency`, `help.requested` in the window, or a help alert open for the room. Privacy
   never blocks care (principle 6); every such entry is listed for review.
2. excluded person — an identified person the resident asked not to enter. Their standing choice beats a
   "come in" given to a knock, because the resident answers a knock, not a person (the knocker is not always shown).
3. exit / return — no knock, nobody identified outside, and the room's motion shows the resident leaving (movement
   just before the door opened) or the room empty since they left. Not entries at all.
4. consent — the resident's own "come in" to this request.
5. declined — the resident's own "not now". A live answer beats a standing agreement, so it ranks above the care
   plan; a long run of "not now" goes to the night lead as a welfare prompt instead (welfare.py).
6. care plan — inside an agreed night-check window, by an identified member of staff on duty whom the check
   allows. Unidentified entries are not credited to the care plan: the hub cannot tell that staff on duty did it.
7. no answer after waiting — the wait had run out.
8. do not disturb — the resident's standing "not now" with no permitted case; it names their choice more exactly
   than the two rows below.
9. did not wait — a knock, no answer, the wait not run out.
10. no knock.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.rules.alerts import AlertState, AlertType
from hub.rules.facts import DoorFact, PreferenceSnapshot, RoomContext, RosterSnapshot, in_order
from hub.rules.local_time import occurrence_at
from protocol.events import EventType

RULES_VERSION = "entries-v1"
UNIDENTIFIED = "unidentified"
LOOK_BACK = timedelta(minutes=10)
EXIT_MOTION = timedelta(seconds=30)


class EntryKind(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    RETURN = "return"


class Outcome(StrEnum):
    PERMITTED = "permitted"
    UNPERMITTED = "unpermitted"


class Reason(StrEnum):
    CONSENT = "consent"
    NO_ANSWER_AFTER_WAIT = "no_answer_after_wait"
    CARE_PLAN = "care_plan"
    EMERGENCY = "emergency"
    DECLINED = "declined"
    DID_NOT_WAIT = "did_not_wait"
    DO_NOT_DISTURB = "do_not_disturb"
    EXCLUDED_PERSON = "excluded_person"
    NO_KNOCK = "no_knock"
    RESIDENT_LEFT = "resident_left"
    RESIDENT_RETURNED = "resident_returned"


OUTCOMES: dict[Reason, Outcome] = {
    Reason.CONSENT: Outcome.PERMITTED,
    Reason.NO_ANSWER_AFTER_WAIT: Outcome.PERMITTED,
    Reason.CARE_PLAN: Outcome.PERMITTED,
    Reason.EMERGENCY: Outcome.PERMITTED,
    Reason.RESIDENT_LEFT: Outcome.PERMITTED,
    Reason.RESIDENT_RETURNED: Outcome.PERMITTED,
    Reason.DECLINED: Outcome.UNPERMITTED,
    Reason.DID_NOT_WAIT: Outcome.UNPERMITTED,
    Reason.DO_NOT_DISTURB: Outcome.UNPERMITTED,
    Reason.EXCLUDED_PERSON: Outcome.UNPERMITTED,
    Reason.NO_KNOCK: Outcome.UNPERMITTED,
}


class EntryDecision(BaseModel):
    """What the rules made of one door opening, and everything it rests on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    door_opened: str = Field(title="Id of the door.opened fact")
    device: str
    door: str | None
    room: str
    resident: str
    opened_at: AwareDatetime
    kind: EntryKind
    outcome: Outcome
    reason: Reason
    sentence: str = Field(title="Neutral description of what was recorded")
    rules_version: str = RULES_VERSION
    preference_version: str
    who: str = Field(title='Staff id, or "unidentified"')
    knock: str | None = Field(title="Id of the knock fact")
    answer: str | None = Field(title="Id of the answer fact")
    waited_ms: int | None = Field(title="From the knock to the door opening")
    wait_s: int | None = Field(title="The resident's wait that applied")
    closed_at: AwareDatetime | None
    inside_ms: int | None = Field(title="From opening to closing")
    rests_on: tuple[str, ...] = Field(title="Ids of every fact (and alert:<id>) the decision used")
    review_required: bool


class _Knock(BaseModel):
    """The knock-and-answer state of the door when it opened, replayed from the facts."""

    model_config = ConfigDict(frozen=True)

    request: DoorFact | None = None
    answer: DoorFact | None = None
    expired: DoorFact | None = None
    knocked_in_hold: tuple[DoorFact, ...] = ()


def _replay_knocks(window: Sequence[DoorFact], hold: timedelta) -> _Knock:
    state = _Knock()
    hold_until: datetime | None = None
    for fact in window:
        request_id = state.request.data.get("request") if state.request else None
        answers_it = fact.data.get("request") in (None, request_id)
        if fact.type == EventType.KNOCK_REQUESTED:
            if hold_until is not None and fact.at < hold_until:
                state = state.model_copy(update={"knocked_in_hold": (*state.knocked_in_hold, fact)})
            else:
                state, hold_until = _Knock(request=fact), None
        elif fact.type == EventType.CONSENT_GRANTED and answers_it:
            state, hold_until = state.model_copy(update={"answer": fact}), None
        elif fact.type == EventType.CONSENT_DECLINED and answers_it:
            state, hold_until = state.model_copy(update={"answer": fact}), fact.at + hold
        elif fact.type == EventType.KNOCK_EXPIRED and state.request and fact.data.get("request") == request_id:
            state = state.model_copy(update={"expired": fact})
    return state


def _ms(later: datetime, earlier: datetime) -> int:
    return int((later - earlier) / timedelta(milliseconds=1))


def _duration(ms: int) -> str:
    """Whole seconds, rounded down, so "29 s of 30 s" never reads as a full wait."""
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"


def _on_door(fact: DoorFact, opened: DoorFact) -> bool:
    return fact.device == opened.device and fact.door == opened.door


class _Scene:
    """The facts around one opening, sorted into what the rows ask about."""

    def __init__(
        self,
        opened: DoorFact,
        facts: Sequence[DoorFact],
        preferences: PreferenceSnapshot,
        roster: RosterSnapshot,
        room: RoomContext,
        look_back: timedelta,
    ) -> None:
        relevant = in_order(
            [
                fact
                for fact in facts
                if fact.id != opened.id and (fact.room == room.room or _on_door(fact, opened))
            ]
        )
        self.opened = opened
        self.before = [fact for fact in relevant if fact.order < opened.order]
        self.after = [fact for fact in relevant if fact.order > opened.order]
        openings = [f for f in self.before if f.type == EventType.DOOR_OPENED and _on_door(f, opened)]
        self.previous_opening = openings[-1] if openings else None
        self.window = [
            fact
            for fact in self.before
            if fact.at >= opened.at - look_back
            and (self.previous_opening is None or fact.order > self.previous_opening.order)
        ]
        self.knock = _replay_knocks(self.window, timedelta(seconds=preferences.not_now_hold_s))
        dnd_changes = [f for f in self.before if f.type in (EventType.DND_ON, EventType.DND_OFF)]
        self.dnd = (
            dnd_changes[-1]
            if dnd_changes and dnd_changes[-1].type == EventType.DND_ON and preferences.dnd_allowed
            else None
        )
        self.help = [f for f in self.window if f.type == EventType.HELP_REQUESTED]
        overrides = [f for f in self.window if f.type == EventType.OVERRIDE_EMERGENCY]
        self.override = overrides[-1] if overrides else None
        badges = [f for f in self.window if f.type == EventType.BADGE_PRESENTED]
        self.badge = badges[-1] if badges else None
        self.knocks = [f for f in self.window if f.type == EventType.KNOCK_REQUESTED]
        self.who, self.who_fact = self._who(roster)
        closings = [f for f in self.after if f.type in (EventType.DOOR_OPENED, EventType.DOOR_CLOSED) and _on_door(f, opened)]
        self.closed = closings[0] if closings and closings[0].type == EventType.DOOR_CLOSED else None

    def _who(self, roster: RosterSnapshot) -> tuple[str, DoorFact | None]:
        if self.override and self.override.data.get("staff"):
            return str(self.override.data["staff"]), self.override
        if self.badge and self.badge.data.get("badge") in roster.badges:
            return roster.badges[self.badge.data["badge"]], self.badge
        remote = [k for k in self.knocks if k.data.get("source") == "remote" and k.data.get("staff")]
        if remote:
            return str(remote[-1].data["staff"]), remote[-1]
        return UNIDENTIFIED, None

    def motion_before(self, span: timedelta) -> DoorFact | None:
        moving = [
            f
            for f in self.before
            if f.type == EventType.MOTION_DETECTED and f.room is not None and f.at >= self.opened.at - span
        ]
        return moving[-1] if moving else None

    @property
    def someone_outside(self) -> bool:
        return bool(self.knocks or self.badge or self.override)


class _Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: Reason
    sentence: str
    uses: tuple[str, ...] = ()
    kind: EntryKind = EntryKind.ENTRY


def _emergency(scene: _Scene, open_alerts: Sequence[AlertState], room: RoomContext) -> _Verdict | None:
    alerts = [
        alert
        for alert in open_alerts
        if alert.type == AlertType.HELP_REQUESTED
        and alert.subject == room.room
        and alert.raised_at <= scene.opened.at
        and (alert.cleared_at is None or alert.cleared_at > scene.opened.at)
    ]
    if scene.override:
        why = f"the emergency entry control was used (“{scene.override.data.get('reason', '')}”)"
        uses = (scene.override.id,)
    elif scene.help:
        why = "the resident had asked for help"
        uses = tuple(f.id for f in scene.help)
    elif alerts:
        why = "a request for help from this room was still open"
        uses = tuple(f"alert:{alert.id}" for alert in alerts)
    else:
        return None
    return _Verdict(reason=Reason.EMERGENCY, sentence=f"Entry under emergency: {why}. Listed for review.", uses=uses)


def _exit_or_return(
    scene: _Scene,
    facts: Sequence[DoorFact],
    preferences: PreferenceSnapshot,
    roster: RosterSnapshot,
    room: RoomContext,
    look_back: timedelta,
    exit_motion: timedelta,
) -> _Verdict | None:
    if scene.someone_outside:
        return None
    moving = scene.motion_before(exit_motion)
    if moving is not None:
        gap = _duration(_ms(scene.opened.at, moving.at))
        return _Verdict(
            kind=EntryKind.EXIT,
            reason=Reason.RESIDENT_LEFT,
            sentence=f"The door opened from inside: movement in the room {gap} before, no knock. "
            "Recorded as the resident leaving, not an entry.",
            uses=(moving.id,),
        )
    previous = scene.previous_opening
    if previous is None:
        return None
    earlier = _Scene(previous, facts, preferences, roster, room, look_back)
    left = earlier.closed
    if earlier.someone_outside or earlier.motion_before(exit_motion) is None or left is None:
        return None
    moved_since = [f for f in scene.before if f.type == EventType.MOTION_DETECTED and f.order > left.order]
    if moved_since:
        return None
    return _Verdict(
        kind=EntryKind.RETURN,
        reason=Reason.RESIDENT_RETURNED,
        sentence="The door opened into a room with no movement since the resident left, no knock. "
        "Recorded as the resident returning, not an entry.",
        uses=(previous.id, left.id),
    )


def _care_plan(scene: _Scene, preferences: PreferenceSnapshot, roster: RosterSnapshot, room: RoomContext) -> _Verdict | None:
    if scene.who == UNIDENTIFIED:
        return None
    roles = [shift.role for shift in roster.on_duty(scene.opened.at) if shift.staff == scene.who]
    for check in preferences.night_checks:
        if occurrence_at(check, scene.opened.at, room.zone) and any(check.allows(scene.who, role) for role in roles):
            return _Verdict(
                reason=Reason.CARE_PLAN,
                sentence=f"Entry during the agreed night check {check.start}–{check.end} (“{check.how}”) "
                "by a member of staff on duty.",
                uses=(scene.who_fact.id,) if scene.who_fact else (),
            )
    return None


def _wait_ran_out(scene: _Scene, preferences: PreferenceSnapshot, waited_ms: int) -> bool:
    if scene.knock.expired is not None:
        return True
    return scene.dnd is None and preferences.wait_s is not None and waited_ms >= preferences.wait_s * 1000


def _verdict(
    scene: _Scene,
    facts: Sequence[DoorFact],
    preferences: PreferenceSnapshot,
    roster: RosterSnapshot,
    room: RoomContext,
    open_alerts: Sequence[AlertState],
    look_back: timedelta,
    exit_motion: timedelta,
) -> _Verdict:
    emergency = _emergency(scene, open_alerts, room)
    if emergency:
        return emergency
    if scene.who in preferences.excluded_staff:
        return _Verdict(
            reason=Reason.EXCLUDED_PERSON,
            sentence="Entry recorded by a person the resident has asked not to enter their room.",
        )
    leaving_or_back = _exit_or_return(scene, facts, preferences, roster, room, look_back, exit_motion)
    if leaving_or_back:
        return leaving_or_back
    knock, answer = scene.knock.request, scene.knock.answer
    waited_ms = _ms(scene.opened.at, knock.at) if knock else 0
    if answer is not None and answer.type == EventType.CONSENT_GRANTED:
        after = f" ({_duration(waited_ms)} after the knock)" if knock else ""
        return _Verdict(reason=Reason.CONSENT, sentence=f"Entry after the resident answered “come in”{after}.")
    if answer is not None:
        ago = _duration(_ms(scene.opened.at, answer.at))
        return _Verdict(
            reason=Reason.DECLINED,
            sentence=f"Entry recorded after the resident answered “not now” {ago} before the door opened.",
            uses=tuple(f.id for f in scene.knock.knocked_in_hold),
        )
    care_plan = _care_plan(scene, preferences, roster, room)
    if care_plan:
        return care_plan
    if knock is not None and _wait_ran_out(scene, preferences, waited_ms):
        expired = scene.knock.expired
        if preferences.wait_s is not None:
            wait_ms = preferences.wait_s * 1000
        else:  # the door's own config still had a wait when it reported the expiry
            wait_ms = int(expired.data["waited_ms"]) if expired else waited_ms
        return _Verdict(
            reason=Reason.NO_ANSWER_AFTER_WAIT,
            sentence="Entry recorded without an answer from the resident, after their wait had run out: "
            f"waited {_duration(waited_ms)} of {_duration(wait_ms)}.",
        )
    if scene.dnd is not None:
        return _Verdict(
            reason=Reason.DO_NOT_DISTURB,
            sentence="Entry recorded while the resident had “do not disturb” on.",
            uses=(scene.dnd.id,),
        )
    if knock is not None:
        if preferences.wait_s is None:
            sentence = (
                "Entry recorded without an answer from the resident, who asked that nobody enter without one: "
                f"waited {_duration(waited_ms)}."
            )
        else:
            sentence = (
                "Entry recorded without an answer from the resident: "
                f"waited {_duration(waited_ms)} of {_duration(preferences.wait_s * 1000)}."
            )
        return _Verdict(reason=Reason.DID_NOT_WAIT, sentence=sentence)
    return _Verdict(reason=Reason.NO_KNOCK, sentence="Entry recorded with no knock before the door opened.")


def decide_entry(
    door_opened: DoorFact,
    facts: Sequence[DoorFact],
    preferences: PreferenceSnapshot,
    roster: RosterSnapshot,
    room: RoomContext,
    *,
    open_alerts: Sequence[AlertState] = (),
    look_back: timedelta = LOOK_BACK,
    exit_motion: timedelta = EXIT_MOTION,
) -> EntryDecision:
    """Decide one door opening (see the module's docstring for the rows and their precedence).

    `facts` are the stored facts on the door and its room (others are ignored), in any order, and may include
    facts after the opening (the door's close is taken from them). `open_alerts` are the hub's alerts; a help
    alert open for the room at the opening makes it an emergency.
    """
    if door_opened.type != EventType.DOOR_OPENED:
        raise ValueError(f"an entry is decided for a door.opened fact, not {door_opened.type!r}")
    scene = _Scene(door_opened, facts, preferences, roster, room, look_back)
    verdict = _verdict(scene, facts, preferences, roster, room, open_alerts, look_back, exit_motion)
    knock = scene.knock.request if verdict.kind == EntryKind.ENTRY else None
    answer = scene.knock.answer if verdict.kind == EntryKind.ENTRY else None
    expired = scene.knock.expired if verdict.kind == EntryKind.ENTRY else None
    who_fact = scene.who_fact if verdict.kind == EntryKind.ENTRY else None
    used = [door_opened.id, *(f.id for f in (knock, answer, expired, who_fact, scene.closed) if f), *verdict.uses]
    return EntryDecision(
        door_opened=door_opened.id,
        device=door_opened.device,
        door=door_opened.door,
        room=room.room,
        resident=room.resident,
        opened_at=door_opened.at,
        kind=verdict.kind,
        outcome=OUTCOMES[verdict.reason],
        reason=verdict.reason,
        sentence=verdict.sentence,
        preference_version=preferences.version,
        who=scene.who if verdict.kind == EntryKind.ENTRY else UNIDENTIFIED,
        knock=knock.id if knock else None,
        answer=answer.id if answer else None,
        waited_ms=_ms(door_opened.at, knock.at) if knock else None,
        wait_s=preferences.wait_s,
        closed_at=scene.closed.at if scene.closed else None,
        inside_ms=_ms(scene.closed.at, door_opened.at) if scene.closed else None,
        rests_on=tuple(dict.fromkeys(used)),
        review_required=verdict.reason == Reason.EMERGENCY,
    )


def redecide(
    previous: EntryDecision,
    door_opened: DoorFact,
    facts: Sequence[DoorFact],
    preferences: PreferenceSnapshot,
    roster: RosterSnapshot,
    room: RoomContext,
    *,
    open_alerts: Sequence[AlertState] = (),
    look_back: timedelta = LOOK_BACK,
    exit_motion: timedelta = EXIT_MOTION,
) -> EntryDecision | None:
    """Decide again with the facts as they now stand (a late event has arrived); the new decision if it differs.

    The caller keeps `previous` in the entry's history and updates or clears the alert to match.
    """
    if previous.door_opened != door_opened.id:
        raise ValueError("redecide needs the same door.opened fact the previous decision was about")
    current = decide_entry(
        door_opened,
        facts,
        preferences,
        roster,
        room,
        open_alerts=open_alerts,
        look_back=look_back,
        exit_motion=exit_motion,
    )
    return None if current == previous else current
