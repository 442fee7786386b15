"""Every row of DESIGN.md's entry table, exits and returns, and which row wins when several apply."""

import random
from datetime import timedelta

import pytest

from hub.rules.alerts import AlertType, raise_alert
from hub.rules.entries import RULES_VERSION, EntryKind, Outcome, Reason, decide_entry, redecide
from hub.rules.facts import PreferenceSnapshot
from tests.hub.rules.night import (
    DOOR_OPENS,
    PREFERENCES,
    ROOM_7,
    ROSTER,
    answer,
    fact,
    knock,
    last_opened,
    night,
    opened,
)

OPEN: tuple = (0, "door.opened", {})


def decide(lines, preferences: PreferenceSnapshot = PREFERENCES, **options):
    facts = night(lines)
    return facts, decide_entry(last_opened(facts), facts, preferences, ROSTER, ROOM_7, **options)


# (id, lines, outcome, reason, who, sentence)
TABLE = [
    pytest.param(
        [(-8, "knock.requested", knock()), (-3, "consent.granted", answer()), OPEN],
        Outcome.PERMITTED, Reason.CONSENT, "s-ana",
        "Entry after the resident answered “come in” (8 s after the knock).",
        id="knock-then-come-in-is-consent",
    ),
    pytest.param(
        [(-41, "knock.requested", knock()), (-11, "knock.expired", {"request": "r1", "waited_ms": 30000}), OPEN],
        Outcome.PERMITTED, Reason.NO_ANSWER_AFTER_WAIT, "s-ana",
        "Entry recorded without an answer from the resident, after their wait had run out: waited 41 s of 30 s.",
        id="knock-no-answer-wait-ran-out",
    ),
    pytest.param(
        [(-45, "knock.requested", knock(staff=None)), OPEN],
        Outcome.PERMITTED, Reason.NO_ANSWER_AFTER_WAIT, "unidentified",
        "Entry recorded without an answer from the resident, after their wait had run out: waited 45 s of 30 s.",
        id="wait-ran-out-by-the-clock-when-expiry-event-missing",
    ),
    pytest.param(
        [(-2, "badge.presented", {"badge": "b-ben"}), OPEN],
        Outcome.PERMITTED, Reason.CARE_PLAN, "s-ben",
        "Entry during the agreed night check 00:00–06:00 (“open quietly, no knock”) by a member of staff on duty.",
        id="care-plan-check-by-night-staff-on-duty",
    ),
    pytest.param(
        [(-1, "override.emergency", {"staff": "s-ana", "reason": "smoke"}), OPEN],
        Outcome.PERMITTED, Reason.EMERGENCY, "s-ana",
        "Entry under emergency: the emergency entry control was used (“smoke”). Listed for review.",
        id="emergency-override",
    ),
    pytest.param(
        [(-20, "help.requested", {}), OPEN],
        Outcome.PERMITTED, Reason.EMERGENCY, "unidentified",
        "Entry under emergency: the resident had asked for help. Listed for review.",
        id="help-requested",
    ),
    pytest.param(
        [(-17, "knock.requested", knock()), (-14, "consent.declined", answer()), OPEN],
        Outcome.UNPERMITTED, Reason.DECLINED, "s-ana",
        "Entry recorded after the resident answered “not now” 14 s before the door opened.",
        id="knock-then-not-now-is-declined",
    ),
    pytest.param(
        [(-12, "knock.requested", knock()), OPEN],
        Outcome.UNPERMITTED, Reason.DID_NOT_WAIT, "s-ana",
        "Entry recorded without an answer from the resident: waited 12 s of 30 s.",
        id="knock-no-answer-wait-not-run-out",
    ),
    pytest.param(
        [(-3600, "dnd.on", {}), OPEN],
        Outcome.UNPERMITTED, Reason.DO_NOT_DISTURB, "unidentified",
        "Entry recorded while the resident had “do not disturb” on.",
        id="do-not-disturb-set-an-hour-before",
    ),
    pytest.param(
        [(-6, "knock.requested", knock(staff="s-ex")), (-2, "consent.granted", answer()), OPEN],
        Outcome.UNPERMITTED, Reason.EXCLUDED_PERSON, "s-ex",
        "Entry recorded by a person the resident has asked not to enter their room.",
        id="excluded-person-even-with-come-in",
    ),
    pytest.param(
        [OPEN],
        Outcome.UNPERMITTED, Reason.NO_KNOCK, "unidentified",
        "Entry recorded with no knock before the door opened.",
        id="no-knock-at-all",
    ),
]


@pytest.mark.parametrize(("lines", "outcome", "reason", "who", "sentence"), TABLE)
def test_every_row_of_the_table(lines, outcome, reason, who, sentence) -> None:
    facts, decision = decide(lines)
    assert (decision.kind, decision.outcome, decision.reason) == (EntryKind.ENTRY, outcome, reason)
    assert decision.who == who
    assert decision.sentence == sentence
    assert decision.rules_version == RULES_VERSION == "entries-v1"
    assert decision.preference_version == "pref-3"
    assert decision.review_required == (reason == Reason.EMERGENCY)
    # It rests on every fact it was given here, and on nothing else.
    assert set(decision.rests_on) <= {f.id for f in facts}
    assert opened(facts).id in decision.rests_on


def test_a_decision_records_the_knock_the_answer_the_wait_and_the_time_inside() -> None:
    facts, decision = decide(
        [(-9, "knock.requested", knock()), (-4, "consent.granted", answer()), OPEN, (75, "door.closed", {})]
    )
    knocked, answered, door_opened, door_closed = facts
    assert decision.knock == knocked.id and decision.answer == answered.id
    assert decision.waited_ms == 9000 and decision.wait_s == 30
    assert decision.closed_at == door_closed.at and decision.inside_ms == 75000
    assert decision.rests_on == (door_opened.id, knocked.id, answered.id, door_closed.id)


def test_the_wait_is_measured_to_the_millisecond_and_never_rounded_up() -> None:
    facts = night([(0, "knock.requested", knock())])
    door_opened = fact(2, DOOR_OPENS + timedelta(seconds=29, milliseconds=999), "door.opened")
    decision = decide_entry(door_opened, [*facts, door_opened], PREFERENCES, ROSTER, ROOM_7)
    assert decision.reason == Reason.DID_NOT_WAIT and decision.waited_ms == 29999
    assert decision.sentence.endswith("waited 29 s of 30 s.")


def test_never_enter_without_an_answer_is_said_so() -> None:
    _, decision = decide([(-300, "knock.requested", knock()), OPEN], PREFERENCES.model_copy(update={"wait_s": None}))
    assert decision.reason == Reason.DID_NOT_WAIT and decision.waited_ms == 300_000 and decision.wait_s is None
    assert decision.sentence == (
        "Entry recorded without an answer from the resident, who asked that nobody enter without one: waited 5 min."
    )


def test_an_open_help_alert_for_the_room_makes_it_an_emergency() -> None:
    help_alert = raise_alert("a-1", AlertType.HELP_REQUESTED, "room-7", DOOR_OPENS - timedelta(minutes=30)).alert
    facts, decision = decide([OPEN], open_alerts=[help_alert])
    assert (decision.outcome, decision.reason, decision.review_required) == (Outcome.PERMITTED, Reason.EMERGENCY, True)
    assert decision.rests_on == (opened(facts).id, "alert:a-1")
    other_room = raise_alert("a-2", AlertType.HELP_REQUESTED, "room-8", DOOR_OPENS - timedelta(minutes=30)).alert
    assert decide([OPEN], open_alerts=[other_room])[1].reason == Reason.NO_KNOCK


EXITS_AND_RETURNS = [
    pytest.param([(-4, "motion.detected", {}), OPEN], EntryKind.EXIT, Reason.RESIDENT_LEFT, id="movement-inside-then-door-opens-is-exit"),
    pytest.param(
        [(-600, "motion.detected", {}), (-598, "door.opened", {}), (-595, "door.closed", {}), (-560, "motion.cleared", {}), OPEN],
        EntryKind.RETURN, Reason.RESIDENT_RETURNED, id="door-opens-on-empty-room-after-exit-is-return",
    ),
    pytest.param(
        [(-600, "motion.detected", {}), (-598, "door.opened", {}), (-595, "door.closed", {}), (-300, "motion.detected", {}), (-250, "motion.cleared", {}), OPEN],
        EntryKind.ENTRY, Reason.NO_KNOCK, id="movement-after-the-exit-means-someone-is-inside-so-entry",
    ),
    pytest.param([(-4, "motion.detected", {}), (-3, "knock.requested", knock()), OPEN], EntryKind.ENTRY, Reason.DID_NOT_WAIT, id="a-knock-means-someone-outside-not-an-exit"),
    pytest.param([(-4, "motion.detected", {}), (-2, "badge.presented", {"badge": "b-day"}), OPEN], EntryKind.ENTRY, Reason.NO_KNOCK, id="a-badge-means-someone-outside-not-an-exit"),
    pytest.param([(-45, "motion.detected", {}), OPEN], EntryKind.ENTRY, Reason.NO_KNOCK, id="movement-too-long-before-is-not-an-exit"),
    pytest.param([(-3600, "dnd.on", {}), (-3, "motion.detected", {}), OPEN], EntryKind.EXIT, Reason.RESIDENT_LEFT, id="resident-leaving-with-do-not-disturb-on-is-exit"),
]


@pytest.mark.parametrize(("lines", "kind", "reason"), EXITS_AND_RETURNS)
def test_exits_and_returns_are_told_apart_from_entries(lines, kind, reason) -> None:
    facts, decision = decide(lines, PREFERENCES.model_copy(update={"night_checks": ()}))
    assert (decision.kind, decision.reason) == (kind, reason)
    if kind != EntryKind.ENTRY:
        assert decision.outcome == Outcome.PERMITTED and decision.who == "unidentified"


def test_exit_and_return_sentences_say_what_was_recorded() -> None:
    facts, left = decide([(-4, "motion.detected", {}), OPEN])
    assert left.sentence == (
        "The door opened from inside: movement in the room 4 s before, no knock. Recorded as the resident leaving, not an entry."
    )
    assert left.rests_on == (opened(facts).id, facts[0].id)
    facts, back = decide([(-600, "motion.detected", {}), (-598, "door.opened", {}), (-595, "door.closed", {}), OPEN])
    assert back.kind == EntryKind.RETURN
    assert back.rests_on == (facts[3].id, facts[1].id, facts[2].id)


PRECEDENCE = [
    pytest.param([(-2, "override.emergency", {"staff": "s-ex", "reason": "fall"}), OPEN], Reason.EMERGENCY, id="emergency-beats-excluded-person"),
    pytest.param([(-20, "knock.requested", knock()), (-15, "consent.declined", answer()), (-5, "help.requested", {}), OPEN], Reason.EMERGENCY, id="emergency-beats-not-now"),
    pytest.param([(-6, "knock.requested", knock(staff="s-ex")), (-2, "consent.granted", answer()), OPEN], Reason.EXCLUDED_PERSON, id="excluded-person-beats-consent"),
    pytest.param([(-2, "badge.presented", {"badge": "b-ex"}), OPEN], Reason.EXCLUDED_PERSON, id="excluded-person-beats-care-plan"),
    pytest.param([(-3600, "dnd.on", {}), (-9, "knock.requested", knock()), (-4, "consent.granted", answer()), OPEN], Reason.CONSENT, id="come-in-beats-do-not-disturb"),
    pytest.param([(-30, "knock.requested", knock(staff="s-ben")), (-25, "consent.declined", answer()), OPEN], Reason.DECLINED, id="not-now-beats-care-plan"),
    pytest.param([(-3600, "dnd.on", {}), (-2, "badge.presented", {"badge": "b-ben"}), OPEN], Reason.CARE_PLAN, id="care-plan-beats-do-not-disturb"),
    pytest.param([(-2, "badge.presented", {"badge": "b-day"}), OPEN], Reason.NO_KNOCK, id="care-plan-needs-a-role-the-check-allows"),
    pytest.param([(-2, "badge.presented", {"badge": "unknown"}), OPEN], Reason.NO_KNOCK, id="care-plan-needs-someone-identified"),
    pytest.param([(-3600, "dnd.on", {}), (-100, "knock.requested", knock()), OPEN], Reason.DO_NOT_DISTURB, id="with-do-not-disturb-the-wait-never-runs-out"),
    pytest.param([(-3600, "dnd.on", {}), (-1800, "dnd.off", {}), (-12, "knock.requested", knock()), OPEN], Reason.DID_NOT_WAIT, id="do-not-disturb-turned-off-no-longer-counts"),
]


@pytest.mark.parametrize(("lines", "reason"), PRECEDENCE)
def test_precedence_when_several_rows_apply(lines, reason) -> None:
    assert decide(lines)[1].reason == reason


def test_do_not_disturb_is_ignored_where_the_preferences_do_not_allow_it() -> None:
    _, decision = decide([(-3600, "dnd.on", {}), OPEN], PREFERENCES.model_copy(update={"dnd_allowed": False}))
    assert decision.reason == Reason.NO_KNOCK


NOT_NOW = [
    pytest.param(
        [(-90, "knock.requested", knock()), (-87, "consent.declined", answer()), (-30, "knock.requested", knock(request="r2")), OPEN],
        Reason.DECLINED, "r1", id="knock-inside-the-hold-starts-nothing",
    ),
    pytest.param(
        [(-210, "knock.requested", knock()), (-207, "consent.declined", answer()), (-10, "knock.requested", knock(request="r2")), OPEN],
        Reason.DID_NOT_WAIT, "r2", id="gentle-re-knock-after-the-hold-is-a-new-request",
    ),
    pytest.param(
        [(-210, "knock.requested", knock()), (-207, "consent.declined", answer()), (-10, "knock.requested", knock(request="r2")), (-5, "consent.granted", answer("r2")), OPEN],
        Reason.CONSENT, "r2", id="re-knock-answered-come-in",
    ),
    pytest.param(
        [(-400, "knock.requested", knock()), (-397, "consent.declined", answer()), OPEN],
        Reason.DECLINED, "r1", id="not-now-stands-until-a-new-request-even-after-the-hold",
    ),
    pytest.param(
        [(-20, "knock.requested", knock()), (-15, "consent.declined", answer()), (-10, "consent.granted", answer(None)), OPEN],
        Reason.CONSENT, "r1", id="resident-changes-their-mind",
    ),
    pytest.param(
        [(-20, "knock.requested", knock()), (-15, "knock.requested", knock(request="r2")), (-5, "consent.granted", answer("r1")), OPEN],
        Reason.DID_NOT_WAIT, "r2", id="answer-to-an-older-request-does-not-cover-the-new-one",
    ),
]


@pytest.mark.parametrize(("lines", "reason", "knock_request"), NOT_NOW)
def test_not_now_holds_then_allows_a_gentle_re_knock(lines, reason, knock_request) -> None:
    facts, decision = decide(lines)
    assert decision.reason == reason
    knock_fact = next(f for f in facts if f.id == decision.knock)
    assert knock_fact.data["request"] == knock_request


def test_a_knock_inside_the_hold_is_part_of_what_the_decision_rests_on() -> None:
    facts, decision = decide([(-90, "knock.requested", knock()), (-87, "consent.declined", answer()), (-30, "knock.requested", knock(request="r2")), OPEN])
    assert facts[2].id in decision.rests_on and decision.waited_ms == 90_000


WINDOW = [
    pytest.param(
        [(-9, "knock.requested", knock()), (-4, "consent.granted", answer()), (-3, "door.opened", {}), (-2, "door.closed", {}), OPEN],
        2, Reason.NO_KNOCK, id="an-entry-uses-up-the-knock-before-it",
    ),
    pytest.param([(-660, "knock.requested", knock()), OPEN], 1, Reason.NO_KNOCK, id="a-knock-older-than-the-look-back-does-not-count"),
    pytest.param([(-12, "knock.requested", knock()), OPEN, (2, "consent.granted", answer())], 1, Reason.DID_NOT_WAIT, id="an-answer-after-the-door-opened-does-not-count"),
]


@pytest.mark.parametrize(("lines", "nth", "reason"), WINDOW)
def test_only_facts_before_the_door_opened_and_since_the_last_opening_count(lines, nth, reason) -> None:
    facts = night(lines)
    assert decide_entry(opened(facts, nth), facts, PREFERENCES, ROSTER, ROOM_7).reason == reason


def test_the_look_back_is_a_parameter() -> None:
    _, decision = decide([(-660, "knock.requested", knock()), OPEN], look_back=timedelta(minutes=15))
    assert decision.reason == Reason.NO_ANSWER_AFTER_WAIT and decision.waited_ms == 660_000


def test_facts_from_another_room_are_ignored() -> None:
    facts = night([OPEN])
    elsewhere = fact(1, DOOR_OPENS - timedelta(seconds=5), "help.requested", room="room-8", device="door-8")
    assert decide_entry(opened(facts), [*facts, elsewhere], PREFERENCES, ROSTER, ROOM_7).reason == Reason.NO_KNOCK


def test_only_a_door_opened_fact_is_decided() -> None:
    facts = night([(-3, "knock.requested", knock())])
    with pytest.raises(ValueError, match="door.opened"):
        decide_entry(facts[0], facts, PREFERENCES, ROSTER, ROOM_7)


# Late and out-of-order events.


def test_a_late_come_in_re_decides_the_entry() -> None:
    knocked = fact(1, DOOR_OPENS - timedelta(seconds=12), "knock.requested", knock())
    door_opened = fact(3, DOOR_OPENS, "door.opened")
    first = decide_entry(door_opened, [knocked, door_opened], PREFERENCES, ROSTER, ROOM_7)
    assert first.reason == Reason.DID_NOT_WAIT
    # seq 2 was delayed in the device's outbox: dated before the door opened, stored a minute later.
    late = fact(2, DOOR_OPENS - timedelta(seconds=6), "consent.granted", answer(), received_at=DOOR_OPENS + timedelta(minutes=1))
    second = redecide(first, door_opened, [knocked, door_opened, late], PREFERENCES, ROSTER, ROOM_7)
    assert second is not None
    assert (second.outcome, second.reason, second.answer) == (Outcome.PERMITTED, Reason.CONSENT, late.id)
    assert late.id in second.rests_on and late.id not in first.rests_on
    assert first.reason == Reason.DID_NOT_WAIT  # the earlier decision is untouched, for the history


def test_a_late_not_now_turns_a_permitted_entry_unpermitted() -> None:
    knocked = fact(1, DOOR_OPENS - timedelta(seconds=45), "knock.requested", knock())
    door_opened = fact(3, DOOR_OPENS, "door.opened")
    first = decide_entry(door_opened, [knocked, door_opened], PREFERENCES, ROSTER, ROOM_7)
    assert first.reason == Reason.NO_ANSWER_AFTER_WAIT
    late = fact(2, DOOR_OPENS - timedelta(seconds=40), "consent.declined", answer(), received_at=DOOR_OPENS + timedelta(minutes=5))
    second = redecide(first, door_opened, [door_opened, late, knocked], PREFERENCES, ROSTER, ROOM_7)
    assert second is not None and (second.outcome, second.reason) == (Outcome.UNPERMITTED, Reason.DECLINED)


def test_a_late_event_that_changes_nothing_gives_no_new_decision() -> None:
    facts = night([(-9, "knock.requested", knock()), (-4, "consent.granted", answer()), OPEN])
    first = decide_entry(opened(facts), facts, PREFERENCES, ROSTER, ROOM_7)
    other_room = fact(9, DOOR_OPENS - timedelta(seconds=1), "motion.detected", room="room-8", device="door-8")
    assert redecide(first, opened(facts), [*facts, other_room], PREFERENCES, ROSTER, ROOM_7) is None


def test_a_late_door_close_fills_in_the_time_inside() -> None:
    facts = night([(-9, "knock.requested", knock()), (-4, "consent.granted", answer()), OPEN])
    first = decide_entry(opened(facts), facts, PREFERENCES, ROSTER, ROOM_7)
    closed = fact(4, DOOR_OPENS + timedelta(seconds=200), "door.closed")
    second = redecide(first, opened(facts), [*facts, closed], PREFERENCES, ROSTER, ROOM_7)
    assert second is not None and second.reason == first.reason and second.inside_ms == 200_000


def test_redecide_refuses_a_different_door_opening() -> None:
    facts = night([(-60, "door.opened", {}), (-50, "door.closed", {}), OPEN])
    first = decide_entry(opened(facts, 2), facts, PREFERENCES, ROSTER, ROOM_7)
    with pytest.raises(ValueError, match="same door.opened"):
        redecide(first, opened(facts, 1), facts, PREFERENCES, ROSTER, ROOM_7)


@pytest.mark.parametrize("shuffle_seed", range(5))
def test_facts_in_any_order_give_the_same_decision(shuffle_seed: int) -> None:
    facts = night(
        [(-400, "knock.requested", knock()), (-397, "consent.declined", answer()), (-200, "knock.requested", knock(request="r2")),
         (-150, "knock.expired", {"request": "r2", "waited_ms": 30000}), OPEN, (30, "door.closed", {})]
    )
    in_order = decide_entry(opened(facts), facts, PREFERENCES, ROSTER, ROOM_7)
    shuffled = facts[:]
    random.Random(shuffle_seed).shuffle(shuffled)
    assert decide_entry(opened(facts), shuffled, PREFERENCES, ROSTER, ROOM_7) == in_order
    assert in_order.reason == Reason.NO_ANSWER_AFTER_WAIT and in_order.inside_ms == 30_000
