"""Device clocks: a fact is placed at its device's time corrected by the clock offset the device last reported
(offset = device clock − true time, from its heartbeat), so a skewed door neither changes how long someone waited
nor puts its events in the wrong order against another device's."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub.db.models import EntryRecord
from hub.decisions.facts import at_of
from hub.ingest.message import ReceivedMessage
from hub.registry import register_device
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, generate_private_key, public_key_b64
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import SITE
from tests.hub.decisions.conftest import Door


def heartbeat(door: Door, at_s: float, offset_ms: int | None) -> ReceivedMessage:
    return door.event("device.heartbeat", at_s, {"uptime_s": 1, "clock_synced": offset_ms is not None,
                                                  "clock_offset_ms": offset_ms, "outbox": 0, "fw": "test"})


def entry(door: Door) -> EntryRecord:
    """The latest decision about the latest opening."""
    with door.sessions() as session:
        latest = session.scalars(select(EntryRecord).order_by(EntryRecord.door_opened_event_id.desc(),
                                                              EntryRecord.revision.desc())).first()
    assert latest is not None
    return latest


def test_a_fast_door_is_placed_at_true_time_and_the_wait_is_what_it_was(door: Door) -> None:
    # The door's clock is 60 s fast: it reports +60000, and stamps everything a minute ahead.
    door.play(heartbeat(door, 60, 60_000))
    door.play(door.knock(60 + 10), door.event("door.opened", 60 + 10 + 40))
    decided = entry(door)
    assert (decided.outcome, decided.reason, decided.waited_ms) == ("permitted", "no_answer_after_wait", 40_000)
    assert decided.opened_at == at_of(door.start_ms + 50_000)  # true time: 60 + 10 + 40 − 60 s after the start


def test_events_before_any_heartbeat_and_with_a_null_offset_keep_the_devices_time(door: Door) -> None:
    door.play(door.knock(0), door.event("door.opened", 40))
    assert entry(door).opened_at == at_of(door.start_ms + 40_000)
    door.play(heartbeat(door, 50, None), door.knock(60, "r2"), door.event("door.opened", 100))
    assert entry(door).opened_at == at_of(door.start_ms + 100_000)


def test_a_later_heartbeat_does_not_move_a_fact_already_decided(door: Door) -> None:
    door.play(heartbeat(door, 0, 5_000), door.knock(10), door.event("door.opened", 50))
    first = entry(door)
    door.play(heartbeat(door, 60, 20_000), door.event("door.closed", 70))
    with door.sessions() as session:
        openings = session.scalars(select(EntryRecord.opened_at).where(
            EntryRecord.door_opened_event_id == first.door_opened_event_id)).all()
    assert set(openings) == {at_of(door.start_ms + 45_000)}  # every revision: 50 s − 5 s, never 50 s − 20 s


def test_order_across_devices_follows_corrected_time(door: Door) -> None:
    """A panel with a true clock asks for help; the door, a minute slow, records its opening 10 s later in true
    time but 50 s earlier by its own clock. Corrected, the help came first: an emergency entry, not "no knock"."""
    panel_key = generate_private_key()
    with door.sessions() as session:
        register_device(session, site=SITE, device="panel-0001", public_key=public_key_b64(panel_key),
                        doors={"p1": "room-12"})
        session.commit()
    body: dict[str, Any] = event_body(device="panel-0001", seq=1, prev=GENESIS_PREV, boot="p", mono_ms=1,
                                      ts_ms=door.start_ms, type="help.requested", door="p1", data={})
    help_requested = ReceivedMessage(device_topic(SITE, "panel-0001", DeviceChannel.EVENT),
                                     seal(panel_key, "event", body), 1, 1, False, at_of(door.start_ms))
    door.play(heartbeat(door, -120, -60_000))  # the door is 60 s slow
    door.play(help_requested, door.event("door.opened", -50))
    decided = entry(door)
    assert decided.opened_at == at_of(door.start_ms) + timedelta(seconds=10)
    assert (decided.outcome, decided.reason) == ("permitted", "emergency")
