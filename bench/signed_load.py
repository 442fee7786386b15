"""Signed events from many simulated devices, made before the clock starts, and a paho publisher for them.

The benchmarks measure what receives the events, so the events are signed beforehand and published by one
QoS 1 publisher with a wide in-flight window.
"""

import socket
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.envelope import seal
from protocol.events import EventType, event_body
from protocol.signing import GENESIS_PREV, chain_hash, generate_private_key, public_key_b64, signed_bytes
from protocol.topics import DeviceChannel, device_topic

@dataclass
class SignedDevice:
    site: str
    device_id: str
    key: Ed25519PrivateKey
    room: str

    @property
    def public_key(self) -> str:
        return public_key_b64(self.key)


def make_devices(site: str, count: int) -> list[SignedDevice]:
    """`count` devices of a home of their own (so no retained receipt from an earlier run is read)."""
    return [SignedDevice(site, f"door-{n:03d}", generate_private_key(), f"room-{n:03d}") for n in range(1, count + 1)]


HEARTBEAT = {"uptime_s": 60, "clock_synced": True, "clock_offset_ms": 0, "outbox": 0, "fw": "bench"}


def signed_events(devices: list[SignedDevice], per_device: int, heartbeat_every: int = 0) -> list[tuple[str, bytes]]:
    """(topic, payload) for `per_device` events of each device, interleaved across devices as a home sends them:
    motion, and a heartbeat first and then every `heartbeat_every` events when that is given."""
    chains: dict[str, list[tuple[str, bytes]]] = {}
    boot = "bench0000000000000000000000000000"
    for device in devices:
        topic = device_topic(device.site, device.device_id, DeviceChannel.EVENT)
        prev, messages = GENESIS_PREV, []
        for seq in range(1, per_device + 1):
            beat = heartbeat_every and seq % heartbeat_every == 1
            kind = EventType.MOTION_DETECTED if seq % 2 else EventType.MOTION_CLEARED
            body = event_body(
                device=device.device_id, seq=seq, prev=prev, boot=boot, mono_ms=seq * 1000,
                ts_ms=1_795_000_000_000 + seq * 1000, type=EventType.DEVICE_HEARTBEAT if beat else kind,
                door=None if beat else "d1", data=HEARTBEAT if beat else None,
            )
            prev = chain_hash(signed_bytes(body))
            messages.append((topic, seal(device.key, "event", body)))
        chains[device.device_id] = messages
    return [message for group in zip(*chains.values()) for message in group]


def connected_client(port: int, client_id: str = "", clean: bool = True) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    ready = threading.Event()

    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason_code: object, props: object) -> None:
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ready.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port, clean_start=clean)
    client.loop_start()
    if not ready.wait(10):
        raise TimeoutError("the benchmark client could not connect to the broker")
    return client


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Publish every message at QoS 1; return the monotonic time the first one went out."""
    client = connected_client(port)
    acked = threading.Semaphore(0)
    client.on_publish = lambda *args: acked.release()
    started = time.monotonic()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1)
    for _ in messages:
        acked.acquire()
    client.loop_stop()
    client.disconnect()
    return started
