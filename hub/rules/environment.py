"""Room environment: a reading out of range counts only when it stays out for a sustained time.

Defaults follow UKHSA guidance: below 18 °C or above 26 °C, humidity outside 30–70 %, for 30 minutes. A room
overrides them with its own `EnvironmentLimits`. Readings further apart than `max_gap_s` (a sensor away) break
a run: a sustained excursion is one the readings show, never one guessed across a gap. A run lasts from its
first out-of-range reading to the first reading back in range (or is still open at the last reading).
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reading(Frozen):
    at: AwareDatetime
    temp_c_x100: int
    rh_x100: int
    fact: str | None = Field(default=None, title="Id of the env.reading fact")


class EnvironmentLimits(Frozen):
    temp_min_c_x100: int = 1800
    temp_max_c_x100: int = 2600
    rh_min_x100: int = 3000
    rh_max_x100: int = 7000
    sustained_s: int = Field(default=1800, ge=0)
    max_gap_s: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _a_range_each(self) -> "EnvironmentLimits":
        if self.temp_min_c_x100 >= self.temp_max_c_x100 or self.rh_min_x100 >= self.rh_max_x100:
            raise PydanticCustomError("limits_reversed", "each lower limit is below its upper limit")
        return self


class ExcursionKind(StrEnum):
    TOO_COLD = "too_cold"
    TOO_HOT = "too_hot"
    TOO_DRY = "too_dry"
    TOO_HUMID = "too_humid"


class Excursion(Frozen):
    kind: ExcursionKind
    start: AwareDatetime
    end: AwareDatetime | None = Field(title="First reading back in range; None while still out")
    worst_x100: int = Field(title="The furthest reading from the range")
    readings: tuple[str, ...] = Field(default=(), title="Ids of the readings it rests on")


def outside(limits: EnvironmentLimits, temp_c_x100: int, rh_x100: int) -> bool:
    """Whether values are out of the limits at all: with none out, a room has no excursion, whenever its readings
    were taken (so their times need not be placed to know it)."""
    return not (limits.temp_min_c_x100 <= temp_c_x100 <= limits.temp_max_c_x100
                and limits.rh_min_x100 <= rh_x100 <= limits.rh_max_x100)


def _tests(limits: EnvironmentLimits) -> dict[ExcursionKind, tuple[Callable[[Reading], bool], Callable[[Reading], int], bool]]:
    """Per kind: is a reading out, its value, and whether lower is worse."""
    return {
        ExcursionKind.TOO_COLD: (lambda r: r.temp_c_x100 < limits.temp_min_c_x100, lambda r: r.temp_c_x100, True),
        ExcursionKind.TOO_HOT: (lambda r: r.temp_c_x100 > limits.temp_max_c_x100, lambda r: r.temp_c_x100, False),
        ExcursionKind.TOO_DRY: (lambda r: r.rh_x100 < limits.rh_min_x100, lambda r: r.rh_x100, True),
        ExcursionKind.TOO_HUMID: (lambda r: r.rh_x100 > limits.rh_max_x100, lambda r: r.rh_x100, False),
    }


def excursions(readings: Sequence[Reading], limits: EnvironmentLimits | None = None) -> list[Excursion]:
    """Sustained excursions in the readings, ordered by start."""
    limits = limits or EnvironmentLimits()
    ordered = sorted(readings, key=lambda reading: reading.at)
    sustained = timedelta(seconds=limits.sustained_s)
    max_gap = timedelta(seconds=limits.max_gap_s)
    found: list[Excursion] = []
    for kind, (is_out, value, lower_worse) in _tests(limits).items():
        run: list[Reading] = []

        def close(end: Reading | None) -> None:
            if run and run[-1].at - run[0].at >= sustained:
                values = [value(r) for r in run]
                found.append(
                    Excursion(
                        kind=kind,
                        start=run[0].at,
                        end=end.at if end else None,
                        worst_x100=min(values) if lower_worse else max(values),
                        readings=tuple(r.fact for r in run if r.fact),
                    )
                )

        for reading in ordered:
            if run and reading.at - run[-1].at > max_gap:
                # The run is cut by a gap: it ended somewhere unseen; record when it was last seen out.
                close(run[-1])
                run = []
            if is_out(reading):
                run.append(reading)
            elif run:
                close(reading)
                run = []
        close(None)
    return sorted(found, key=lambda excursion: (excursion.start, excursion.kind))
