"""Where each room stands, as the live board and the night board read it: several rooms of a home read at once must
each read as that room alone, whatever its neighbours hold."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from hub.db.models import Device
from hub.decisions.alerts import AlertRaise, raise_once
from hub.decisions.live import RECENT_FACTS, room_messages
from hub.live import RoomState
from hub.people.homes import add_room
from hub.registry import register_device
from hub.rules.alerts import AlertType
from protocol.signing import generate_private_key, public_key_b64
from tests.hub.decisions.conftest import Door

NOW = datetime.now(UTC)


def add_door(door: Door, device: str, room: str) -> Door:
    """Another door of oakwood, d1 of a new device serving `room`, playing on the same hub chain."""
    key = generate_private_key()
    with door.sessions() as session:
        register_device(session, site="oakwood", device=device, public_key=public_key_b64(key), doors={"d1": room})
        session.commit()
    return Door(door.sessions, door.chain, start_ms=door.start_ms, device=device, key=key)


def states(sessions: sessionmaker[Session], rooms: list[str]) -> dict[str, tuple[RoomState, datetime, int]]:
    with sessions() as session:
        return {m.room: (m.state, m.since, m.active_alerts) for m in room_messages(session, "oakwood", rooms, NOW)}


def test_rooms_read_together_read_as_each_alone(door: Door) -> None:
    door.play(door.event("door.opened", 1))  # no knock: an unpermitted entry, its alert active
    add_door(door, "door-0008", "room-14")
    went_quiet = NOW - timedelta(minutes=3)
    with door.sessions() as session:
        session.execute(update(Device).where(Device.id == "door-0008").values(status="offline", status_at=went_quiet))
        add_room(session, "oakwood", "room-16")  # no door yet
        session.commit()

    together = states(door.sessions, ["room-12", "room-14", "room-16"])

    opened_at = datetime.fromtimestamp((door.start_ms + 1000) / 1000, UTC)
    assert together == {
        "room-12": (RoomState.OCCUPIED, opened_at, 1),
        "room-14": (RoomState.OFFLINE, went_quiet, 0),
        "room-16": (RoomState.IDLE, NOW, 0),
    }
    assert {room: states(door.sessions, [room])[room] for room in together} == together


def test_an_active_offline_alert_makes_the_room_offline_from_when_it_was_raised(door: Door) -> None:
    door.play(door.knock(1))
    add_door(door, "door-0008", "room-14")
    raised_at = NOW - timedelta(minutes=5)
    with door.sessions() as session:
        raise_once(session, door.chain, AlertRaise("oakwood", "room-14", AlertType.DEVICE_OFFLINE, "device:door-0008"),
                   raised_at)
        session.commit()

    together = states(door.sessions, ["room-12", "room-14"])

    knocked_at = datetime.fromtimestamp((door.start_ms + 1000) / 1000, UTC)
    assert together["room-12"] == (RoomState.KNOCK_WAITING, knocked_at, 0)
    assert together["room-14"][:2] == (RoomState.OFFLINE, raised_at)
    assert together["room-14"][2] == 1  # the offline alert itself, active in that room


def test_a_busy_neighbour_does_not_crowd_a_room_out_of_its_latest_facts(door: Door) -> None:
    """Each room's latest facts are read by itself: a neighbour with many more changes takes none of its share."""
    door.play(door.event("dnd.on", 1))
    neighbour = add_door(door, "door-0008", "room-14")
    neighbour.play(*[neighbour.knock(at, request=f"r{at}") for at in range(2, 2 + 2 * RECENT_FACTS)])

    together = states(door.sessions, ["room-12", "room-14"])

    dnd_at = datetime.fromtimestamp((door.start_ms + 1000) / 1000, UTC)
    assert together["room-12"] == (RoomState.DO_NOT_DISTURB, dnd_at, 0)
    assert together["room-14"][0] == RoomState.KNOCK_WAITING
