"""Device configuration (PROTOCOL.md §5): what a door agent needs to run knock-and-wait alone."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from protocol.events import Count
from protocol.topics import ID_PATTERN

ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", title="Local time, HH:MM")]


class QuietHours(BaseModel):
    """A span of local time, which may cross midnight (22:00 to 07:00)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    start: ClockTime = Field(alias="from", title="From (local time)")
    end: ClockTime = Field(alias="to", title="To (local time)")


class DoorConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    room: Annotated[str, Field(pattern=ID_PATTERN.pattern, title="Room behind this door")]
    wait_s: Annotated[int | None, Field(ge=0, le=3600)] = Field(
        default=None,
        title="Resident's wait",
        description='Seconds staff wait for an answer before "may enter" shows; null: never enter without an answer.',
    )
    quiet_hours: list[QuietHours] = Field(default_factory=list, title="Quiet hours")
    show_knocker: bool = Field(default=False, title="Show who is knocking on the inside panel")


class DeviceConfig(BaseModel):
    """The body of a signed, retained config. A device ignores one older than what it holds."""

    model_config = ConfigDict(extra="allow", frozen=True)

    v: int = Field(default=1, title="Protocol version")
    device: Annotated[str, Field(pattern=ID_PATTERN.pattern)]
    version: Annotated[int, Field(ge=1, title="Config version, rising with every change")]
    issued_ms: Count
    doors: dict[str, DoorConfig] = Field(default_factory=dict)
    heartbeat_s: Annotated[int, Field(ge=5, le=3600)] = 60
    reading_s: Annotated[int, Field(ge=5, le=86400)] = 60
