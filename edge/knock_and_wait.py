"""Knock and wait for one door: a pure state machine.

No I/O, no threads, no clock reads. Every input carries `now` (monotonic seconds); every call returns the
effects the agent must carry out: events to record, the indicator to show, a chime to sound.

The rules, in the resident's favour where a choice had to be made:
- a knock shows "waiting" and chimes inside (softly in quiet hours); a second knock while waiting starts the
  wait again, so knocking twice never shortens it;
- the resident's wait (`wait_s`) running out shows "may enter"; with `wait_s` None it never runs out;
- "not now" holds for `not_now_hold_s`; a knock during the hold is recorded but does not chime or start a
  wait, and when the hold ends the door rests, ready for a gentle re-knock;
- with do not disturb on, a knock is recorded without a chime and the wait never runs out; the resident can
  still answer; where the resident's preferences do not allow do not disturb, the button does nothing;
- "come in" and "may enter" end when the door closes after opening, or after `answer_hold_s`.
"""

from dataclasses import dataclass, field
from datetime import time

from protocol.config import QuietHours
from protocol.events import EventType, IndicatorState


@dataclass(frozen=True)
class KnockPolicy:
    """What the resident set for this door, from the last good config."""

    wait_s: int | None = None
    quiet_hours: tuple[QuietHours, ...] = ()
    not_now_hold_s: float = 120.0
    answer_hold_s: float = 60.0
    dnd_allowed: bool = True


@dataclass(frozen=True)
class Record:
    """An event to record: its type and data (PROTOCOL.md §3)."""

    type: EventType
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ShowIndicator:
    state: IndicatorState


@dataclass(frozen=True)
class Chime:
    loud: bool


Effect = Record | ShowIndicator | Chime


def in_quiet_hours(spans: tuple[QuietHours, ...], local: time | None) -> bool:
    """Whether a local time falls in any span; a span may cross midnight (22:00 to 07:00)."""
    if local is None:
        return False
    now = local.strftime("%H:%M")
    for span in spans:
        if span.start <= span.end:
            if span.start <= now < span.end:
                return True
        elif now >= span.start or now < span.end:
            return True
    return False


@dataclass
class KnockRequest:
    """The knock the resident is being asked about."""

    request: str
    knocked_at: float
    staff: str | None = None
    staff_name: str | None = None


class KnockAndWait:
    """The state of one door's knock and wait. Call an input, carry out the effects it returns."""

    def __init__(self, policy: KnockPolicy | None = None) -> None:
        self.policy = policy or KnockPolicy()
        self.indicator = IndicatorState.IDLE
        self.pending: KnockRequest | None = None
        self.dnd = False
        self.door_open = False
        self.held_until: float | None = None
        self.entered = False

    # What rests when nothing is happening: do not disturb, or idle.
    def _resting(self) -> IndicatorState:
        return IndicatorState.DO_NOT_DISTURB if self.dnd else IndicatorState.IDLE

    def _show(self, state: IndicatorState, effects: list[Effect], hold_s: float | None = None, now: float = 0.0) -> None:
        self.held_until = now + hold_s if hold_s is not None else None
        self.entered = False
        if state != self.indicator:
            self.indicator = state
            effects.append(ShowIndicator(state))
            effects.append(Record(EventType.INDICATOR_CHANGED, {"state": state.value}))

    def _rest(self, effects: list[Effect]) -> None:
        self.pending = None
        self._show(self._resting(), effects)

    def next_deadline(self) -> float | None:
        """The next `now` at which `tick` could change something, or None."""
        deadlines = [self.held_until] if self.held_until is not None else []
        if self.indicator == IndicatorState.WAITING and self.pending and self.policy.wait_s is not None:
            deadlines.append(self.pending.knocked_at + self.policy.wait_s)
        return min(deadlines) if deadlines else None

    def knock(
        self,
        request: str,
        source: str,
        now: float,
        staff: str | None = None,
        staff_name: str | None = None,
        local_time: time | None = None,
    ) -> list[Effect]:
        effects: list[Effect] = [
            Record(EventType.KNOCK_REQUESTED, {"request": request, "source": source, "staff": staff})
        ]
        self.pending = KnockRequest(request, now, staff, staff_name)
        if self.dnd or self.indicator == IndicatorState.NOT_NOW:
            return effects
        effects.append(Chime(loud=not in_quiet_hours(self.policy.quiet_hours, local_time)))
        self._show(IndicatorState.WAITING, effects)
        return effects

    def answer(self, granted: bool, now: float) -> list[Effect]:
        request = self.pending.request if self.pending else None
        kind = EventType.CONSENT_GRANTED if granted else EventType.CONSENT_DECLINED
        effects: list[Effect] = [Record(kind, {"request": request})]
        self.pending = None
        if granted:
            self._show(IndicatorState.COME_IN, effects, self.policy.answer_hold_s, now)
        else:
            self._show(IndicatorState.NOT_NOW, effects, self.policy.not_now_hold_s, now)
        return effects

    def set_dnd(self, on: bool, now: float) -> list[Effect]:
        if on == self.dnd or (on and not self.policy.dnd_allowed):
            return []
        self.dnd = on
        effects: list[Effect] = [Record(EventType.DND_ON if on else EventType.DND_OFF)]
        if on and self.indicator == IndicatorState.WAITING:
            self._show(IndicatorState.DO_NOT_DISTURB, effects)
        elif self.indicator in (IndicatorState.IDLE, IndicatorState.DO_NOT_DISTURB):
            self._show(self._resting(), effects)
        return effects

    def door_changed(self, opened: bool, now: float) -> list[Effect]:
        if opened == self.door_open:
            return []
        self.door_open = opened
        effects: list[Effect] = [Record(EventType.DOOR_OPENED if opened else EventType.DOOR_CLOSED)]
        if opened and self.indicator in (IndicatorState.COME_IN, IndicatorState.MAY_ENTER, IndicatorState.WAITING):
            self.entered = True
        elif not opened and self.entered:
            self._rest(effects)
        return effects

    def tick(self, now: float) -> list[Effect]:
        effects: list[Effect] = []
        pending = self.pending
        if (
            self.indicator == IndicatorState.WAITING
            and pending is not None
            and self.policy.wait_s is not None
            and now >= pending.knocked_at + self.policy.wait_s
        ):
            waited_ms = round((now - pending.knocked_at) * 1000)
            effects.append(Record(EventType.KNOCK_EXPIRED, {"request": pending.request, "waited_ms": waited_ms}))
            self.pending = None
            entered = self.entered
            self._show(IndicatorState.MAY_ENTER, effects, self.policy.answer_hold_s, now)
            self.entered = entered
        elif self.held_until is not None and now >= self.held_until:
            self._rest(effects)
        return effects

    def change_policy(self, policy: KnockPolicy) -> list[Effect]:
        """A new signed config: the wait of a knock already waiting is measured from its knock as before."""
        self.policy = policy
        if self.dnd and not policy.dnd_allowed:
            return self.set_dnd(False, 0.0)
        return []
