"""Room environment: sustained excursions raise, brief ones do not (UKHSA defaults, per-room overrides)."""

from datetime import UTC, datetime, timedelta

import pytest

from hub.rules.environment import EnvironmentLimits, Excursion, ExcursionKind, Reading, excursions, outside

START = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def readings(values: list[tuple[int, int]], every_min: int = 5) -> list[Reading]:
    return [
        Reading(at=START + timedelta(minutes=i * every_min), temp_c_x100=t, rh_x100=rh, fact=f"env#{i}")
        for i, (t, rh) in enumerate(values)
    ]


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


CASES = [
    pytest.param([(1750, 5000)] * 8 + [(1900, 5000)], [(ExcursionKind.TOO_COLD, at(0), at(40), 1750)], id="cold-for-35-min-then-warm-is-sustained"),
    pytest.param([(1700, 5000)] * 5 + [(2000, 5000)], [], id="cold-for-20-min-is-brief"),
    pytest.param([(1799, 5000)] * 7, [(ExcursionKind.TOO_COLD, at(0), None, 1799)], id="cold-for-exactly-30-min-still-open"),
    pytest.param([(1800, 5000)] * 10, [], id="exactly-18-degrees-is-in-range"),
    pytest.param([(2700, 5000), (2850, 5000)] * 5, [(ExcursionKind.TOO_HOT, at(0), None, 2850)], id="hot-for-45-min-still-open"),
    pytest.param([(2100, 7500)] * 7 + [(2100, 6000)], [(ExcursionKind.TOO_HUMID, at(0), at(35), 7500)], id="humid-sustained"),
    pytest.param([(2100, 2500)] * 7, [(ExcursionKind.TOO_DRY, at(0), None, 2500)], id="dry-sustained"),
    pytest.param([(1700, 5000), (2000, 5000)] * 6, [], id="flickering-in-and-out-is-not-sustained"),
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_sustained_versus_brief(values, expected) -> None:
    found = excursions(readings(values))
    assert [(e.kind, e.start, e.end, e.worst_x100) for e in found] == expected


def test_an_excursion_lists_the_readings_it_rests_on() -> None:
    found = excursions(readings([(1750, 5000)] * 7 + [(1900, 5000)]))
    assert found[0].readings == tuple(f"env#{i}" for i in range(7))


def test_a_gap_in_readings_breaks_a_run() -> None:
    # 20 min cold, the sensor silent for 2 h, then 20 min cold: never 30 min seen out of range.
    before = readings([(1700, 5000)] * 5)
    after = [r.model_copy(update={"at": r.at + timedelta(hours=2)}) for r in before]
    assert excursions(before + after) == []


def test_a_room_can_override_the_limits() -> None:
    limits = EnvironmentLimits(temp_min_c_x100=2000, sustained_s=600)
    found = excursions(readings([(1900, 5000)] * 3 + [(2100, 5000)]), limits)
    assert found == [Excursion(kind=ExcursionKind.TOO_COLD, start=at(0), end=at(15), worst_x100=1900, readings=("env#0", "env#1", "env#2"))]
    assert excursions(readings([(1900, 5000)] * 3 + [(2100, 5000)])) == []


@pytest.mark.parametrize(("temp", "rh", "out"), [
    (2100, 5000, False), (1800, 3000, False), (2600, 7000, False),  # the limits themselves are in range
    (1799, 5000, True), (2601, 5000, True), (2100, 2999, True), (2100, 7001, True),
])
def test_values_outside_the_limits_are_told_without_their_times(temp: int, rh: int, out: bool) -> None:
    limits = EnvironmentLimits()
    assert outside(limits, temp, rh) is out
    # The quick look agrees with the excursion rule: a run of such readings is an excursion exactly when out.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    run = [Reading(at=start + timedelta(minutes=m), temp_c_x100=temp, rh_x100=rh) for m in range(0, 40, 5)]
    assert bool(excursions(run, limits)) is out
