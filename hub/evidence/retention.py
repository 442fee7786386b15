"""Retention by data class: after its time, an event's payload goes and its place in the chain stays.

How, honestly, when `events` is append-only. Moving every payload into a side table that could be deleted from
would change how everything in the hub reads events; deleting rows would break the chains. So the purge is one
narrow, named operation that the database itself permits and nothing else: blanking `signed` of a row already
listed in `purged_events` (append-only too: which event, which data class, when), with every other column
unchanged (migration 0004's trigger). What remains is the chain's skeleton — device, seq, type, times, prev,
hash, signature — so every chain and checkpoint still verifies; what goes is what the event said (who knocked,
the answer, the readings). check-db accepts a blank payload only where `purged_events` names it.

An event in the scope of an open case (a legal hold) is never purged, whatever its age.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ColumnElement, Row, or_, select, update
from sqlalchemy.orm import Session

from hub.db.models import PurgedEvent, StoredEvent
from hub.evidence.cases import in_scope, open_cases
from protocol.events import EventType

PURGE_BATCH = 1000


class DataClass(StrEnum):
    ENVIRONMENT = "environment"
    PRESENCE = "presence"
    DOOR = "door"
    SAFETY = "safety"
    DEVICE = "device"
    HUB = "hub"
    VENDOR = "vendor"


CLASS_OF_TYPE: dict[str, DataClass] = {
    EventType.ENV_READING: DataClass.ENVIRONMENT,
    EventType.MOTION_DETECTED: DataClass.PRESENCE,
    EventType.MOTION_CLEARED: DataClass.PRESENCE,
    EventType.DEVICE_HEARTBEAT: DataClass.DEVICE,
    EventType.DEVICE_TAMPER: DataClass.DEVICE,
    EventType.HELP_REQUESTED: DataClass.SAFETY,
    EventType.OVERRIDE_EMERGENCY: DataClass.SAFETY,
    **{
        kind: DataClass.DOOR
        for kind in (EventType.DOOR_OPENED, EventType.DOOR_CLOSED, EventType.KNOCK_REQUESTED,
                     EventType.CONSENT_GRANTED, EventType.CONSENT_DECLINED, EventType.KNOCK_EXPIRED,
                     EventType.INDICATOR_CHANGED, EventType.DND_ON, EventType.DND_OFF, EventType.BADGE_PRESENTED)
    },
}


class RetentionSettings(BaseSettings):
    """How long each data class keeps its payload (days); none: kept for good. Read by the scheduler."""

    model_config = SettingsConfigDict(env_prefix="THRESHOLD_HUB_RETENTION_", env_file=".env", extra="ignore")

    environment_days: int | None = Field(default=90, ge=1, title="Room readings (temperature, humidity, CO2)")
    presence_days: int | None = Field(default=365, ge=1, title="Motion in rooms")
    door_days: int | None = Field(default=None, ge=1, title="Doors, knocks, answers, indicator, do not disturb")
    safety_days: int | None = Field(default=None, ge=1, title="Help requests and emergency overrides")
    device_days: int | None = Field(default=90, ge=1, title="Heartbeats and tamper reports")
    hub_days: int | None = Field(default=None, ge=1, title="The hub's own events (decisions, alerts, audit)")
    vendor_days: int | None = Field(default=90, ge=1, title="Vendor (x.) events")

    def periods(self) -> dict[DataClass, timedelta]:
        return {
            data_class: timedelta(days=days)
            for data_class in DataClass
            if (days := getattr(self, f"{data_class.value}_days")) is not None
        }


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    held: int


def _of_class(data_class: DataClass) -> ColumnElement[bool]:
    if data_class is DataClass.HUB:
        return StoredEvent.type.startswith("hub.")
    if data_class is DataClass.VENDOR:
        return StoredEvent.type.startswith("x.")
    return or_(*(StoredEvent.type == kind for kind, of in CLASS_OF_TYPE.items() if of is data_class))


def purge(session: Session, data_class: DataClass, older_than: timedelta, now: datetime) -> PurgeResult:
    """Blank the payload of every `data_class` event received before `now - older_than` and not held; the caller
    commits. Returns how many were purged and how many were held back by open cases."""
    holds = open_cases(session)
    cutoff = now - older_than
    purged = held = 0
    after = 0
    while True:
        batch = session.execute(
            select(StoredEvent.id, StoredEvent.device, StoredEvent.seq, StoredEvent.site, StoredEvent.room,
                   StoredEvent.ts_ms, StoredEvent.signed)
            .where(_of_class(data_class), StoredEvent.received_at < cutoff, StoredEvent.signed != "",
                   StoredEvent.id > after)
            .order_by(StoredEvent.id)
            .limit(PURGE_BATCH)
        ).all()
        if not batch:
            return PurgeResult(purged, held)
        after = batch[-1].id
        free = [row for row in batch
                if not any(in_scope(case, row.site, row.room, row.ts_ms, row.signed) for case in holds)]
        held += len(batch) - len(free)
        _blank(session, free, data_class, now)
        purged += len(free)


def _blank(session: Session, rows: Sequence[Row[Any]], data_class: DataClass, now: datetime) -> None:
    if not rows:
        return
    session.add_all(PurgedEvent(device=row.device, seq=row.seq, data_class=data_class.value, purged_at=now)
                    for row in rows)
    session.flush()
    session.execute(update(StoredEvent).where(StoredEvent.id.in_([row.id for row in rows])).values(signed=""),
                    execution_options={"synchronize_session": False})
