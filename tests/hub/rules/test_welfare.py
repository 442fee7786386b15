"""A long run of "not now" prompts the night lead: privacy never silently blocks care."""

from datetime import timedelta

from hub.rules.alerts import Audience
from hub.rules.welfare import welfare_prompt
from tests.hub.rules.night import DOOR_OPENS, PREFERENCES, ROOM_7, answer, knock, night

HOURLY_NOT_NOW = [
    line
    for hour in range(3)
    for line in ((hour * 3600, "knock.requested", knock(request=f"r{hour}")), (hour * 3600 + 5, "consent.declined", answer(f"r{hour}")))
]


def test_not_now_repeated_past_the_residents_limit_prompts_the_night_lead() -> None:
    facts = night(HOURLY_NOT_NOW)
    first_decline = facts[1]
    assert welfare_prompt(facts, PREFERENCES, ROOM_7, first_decline.at + timedelta(seconds=7199)) is None
    prompt = welfare_prompt(facts, PREFERENCES, ROOM_7, first_decline.at + timedelta(seconds=7200))
    assert prompt is not None
    assert (prompt.audience, prompt.key, prompt.room, prompt.resident) == (Audience.NIGHT_LEAD, first_decline.id, "room-7", "resident-7")
    assert prompt.declines == (facts[1].id, facts[3].id, facts[5].id)
    assert prompt.sentence.startswith("The resident has answered “not now” 3 times over 120 min.")


def test_a_come_in_or_a_door_opening_ends_the_run() -> None:
    later = DOOR_OPENS + timedelta(hours=3)
    with_come_in = night([*HOURLY_NOT_NOW[:4], (7300, "consent.granted", answer(None))])
    assert welfare_prompt(with_come_in, PREFERENCES, ROOM_7, later) is None
    with_visit = night([*HOURLY_NOT_NOW, (7300, "door.opened", {})])
    assert welfare_prompt(with_visit, PREFERENCES, ROOM_7, later) is None


def test_a_single_not_now_is_not_a_run() -> None:
    facts = night(HOURLY_NOT_NOW[:2])
    assert welfare_prompt(facts, PREFERENCES, ROOM_7, DOOR_OPENS + timedelta(hours=5)) is None


def test_the_residents_own_limit_is_used() -> None:
    facts = night(HOURLY_NOT_NOW[:4])
    shorter = PREFERENCES.model_copy(update={"welfare_after_s": 3600})
    assert welfare_prompt(facts, shorter, ROOM_7, facts[1].at + timedelta(hours=1)) is not None
    assert welfare_prompt(facts, PREFERENCES, ROOM_7, facts[1].at + timedelta(hours=1)) is None
