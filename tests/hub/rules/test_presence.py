"""Door held open, lone worker overdue, device offline: pure checks over facts and a `now` the test sets."""

from datetime import timedelta

import pytest

from hub.rules.entries import decide_entry
from hub.rules.presence import CheckIn, devices_offline, doors_held_open, lone_workers_overdue
from tests.hub.rules.night import DOOR_OPENS, PREFERENCES, ROOM_7, ROSTER, answer, fact, knock, night, opened


@pytest.mark.parametrize(
    ("lines", "after_s", "held"),
    [
        pytest.param([(0, "door.opened", {})], 119, False, id="open-119-s-of-120"),
        pytest.param([(0, "door.opened", {})], 120, True, id="open-120-s"),
        pytest.param([(0, "door.opened", {}), (60, "door.closed", {})], 600, False, id="closed-again"),
        pytest.param([(0, "door.opened", {}), (60, "door.closed", {}), (100, "door.opened", {})], 230, True, id="reopened-and-held"),
    ],
)
def test_door_held_open(lines, after_s: int, held: bool) -> None:
    facts = night(lines)
    found = doors_held_open(facts, DOOR_OPENS + timedelta(seconds=after_s), limit_s=120)
    assert bool(found) is held
    if held:
        assert found[0].opened == facts[-1].id and found[0].room == "room-7" and found[0].open_for_s >= 120


def visit(extra=()):
    facts = night([(-9, "knock.requested", knock()), (-4, "consent.granted", answer()), (0, "door.opened", {}), (20, "door.closed", {}), *extra])
    return facts, decide_entry(opened(facts), facts, PREFERENCES, ROSTER, ROOM_7)


def test_a_lone_worker_past_the_limit_without_checking_in_is_overdue() -> None:
    facts, entry = visit()
    limit = 15 * 60
    assert lone_workers_overdue([entry], facts, [], DOOR_OPENS + timedelta(seconds=limit - 1), limit) == []
    overdue = lone_workers_overdue([entry], facts, [], DOOR_OPENS + timedelta(seconds=limit + 5), limit)
    assert [(o.staff, o.room, o.entry, o.overdue_s) for o in overdue] == [("s-ana", "room-7", entry.door_opened, 5)]


def test_a_check_in_resets_the_clock_and_coming_out_ends_it() -> None:
    facts, entry = visit()
    check_in = CheckIn(staff="s-ana", room="room-7", at=DOOR_OPENS + timedelta(minutes=10))
    assert lone_workers_overdue([entry], facts, [check_in], DOOR_OPENS + timedelta(minutes=20), 15 * 60) == []
    facts, entry = visit([(300, "door.opened", {})])
    assert lone_workers_overdue([entry], facts, [], DOOR_OPENS + timedelta(hours=1), 15 * 60) == []


def test_device_offline_after_130_s_without_a_heartbeat_as_received() -> None:
    heartbeat = fact(1, DOOR_OPENS, "device.heartbeat", {"uptime_s": 5, "clock_synced": True, "clock_offset_ms": 0, "outbox": 0, "fw": "1"})
    heard = heartbeat.received_at
    assert devices_offline(["door-7"], [heartbeat], heard + timedelta(seconds=130)) == []
    offline = devices_offline(["door-7", "door-8"], [heartbeat], heard + timedelta(seconds=131))
    assert [(d.device, d.last_heartbeat) for d in offline] == [("door-7", heard), ("door-8", None)]
