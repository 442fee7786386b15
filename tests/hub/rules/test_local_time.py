"""Quiet hours and care-plan windows in the home's local time, across midnight and the 2026 clock changes."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.rules.entries import Reason, decide_entry
from hub.rules.facts import NightCheck, RosterSnapshot, Shift
from hub.rules.local_time import local_instant, occurrence, span_length, within
from protocol.config import QuietHours
from tests.hub.rules.night import PREFERENCES, ROOM_7, fact

LONDON = ZoneInfo("Europe/London")
NIGHT = QuietHours(start="22:00", end="07:00")


@pytest.mark.parametrize(
    ("evening", "hours"),
    [
        pytest.param(date(2026, 3, 28), 8, id="clocks-go-forward-29-march-2026-is-8-hours"),
        pytest.param(date(2026, 10, 24), 10, id="clocks-go-back-25-october-2026-is-10-hours"),
        pytest.param(date(2026, 11, 26), 9, id="an-ordinary-winter-night-is-9-hours"),
        pytest.param(date(2026, 7, 1), 9, id="an-ordinary-summer-night-is-9-hours"),
    ],
)
def test_a_night_span_across_midnight_lasts_as_long_as_the_clocks_say(evening: date, hours: int) -> None:
    assert span_length(NIGHT, evening, LONDON) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        pytest.param(datetime(2026, 10, 24, 20, 59, tzinfo=UTC), False, id="21:59-BST-before-quiet-hours"),
        pytest.param(datetime(2026, 10, 24, 21, 0, tzinfo=UTC), True, id="22:00-BST-quiet-hours-begin"),
        pytest.param(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True, id="01:30-BST-first-time"),
        pytest.param(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), True, id="01:30-GMT-second-time"),
        pytest.param(datetime(2026, 10, 25, 6, 59, tzinfo=UTC), True, id="06:59-GMT-still-quiet"),
        pytest.param(datetime(2026, 10, 25, 7, 0, tzinfo=UTC), False, id="07:00-GMT-quiet-hours-end"),
        pytest.param(datetime(2026, 3, 29, 5, 59, tzinfo=UTC), True, id="06:59-BST-after-clocks-go-forward"),
        pytest.param(datetime(2026, 3, 29, 6, 0, tzinfo=UTC), False, id="07:00-BST-after-clocks-go-forward"),
        pytest.param(datetime(2026, 11, 27, 12, 0, tzinfo=UTC), False, id="midday"),
    ],
)
def test_quiet_hours_membership(instant: datetime, inside: bool) -> None:
    assert within(instant, [NIGHT], LONDON) is inside


def test_a_time_that_happens_twice_is_its_first_occurrence() -> None:
    assert local_instant(date(2026, 10, 25), "01:30", LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_time_that_does_not_exist_moves_on_by_the_gap() -> None:
    # 01:30 on 29 March 2026 never shows on a London clock; it is read as 02:30 BST.
    assert local_instant(date(2026, 3, 29), "01:30", LONDON) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_span_in_the_missing_hour_moves_on_by_the_gap_and_one_ending_before_it_starts_is_empty() -> None:
    start, end = occurrence(QuietHours(start="01:10", end="01:50"), date(2026, 3, 29), LONDON)
    assert (start, end) == (datetime(2026, 3, 29, 1, 10, tzinfo=UTC), datetime(2026, 3, 29, 1, 50, tzinfo=UTC))
    # 01:30 is read as 02:30 BST, which is after 02:15 BST.
    start, end = occurrence(QuietHours(start="01:30", end="02:15"), date(2026, 3, 29), LONDON)
    assert start == end


def test_a_day_span_and_an_empty_span() -> None:
    assert span_length(QuietHours(start="13:00", end="15:30"), date(2026, 6, 1), LONDON) == timedelta(hours=2, minutes=30)
    assert not within(datetime(2026, 6, 1, 13, 0, tzinfo=UTC), [QuietHours(start="14:00", end="14:00")], LONDON)


@pytest.mark.parametrize(
    ("instant", "reason"),
    [
        pytest.param(datetime(2026, 3, 29, 4, 30, tzinfo=UTC), Reason.CARE_PLAN, id="05:30-BST-inside-00:00-06:00"),
        pytest.param(datetime(2026, 3, 29, 5, 30, tzinfo=UTC), Reason.NO_KNOCK, id="06:30-BST-outside-though-05:30-UTC"),
        pytest.param(datetime(2026, 10, 25, 5, 30, tzinfo=UTC), Reason.CARE_PLAN, id="05:30-GMT-after-clocks-go-back"),
        pytest.param(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), Reason.CARE_PLAN, id="00:30-BST-window-just-begun"),
        pytest.param(datetime(2026, 10, 24, 22, 30, tzinfo=UTC), Reason.NO_KNOCK, id="23:30-BST-before-the-window"),
    ],
)
def test_care_plan_windows_follow_local_time_on_clock_change_nights(instant: datetime, reason: Reason) -> None:
    roster = RosterSnapshot(
        shifts=(Shift(staff="s-ben", role="night", start=instant - timedelta(hours=8), end=instant + timedelta(hours=8)),),
        badges={"b-ben": "s-ben"},
    )
    preferences = PREFERENCES.model_copy(
        update={"night_checks": (NightCheck(start="00:00", end="06:00", how="look in quietly", staff=frozenset({"s-ben"})),)}
    )
    badge = fact(1, instant - timedelta(seconds=2), "badge.presented", {"badge": "b-ben"})
    door_opened = fact(2, instant, "door.opened")
    assert decide_entry(door_opened, [badge, door_opened], preferences, roster, ROOM_7).reason == reason
