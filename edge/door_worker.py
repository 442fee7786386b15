"""One door's worker thread: inputs from its hardware, timers and commands go through its queue into the
knock-and-wait state machine, and the effects come out as recorded events, the indicator and the chime."""

import logging
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable
from typing import Any

from gpiozero.pins import Factory

from edge.clock import AgentClock
from edge.debounce import Debouncer
from edge.hardware import DoorHardware, DoorInput
from edge.knock_and_wait import Chime, Effect, KnockAndWait, KnockPolicy, Record, ShowIndicator
from edge.settings import DoorPins
from protocol.events import EventType

log = logging.getLogger(__name__)

_STOP = DoorInput("stop")

Recorder = Callable[[str, str | None, dict[str, Any]], int]


class DoorWorker:
    def __init__(
        self,
        door: str,
        pins: DoorPins,
        policy: KnockPolicy,
        record: Recorder,
        clock: AgentClock,
        debounce_ms: int,
        pin_factory: Factory | None = None,
    ) -> None:
        self.door = door
        self._record, self._clock = record, clock
        self.inputs: queue.Queue[DoorInput] = queue.Queue()
        self.machine = KnockAndWait(policy)
        self.hardware = DoorHardware(pins, self.inputs.put, pin_factory)
        self._debounce_ms = debounce_ms
        self.debouncer = Debouncer(self.hardware.door_closed(), debounce_ms)
        self._thread = threading.Thread(target=self._run, name=f"door-{door}", daemon=True)

    def start(self) -> None:
        """Take the door as it is now (no event for how it was found), then follow it."""
        closed = self.hardware.door_closed()
        self.debouncer = Debouncer(closed, self._debounce_ms)
        self.machine.door_open = not closed
        self.hardware.show(self.machine.indicator)
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.inputs.put(_STOP)
            self._thread.join(timeout=10)
        self.hardware.close()

    def put(self, item: DoorInput) -> None:
        self.inputs.put(item)

    def _run(self) -> None:
        while True:
            deadlines = [d for d in (self.machine.next_deadline(), self.debouncer.next_deadline()) if d is not None]
            timeout = max(0.0, min(deadlines) - self._clock.monotonic()) if deadlines else None
            try:
                item = self.inputs.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            now = self._clock.monotonic()
            effects = self._handle(item, now) if item is not None else []
            settled = self.debouncer.settle(now)
            if settled is not None:
                effects += self.machine.door_changed(opened=not settled, now=now)
            effects += self.machine.tick(now)
            self._carry_out(effects)

    def _handle(self, item: DoorInput, now: float) -> list[Effect]:
        machine = self.machine
        match item.kind:
            case "contact":
                self.debouncer.observe(item.value, item.at or now)
                return []
            case "knock":
                request, source, staff, staff_name = item.value or (str(uuid.uuid4()), "button", None, None)
                local = self._clock.local_time().time()
                return machine.knock(request, source, now, staff=staff, staff_name=staff_name, local_time=local)
            case "come_in" | "not_now":
                return machine.answer(item.kind == "come_in", now)
            case "dnd":
                return machine.set_dnd(not machine.dnd, now)
            case "help":
                return [Record(EventType.HELP_REQUESTED)]
            case "motion":
                return [Record(EventType.MOTION_DETECTED if item.value else EventType.MOTION_CLEARED)]
            case "policy":
                return machine.change_policy(item.value)
            case "identify":
                self.hardware.identify()
                return []
        log.warning("door %s: unknown input %r", self.door, item.kind)
        return []

    def _carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, ShowIndicator):
                self.hardware.show(effect.state)
            elif isinstance(effect, Chime):
                self.hardware.chime(effect.loud)
            elif isinstance(effect, Record):
                try:
                    self._record(effect.type.value, self.door, effect.data)
                except sqlite3.Error:
                    # The door keeps working (light, chime) even when the outbox cannot be written.
                    log.exception("door %s: could not record %s", self.door, effect.type)
