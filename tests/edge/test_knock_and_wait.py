from datetime import time

from edge.knock_and_wait import Chime, KnockAndWait, KnockPolicy, Record, ShowIndicator, in_quiet_hours
from protocol.config import QuietHours
from protocol.events import EventType, IndicatorState, parse_event
from protocol.events import event_body
from protocol.signing import GENESIS_PREV

S = IndicatorState


def records(effects):
    return [(e.type, e.data) for e in effects if isinstance(e, Record)]


def shown(effects):
    return [e.state for e in effects if isinstance(e, ShowIndicator)]


def test_every_recorded_event_is_valid_under_the_protocol():
    door = KnockAndWait(KnockPolicy(wait_s=5))
    effects = door.knock("r1", "remote", 0.0, staff="s-7") + door.tick(6.0) + door.door_changed(True, 7.0)
    effects += door.door_changed(False, 9.0) + door.answer(True, 10.0) + door.set_dnd(True, 11.0)
    for n, (kind, data) in enumerate(records(effects), start=1):
        body = event_body(device="d", seq=n, prev=GENESIS_PREV, boot="b", mono_ms=0, ts_ms=0, type=kind, door="d1", data=data)
        parse_event(body)


def test_knock_shows_waiting_and_chimes():
    door = KnockAndWait()
    effects = door.knock("r1", "button", 0.0)
    assert records(effects)[0] == (EventType.KNOCK_REQUESTED, {"request": "r1", "source": "button", "staff": None})
    assert Chime(loud=True) in effects
    assert shown(effects) == [S.WAITING]
    assert (EventType.INDICATOR_CHANGED, {"state": "waiting"}) in records(effects)


def test_remote_knock_carries_the_staff_member():
    door = KnockAndWait()
    effects = door.knock("r1", "remote", 0.0, staff="s-12", staff_name="Ana")
    assert records(effects)[0][1] == {"request": "r1", "source": "remote", "staff": "s-12"}
    assert door.pending.staff_name == "Ana"


def test_wait_never_runs_out_when_wait_s_is_none():
    door = KnockAndWait(KnockPolicy(wait_s=None))
    door.knock("r1", "button", 0.0)
    assert door.next_deadline() is None
    assert door.tick(10 * 365 * 24 * 3600.0) == []
    assert door.indicator == S.WAITING


def test_wait_runs_out_exactly_at_wait_s_and_shows_may_enter():
    door = KnockAndWait(KnockPolicy(wait_s=30))
    door.knock("r1", "button", 100.0)
    assert door.next_deadline() == 130.0
    assert door.tick(129.99) == []
    effects = door.tick(130.0)
    assert records(effects)[0] == (EventType.KNOCK_EXPIRED, {"request": "r1", "waited_ms": 30000})
    assert shown(effects) == [S.MAY_ENTER]


def test_may_enter_ends_when_the_door_closes_after_entry():
    door = KnockAndWait(KnockPolicy(wait_s=1, answer_hold_s=60))
    door.knock("r1", "button", 0.0)
    door.tick(1.0)
    assert records(door.door_changed(True, 2.0)) == [(EventType.DOOR_OPENED, {})]
    assert door.indicator == S.MAY_ENTER
    effects = door.door_changed(False, 20.0)
    assert records(effects)[0] == (EventType.DOOR_CLOSED, {})
    assert shown(effects) == [S.IDLE]


def test_come_in_without_entry_ends_after_the_hold():
    door = KnockAndWait(KnockPolicy(answer_hold_s=60))
    door.knock("r1", "button", 0.0)
    effects = door.answer(True, 5.0)
    assert records(effects)[0] == (EventType.CONSENT_GRANTED, {"request": "r1"})
    assert shown(effects) == [S.COME_IN]
    assert door.tick(64.9) == []
    assert shown(door.tick(65.0)) == [S.IDLE]


def test_a_second_knock_while_waiting_starts_the_wait_again():
    door = KnockAndWait(KnockPolicy(wait_s=30))
    door.knock("r1", "button", 0.0)
    effects = door.knock("r2", "button", 20.0)
    assert records(effects) == [(EventType.KNOCK_REQUESTED, {"request": "r2", "source": "button", "staff": None})]
    assert shown(effects) == []  # already waiting
    assert door.tick(30.0) == []
    assert records(door.tick(50.0))[0] == (EventType.KNOCK_EXPIRED, {"request": "r2", "waited_ms": 30000})


def test_an_answer_goes_to_the_latest_knock():
    door = KnockAndWait()
    door.knock("r1", "button", 0.0)
    door.knock("r2", "remote", 1.0, staff="s-1")
    assert records(door.answer(False, 2.0))[0] == (EventType.CONSENT_DECLINED, {"request": "r2"})


def test_answer_with_no_knock_has_request_null():
    door = KnockAndWait()
    effects = door.answer(True, 0.0)
    assert records(effects)[0] == (EventType.CONSENT_GRANTED, {"request": None})
    assert shown(effects) == [S.COME_IN]


def test_not_now_holds_then_rests_and_a_knock_during_the_hold_does_not_chime():
    door = KnockAndWait(KnockPolicy(wait_s=5, not_now_hold_s=120))
    door.knock("r1", "button", 0.0)
    assert shown(door.answer(False, 3.0)) == [S.NOT_NOW]
    during = door.knock("r2", "button", 60.0)
    assert records(during) == [(EventType.KNOCK_REQUESTED, {"request": "r2", "source": "button", "staff": None})]
    assert not any(isinstance(e, Chime) for e in during)
    assert door.indicator == S.NOT_NOW
    assert door.tick(100.0) == []  # the wait never runs out during "not now"
    assert shown(door.tick(123.0)) == [S.IDLE]
    again = door.knock("r3", "button", 130.0)
    assert Chime(loud=True) in again and shown(again) == [S.WAITING]


def test_do_not_disturb_shows_and_a_knock_neither_chimes_nor_expires():
    door = KnockAndWait(KnockPolicy(wait_s=5))
    effects = door.set_dnd(True, 0.0)
    assert records(effects)[0] == (EventType.DND_ON, {})
    assert shown(effects) == [S.DO_NOT_DISTURB]
    knock = door.knock("r1", "button", 1.0)
    assert not any(isinstance(e, Chime) for e in knock) and shown(knock) == []
    assert door.tick(100.0) == []
    assert door.indicator == S.DO_NOT_DISTURB


def test_dnd_turned_on_while_waiting_stops_the_wait():
    door = KnockAndWait(KnockPolicy(wait_s=5))
    door.knock("r1", "button", 0.0)
    assert shown(door.set_dnd(True, 1.0)) == [S.DO_NOT_DISTURB]
    assert door.tick(10.0) == []


def test_resident_can_answer_during_dnd_and_the_door_returns_to_dnd():
    door = KnockAndWait(KnockPolicy(answer_hold_s=10))
    door.set_dnd(True, 0.0)
    door.knock("r1", "button", 1.0)
    assert shown(door.answer(True, 2.0)) == [S.COME_IN]
    assert shown(door.tick(12.0)) == [S.DO_NOT_DISTURB]


def test_dnd_off_returns_to_idle_and_repeating_a_dnd_state_records_nothing():
    door = KnockAndWait()
    door.set_dnd(True, 0.0)
    assert door.set_dnd(True, 1.0) == []
    effects = door.set_dnd(False, 2.0)
    assert records(effects)[0] == (EventType.DND_OFF, {}) and shown(effects) == [S.IDLE]


def test_entry_without_waiting_is_recorded_and_the_knock_ends_when_the_door_closes():
    door = KnockAndWait(KnockPolicy(wait_s=30))
    door.knock("r1", "button", 0.0)
    assert records(door.door_changed(True, 3.0)) == [(EventType.DOOR_OPENED, {})]
    effects = door.door_changed(False, 10.0)
    assert shown(effects) == [S.IDLE]
    assert door.tick(40.0) == []


def test_door_movement_when_idle_changes_no_indicator_and_repeats_are_ignored():
    door = KnockAndWait()
    assert shown(door.door_changed(True, 0.0)) == []
    assert door.door_changed(True, 1.0) == []
    assert records(door.door_changed(False, 2.0)) == [(EventType.DOOR_CLOSED, {})]


def test_a_knock_in_quiet_hours_chimes_softly():
    policy = KnockPolicy(quiet_hours=(QuietHours.model_validate({"from": "22:00", "to": "07:00"}),))
    door = KnockAndWait(policy)
    assert Chime(loud=False) in door.knock("r1", "button", 0.0, local_time=time(23, 30))
    door = KnockAndWait(policy)
    assert Chime(loud=True) in door.knock("r1", "button", 0.0, local_time=time(12, 0))


def test_quiet_hours_spans():
    night = (QuietHours.model_validate({"from": "22:00", "to": "07:00"}),)
    afternoon = (QuietHours.model_validate({"from": "13:00", "to": "15:00"}),)
    assert in_quiet_hours(night, time(22, 0)) and in_quiet_hours(night, time(6, 59))
    assert not in_quiet_hours(night, time(7, 0)) and not in_quiet_hours(night, time(21, 59))
    assert in_quiet_hours(afternoon, time(14, 0)) and not in_quiet_hours(afternoon, time(15, 0))
    assert not in_quiet_hours((), time(3, 0)) and not in_quiet_hours(night, None)


def test_a_new_policy_measures_a_waiting_knock_from_its_knock():
    door = KnockAndWait(KnockPolicy(wait_s=None))
    door.knock("r1", "button", 0.0)
    door.change_policy(KnockPolicy(wait_s=10))
    assert door.next_deadline() == 10.0
    assert records(door.tick(10.0))[0] == (EventType.KNOCK_EXPIRED, {"request": "r1", "waited_ms": 10000})


def test_dnd_button_does_nothing_where_the_resident_has_not_allowed_it():
    door = KnockAndWait(KnockPolicy(wait_s=5, dnd_allowed=False))
    assert door.set_dnd(True, 0.0) == []
    assert door.indicator == S.IDLE
    knock = door.knock("r1", "button", 1.0)
    assert any(isinstance(e, Chime) for e in knock)


def test_a_config_that_stops_allowing_dnd_turns_it_off():
    door = KnockAndWait(KnockPolicy(wait_s=5))
    door.set_dnd(True, 0.0)
    effects = door.change_policy(KnockPolicy(wait_s=5, dnd_allowed=False))
    assert records(effects)[0] == (EventType.DND_OFF, {})
    assert door.indicator == S.IDLE
