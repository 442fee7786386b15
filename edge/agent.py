"""DoorAgent: one device's doors, its outbox and its link to the hub.

Each door runs on its own worker thread (edge/door_worker.py). One service thread handles what the hub sends
(receipts, configs, commands), resends what no receipt covers, and sends heartbeats and readings. The doors
never wait for the network: an event is signed and stored on disk, then handed to paho, which queues it
while the broker is away.
"""

import logging
import queue
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from gpiozero.pins import Factory
from pydantic import ValidationError

from edge.clock import AgentClock, clock_sync
from edge.commands import CommandLedger, open_command
from edge.door_worker import DoorWorker
from edge.env_sensor import EnvSensor, make_env_sensor
from edge.hardware import DoorInput
from edge.keys import load_or_create_key
from edge.knock_and_wait import KnockPolicy
from edge.link import HubLink
from edge.outbox import Outbox
from edge.settings import AgentSettings
from edge.signed_config import ConfigStore
from protocol.commands import IdentifyArgs, KnockArgs
from protocol.config import DeviceConfig
from protocol.envelope import load_json_object
from protocol.errors import ProtocolError
from protocol.events import EventType
from protocol.messages import Receipt
from protocol.signing import public_key_b64, public_key_from_b64
from protocol.topics import DeviceChannel

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True)
class Rejected:
    """A message from the hub the agent ignored, and why."""

    channel: str
    reason: str
    detail: str


class DoorAgent:
    def __init__(
        self,
        settings: AgentSettings,
        pin_factory: Factory | None = None,
        link_class: type[HubLink] = HubLink,
        env_sensor: EnvSensor | None = None,
        clock: AgentClock | None = None,
    ) -> None:
        self.settings = settings
        self.device = settings.device_id
        self.clock = clock or AgentClock()
        self.boot = uuid.uuid4().hex
        self._started_at = self.clock.monotonic()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.key = load_or_create_key(settings.data_dir)
        self.public_key_b64 = public_key_b64(self.key)
        self.hub_key = public_key_from_b64(settings.hub_public_key) if settings.hub_public_key else None
        self.configs = ConfigStore(settings.data_dir, self.hub_key, self.device)
        self.commands = CommandLedger(settings.data_dir / "commands.db")
        self.outbox = Outbox(settings.data_dir / "outbox.db", self.device, self.key, self.boot, self.clock)
        self.env_sensor = env_sensor or make_env_sensor(settings.env_sensor, settings.bme280_bus, settings.bme280_address)
        self.last_receipt = 0
        self.rejected: deque[Rejected] = deque(maxlen=1000)
        self._inbox: queue.Queue[Any] = queue.Queue()
        self.link = link_class(settings, self.boot, self._receive)
        self.doors = {
            door: DoorWorker(
                door, pins, self._policy(door), self.record, self.clock, settings.door_debounce_ms, pin_factory
            )
            for door, pins in settings.doors.items()
        }
        self._service = threading.Thread(target=self._serve, name=f"agent-{self.device}", daemon=True)
        self._stopped = False

    # public ------------------------------------------------------------------------------------------

    def start(self) -> "DoorAgent":
        for worker in self.doors.values():
            worker.start()
        self._service.start()
        self.link.start()
        return self

    def stop(self) -> None:
        """Stop the doors, the service and the link; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        for worker in self.doors.values():
            worker.stop()
        if self._service.is_alive():
            self._inbox.put(_STOP)
            self._service.join(timeout=10)
            self.link.stop()
        self.outbox.close()
        self.commands.close()

    def record(self, type: str, door: str | None, data: dict[str, Any]) -> int:
        """Sign and store an event, then publish it. Thread-safe; returns its seq."""
        seq, payload = self.outbox.append(type, door, data)
        self.link.publish_event(seq, payload)
        return seq

    @property
    def config(self) -> DeviceConfig | None:
        """The last good signed config, or None while the agent runs on its settings' defaults."""
        return self.configs.current

    # what the hub sends (paho's thread hands it over; the service thread handles it) ------------------

    def _receive(self, channel: DeviceChannel, payload: bytes) -> None:
        self._inbox.put((channel, payload))

    def _reject(self, channel: DeviceChannel, error: ProtocolError) -> None:
        log.warning("%s: ignored %s: %s", self.device, channel.value, error)
        self.rejected.append(Rejected(channel.value, error.reason, error.detail))

    def _handle(self, channel: DeviceChannel, payload: bytes) -> None:
        try:
            if channel == DeviceChannel.RECEIPT:
                self._take_receipt(payload)
            elif channel == DeviceChannel.CONFIG:
                self._take_config(payload)
            elif channel == DeviceChannel.COMMAND:
                self._take_command(payload)
        except ProtocolError as error:
            self._reject(channel, error)

    def _take_receipt(self, payload: bytes) -> None:
        try:
            acked = Receipt.model_validate(load_json_object(payload)).acked_seq
        except ValidationError as error:
            raise ProtocolError("bad_receipt", str(error.errors()[0]["msg"])) from None
        if acked > self.outbox.last_seq():
            # A receipt beyond our own chain (a stale retained receipt for a device whose data was wiped)
            # must not delete events the hub has never seen.
            raise ProtocolError("receipt_ahead", f"acked_seq {acked} > last seq {self.outbox.last_seq()}")
        self.outbox.confirm_through(acked)
        self.last_receipt = max(self.last_receipt, acked)

    def _take_config(self, payload: bytes) -> None:
        if self.configs.offer(payload) is None:
            return
        for door, worker in self.doors.items():
            worker.put(DoorInput("policy", self._policy(door)))

    def _take_command(self, payload: bytes) -> None:
        command = open_command(payload, self.hub_key, self.device, self.clock.ts_ms())
        try:
            if command.name == "knock":
                args = KnockArgs.model_validate(command.args)
                doors = [args.door]
                item = DoorInput("knock", (command.id, "remote", args.staff, args.staff_name))
            elif command.name == "identify":
                door = IdentifyArgs.model_validate(command.args).door
                doors = [door] if door else list(self.doors)
                item = DoorInput("identify")
            else:
                raise ProtocolError("unknown_command", command.name)
        except ValidationError as error:
            raise ProtocolError("bad_command", str(error.errors()[0]["msg"])) from None
        if any(door not in self.doors for door in doors):
            raise ProtocolError("unknown_door", f"{doors} not all among {sorted(self.doors)}")
        if not self.commands.claim(command.id, self.clock.ts_ms()):
            raise ProtocolError("already_run", f"command {command.id}")
        for door in doors:
            self.doors[door].put(item)

    # the service loop --------------------------------------------------------------------------------

    def _policy(self, door: str) -> KnockPolicy:
        settings = self.settings
        door_config = self.config.doors.get(door) if self.config else None
        if door_config is None:
            return KnockPolicy(settings.default_wait_s, (), settings.not_now_hold_s, settings.answer_hold_s)
        extra = door_config.model_extra or {}
        return KnockPolicy(
            wait_s=door_config.wait_s,
            quiet_hours=tuple(door_config.quiet_hours),
            not_now_hold_s=float(extra.get("not_now_hold_s", settings.not_now_hold_s)),
            answer_hold_s=float(extra.get("answer_hold_s", settings.answer_hold_s)),
            dnd_allowed=bool(extra.get("dnd_allowed", True)),
        )

    def _intervals(self) -> tuple[float, float]:
        if self.config:
            return self.config.heartbeat_s, self.config.reading_s
        return self.settings.default_heartbeat_s, self.settings.default_reading_s

    def _serve(self) -> None:
        now = self.clock.monotonic()
        next_heartbeat = next_reading = next_resend = now
        while True:
            timeout = max(0.0, min(next_heartbeat, next_reading, next_resend) - self.clock.monotonic())
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            try:
                if item is not None:
                    self._handle(*item)
                now = self.clock.monotonic()
                heartbeat_s, reading_s = self._intervals()
                if now >= next_heartbeat:
                    self._heartbeat()
                    next_heartbeat = now + heartbeat_s
                if now >= next_reading:
                    if self.env_sensor is not None:
                        self.record(EventType.ENV_READING.value, None, self.env_sensor.read().data())
                    next_reading = now + reading_s
                if now >= next_resend:
                    self._resend()
                    next_resend = now + min(1.0, self.settings.resend_after_s / 2)
            except Exception:
                # The service must outlive any one failure (a sensor that cannot be read, a full disk).
                log.exception("%s: service step failed", self.device)

    def _heartbeat(self) -> None:
        synced, offset_ms = clock_sync()
        self.record(
            EventType.DEVICE_HEARTBEAT.value,
            None,
            {
                "uptime_s": int(self.clock.monotonic() - self._started_at),
                "clock_synced": synced,
                "clock_offset_ms": offset_ms,
                "outbox": self.outbox.pending_count(),
                "fw": self.settings.fw,
            },
        )

    def _resend(self) -> None:
        """Oldest first, and only while connected: paho already queues what was handed over while away."""
        if not self.link.connected.is_set():
            return
        for pending in self.outbox.due_for_resend(self.settings.resend_after_s):
            self.outbox.mark_sent(pending.seq)
            self.link.publish_event(pending.seq, pending.payload)
