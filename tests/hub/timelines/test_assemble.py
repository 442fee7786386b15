"""The order of a timeline, its basis, and what it says it does not know."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.timelines import clock
from hub.timelines.assemble import DeviceInfo, assemble
from hub.timelines.model import Lane, UnknownKind, View
from hub.timelines.unknowns import SeqMark
from hub.timelines.window import local_or_aware, night
from tests.hub.timelines.night import Night, at, entry, ms

LONDON = ZoneInfo("Europe/London")
TWO_DOORS = {"door-7": DeviceInfo("door-7", ("room-12",), True), "door-9": DeviceInfo("door-9", ("room-14",), True)}


def test_a_skewed_clock_is_corrected_by_its_heartbeat_offset_and_says_so() -> None:
    night = Night()
    night.heartbeat("door-7", at(0))
    night.heartbeat("door-9", at(2), offset_ms=-120_000)  # its clock runs two minutes fast
    night.add("door-7", "door.opened", at(3))
    fast = night.add("door-9", "door.opened", at(4), room="room-14")  # really at 2 min
    timeline = assemble(night.found(View.HOME, devices=TWO_DOORS))
    doors = [item for item in timeline.items if item.lane == Lane.DOOR]
    assert [(item.source, item.at) for item in doors] == [("door-9", at(2)), ("door-7", at(3))]
    assert doors[0].basis == "device clock corrected by -120000 ms" and doors[0].device_ts_ms == fast.ts_ms
    assert doors[0].received_at == fast.received_at
    assert doors[1].basis == clock.SYNCED


def test_an_unsynced_clock_is_placed_by_the_hubs_receive_time_and_shaded() -> None:
    night = Night()
    night.heartbeat("door-7", at(0), synced=False, offset_ms=None, received=at(0))
    opened = night.add("door-7", "door.opened", datetime(2001, 1, 1, tzinfo=UTC), received=at(5))
    timeline = assemble(night.found())
    item = next(item for item in timeline.items if item.id == opened.id)
    assert (item.at, item.basis) == (at(5), clock.UNSYNCED)
    [unsynced] = [u for u in timeline.unknowns if u.kind == UnknownKind.CLOCK_UNSYNCED]
    assert unsynced.start == at(0) and unsynced.end is None
    assert any("clock was not synced" in line for line in timeline.summary)


def test_a_devices_own_order_is_its_seq_even_when_a_correction_moves_a_later_event_earlier() -> None:
    night = Night()
    night.heartbeat("door-7", at(0))
    first = night.add("door-7", "knock.requested", at(10), {"request": "r1", "source": "button", "staff": None})
    night.heartbeat("door-7", at(10.5), offset_ms=-60_000)
    second = night.add("door-7", "door.opened", at(10.6))  # corrected to 9.6 min: before the knock by time
    ids = [item.id for item in assemble(night.found()).items if item.source == "door-7"]
    assert ids.index(first.id) < ids.index(second.id)


def test_a_door_device_offline_mid_incident_is_drawn_and_summarised() -> None:
    night = Night()
    for minute in (0, 1, 2):
        night.heartbeat("door-7", at(minute))
    night.add("door-7", "knock.requested", at(2.5), {"request": "r1", "source": "button", "staff": None})
    for minute in (40, 41, 42):  # nothing in between: the device was down
        night.heartbeat("door-7", at(minute))
    timeline = assemble(night.found(end=at(43)))
    [offline] = [u for u in timeline.unknowns if u.kind == UnknownKind.DEVICE_OFFLINE]
    assert (offline.source, offline.start, offline.end, offline.rooms) == ("door-7", at(2), at(40), ("room-12",))
    assert timeline.summary[0].startswith("The door device door-7 (room-12) was not heard from 26 Nov 22:02 GMT "
                                          "to 26 Nov 22:40 GMT")
    assert timeline.summary[-1] == ("No entry recorded in this window, but the door could not record for part of "
                                    "it (above): that is not the same as no entry.")


def test_no_entry_with_the_door_heard_throughout_says_only_that() -> None:
    night = Night()
    for minute in range(0, 60, 2):
        night.heartbeat("door-7", at(minute))
    timeline = assemble(night.found())
    assert timeline.unknowns == ()
    assert timeline.summary == ("No entry recorded in this window.",)


def test_a_gap_is_a_seq_range_with_the_time_it_could_cover() -> None:
    night = Night()
    night.heartbeat("door-7", at(0))
    night.add("door-7", "door.opened", at(5))
    night.add("door-7", "door.closed", at(9), seq=5)
    marks = {"door-7": [SeqMark(2, ms(at(5))), SeqMark(5, ms(at(9)))]}
    [gap] = [u for u in assemble(night.found(seq_marks=marks)).unknowns if u.kind == UnknownKind.GAP]
    assert (gap.first_seq, gap.last_seq, gap.start, gap.end) == (3, 4, at(5), at(9))
    assert gap.text == "door-7: 2 events never received (seq 3–4)"


def test_late_arrivals_are_one_span_per_run() -> None:
    night = Night()
    night.heartbeat("door-7", at(0))
    for minute in (1, 2, 3):
        night.add("door-7", "motion.detected", at(minute), room=None, door=None, received=at(20))
    night.add("door-7", "motion.cleared", at(21), room=None, door=None)
    timeline = assemble(night.found())
    [late] = [u for u in timeline.unknowns if u.kind == UnknownKind.LATE_ARRIVAL]
    assert (late.first_seq, late.last_seq, late.start, late.end) == (2, 4, at(1), at(3))
    assert "3 events arrived late (up to 19 min" in late.text
    assert [item.room for item in timeline.items if item.lane == Lane.MOTION] == ["room-12"] * 4


def test_an_entry_shows_which_sources_corroborate_it_and_which_are_missing() -> None:
    night = Night()
    night.heartbeat("door-7", at(0))
    sent = night.add("hub", "hub.knock.sent", at(1), {"command": "c1", "staff": "sam", "door": "d1"})
    knock = night.add("door-7", "knock.requested", at(1.01), {"request": "c1", "source": "remote", "staff": "sam"})
    night.add("door-7", "indicator.changed", at(1.02), {"state": "waiting"})
    answer = night.add("door-7", "consent.granted", at(1.5), {"request": "c1"})
    shown = night.add("door-7", "indicator.changed", at(1.51), {"state": "come_in"})
    opened = night.add("door-7", "door.opened", at(2))
    night.add("door-7", "motion.detected", at(2.2), room=None, door=None)
    decided = entry(opened, who="sam", knock_event_id=knock.id, answer_event_id=answer.id)
    [overlay] = assemble(night.found(entries=[decided])).entries
    assert overlay.corroborated_by == 5
    assert overlay.missing == ("badge",)
    by_source = {support.source: support.event_id for support in overlay.supports}
    assert by_source["remote knock through the hub"] == sent.id
    assert by_source["indicator"] == shown.id
    assert by_source["resident panel"] == answer.id


def test_an_entry_without_answer_or_knock_names_what_is_missing_and_keeps_its_history() -> None:
    night = Night()
    opened = night.add("door-7", "door.opened", at(2))
    first = entry(opened, outcome="unpermitted", reason="no_knock", sentence="no knock recorded")
    second = entry(opened, revision=2, cause="late_event", outcome="permitted", reason="consent")
    [overlay] = assemble(night.found(entries=[second, first])).entries
    assert overlay.corroborated_by == 1
    assert overlay.missing == ("resident panel", "indicator", "remote knock through the hub", "motion", "badge")
    assert (overlay.revision, overlay.reason) == (2, "consent")
    assert [(r.revision, r.reason) for r in overlay.history] == [(2, "consent"), (1, "no_knock")]


def test_a_staff_members_night_is_theirs_alone() -> None:
    night = Night()
    night.heartbeat("door-7", at(0))
    night.add("hub", "hub.knock.sent", at(1), {"command": "c1", "staff": "sam", "door": "d1"})
    knock = night.add("door-7", "knock.requested", at(1.01), {"request": "c1", "source": "remote", "staff": "sam"})
    opened = night.add("door-7", "door.opened", at(2))
    night.add("door-9", "knock.requested", at(3), {"request": "c2", "source": "remote", "staff": "eve"},
              room="room-14")
    night.add("hub", "hub.check_in", at(10), {"staff": "sam", "check_in": 1})
    night.add("hub", "hub.alert.changed", at(11), {"alert": "a1", "action": "acknowledged", "by": "sam",
                                                   "type": "help_requested"})
    theirs = entry(opened, who="sam", knock_event_id=knock.id, waited_ms=40_000, inside_ms=300_000,
                   rests_on=(str(knock.id), str(opened.id)))
    others = entry(night.add("door-9", "door.opened", at(4), room="room-14"), who="eve")
    timeline = assemble(night.found(View.STAFF, devices=TWO_DOORS, entries=[theirs, others], staff="sam"))
    assert {item.fields.get("staff") for item in timeline.items if item.type == "knock.requested"} == {"sam"}
    assert [e.who for e in timeline.entries] == ["sam"]
    assert timeline.staff_night is not None
    assert (timeline.staff_night.knocks, timeline.staff_night.entries, timeline.staff_night.waits_ms,
            timeline.staff_night.inside_ms, timeline.staff_night.check_ins,
            timeline.staff_night.alerts_handled) == (1, 1, (40_000,), 300_000, 1, ("a1",))


def test_dst_nights_are_eleven_and_thirteen_hours_and_local_windows_read_right() -> None:
    spring, autumn = night(datetime(2026, 3, 28).date(), LONDON), night(datetime(2026, 10, 24).date(), LONDON)
    assert spring[1] - spring[0] == timedelta(hours=11)
    assert autumn[1] - autumn[0] == timedelta(hours=13)
    start, end = local_or_aware("2026-10-25T00:00", LONDON), local_or_aware("2026-10-25T03:00", LONDON)
    assert (start, end - start) == (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), timedelta(hours=4))
    start, end = local_or_aware("2026-03-29T00:00", LONDON), local_or_aware("2026-03-29T03:00", LONDON)
    assert (start, end - start) == (datetime(2026, 3, 29, 0, 0, tzinfo=UTC), timedelta(hours=2))


def test_the_repeated_hour_of_an_autumn_night_keeps_true_order_and_labels_both_hours() -> None:
    n = Night()
    first, second = datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    n.heartbeat("door-7", first - timedelta(minutes=1))
    n.add("door-7", "door.opened", second - timedelta(hours=1))  # 01:30 BST
    n.add("door-7", "door.closed", second)  # 01:30 GMT, an hour later
    timeline = assemble(n.found(start=first - timedelta(hours=1), end=second + timedelta(hours=1)))
    doors = [item for item in timeline.items if item.lane == Lane.DOOR]
    assert [item.type for item in doors] == ["door.opened", "door.closed"]
    assert [item.at.astimezone(LONDON).strftime("%H:%M %Z") for item in doors] == ["01:30 BST", "01:30 GMT"]
