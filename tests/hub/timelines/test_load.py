"""What the loaders read for a room: its registry and its entries come back in one round trip, each row once."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import AlertRecord, Device, EntryRecord, StoredEvent
from hub.timelines.load import load_room
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, signed_bytes
from tests.hub.conftest import DEVICE, SITE, People

T0 = datetime(2026, 11, 19, 22, 0, tzinfo=UTC)
END = T0 + timedelta(hours=1)


def _door_opened(session: Session, seq: int, minute: int, room: str = "room-12") -> int:
    ts_ms = int((T0 + timedelta(minutes=minute)).timestamp() * 1000)
    body = event_body(device=DEVICE, seq=seq, prev=GENESIS_PREV, boot="b1", mono_ms=seq, ts_ms=ts_ms,
                      type="door.opened", door="d1", data=None)
    event = StoredEvent(site=SITE, device=DEVICE, seq=seq, type="door.opened", door="d1", room=room, ts_ms=ts_ms,
                        mono_ms=seq, boot="b1", prev=GENESIS_PREV, hash=GENESIS_PREV, sig="A" * 86 + "==",
                        signed=signed_bytes(body).decode(), received_at=T0 + timedelta(minutes=minute, seconds=1))
    session.add(event)
    session.flush()
    return event.id


def _decision(session: Session, opened: int, minute: int, revision: int, room: str = "room-12") -> None:
    session.add(EntryRecord(
        door_opened_event_id=opened, revision=revision, cause="first" if revision == 1 else "door closed",
        decided_at=T0 + timedelta(minutes=minute + revision), site=SITE, room=room, device=DEVICE, door="d1",
        resident_id=None, opened_at=T0 + timedelta(minutes=minute), kind="entry", outcome="permitted",
        reason="consent", sentence="entered after the resident said come in", rules_version="entries-v1",
        preference_version=None, who="sam", knock_event_id=None, answer_event_id=None, waited_ms=None, wait_s=30,
        closed_at=None, inside_ms=None, rests_on=[str(opened)], review_required=False))


def _offline(session: Session, alert: str, minute: int, minutes: int) -> None:
    session.add(AlertRecord(
        id=alert, site=SITE, room="room-12", type="device_offline", subject=f"device:{DEVICE}", sentence="not heard",
        rests_on=[], raised_at=T0 + timedelta(minutes=minute), cleared_at=T0 + timedelta(minutes=minute + minutes)))


def test_a_rooms_entries_and_its_doors_offline_spans_each_come_back_once(people: People,
                                                                        registered: sessionmaker[Session]) -> None:
    with registered() as session:
        first, second = _door_opened(session, 1, 5), _door_opened(session, 2, 30)
        elsewhere = _door_opened(session, 3, 40, room="room-14")
        _decision(session, first, 5, 1)
        _decision(session, first, 5, 2)
        _decision(session, second, 30, 1)
        _decision(session, elsewhere, 40, 1, room="room-14")
        _offline(session, "a1", 10, 5)
        _offline(session, "a2", 20, 5)
        session.commit()

        found = load_room(session, SITE, "room-12", T0, END, END, timedelta(minutes=2))

    assert sorted((row.door_opened_event_id, row.revision) for row in found.entries) == [
        (first, 1), (first, 2), (second, 1)]
    assert sorted(alert.alert for alert in found.alerts) == ["a1", "a2"]
    assert list(found.devices) == [DEVICE] and found.time_zone == "Europe/London"
    assert [fact.id for fact in found.facts] == [first, second]


def test_a_rooms_entries_are_read_when_no_device_serves_it_any_more(people: People,
                                                                    registered: sessionmaker[Session]) -> None:
    """The door moved to another room after the night: that night's decisions about room-12 stay on its timeline."""
    with registered() as session:
        opened = _door_opened(session, 1, 5)
        _decision(session, opened, 5, 1)
        session.commit()
        device = session.get(Device, DEVICE)
        assert device is not None
        device.doors = {"d1": "room-14"}
        session.commit()

        found = load_room(session, SITE, "room-12", T0, END, END, timedelta(minutes=2))

    assert [(row.door_opened_event_id, row.room) for row in found.entries] == [(opened, "room-12")]
    assert found.devices == {} and [fact.id for fact in found.facts] == [opened]
