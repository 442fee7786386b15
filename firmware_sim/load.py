"""Load mode: every door of a simulated home records events at a steady total rate, through the agents'
normal path (outbox, then publish), and the run reports how many the hub receipted."""

import time
from dataclasses import dataclass

from firmware_sim.home import SimulatedHome

LOAD_EVENT = "x.threshold.load"  # a vendor type (PROTOCOL.md §3): stored and shown, never classified


@dataclass(frozen=True)
class LoadReport:
    doors: int
    made: int
    receipted: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.doors} doors made {self.made} events in {self.seconds:.1f} s "
                f"({self.made / self.seconds:.0f}/s); the hub receipted {self.receipted}")


def run_load(home: SimulatedHome, rate: float, seconds: float, drain_s: float = 30.0) -> LoadReport:
    """Record `rate` events a second across all doors for `seconds`, then wait up to `drain_s` for receipts."""
    if rate <= 0 or seconds <= 0:
        raise ValueError("rate and seconds must be above 0")
    agents = [room.agent for room in home.rooms.values()]
    start = time.monotonic()
    firsts = {agent.device: agent.outbox.last_seq() + 1 for agent in agents}
    made = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) + 1
        while made < due:
            agent = agents[made % len(agents)]
            agent.record(LOAD_EVENT, None, {"n": made})
            made += 1
        time.sleep(min(0.01, max(0.0, (made / rate) - (time.monotonic() - start))))
    spent = time.monotonic() - start
    lasts = {agent.device: agent.outbox.last_seq() for agent in agents}

    def receipted() -> int:
        return sum(max(0, min(agent.last_receipt, lasts[agent.device]) - firsts[agent.device] + 1) for agent in agents)

    deadline = time.monotonic() + drain_s
    while receipted() < made and time.monotonic() < deadline:
        time.sleep(0.1)
    return LoadReport(len(agents), made, receipted(), spent)
