"""Stopping the simulator's long runs on Ctrl-C or SIGTERM, between steps.

Raised as KeyboardInterrupt at whatever line the main thread runs, Ctrl-C can land inside a door agent's or paho's
code (the mock pins call the agents back in the driving thread) and be lost there: a demo once played on and never
stopped its hub processes. So a signal only marks that a stop was asked for, and the loops ask between steps."""

import signal
import time
from collections.abc import Callable

CHECK_S = 0.1
"""How often a wait asks whether a stop was asked for."""


def stop_on_signals() -> Callable[[], bool]:
    """Handle SIGINT and SIGTERM from now on; returns what tells whether one has come. The handler only appends, so
    it takes no lock the code it interrupts may hold."""
    received: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: received.append(number))
    return lambda: bool(received)


def sleep_until(deadline: float, stopped: Callable[[], bool]) -> bool:
    """Sleep until `time.monotonic()` reaches `deadline`, or until `stopped()`; returns whether stopped."""
    while (left := deadline - time.monotonic()) > 0 and not stopped():
        time.sleep(min(left, CHECK_S))
    return stopped()
