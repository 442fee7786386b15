"""Door agents against the real broker: each on its own gpiozero MockFactory and data folder, watched by a
plain paho client that records what arrives on the wire."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import DoorAgent
from edge.settings import AgentSettings, DoorPins
from protocol.envelope import seal, split_envelope
from protocol.events import Event, parse_event
from protocol.signing import generate_private_key, public_key_b64
from protocol.topics import DeviceChannel, device_topic

SITE = "home-1"
PINS = DoorPins(
    contact=17, knock=27, come_in=22, not_now=23, dnd=24, help=25, led_red=5, led_green=6, led_blue=13,
    buzzer=19, motion=26,
)


def wait_until(predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


class Wire:
    """Everything published under the site's device topics, as received by a plain subscriber."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wire-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(f"threshold/v1/{SITE}/device/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def on(self, device: str, channel: DeviceChannel) -> list[bytes]:
        topic = device_topic(SITE, device, channel)
        with self._lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def events(self, device: str) -> list[Event]:
        """Distinct events received (resends collapse), in seq order."""
        by_seq = {parse_event(split_envelope(p, "event")[0]).seq: p for p in self.on(device, DeviceChannel.EVENT)}
        return [parse_event(split_envelope(by_seq[s], "event")[0]) for s in sorted(by_seq)]

    def of_type(self, device: str, kind: str) -> list[Event]:
        return [event for event in self.events(device) if event.type == kind]

    def publish(self, device: str, channel: DeviceChannel, payload: bytes, retain: bool = False) -> None:
        self.client.publish(device_topic(SITE, device, channel), payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Hub:
    """The hub's signing key, to sign configs and commands as the hub would."""

    def __init__(self) -> None:
        self.key = generate_private_key()
        self.public_key_b64 = public_key_b64(self.key)

    def config(self, device: str, version: int, wait_s: int | None, **door: Any) -> bytes:
        body = {"v": 1, "device": device, "version": version, "issued_ms": int(time.time() * 1000),
                "doors": {"d1": {"room": "room-01", "wait_s": wait_s, **door}}, "heartbeat_s": 60, "reading_s": 60}
        return seal(self.key, "config", body)

    def command(self, device: str, name: str, args: dict[str, Any], expires_in_ms: int = 60_000,
                command_id: str | None = None) -> bytes:
        now = int(time.time() * 1000)
        body = {"v": 1, "device": device, "id": command_id or str(uuid.uuid4()), "issued_ms": now,
                "expires_ms": now + expires_in_ms, "name": name, "args": args}
        return seal(self.key, "command", body)


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def wire(broker: Any) -> Iterator[Wire]:
    watcher = Wire(broker.port)
    yield watcher
    watcher.close()


def agent_settings(data_dir: Path, port: int, hub: Hub, device: str = "door-01", **overrides: Any) -> AgentSettings:
    values: dict[str, Any] = {
        "device_id": device, "site": SITE, "data_dir": data_dir, "broker_port": port,
        "hub_public_key": hub.public_key_b64, "doors": {"d1": PINS}, "resend_after_s": 1.0,
        "door_debounce_ms": 30,
    }
    return AgentSettings(**{**values, **overrides})


@pytest.fixture
def make_agent(tmp_path: Path, broker: Any, hub: Hub) -> Iterator[Callable[..., tuple[DoorAgent, MockFactory]]]:
    """Start an agent on its own mock pins; every agent made is stopped at the end."""
    running: list[DoorAgent] = []

    def make(device: str = "door-01", data_dir: Path | None = None, start: bool = True, link_class: Any = None,
             **overrides: Any) -> tuple[DoorAgent, MockFactory]:
        factory = MockFactory()
        settings = agent_settings(data_dir or tmp_path / device, broker.port, hub, device, **overrides)
        kwargs = {"link_class": link_class} if link_class else {}
        agent = DoorAgent(settings, pin_factory=factory, **kwargs)
        running.append(agent)
        if start:
            agent.start()
        return agent, factory

    yield make
    for agent in running:
        agent.stop()
