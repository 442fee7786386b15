"""Alerts as ThingsBoard models them, with the two rules about people: first acknowledgement wins, and nobody
acknowledges or resolves an alert about their own entry. Escalation driven by a clock the test controls."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hub.rules.alerts import (
    DEFAULT_LADDER,
    WORDING,
    Action,
    AlertStatus,
    AlertType,
    Audience,
    EscalationLadder,
    EscalationStep,
    Refusal,
    Transition,
    acknowledge,
    clear,
    due_escalations,
    escalate,
    ladder_for,
    next_escalation_at,
    raise_alert,
    resolve,
)

RAISED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def entry_alert():
    return raise_alert("a-1", AlertType.UNPERMITTED_ENTRY, "entry:door-7#3", RAISED, subject_staff="s-ana", rests_on=("door-7#3",))


def moved(result: Transition | Refusal) -> Transition:
    assert isinstance(result, Transition), result
    return result


def test_a_raised_alert_is_active_and_unacknowledged_with_neutral_words() -> None:
    raised = entry_alert()
    assert raised.alert.status == AlertStatus.ACTIVE_UNACKNOWLEDGED
    assert raised.alert.sentence == "An entry was recorded that the resident's entry preferences did not permit."
    assert (raised.change.action, raised.change.by, raised.change.at) == (Action.RAISED, "hub", RAISED)


def test_every_type_has_neutral_wording() -> None:
    assert set(WORDING) == set(AlertType)
    for sentence in WORDING.values():
        assert not any(word in sentence.lower() for word in ("fail to", "violat", "breach", "illegal", "unauthori", "refused to"))


def test_first_acknowledgement_wins() -> None:
    first = moved(acknowledge(entry_alert().alert, "s-ben", RAISED + timedelta(seconds=20)))
    assert first.alert.status == AlertStatus.ACTIVE_ACKNOWLEDGED
    assert first.change == first.change.model_copy(update={"action": Action.ACKNOWLEDGED, "by": "s-ben"})
    second = acknowledge(first.alert, "s-cal", RAISED + timedelta(seconds=21))
    assert second == Refusal(reason="already_acknowledged", sentence="Already acknowledged by s-ben.")


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(lambda alert: acknowledge(alert, "s-ana", RAISED), id="acknowledge"),
        pytest.param(lambda alert: resolve(alert, "s-ana", RAISED, "I was checking on her"), id="resolve"),
    ],
)
def test_nobody_acknowledges_or_resolves_an_alert_about_their_own_entry(act) -> None:
    refused = act(entry_alert().alert)
    assert isinstance(refused, Refusal) and refused.reason == "own_entry"
    assert "someone else" in refused.sentence


def test_clear_then_acknowledge_then_resolve() -> None:
    cleared = moved(clear(entry_alert().alert, RAISED + timedelta(minutes=1), "re-decided: the resident had said come in"))
    assert cleared.alert.status == AlertStatus.CLEARED_UNACKNOWLEDGED and cleared.change.by == "hub"
    assert isinstance(clear(cleared.alert, RAISED, "again"), Refusal)
    acknowledged = moved(acknowledge(cleared.alert, "s-ben", RAISED + timedelta(minutes=2)))
    assert acknowledged.alert.status == AlertStatus.CLEARED_ACKNOWLEDGED
    resolved = moved(resolve(acknowledged.alert, "s-ben", RAISED + timedelta(minutes=3), "Spoke to the resident."))
    assert resolved.alert.resolved_by == "s-ben" and resolved.alert.acknowledged_by == "s-ben"
    assert isinstance(resolve(resolved.alert, "s-cal", RAISED, "again"), Refusal)


def test_resolving_an_active_unacknowledged_alert_acknowledges_and_clears_it() -> None:
    resolved = moved(resolve(entry_alert().alert, "s-ben", RAISED + timedelta(minutes=4), "Checked; resident fine."))
    alert = resolved.alert
    assert alert.status == AlertStatus.CLEARED_ACKNOWLEDGED
    assert (alert.acknowledged_at, alert.cleared_at, alert.resolved_at) == (RAISED + timedelta(minutes=4),) * 3
    assert resolved.change.note == "Checked; resident fine."


def test_resolving_needs_a_note() -> None:
    refused = resolve(entry_alert().alert, "s-ben", RAISED, "  ")
    assert isinstance(refused, Refusal) and refused.reason == "needs_note"


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param((EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY), EscalationStep(after_s=300, audience=Audience.ON_CALL_MANAGER, enabled=False)), id="last-step-switched-off"),
        pytest.param((), id="no-steps"),
        pytest.param((EscalationStep(after_s=120, audience=Audience.NIGHT_LEAD), EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY)), id="steps-out-of-order"),
    ],
)
def test_a_ladder_that_could_end_in_silence_is_refused(steps) -> None:
    with pytest.raises(ValidationError):
        EscalationLadder(steps=steps)


def test_escalation_follows_the_ladder_on_a_controlled_clock() -> None:
    alert = entry_alert().alert
    sent: list[tuple[int, Audience]] = []

    def tick(seconds: int) -> None:
        nonlocal alert
        now = RAISED + timedelta(seconds=seconds)
        for index, step in due_escalations(alert, DEFAULT_LADDER, now):
            alert = moved(escalate(alert, DEFAULT_LADDER, index, now)).alert
            sent.append((seconds, step.audience))

    for seconds in (0, 1, 119, 120, 121, 299):
        tick(seconds)
    assert sent == [(0, Audience.STAFF_ON_DUTY), (120, Audience.NIGHT_LEAD)]
    assert next_escalation_at(alert, DEFAULT_LADDER) == RAISED + timedelta(seconds=300)
    tick(300)
    assert sent[-1] == (300, Audience.ON_CALL_MANAGER)
    assert next_escalation_at(alert, DEFAULT_LADDER) is None and due_escalations(alert, DEFAULT_LADDER, RAISED + timedelta(hours=1)) == []


def test_acknowledgement_stops_escalation() -> None:
    alert = moved(acknowledge(entry_alert().alert, "s-ben", RAISED + timedelta(seconds=30))).alert
    assert due_escalations(alert, DEFAULT_LADDER, RAISED + timedelta(minutes=10)) == []
    assert next_escalation_at(alert, DEFAULT_LADDER) is None
    assert isinstance(escalate(alert, DEFAULT_LADDER, 1, RAISED + timedelta(minutes=10)), Refusal)


def test_a_switched_off_middle_step_is_skipped_and_a_late_scheduler_catches_up() -> None:
    ladder = EscalationLadder(
        steps=(
            EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY),
            EscalationStep(after_s=120, audience=Audience.NIGHT_LEAD, enabled=False),
            EscalationStep(after_s=300, audience=Audience.ON_CALL_MANAGER),
        )
    )
    due = due_escalations(entry_alert().alert, ladder, RAISED + timedelta(minutes=6))
    assert [(index, step.audience) for index, step in due] == [(0, Audience.STAFF_ON_DUTY), (2, Audience.ON_CALL_MANAGER)]


def test_a_welfare_check_starts_at_the_night_lead_and_climbs_the_rest_of_the_homes_ladder() -> None:
    welfare = ladder_for(AlertType.WELFARE_CHECK, DEFAULT_LADDER)
    assert [(step.after_s, step.audience) for step in welfare.steps] == [
        (0, Audience.NIGHT_LEAD), (180, Audience.ON_CALL_MANAGER)]
    assert ladder_for(AlertType.UNPERMITTED_ENTRY, DEFAULT_LADDER) == DEFAULT_LADDER


def test_a_home_without_a_night_lead_step_still_calls_the_night_lead_first_for_welfare() -> None:
    home = EscalationLadder(steps=(EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY),
                                   EscalationStep(after_s=60, audience=Audience.MANAGER)))
    welfare = ladder_for(AlertType.WELFARE_CHECK, home)
    assert [(step.after_s, step.audience) for step in welfare.steps] == [
        (0, Audience.NIGHT_LEAD), (60, Audience.MANAGER)]
    only_staff = EscalationLadder(steps=(EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY),))
    assert [step.audience for step in ladder_for(AlertType.WELFARE_CHECK, only_staff).steps] == [Audience.NIGHT_LEAD]


def test_a_switched_off_night_lead_step_is_on_for_welfare() -> None:
    home = EscalationLadder(steps=(EscalationStep(after_s=0, audience=Audience.STAFF_ON_DUTY),
                                   EscalationStep(after_s=60, audience=Audience.NIGHT_LEAD, enabled=False),
                                   EscalationStep(after_s=90, audience=Audience.MANAGER)))
    welfare = ladder_for(AlertType.WELFARE_CHECK, home)
    assert [(step.after_s, step.audience, step.enabled) for step in welfare.steps] == [
        (0, Audience.NIGHT_LEAD, True), (30, Audience.MANAGER, True)]
