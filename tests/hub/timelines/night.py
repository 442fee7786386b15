"""Building a timeline's inputs by hand: signed bodies exactly as devices write them, without a database."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.timelines.assemble import DeviceInfo, EntryRow, Found
from hub.timelines.facts import Fact
from hub.timelines.model import View
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, signed_bytes

SITE = "oakwood"
T0 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Night:
    """Facts of a night; each device's seqs count up as they are added."""

    facts: list[Fact] = field(default_factory=list)
    seqs: dict[str, int] = field(default_factory=dict)

    def add(self, device: str, type: str, device_time: datetime, data: dict[str, Any] | None = None, *,
            room: str | None = "room-12", door: str | None = "d1", received: datetime | None = None,
            seq: int | None = None) -> Fact:
        seq = seq or self.seqs.get(device, 0) + 1
        self.seqs[device] = max(seq, self.seqs.get(device, 0))
        body = event_body(device=device, seq=seq, prev=GENESIS_PREV, boot="boot-1", mono_ms=seq,
                          ts_ms=ms(device_time), type=type, door=door, data=data)
        fact = Fact(len(self.facts) + 1, SITE, device, seq, type, door, room, ms(device_time),
                    received or device_time + timedelta(milliseconds=300), "boot-1",
                    signed_bytes(body).decode("utf-8"))
        self.facts.append(fact)
        return fact

    def heartbeat(self, device: str, device_time: datetime, synced: bool = True, offset_ms: int | None = 0,
                  received: datetime | None = None) -> Fact:
        return self.add(device, "device.heartbeat", device_time,
                        {"uptime_s": 1, "clock_synced": synced, "clock_offset_ms": offset_ms, "outbox": 0, "fw": "1"},
                        room=None, door=None, received=received)

    def found(self, view: View = View.ROOM, start: datetime = T0, end: datetime = T0 + timedelta(hours=1),
              devices: dict[str, DeviceInfo] | None = None, **more: Any) -> Found:
        return Found(view=view, site=SITE, subject="room-12", start=start, end=end, time_zone="Europe/London",
                     now=end + timedelta(days=1), facts=list(self.facts),
                     devices=devices if devices is not None else {"door-7": DeviceInfo("door-7", ("room-12",), True)},
                     **more)


def entry(door_opened: Fact, **columns: Any) -> EntryRow:
    values: dict[str, Any] = {
        "door_opened_event_id": door_opened.id, "revision": 1, "cause": "first", "decided_at": at(30),
        "room": door_opened.room, "device": door_opened.device, "door": door_opened.door,
        "opened_at": datetime.fromtimestamp(door_opened.ts_ms / 1000, UTC), "closed_at": None, "kind": "entry",
        "outcome": "permitted", "reason": "consent", "sentence": "entered after the resident said come in",
        "who": "unidentified", "rules_version": "entries-v1", "preference_version": None, "waited_ms": None,
        "wait_s": 30, "inside_ms": None, "review_required": False, "knock_event_id": None, "answer_event_id": None,
        "rests_on": (str(door_opened.id),),
    }
    return EntryRow(**(values | columns))
