"""Scenarios as data: timed steps of what people do at each room's door, played against a SimulatedHome."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_sim.home import SimulatedHome
from firmware_sim.stop import sleep_until

SCENARIOS = Path(__file__).parent / "scenarios"

Action = Literal["knock", "answer", "open", "close", "dnd", "help", "motion", "still", "climate"]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Annotated[float, Field(ge=0, title="Seconds from the start")]
    room: Annotated[int, Field(ge=1, title="Room number (1 is room-01)")]
    do: Action = Field(title="What happens")
    answer: Literal["come_in", "not_now"] | None = Field(default=None, title="The resident's answer (do: answer)")
    temp_c: float | None = Field(default=None, title="Room temperature (do: climate)")
    rh: float | None = Field(default=None, title="Relative humidity, % (do: climate)")

    @model_validator(mode="after")
    def _answer_only_with_answer(self) -> "Step":
        if (self.do == "answer") != (self.answer is not None):
            raise ValueError("`answer: come_in|not_now` goes with `do: answer`, and only there")
        if self.do == "climate" and self.temp_c is None and self.rh is None:
            raise ValueError("`do: climate` needs temp_c or rh")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    steps: list[Step] = Field(min_length=1)

    @property
    def rooms(self) -> int:
        return max(step.room for step in self.steps)

    @property
    def duration_s(self) -> float:
        return max(step.at for step in self.steps)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by file path, or by name from firmware_sim/scenarios/ (`polite_entry`)."""
    path = Path(name_or_path)
    if not path.exists():
        path = SCENARIOS / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
        raise FileNotFoundError(f"no scenario {name_or_path!r}; known: {known}")
    return Scenario.model_validate(yaml.safe_load(path.read_text()))


def perform(home: SimulatedHome, step: Step) -> None:
    match step.do:
        case "knock":
            home.knock(step.room)
        case "answer":
            home.answer(step.room, step.answer or "")
        case "open":
            home.open_door(step.room)
        case "close":
            home.close_door(step.room)
        case "dnd":
            home.toggle_dnd(step.room)
        case "help":
            home.help(step.room)
        case "motion":
            home.motion(step.room, True)
        case "still":
            home.motion(step.room, False)
        case "climate":
            home.set_climate(step.room, step.temp_c, step.rh)


def play(home: SimulatedHome, scenario: Scenario, speed: float = 1.0, room_offset: int = 0,
         stopped: Callable[[], bool] = lambda: False) -> None:
    """Perform the steps in time order; `speed` 2 plays twice as fast; `room_offset` shifts every room number.
    Returns before the next step once `stopped()` is true (firmware_sim/stop.py)."""
    if speed <= 0:
        raise ValueError("speed must be above 0")
    start = time.monotonic()
    for step in sorted(scenario.steps, key=lambda s: s.at):
        if sleep_until(start + step.at / speed, stopped):
            return
        perform(home, step.model_copy(update={"room": step.room + room_offset}))
