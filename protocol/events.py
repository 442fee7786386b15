"""Events (PROTOCOL.md §3): the typed body of every message a device sends."""

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from protocol import PROTOCOL_VERSION
from protocol.errors import ProtocolError
from protocol.topics import ID_PATTERN

MAX_SAFE_INT = 2**53

SafeInt = Annotated[int, Field(strict=True, ge=-MAX_SAFE_INT, le=MAX_SAFE_INT)]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_SAFE_INT)]
Text = Annotated[str, Field(strict=True, max_length=1024)]


class EventType(StrEnum):
    DOOR_OPENED = "door.opened"
    DOOR_CLOSED = "door.closed"
    KNOCK_REQUESTED = "knock.requested"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_DECLINED = "consent.declined"
    KNOCK_EXPIRED = "knock.expired"
    INDICATOR_CHANGED = "indicator.changed"
    DND_ON = "dnd.on"
    DND_OFF = "dnd.off"
    HELP_REQUESTED = "help.requested"
    OVERRIDE_EMERGENCY = "override.emergency"
    BADGE_PRESENTED = "badge.presented"
    MOTION_DETECTED = "motion.detected"
    MOTION_CLEARED = "motion.cleared"
    ENV_READING = "env.reading"
    DEVICE_HEARTBEAT = "device.heartbeat"
    DEVICE_TAMPER = "device.tamper"


class IndicatorState(StrEnum):
    IDLE = "idle"
    WAITING = "waiting"
    COME_IN = "come_in"
    NOT_NOW = "not_now"
    DO_NOT_DISTURB = "do_not_disturb"
    MAY_ENTER = "may_enter"


class EventData(BaseModel):
    """A type's `data`; unknown fields are kept (§3)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class NoData(EventData):
    pass


class KnockRequestedData(EventData):
    request: Text
    source: Literal["button", "remote"]
    staff: Text | None


class ConsentData(EventData):
    request: Text | None


class KnockExpiredData(EventData):
    request: Text
    waited_ms: Count


class IndicatorData(EventData):
    state: Annotated[IndicatorState, Field(strict=False)]


class EmergencyOverrideData(EventData):
    staff: Text | None
    reason: Text


class BadgeData(EventData):
    badge: Text


class EnvReadingData(EventData):
    temp_c_x100: SafeInt
    rh_x100: SafeInt
    co2_ppm: SafeInt | None


class TamperData(EventData):
    what: Text


class HeartbeatData(EventData):
    uptime_s: Count
    clock_synced: bool
    clock_offset_ms: SafeInt | None
    outbox: Count
    fw: Text


DATA_MODELS: dict[str, type[EventData]] = {
    EventType.DOOR_OPENED: NoData,
    EventType.DOOR_CLOSED: NoData,
    EventType.KNOCK_REQUESTED: KnockRequestedData,
    EventType.CONSENT_GRANTED: ConsentData,
    EventType.CONSENT_DECLINED: ConsentData,
    EventType.KNOCK_EXPIRED: KnockExpiredData,
    EventType.INDICATOR_CHANGED: IndicatorData,
    EventType.DND_ON: NoData,
    EventType.DND_OFF: NoData,
    EventType.HELP_REQUESTED: NoData,
    EventType.OVERRIDE_EMERGENCY: EmergencyOverrideData,
    EventType.BADGE_PRESENTED: BadgeData,
    EventType.MOTION_DETECTED: NoData,
    EventType.MOTION_CLEARED: NoData,
    EventType.ENV_READING: EnvReadingData,
    EventType.DEVICE_HEARTBEAT: HeartbeatData,
    EventType.DEVICE_TAMPER: TamperData,
}


def check_numbers(value: Any, path: str = "event") -> None:
    """All numbers in an event are integers within ±2^53 (§3, §4), so the signed bytes are RFC 8785."""
    if isinstance(value, float):
        raise ValueError(f"{path} is a fraction; every number in an event is an integer")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        raise ValueError(f"{path} is outside ±2^53")
    if isinstance(value, dict):
        for key, item in value.items():
            check_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_numbers(item, f"{path}[{index}]")


class Event(BaseModel):
    """One event as a device signed it. Unknown fields are kept, never rejected (§3)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    v: Annotated[int, Field(strict=True, ge=PROTOCOL_VERSION, le=PROTOCOL_VERSION, title="Protocol version")]
    device: Annotated[str, Field(pattern=ID_PATTERN.pattern, title="Device id, equal to the topic's")]
    seq: Annotated[int, Field(strict=True, ge=1, le=MAX_SAFE_INT, title="Per-device sequence number from 1")]
    prev: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$", title="Base64 SHA-256 of the previous signed bytes")]
    boot: Annotated[str, Field(min_length=1, max_length=64, title="Random id drawn at each agent start")]
    mono_ms: Annotated[Count, Field(title="Monotonic milliseconds since boot")]
    ts_ms: Annotated[Count, Field(title="Device wall clock, Unix epoch ms, UTC")]
    type: Annotated[str, Field(min_length=1, max_length=128, title="Event type, or x.vendor.thing")]
    door: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(title="Door of the device")
    data: dict[str, Any] = Field(title="The type's fields")

    @model_validator(mode="after")
    def _check_type_and_data(self) -> "Event":
        data_model = DATA_MODELS.get(self.type)
        if data_model is None and not self.type.startswith("x."):
            raise ValueError(f"unknown event type {self.type!r} (vendor types start with 'x.')")
        if data_model is not None:
            data_model.model_validate(self.data)
        check_numbers(self.model_extra or {}, "event")
        check_numbers(self.data, "data")
        return self

    @property
    def known_type(self) -> EventType | None:
        return EventType(self.type) if self.type in DATA_MODELS else None


def parse_event(body: dict[str, Any]) -> Event:
    """The typed event for a body, or ProtocolError('bad_event') saying which field is wrong."""
    try:
        return Event.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise ProtocolError("bad_event", f"{where}: {first['msg']} ({error.error_count()} problem(s))") from None


def event_body(
    *,
    device: str,
    seq: int,
    prev: str,
    boot: str,
    mono_ms: int,
    ts_ms: int,
    type: str,
    door: str | None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new event body in the protocol's field order, ready to sign."""
    return {
        "v": PROTOCOL_VERSION,
        "device": device,
        "seq": seq,
        "prev": prev,
        "boot": boot,
        "mono_ms": mono_ms,
        "ts_ms": ts_ms,
        "type": str(type),
        "door": door,
        "data": data or {},
    }
