"""What the worker publishes live on the hub's own topics (PROTOCOL.md §8), and the API streams over SSE.

- `threshold/v1/{site}/hub/alerts` (not retained): every change of every alert, as an AlertMessage.
- `threshold/v1/{site}/hub/rooms/{room}` (retained): each room's state as a RoomStateMessage, so a client that
  connects later sees every room at once.

Integrations (a nurse-call bridge, a pager) may subscribe to the same topics.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from protocol.topics import hub_topic


class RoomState(StrEnum):
    IDLE = "idle"
    KNOCK_WAITING = "knock_waiting"
    OCCUPIED = "occupied"
    DO_NOT_DISTURB = "do_not_disturb"
    OFFLINE = "offline"


class AlertMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(title="Alert id")
    site: str
    room: str | None
    type: str = Field(title="Alert type (hub/rules/alerts.py AlertType)")
    status: str = Field(title="active/cleared × acknowledged/unacknowledged")
    sentence: str = Field(title="Neutral wording of what was recorded")
    subject_staff: str | None = Field(title="Staff member whose own entry it is about (may not acknowledge it)")
    raised_at: datetime
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    change: str = Field(title="What just happened: raised, acknowledged, escalated, cleared, resolved")
    changed_at: datetime
    escalation_step: int | None = Field(default=None, title="Ladder step just reached, on escalation")
    audience: str | None = Field(default=None, title="Who the escalation step calls")


class RoomStateMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    site: str
    room: str
    state: RoomState
    since: datetime = Field(title="When the room entered this state")
    active_alerts: int = Field(default=0, ge=0)


def alerts_topic(site: str) -> str:
    return hub_topic(site, "alerts")


def room_topic(site: str, room: str) -> str:
    return hub_topic(site, "rooms", room)


LIVE_SUBSCRIPTIONS = ("threshold/v1/+/hub/alerts", "threshold/v1/+/hub/rooms/+")
