"""One door's parts as gpiozero devices. Callbacks only hand the input on; the door's worker does the rest.

gpiozero calls back in whatever thread changed the pin (the mock factory: the test's own thread), so the
callbacks do nothing but stamp the time and pass the input to `deliver`.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpiozero import RGBLED, Button, Buzzer, DigitalInputDevice, MotionSensor
from gpiozero.pins import Factory

from edge.settings import DoorPins
from protocol.events import IndicatorState

COLOURS: dict[IndicatorState, tuple[int, int, int]] = {
    IndicatorState.IDLE: (0, 0, 0),
    IndicatorState.WAITING: (1, 1, 0),  # amber
    IndicatorState.COME_IN: (0, 1, 0),  # green
    IndicatorState.NOT_NOW: (1, 0, 0),  # red
    IndicatorState.DO_NOT_DISTURB: (1, 0, 1),  # purple
    IndicatorState.MAY_ENTER: (0, 0, 1),  # blue
}


@dataclass(frozen=True)
class DoorInput:
    """Something that happened at a door: `kind` is contact, knock, come_in, not_now, dnd, help or motion."""

    kind: str
    value: Any = None
    at: float = 0.0


class DoorHardware:
    def __init__(self, pins: DoorPins, deliver: Callable[[DoorInput], None], pin_factory: Factory | None = None):
        self._deliver = deliver
        self._devices: list[Any] = []
        self.state = IndicatorState.IDLE
        self._identifying = threading.Lock()
        self.contact = self._add(DigitalInputDevice(pins.contact, pull_up=True, pin_factory=pin_factory))
        # The reed switch closes (pulls the pin low, "active") when the door is shut.
        self.contact.when_activated = lambda: self._send("contact", True)
        self.contact.when_deactivated = lambda: self._send("contact", False)
        for kind in ("knock", "come_in", "not_now", "dnd", "help"):
            pin = getattr(pins, kind)
            if pin is not None:
                button = self._add(Button(pin, pull_up=True, pin_factory=pin_factory))
                button.when_pressed = lambda kind=kind: self._send(kind)
        self.indicator: RGBLED | None = None
        if pins.led_red is not None and pins.led_green is not None and pins.led_blue is not None:
            self.indicator = self._add(
                RGBLED(pins.led_red, pins.led_green, pins.led_blue, pwm=False, pin_factory=pin_factory)
            )
        self.buzzer = self._add(Buzzer(pins.buzzer, pin_factory=pin_factory)) if pins.buzzer is not None else None
        self.motion: MotionSensor | None = None
        if pins.motion is not None:
            self.motion = self._add(MotionSensor(pins.motion, pin_factory=pin_factory))
            self.motion.when_motion = lambda: self._send("motion", True)
            self.motion.when_no_motion = lambda: self._send("motion", False)

    def _add(self, device: Any) -> Any:
        self._devices.append(device)
        return device

    def _send(self, kind: str, value: Any = None) -> None:
        self._deliver(DoorInput(kind, value, time.monotonic()))

    def door_closed(self) -> bool:
        return bool(self.contact.is_active)

    def show(self, state: IndicatorState) -> None:
        self.state = state
        if self.indicator is not None and not self._identifying.locked():
            self.indicator.color = COLOURS[state]

    def chime(self, loud: bool) -> None:
        if self.buzzer is not None:
            self.buzzer.beep(on_time=0.15, off_time=0.1, n=2 if loud else 1, background=True)

    def identify(self, blinks: int = 5) -> None:
        """Blink white for an installer, then show the door's state again (in the background)."""
        if self.indicator is None or not self._identifying.acquire(blocking=False):
            return

        def blink() -> None:
            try:
                self.indicator.blink(on_time=0.2, off_time=0.2, on_color=(1, 1, 1), n=blinks, background=False)
            finally:
                self._identifying.release()
                self.show(self.state)

        threading.Thread(target=blink, name="identify", daemon=True).start()

    def close(self) -> None:
        for device in reversed(self._devices):
            device.close()
