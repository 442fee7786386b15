"""What the rules read: stored events on a door and its room, the resident's preference version, the duty
roster and the room itself. Frozen values; every time is timezone-aware UTC."""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from protocol.config import ClockTime, QuietHours
from protocol.events import Event


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DoorFact(Frozen):
    """One stored event on a door or in a room, with the time the rules order it by.

    `at` is the corrected time: the device's `ts_ms` minus the `clock_offset_ms` its last heartbeat before this event
    reported (offset = device clock − true time; hub/decisions/facts.py), else `ts_ms` itself. The rules order facts
    by (`at`, device, seq) and never by arrival.
    """

    id: str = Field(min_length=1, title="Stable id of the stored event")
    device: str = Field(title="Device that recorded it")
    seq: int = Field(ge=1, title="The device's sequence number")
    type: str = Field(title="Event type (PROTOCOL.md §3)")
    door: str | None = Field(default=None, title="Door of the device")
    room: str | None = Field(default=None, title="Room the door or sensor belongs to")
    ts_ms: int = Field(ge=0, title="The device's own clock, epoch ms")
    at: AwareDatetime = Field(title="Corrected time (UTC) the rules use")
    received_at: AwareDatetime = Field(title="When the hub stored it")
    data: dict[str, Any] = Field(default_factory=dict, title="The type's fields")

    @property
    def order(self) -> tuple[datetime, str, int]:
        return (self.at, self.device, self.seq)

    @classmethod
    def from_event(cls, event: Event, *, id: str, room: str | None, at: datetime, received_at: datetime) -> "DoorFact":
        return cls(
            id=id,
            device=event.device,
            seq=event.seq,
            type=event.type,
            door=event.door,
            room=room,
            ts_ms=event.ts_ms,
            at=at,
            received_at=received_at,
            data=dict(event.data),
        )


def in_order(facts: Sequence[DoorFact]) -> list[DoorFact]:
    return sorted(facts, key=lambda fact: fact.order)


class NightCheck(Frozen):
    """A care-plan night check agreed with the resident: a window of local time, how, and who may do it.

    With neither `roles` nor `staff` given, any member of staff on duty may do it.
    """

    start: ClockTime = Field(title="From (local time)")
    end: ClockTime = Field(title="To (local time); before `start` when the window crosses midnight")
    how: str = Field(min_length=1, max_length=200, title='How, e.g. "open quietly, no knock"')
    roles: frozenset[str] = Field(default=frozenset(), title="Roles that may do it")
    staff: frozenset[str] = Field(default=frozenset(), title="Named staff who may do it")

    def allows(self, staff: str, role: str) -> bool:
        if not self.roles and not self.staff:
            return True
        return staff in self.staff or role in self.roles


class PreferenceSnapshot(Frozen):
    """One version of a resident's entry preferences, as it stood when the door opened."""

    version: str = Field(min_length=1, title="Preference version id")
    wait_s: Annotated[int | None, Field(ge=0, le=3600)] = Field(
        default=None, title="Wait for an answer", description="None: never enter without an answer."
    )
    quiet_hours: tuple[QuietHours, ...] = Field(default=(), title="Quiet hours (local time)")
    dnd_allowed: bool = Field(default=True, title='Whether "do not disturb" is honoured')
    not_now_hold_s: int = Field(default=120, ge=0, le=86400, title='How long "not now" holds before a re-knock')
    welfare_after_s: int = Field(
        default=7200,
        ge=60,
        title="Welfare limit",
        description='A run of "not now" longer than this prompts the night lead to a welfare check.',
    )
    show_knocker: bool = Field(default=False, title="Show who is knocking")
    excluded_staff: frozenset[str] = Field(default=frozenset(), title="People the resident asked not to enter")
    night_checks: tuple[NightCheck, ...] = Field(default=(), title="Care-plan night checks")


class Shift(Frozen):
    staff: str = Field(min_length=1)
    role: str = Field(min_length=1, title="staff, night_lead, manager, …")
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> "Shift":
        if self.end <= self.start:
            raise ValueError("a shift ends after it starts")
        return self

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


class RosterSnapshot(Frozen):
    """Who is on duty when, and which badge belongs to whom."""

    shifts: tuple[Shift, ...] = ()
    badges: dict[str, str] = Field(default_factory=dict, title="Badge → staff id")

    def on_duty(self, at: datetime) -> list[Shift]:
        return [shift for shift in self.shifts if shift.covers(at)]


class RoomContext(Frozen):
    room: str = Field(min_length=1)
    resident: str = Field(min_length=1, title="Resident living in the room when the door opened")
    time_zone: str = Field(default="Europe/London", title="The home's time zone (IANA name)")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
