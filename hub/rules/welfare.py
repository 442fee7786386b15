"""Privacy never silently blocks care (DESIGN.md principle 6): a long run of "not now" prompts a welfare check.

A run is the resident's "not now" answers on their door with no "come in" and no door opening between them.
When a run has been repeated (at least `min_declines` answers) and has lasted longer than the resident's
`welfare_after_s` at `now`, the night lead is prompted. The prompt is keyed by the run's first "not now", so a
scheduler raises one prompt per run however often it asks.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.rules.alerts import Audience
from hub.rules.facts import DoorFact, PreferenceSnapshot, RoomContext, in_order
from protocol.events import EventType

RUN_BREAKERS = frozenset({EventType.CONSENT_GRANTED, EventType.DOOR_OPENED})


class WelfarePrompt(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(title="Id of the run's first not now")
    room: str
    resident: str
    audience: Audience = Audience.NIGHT_LEAD
    since: AwareDatetime
    declines: tuple[str, ...]
    sentence: str


def welfare_prompt(
    facts: Sequence[DoorFact],
    preferences: PreferenceSnapshot,
    room: RoomContext,
    now: datetime,
    *,
    min_declines: int = 2,
) -> WelfarePrompt | None:
    run: list[DoorFact] = []
    for fact in in_order([f for f in facts if f.room == room.room and f.at <= now]):
        if fact.type == EventType.CONSENT_DECLINED:
            run.append(fact)
        elif fact.type in RUN_BREAKERS:
            run = []
    if len(run) < min_declines or now - run[0].at < timedelta(seconds=preferences.welfare_after_s):
        return None
    minutes = int((now - run[0].at).total_seconds()) // 60
    return WelfarePrompt(
        key=run[0].id,
        room=room.room,
        resident=room.resident,
        since=run[0].at,
        declines=tuple(f.id for f in run),
        sentence=f"The resident has answered “not now” {len(run)} times over {minutes} min. "
        "Please consider a welfare check, respecting their wishes as far as is safe.",
    )
