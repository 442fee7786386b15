"""Commands, hub to device (PROTOCOL.md §6)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from protocol.events import Count
from protocol.topics import ID_PATTERN


class Command(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    v: int = 1
    device: Annotated[str, Field(pattern=ID_PATTERN.pattern)]
    id: Annotated[str, Field(min_length=1, max_length=64, title="Unique id; a device runs each once")]
    issued_ms: Count
    expires_ms: Count
    name: Annotated[str, Field(title="knock or identify")]
    args: dict[str, Any] = Field(default_factory=dict)


class KnockArgs(BaseModel):
    """A remote knock from a staff member's handset."""

    model_config = ConfigDict(extra="allow", frozen=True)

    door: str
    staff: str
    staff_name: str | None = None


class IdentifyArgs(BaseModel):
    """Blink the indicator so an installer can find the door."""

    model_config = ConfigDict(extra="allow", frozen=True)

    door: str | None = None
