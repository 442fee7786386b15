"""Stored events as the timeline reads them: the indexed columns, and of the signed body only the `data` of the
types whose fields a timeline shows (BASELINES.md: decoding what the page does not show is most of the cost).

Bodies are decoded with msgspec into a struct of `data` alone: a home's night is thousands of readings and
heartbeats, and the decoder skips the other members without building them."""

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from protocol.events import EventType
from protocol.hub_events import HubEventType

from hub.timelines.model import Lane

class Fact(NamedTuple):
    """One events row, in the column order the loaders select."""

    id: int
    site: str
    device: str
    seq: int
    type: str
    door: str | None
    room: str | None
    ts_ms: int
    received_at: datetime
    boot: str
    signed: str


LANES: dict[str, Lane] = {
    EventType.DOOR_OPENED: Lane.DOOR,
    EventType.DOOR_CLOSED: Lane.DOOR,
    EventType.KNOCK_REQUESTED: Lane.KNOCK,
    EventType.CONSENT_GRANTED: Lane.KNOCK,
    EventType.CONSENT_DECLINED: Lane.KNOCK,
    EventType.KNOCK_EXPIRED: Lane.KNOCK,
    EventType.DND_ON: Lane.KNOCK,
    EventType.DND_OFF: Lane.KNOCK,
    EventType.HELP_REQUESTED: Lane.KNOCK,
    EventType.INDICATOR_CHANGED: Lane.INDICATOR,
    EventType.MOTION_DETECTED: Lane.MOTION,
    EventType.MOTION_CLEARED: Lane.MOTION,
    EventType.OVERRIDE_EMERGENCY: Lane.STAFF,
    EventType.BADGE_PRESENTED: Lane.STAFF,
    EventType.ENV_READING: Lane.ENVIRONMENT,
    EventType.DEVICE_HEARTBEAT: Lane.DEVICE,
    EventType.DEVICE_TAMPER: Lane.DEVICE,
    HubEventType.KNOCK_SENT: Lane.STAFF,
    HubEventType.CHECK_IN: Lane.STAFF,
    HubEventType.ALERT_CHANGED: Lane.ALERTS,
}
"""Anything else — hub records, vendor types — goes to RECORDS (the hub's) or DEVICE (a device's)."""

NAMES_STAFF = frozenset({
    EventType.KNOCK_REQUESTED, EventType.OVERRIDE_EMERGENCY, HubEventType.KNOCK_SENT, HubEventType.CHECK_IN,
    HubEventType.ENTRY_DECIDED, HubEventType.ENTRY_EXPLAINED, HubEventType.ALERT_CHANGED,
})


class _Body(msgspec.Struct):
    """The one member of a signed body a timeline shows; the decoder skips the others without building them."""

    data: dict[str, Any] = {}


_BODY = msgspec.json.Decoder(_Body)


def data_in(signed: str) -> dict[str, Any]:
    """The `data` of one signed body; empty when the body is not a JSON object with a `data` object."""
    try:
        return _BODY.decode(signed).data  # the protocol's integers (within ±2^53) come back exact
    except msgspec.DecodeError:  # not JSON, or not an object whose `data` is one
        return {}


def staff_of(fact_type: str, data: dict[str, Any]) -> str | None:
    """Who an event names as acting: the knocker, the one overriding, the one checking in or changing an alert, or
    the staff member an entry decision names."""
    for key in ("staff", "who", "by"):
        value = data.get(key)
        if isinstance(value, str) and value not in ("hub", "unidentified"):
            return value
    return None


Description = tuple[str, dict[str, Any]]


def _knock(data: dict[str, Any]) -> Description:
    who = data.get("staff")
    return (f"knock ({data.get('source', '?')})" + (f" by {who}" if who else ""),
            {"request": data.get("request"), "source": data.get("source"), "staff": who})


def _reading(data: dict[str, Any]) -> Description:
    temp, rh, co2 = data.get("temp_c_x100"), data.get("rh_x100"), data.get("co2_ppm")
    text = f"{temp / 100:.1f} °C, {rh / 100:.0f} % RH" if isinstance(temp, int) and isinstance(rh, int) \
        else "env reading"
    return text + (f", CO2 {co2} ppm" if co2 is not None else ""), {"temp_c_x100": temp, "rh_x100": rh, "co2_ppm": co2}


def _heartbeat(data: dict[str, Any]) -> Description:
    synced = data.get("clock_synced")
    return "heartbeat, clock synced" if synced else "heartbeat, clock unsynced", {
        "clock_synced": synced, "clock_offset_ms": data.get("clock_offset_ms"), "outbox": data.get("outbox")}


DESCRIBED: dict[str, Callable[[dict[str, Any]], Description]] = {
    EventType.KNOCK_REQUESTED: _knock,
    EventType.CONSENT_GRANTED: lambda data: ('resident answered "come in"', {"request": data.get("request")}),
    EventType.CONSENT_DECLINED: lambda data: ('resident answered "not now"', {"request": data.get("request")}),
    EventType.KNOCK_EXPIRED: lambda data: (f"wait ran out after {int(data.get('waited_ms') or 0) // 1000} s", {
        "request": data.get("request"), "waited_ms": data.get("waited_ms")}),
    EventType.INDICATOR_CHANGED: lambda data: (f"indicator: {str(data.get('state', '?')).replace('_', ' ')}",
                                               {"state": data.get("state")}),
    EventType.ENV_READING: _reading,
    EventType.DEVICE_HEARTBEAT: _heartbeat,
    EventType.OVERRIDE_EMERGENCY: lambda data: (f"emergency entry control by {data.get('staff') or 'unidentified'}", {
        "staff": data.get("staff"), "reason": data.get("reason")}),
    EventType.BADGE_PRESENTED: lambda data: ("badge presented", {"badge": data.get("badge")}),
    EventType.DEVICE_TAMPER: lambda data: (f"tamper: {data.get('what')}", {"what": data.get("what")}),
    HubEventType.KNOCK_SENT: lambda data: (f"remote knock by {data.get('staff')}", {
        "staff": data.get("staff"), "command": data.get("command"), "on_shift": data.get("on_shift")}),
    HubEventType.CHECK_IN: lambda data: (f"check-in by {data.get('staff')}", {"staff": data.get("staff")}),
    HubEventType.ALERT_CHANGED: lambda data: (f"alert {data.get('type')} {data.get('action')} by {data.get('by')}", {
        "alert": data.get("alert"), "type": data.get("type"), "action": data.get("action"), "by": data.get("by"),
        "note": data.get("note")}),
    HubEventType.ENTRY_DECIDED: lambda data: (f"entry decided: {data.get('sentence')}", {
        "door_opened": data.get("door_opened"), "revision": data.get("revision"), "who": data.get("who")}),
    HubEventType.ENTRY_EXPLAINED: lambda data: (f"entry explained by {data.get('staff')}", {
        "door_opened": data.get("door_opened"), "staff": data.get("staff"), "text": data.get("text")}),
    HubEventType.TIMELINE_READ: lambda data: (f"{data.get('what')} read by {data.get('by')}", {
        "by": data.get("by"), "what": data.get("what")}),
    HubEventType.PREFERENCES_VERSIONED: lambda data: ("entry preferences: new version", {
        "version": data.get("version"), "resident": data.get("resident")}),
}
"""A short neutral label and the fields a reader needs, by type; any other type is shown by its name, and its body
(door, motion, dnd, help, most hub records) is never decoded."""


def describe(fact_type: str, data: dict[str, Any]) -> Description:
    """A short neutral label and the fields a reader needs, for one event."""
    described = DESCRIBED.get(fact_type)
    return described(data) if described is not None else (fact_type.replace(".", " "), {})
