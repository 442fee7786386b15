"""A simulated care home: one real DoorAgent per room, each on its own gpiozero mock pins.

People act by driving the pins the way the real parts would: a button pulls its pin low while pressed, the
door's reed switch chatters as the door swings, the PIR raises its pin while it sees movement.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.agent import DoorAgent
from edge.env_sensor import SimulatedEnvSensor
from edge.settings import AgentSettings, DoorPins

DOOR = "d1"
PINS = DoorPins(
    contact=17, knock=27, come_in=22, not_now=23, dnd=24, help=25,
    led_red=5, led_green=6, led_blue=13, buzzer=19, motion=26,
)
BOUNCES = 3
BOUNCE_S = 0.002


@dataclass
class Room:
    number: int
    agent: DoorAgent
    pins: MockFactory
    sensor: SimulatedEnvSensor

    @property
    def name(self) -> str:
        return room_name(self.number)


def room_name(number: int) -> str:
    return f"room-{number:02d}"


def device_name(number: int) -> str:
    return f"door-{number:02d}"


def tls_files(tls_dir: Path, device: str) -> dict[str, Path]:
    """A door's TLS settings from a folder laid out as scripts/make-certs.sh makes it: `ca.crt` and
    `devices/{device}.crt|.key`, the certificate's CN being the device id (its identity at the broker)."""
    files = {"tls_ca_file": tls_dir / "ca.crt", "tls_cert_file": tls_dir / "devices" / f"{device}.crt",
             "tls_key_file": tls_dir / "devices" / f"{device}.key"}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"{device} has no TLS identity: missing {', '.join(missing)} "
                                f"(make it with: scripts/make-certs.sh -d {tls_dir} device {device})")
    return files


class SimulatedHome:
    """`rooms` doors, `door-01`… serving `room-01`…, against the broker at `broker_host:broker_port`.

    With `tls_dir`, each door connects with TLS as its own identity: its own certificate (`tls_files`) and its
    device id as its MQTT user, as a real door would on the production broker."""

    def __init__(
        self,
        rooms: int,
        broker_port: int,
        data_dir: Path,
        hub_public_key: str | None = None,
        broker_host: str = "127.0.0.1",
        site: str = "home-1",
        tls_dir: Path | None = None,
        **agent_settings: object,
    ) -> None:
        self.site = site
        self.rooms: dict[int, Room] = {}
        # Every door's identity is checked before any door is made: a missing one changes nothing.
        identities = {number: tls_files(Path(tls_dir), device_name(number)) if tls_dir is not None else {}
                      for number in range(1, rooms + 1)}
        for number, tls in identities.items():
            device = device_name(number)
            settings = AgentSettings(
                device_id=device, site=site, data_dir=Path(data_dir) / device, username=device,
                broker_host=broker_host, broker_port=broker_port, hub_public_key=hub_public_key,
                doors={DOOR: PINS}, fw="threshold-sim 0.1.0", **tls, **agent_settings,
            )
            factory = MockFactory()
            sensor = SimulatedEnvSensor(temp_c=20.5 + number % 3, rh=40.0 + number % 7, seed=number)
            agent = DoorAgent(settings, pin_factory=factory, env_sensor=sensor)
            factory.pin(PINS.contact).drive_low()  # every door starts shut
            self.rooms[number] = Room(number, agent, factory, sensor)

    def devices(self) -> list[tuple[str, str, str, dict[str, str]]]:
        """(site, device id, public key, {door: room}) for each door, to register at the hub."""
        return [(self.site, r.agent.device, r.agent.public_key_b64, {DOOR: r.name}) for r in self.rooms.values()]

    def start(self) -> "SimulatedHome":
        for room in self.rooms.values():
            room.agent.start()
        for room in self.rooms.values():
            # The PIR's first sample sets its starting state without an event; wait for it.
            room.agent.doors[DOOR].hardware.motion.wait_for_no_motion(timeout=5)
        return self

    def stop(self) -> None:
        for room in self.rooms.values():
            room.agent.stop()

    def room(self, number: int) -> Room:
        if number not in self.rooms:
            raise ValueError(f"room {number} is not in this home (1-{len(self.rooms)})")
        return self.rooms[number]

    # what people do -------------------------------------------------------------------------------------

    def _press(self, number: int, pin: int | str | None) -> None:
        mock = self.room(number).pins.pin(pin)
        mock.drive_low()
        time.sleep(0.05)
        mock.drive_high()

    def knock(self, number: int) -> None:
        """Staff press the knock button outside."""
        self._press(number, PINS.knock)

    def answer(self, number: int, answer: str) -> None:
        """The resident presses "come in" or "not now" on the panel inside."""
        if answer not in ("come_in", "not_now"):
            raise ValueError(f"answer is come_in or not_now, not {answer!r}")
        self._press(number, PINS.come_in if answer == "come_in" else PINS.not_now)

    def toggle_dnd(self, number: int) -> None:
        self._press(number, PINS.dnd)

    def help(self, number: int) -> None:
        self._press(number, PINS.help)

    def _swing(self, number: int, shut: bool) -> None:
        contact = self.room(number).pins.pin(PINS.contact)
        settle, other = (contact.drive_low, contact.drive_high) if shut else (contact.drive_high, contact.drive_low)
        for _ in range(BOUNCES):  # a reed switch chatters as the magnet passes
            settle()
            time.sleep(BOUNCE_S)
            other()
            time.sleep(BOUNCE_S)
        settle()

    def open_door(self, number: int) -> None:
        self._swing(number, shut=False)

    def close_door(self, number: int) -> None:
        self._swing(number, shut=True)

    def motion(self, number: int, moving: bool = True) -> None:
        pin = self.room(number).pins.pin(PINS.motion)
        pin.drive_high() if moving else pin.drive_low()

    def set_climate(self, number: int, temp_c: float | None = None, rh: float | None = None) -> None:
        """Change the room's air; the agent reports it at its next reading."""
        sensor = self.room(number).sensor
        sensor.temp_c = sensor.temp_c if temp_c is None else temp_c
        sensor.rh = sensor.rh if rh is None else rh
