"""Alerts as a pure state machine, on ThingsBoard's model: active or cleared × acknowledged or not.

Each transition takes the alert as it stands and returns either the new state with the history entry to
append, or a refusal saying why nothing changed. Nobody acknowledges or resolves an alert about their own entry
(DESIGN.md principle 7); the first acknowledgement wins. Escalation is a ladder of steps whose last step
cannot be switched off, and `due_escalations` says which steps are due at a given `now`, so a scheduler with
any clock can drive it.

- clear: the condition ended (the door closed, a re-decided entry turned out permitted); done by the hub.
- resolve: a named person closes the alert with a note; it clears it if still active and counts as their
  acknowledgement if nobody had acknowledged it.
- Escalation runs while an alert is active and unacknowledged.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

HUB = "hub"


class AlertType(StrEnum):
    UNPERMITTED_ENTRY = "unpermitted_entry"
    DOOR_HELD_OPEN = "door_held_open"
    HELP_REQUESTED = "help_requested"
    LONE_WORKER_OVERDUE = "lone_worker_overdue"
    ENVIRONMENT_OUT_OF_RANGE = "environment_out_of_range"
    DEVICE_OFFLINE = "device_offline"
    CLOCK_UNSYNCED = "clock_unsynced"
    TAMPER = "tamper"
    BAD_SIGNATURE = "bad_signature"
    SEQ_REUSE = "seq_reuse"
    UNKNOWN_DEVICE = "unknown_device"
    WELFARE_CHECK = "welfare_check"


SECURITY_TYPES = frozenset({AlertType.BAD_SIGNATURE, AlertType.SEQ_REUSE, AlertType.UNKNOWN_DEVICE})

WORDING: dict[AlertType, str] = {
    AlertType.UNPERMITTED_ENTRY: "An entry was recorded that the resident's entry preferences did not permit.",
    AlertType.DOOR_HELD_OPEN: "The door has been recorded open for longer than its limit.",
    AlertType.HELP_REQUESTED: "The resident asked for help.",
    AlertType.LONE_WORKER_OVERDUE: "A member of staff has been in a room past the limit without checking in.",
    AlertType.ENVIRONMENT_OUT_OF_RANGE: "The room's temperature or humidity has been outside its range for a sustained time.",
    AlertType.DEVICE_OFFLINE: "Nothing has been heard from a door device for longer than its limit.",
    AlertType.CLOCK_UNSYNCED: "A door device reports that its clock is not synchronised.",
    AlertType.TAMPER: "A door device reported that its enclosure or wiring was disturbed.",
    AlertType.BAD_SIGNATURE: "A message arrived whose signature did not verify; it was kept apart, not used.",
    AlertType.SEQ_REUSE: "A device sent a different event under a sequence number already stored.",
    AlertType.UNKNOWN_DEVICE: "A message arrived from a device the hub does not know.",
    AlertType.WELFARE_CHECK: "'Not now' has been answered repeatedly for longer than the resident's limit: "
    "a welfare check is suggested.",
}


class AlertStatus(StrEnum):
    ACTIVE_UNACKNOWLEDGED = "active_unacknowledged"
    ACTIVE_ACKNOWLEDGED = "active_acknowledged"
    CLEARED_UNACKNOWLEDGED = "cleared_unacknowledged"
    CLEARED_ACKNOWLEDGED = "cleared_acknowledged"


class Action(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertState(Frozen):
    id: str = Field(min_length=1)
    type: AlertType
    subject: str = Field(min_length=1, title="What the alert is about: a room, a device, an entry")
    subject_staff: str | None = Field(default=None, title="Staff member whose own entry the alert is about")
    sentence: str
    rests_on: tuple[str, ...] = ()
    raised_at: AwareDatetime
    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None
    cleared_at: AwareDatetime | None = None
    clear_note: str | None = None
    resolved_by: str | None = None
    resolved_at: AwareDatetime | None = None
    resolution_note: str | None = None
    escalated: tuple[int, ...] = Field(default=(), title="Indexes of the ladder steps already sent")

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    @property
    def status(self) -> AlertStatus:
        if self.active:
            return AlertStatus.ACTIVE_ACKNOWLEDGED if self.acknowledged else AlertStatus.ACTIVE_UNACKNOWLEDGED
        return AlertStatus.CLEARED_ACKNOWLEDGED if self.acknowledged else AlertStatus.CLEARED_UNACKNOWLEDGED


class AlertChange(Frozen):
    """One line of an alert's history."""

    alert: str
    action: Action
    by: str
    at: AwareDatetime
    note: str | None = None
    status: AlertStatus


class Transition(Frozen):
    alert: AlertState
    change: AlertChange


class Refusal(Frozen):
    reason: str = Field(title="own_entry, already_acknowledged, already_cleared, already_resolved, needs_note, …")
    sentence: str


def _moved(alert: AlertState, action: Action, by: str, at: datetime, note: str | None = None, **update: object) -> Transition:
    changed = alert.model_copy(update=update)
    return Transition(
        alert=changed, change=AlertChange(alert=alert.id, action=action, by=by, at=at, note=note, status=changed.status)
    )


def raise_alert(
    id: str,
    type: AlertType,
    subject: str,
    at: datetime,
    *,
    subject_staff: str | None = None,
    rests_on: tuple[str, ...] = (),
    sentence: str | None = None,
) -> Transition:
    alert = AlertState(
        id=id,
        type=type,
        subject=subject,
        subject_staff=subject_staff,
        sentence=sentence or WORDING[type],
        rests_on=rests_on,
        raised_at=at,
    )
    return Transition(alert=alert, change=AlertChange(alert=id, action=Action.RAISED, by=HUB, at=at, status=alert.status))


def _own_entry(alert: AlertState, by: str) -> Refusal | None:
    if alert.subject_staff is not None and alert.subject_staff == by:
        return Refusal(
            reason="own_entry",
            sentence="This alert is about your own entry: someone else acknowledges and resolves it. "
            "You can add your account to the entry.",
        )
    return None


def acknowledge(alert: AlertState, by: str, at: datetime) -> Transition | Refusal:
    refused = _own_entry(alert, by)
    if refused:
        return refused
    if alert.acknowledged:
        return Refusal(reason="already_acknowledged", sentence=f"Already acknowledged by {alert.acknowledged_by}.")
    return _moved(alert, Action.ACKNOWLEDGED, by, at, acknowledged_by=by, acknowledged_at=at)


def clear(alert: AlertState, at: datetime, note: str) -> Transition | Refusal:
    if not alert.active:
        return Refusal(reason="already_cleared", sentence="The alert is already cleared.")
    return _moved(alert, Action.CLEARED, HUB, at, note, cleared_at=at, clear_note=note)


def resolve(alert: AlertState, by: str, at: datetime, note: str) -> Transition | Refusal:
    refused = _own_entry(alert, by)
    if refused:
        return refused
    if alert.resolved_by is not None:
        return Refusal(reason="already_resolved", sentence=f"Already resolved by {alert.resolved_by}.")
    if not note.strip():
        return Refusal(reason="needs_note", sentence="An alert is resolved with a note saying what was done.")
    update: dict[str, object] = {"resolved_by": by, "resolved_at": at, "resolution_note": note}
    if alert.active:
        update |= {"cleared_at": at, "clear_note": note}
    if not alert.acknowledged:
        update |= {"acknowledged_by": by, "acknowledged_at": at}
    return _moved(alert, Action.RESOLVED, by, at, note, **update)


class Audience(StrEnum):
    STAFF_ON_DUTY = "staff_on_duty"
    NIGHT_LEAD = "night_lead"
    ON_CALL_MANAGER = "on_call_manager"
    MANAGER = "manager"


class EscalationStep(Frozen):
    after_s: int = Field(ge=0, title="Seconds after the alert was raised")
    audience: Audience
    enabled: bool = True


class EscalationLadder(Frozen):
    """A home's ladder. Its last step is always on: no alert ends in silence."""

    steps: tuple[EscalationStep, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_with_someone(self) -> "EscalationLadder":
        # The error types are the reasons an API gives back when it refuses a ladder.
        if not self.steps[-1].enabled:
            raise PydanticCustomError("last_step_off", "the last step of an escalation ladder cannot be switched off")
        times = [step.after_s for step in self.steps]
        if times != sorted(set(times)):
            raise PydanticCustomError("steps_out_of_order",
                                      "escalation steps come in order of time, each later than the one before")
        return self


DEFAULT_LADDER = EscalationLadder(
    steps=(
        EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY),
        EscalationStep(after_s=120, audience=Audience.NIGHT_LEAD),
        EscalationStep(after_s=300, audience=Audience.ON_CALL_MANAGER),
    )
)


def ladder_for(type: AlertType, ladder: EscalationLadder) -> EscalationLadder:
    """The ladder an alert of `type` climbs in a home whose ladder is `ladder`.

    A welfare check goes to the night lead first (DESIGN.md principle 6): its ladder starts at the home's first
    night-lead step, timed from the prompt, and carries on up the home's ladder from there; a home whose ladder has
    no night lead gets one at once, before the rest. The last step stays the home's own, so it is always on.
    """
    if type != AlertType.WELFARE_CHECK:
        return ladder
    leads = [index for index, step in enumerate(ladder.steps) if step.audience == Audience.NIGHT_LEAD]
    if not leads:
        later = tuple(step for step in ladder.steps if step.after_s > 0)
        return EscalationLadder(steps=(EscalationStep(after_s=0, audience=Audience.NIGHT_LEAD), *later))
    start = ladder.steps[leads[0]].after_s
    first = EscalationStep(after_s=0, audience=Audience.NIGHT_LEAD)
    rest = tuple(step.model_copy(update={"after_s": step.after_s - start}) for step in ladder.steps[leads[0] + 1:])
    return EscalationLadder(steps=(first, *rest))


def _escalating(alert: AlertState) -> bool:
    return alert.active and not alert.acknowledged


def due_escalations(alert: AlertState, ladder: EscalationLadder, now: datetime) -> list[tuple[int, EscalationStep]]:
    """The steps (index, step) due at `now` and not yet sent, oldest first."""
    if not _escalating(alert):
        return []
    return [
        (index, step)
        for index, step in enumerate(ladder.steps)
        if step.enabled and index not in alert.escalated and alert.raised_at + timedelta(seconds=step.after_s) <= now
    ]


def next_escalation_at(alert: AlertState, ladder: EscalationLadder) -> datetime | None:
    """When the scheduler should next look at this alert, or None when nothing more will come."""
    if not _escalating(alert):
        return None
    pending = [
        alert.raised_at + timedelta(seconds=step.after_s)
        for index, step in enumerate(ladder.steps)
        if step.enabled and index not in alert.escalated
    ]
    return min(pending, default=None)


def escalate(alert: AlertState, ladder: EscalationLadder, index: int, at: datetime) -> Transition | Refusal:
    """Record that step `index` was sent to its audience."""
    if not _escalating(alert):
        return Refusal(reason="not_escalating", sentence="The alert is acknowledged or cleared; it no longer escalates.")
    if index in alert.escalated:
        return Refusal(reason="already_escalated", sentence="That step was already sent.")
    step = ladder.steps[index]
    return _moved(alert, Action.ESCALATED, HUB, at, step.audience.value, escalated=(*alert.escalated, index))
