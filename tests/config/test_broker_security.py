"""The production broker, locked down: real Mosquitto running config/mosquitto/production.conf and its ACL.

Certificates come from scripts/make-certs.sh into the test's folder. The config is run as it is, with only its
listener port, its certificate folder and its data folder rewritten; the ACL file is the repository's own.
"""

import os
import pwd
import queue
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware_sim.local_services import PROJECT_ROOT, find_binary, free_port, wait_for_port
from hub.core.config import HubSettings
from hub.ingest.message import ReceivedMessage
from hub.ingest.mqtt import BrokerLink
from protocol.topics import DeviceChannel, device_topic, hub_topic
from tests.hub.conftest import wait_until

CONFIG_DIR = PROJECT_ROOT / "config" / "mosquitto"
MAKE_CERTS = PROJECT_ROOT / "scripts" / "make-certs.sh"
SITE = "home-1"
A, B = "door-a", "door-b"


def make_certs(certs: Path, *args: str) -> None:
    subprocess.run(["sh", str(MAKE_CERTS), "-d", str(certs), *args], check=True, capture_output=True)


def broker_readable(prefix: str) -> Path:
    """A folder directly under the system temp dir: pytest's own are 0700 root, and Mosquitto started as root
    drops to its `mosquitto` user before it reads its certificates."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def hand_to_broker(folder: Path) -> None:
    """As root, give the folder to the broker's user, as the broker's key must be in production (OPERATIONS.md)."""
    if os.geteuid() == 0:
        owner = pwd.getpwnam("mosquitto")
        for path in (folder, *folder.rglob("*")):
            os.chown(path, owner.pw_uid, owner.pw_gid)


@pytest.fixture(scope="module")
def certs() -> Iterator[Path]:
    folder = broker_readable("threshold-certs-")
    make_certs(folder, "all", "localhost", "127.0.0.1")
    for device in (A, B, "door-c"):
        make_certs(folder, "device", device)
    hand_to_broker(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def production_config(port: int, certs: Path, data: Path) -> str:
    text = (CONFIG_DIR / "production.conf").read_text()
    text = re.sub(r"^listener 8883$", f"listener {port} 127.0.0.1", text, flags=re.M)
    text = text.replace("/mosquitto/certs/", f"{certs}/").replace("/mosquitto/config/acl", str(CONFIG_DIR / "acl"))
    return text.replace("persistence_location /mosquitto/data/", f"persistence_location {data}/")


@dataclass
class ProductionBroker:
    workdir: Path
    certs: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> "ProductionBroker":
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        config = self.workdir / "production.conf"
        config.write_text(production_config(self.port, self.certs, self.workdir / "data"))
        hand_to_broker(self.workdir)
        log = (self.workdir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([find_binary("mosquitto"), "-c", str(config)], stdout=log, stderr=log)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def broker(certs: Path) -> Iterator[ProductionBroker]:
    workdir = broker_readable("threshold-broker-")
    running = ProductionBroker(workdir, certs).start()
    yield running
    running.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Client:
    """A paho client with TLS and a certificate identity, recording what it receives."""

    port: int
    certs: Path
    identity: str | None
    client_id: str = ""
    received: "queue.Queue[tuple[str, bytes]]" = field(default_factory=queue.Queue)
    seen: list[tuple[str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id or f"t-{self.identity}",
                                  protocol=mqtt.MQTTv5)
        cert, key = _cert_files(self.certs, self.identity)
        self.client.tls_set(ca_certs=str(self.certs / "ca.crt"), certfile=cert, keyfile=key)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: None if rc.is_failure else self.connected.set()
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        self.client.on_message = lambda _c, _u, message: self.received.put((message.topic, message.payload))

    def connect(self, clean_start: bool = True) -> "Client":
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", self.port, clean_start=clean_start, properties=properties)
        self.client.loop_start()
        wait_until(self.connected.is_set, what=f"{self.identity} connected")
        return self

    def subscribe(self, *topics: str) -> None:
        self.subscribed.clear()
        self.client.subscribe([(topic, 1) for topic in topics])
        wait_until(self.subscribed.is_set, what=f"{self.identity} subscribed")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=10)

    def until(self, wanted: tuple[str, bytes]) -> list[tuple[str, bytes]]:
        """Everything received up to and including `wanted` (which must arrive within 10 s)."""
        deadline = time.monotonic() + 10
        while wanted not in self.seen:
            try:
                self.seen.append(self.received.get(timeout=max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                raise AssertionError(f"{self.identity} never received {wanted}") from None
        return self.seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _cert_files(certs: Path, identity: str | None) -> tuple[str | None, str | None]:
    if identity is None:
        return None, None
    stem = certs / ("hub" if identity == "threshold.hub" else f"devices/{identity}")
    return str(stem.with_suffix(".crt")), str(stem.with_suffix(".key"))


@pytest.fixture
def clients(broker: ProductionBroker, certs: Path) -> Iterator[Any]:
    made: list[Client] = []

    def make(identity: str | None, client_id: str = "") -> Client:
        client = Client(broker.port, certs, identity, client_id)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def connack(port: int, certs: Path, *, cert: tuple[str | None, str | None] = (None, None), tls: bool = True,
            username: str | None = None, password: str | None = None, ca: Path | None = None) -> str:
    """What the broker makes of one connection attempt: "accepted", or how it was refused."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", protocol=mqtt.MQTTv5)
    if tls:
        client.tls_set(ca_certs=str(ca or certs / "ca.crt"), certfile=cert[0], keyfile=cert[1])
    if username:
        client.username_pw_set(username, password)
    outcome: list[str] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: outcome.append(f"refused: {rc}" if rc.is_failure else "accepted")
    try:
        client.connect("127.0.0.1", port)
        deadline = time.monotonic() + 10
        while not outcome and time.monotonic() < deadline:
            if client.loop(timeout=0.2) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return "refused: connection closed"
    except (ssl.SSLError, OSError) as error:
        return f"refused: {type(error).__name__}"
    finally:
        client.disconnect()
    return outcome[0] if outcome else "no answer"


def topic(device: str, channel: DeviceChannel) -> str:
    return device_topic(SITE, device, channel)


def test_a_device_writes_only_its_own_events_and_status(clients: Any) -> None:
    hub = clients("threshold.hub").connect()
    hub.subscribe("threshold/v1/#")
    door_a = clients(A).connect()

    for forbidden in (
        topic(B, DeviceChannel.EVENT), topic(B, DeviceChannel.STATUS), topic(B, DeviceChannel.CONFIG),
        topic(B, DeviceChannel.RECEIPT), topic(B, DeviceChannel.COMMAND),
        topic(A, DeviceChannel.CONFIG), topic(A, DeviceChannel.RECEIPT), topic(A, DeviceChannel.COMMAND),
        hub_topic(SITE, "alerts"), "threshold/v1/other-home/hub/checkpoints",
    ):
        door_a.publish(forbidden, b'{"forged": true}')
    door_a.publish(topic(A, DeviceChannel.STATUS), b'{"state":"online"}')
    door_a.publish(topic(A, DeviceChannel.EVENT), b"marker")

    # Mosquitto delivers one client's messages in order: anything let through would come before the marker.
    assert hub.until((topic(A, DeviceChannel.EVENT), b"marker")) == [
        (topic(A, DeviceChannel.STATUS), b'{"state":"online"}'),
        (topic(A, DeviceChannel.EVENT), b"marker"),
    ]


def test_a_device_reads_only_its_own_config_commands_and_receipts(clients: Any) -> None:
    hub = clients("threshold.hub").connect()
    door_a = clients(A).connect()
    door_b = clients(B).connect()
    hub.publish(topic(B, DeviceChannel.CONFIG), b"config of b", retain=True)
    hub.publish(topic(B, DeviceChannel.RECEIPT), b'{"acked_seq": 4}', retain=True)
    hub.publish(topic(A, DeviceChannel.CONFIG), b"config of a", retain=True)

    door_a.subscribe(topic(B, DeviceChannel.CONFIG), topic(B, DeviceChannel.RECEIPT), topic(B, DeviceChannel.COMMAND),
                     "threshold/v1/+/device/+/config", "threshold/v1/#", "#")
    door_a.subscribe(topic(A, DeviceChannel.CONFIG), topic(A, DeviceChannel.COMMAND))
    door_b.subscribe(topic(B, DeviceChannel.CONFIG), topic(B, DeviceChannel.COMMAND))
    hub.publish(topic(B, DeviceChannel.COMMAND), b"command for b")
    hub.publish(hub_topic(SITE, "alerts"), b"an alert")
    hub.publish(topic(A, DeviceChannel.COMMAND), b"command for a")

    seen_by_a = door_a.until((topic(A, DeviceChannel.COMMAND), b"command for a"))
    assert {message for message in seen_by_a} == {
        (topic(A, DeviceChannel.CONFIG), b"config of a"),
        (topic(A, DeviceChannel.COMMAND), b"command for a"),
    }
    # B, the positive control, gets what A could not.
    assert set(door_b.until((topic(B, DeviceChannel.COMMAND), b"command for b"))) == {
        (topic(B, DeviceChannel.CONFIG), b"config of b"),
        (topic(B, DeviceChannel.COMMAND), b"command for b"),
    }


def test_a_device_cannot_take_over_another_devices_session_by_its_client_id(clients: Any) -> None:
    hub = clients("threshold.hub").connect()
    door_b = clients(B, client_id=B).connect(clean_start=False)
    door_b.subscribe(topic(B, DeviceChannel.COMMAND))
    door_b.close()
    hub.publish(topic(B, DeviceChannel.COMMAND), b"queued while b was away")
    # The control: B's session holds what came while it was away, and gives it to B.
    door_b = clients(B, client_id=B).connect(clean_start=False)
    assert door_b.until((topic(B, DeviceChannel.COMMAND), b"queued while b was away"))
    door_b.close()
    hub.publish(topic(B, DeviceChannel.COMMAND), b"queued for b")

    door_a = clients(A, client_id=B).connect(clean_start=False)
    door_a.subscribe(topic(A, DeviceChannel.COMMAND))
    hub.publish(topic(A, DeviceChannel.COMMAND), b"command for a")

    assert door_a.until((topic(A, DeviceChannel.COMMAND), b"command for a")) == [
        (topic(A, DeviceChannel.COMMAND), b"command for a"),
    ]


def test_the_hub_receives_every_devices_events_through_its_own_link_and_writes_to_them(
    broker: ProductionBroker, certs: Path, clients: Any
) -> None:
    settings = HubSettings(
        mqtt_host="localhost", mqtt_port=broker.port, mqtt_tls_ca_file=certs / "ca.crt",
        mqtt_tls_cert_file=certs / "hub.crt", mqtt_tls_key_file=certs / "hub.key",
        shared_subscription_group="hub", mqtt_client_id="threshold-hub-test",
    )
    inbox: queue.Queue[ReceivedMessage] = queue.Queue()
    link = BrokerLink(settings, inbox)
    link.start()
    try:
        wait_until(link.connected.is_set, what="the hub connected")
        doors = {device: clients(device).connect() for device in (A, B, "door-c")}
        for door in doors.values():
            door.subscribe(*(topic(door.identity or "", channel) for channel in
                             (DeviceChannel.CONFIG, DeviceChannel.RECEIPT, DeviceChannel.COMMAND)))
        # The hub's subscriptions are granted a moment after CONNACK: send until the first event arrives.
        wait_until(lambda: doors[A].publish(topic(A, DeviceChannel.EVENT), b"probe") or not inbox.empty(),
                   what="the hub receiving events")
        for device, door in doors.items():
            door.publish(topic(device, DeviceChannel.EVENT), f"event of {device}".encode())
            door.publish(topic(device, DeviceChannel.STATUS), f"status of {device}".encode())

        got: set[tuple[str, bytes]] = set()
        wanted = {(topic(device, channel), f"{channel.value} of {device}".encode())
                  for device in doors for channel in (DeviceChannel.EVENT, DeviceChannel.STATUS)}
        wait_until(lambda: got.update(_drain(inbox)) or wanted <= got, what="every device's event and status")

        for device, door in doors.items():
            for channel in (DeviceChannel.CONFIG, DeviceChannel.RECEIPT, DeviceChannel.COMMAND):
                retained = channel is not DeviceChannel.COMMAND
                message = f"{channel.value} for {device}".encode()
                if retained:
                    link.publish_retained(topic(device, channel), message)
                else:
                    link.client.publish(topic(device, channel), message, qos=1)
            assert set(door.until((topic(device, DeviceChannel.COMMAND), f"command for {device}".encode()))) == {
                (topic(device, channel), f"{channel.value} for {device}".encode())
                for channel in (DeviceChannel.CONFIG, DeviceChannel.RECEIPT, DeviceChannel.COMMAND)
            }
    finally:
        link.stop()


def _drain(inbox: "queue.Queue[ReceivedMessage]") -> set[tuple[str, bytes]]:
    drained = set()
    while not inbox.empty():
        message = inbox.get_nowait()
        drained.add((message.topic, message.payload))
    return drained


def test_an_anonymous_client_is_refused(broker: ProductionBroker, certs: Path) -> None:
    assert connack(broker.port, certs).startswith("refused")
    assert connack(broker.port, certs, tls=False).startswith("refused")


def test_a_client_without_a_certificate_is_refused_whatever_user_name_it_gives(
    broker: ProductionBroker, certs: Path
) -> None:
    assert connack(broker.port, certs, username=A, password="anything").startswith("refused")
    assert connack(broker.port, certs, username="threshold.hub").startswith("refused")
    # The positive control: the same probe with A's certificate is let in.
    assert connack(broker.port, certs, cert=_cert_files(certs, A)) == "accepted"


def test_a_certificate_from_another_ca_is_refused(broker: ProductionBroker, certs: Path, tmp_path: Path) -> None:
    rogue = tmp_path / "rogue"
    make_certs(rogue, "ca")
    make_certs(rogue, "device", A)
    make_certs(rogue, "hub")

    assert connack(broker.port, certs, cert=_cert_files(rogue, A)).startswith("refused")
    assert connack(broker.port, certs, cert=_cert_files(rogue, "threshold.hub")).startswith("refused")


def test_a_revoked_device_is_refused_after_the_broker_restarts() -> None:
    own, workdir = broker_readable("threshold-revoking-"), broker_readable("threshold-broker-")
    make_certs(own, "all", "localhost", "127.0.0.1")
    make_certs(own, "device", "door-r")
    make_certs(own, "device", "door-s")
    hand_to_broker(own)
    cert = (str(own / "devices/door-r.crt"), str(own / "devices/door-r.key"))
    running = ProductionBroker(workdir, own).start()
    try:
        assert connack(running.port, own, cert=cert) == "accepted"
        make_certs(own, "revoke", "door-r")
        hand_to_broker(own)
        (revoked,) = (own / "devices").glob("door-r.crt.revoked-*")
        running.stop()
        running.start()
        assert connack(running.port, own, cert=(str(revoked), cert[1])).startswith("refused")
        assert connack(running.port, own, cert=_cert_files(own, "door-s")) == "accepted"
    finally:
        running.stop()
        shutil.rmtree(own, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_production_config_keeps_the_queueing_and_persistence_of_the_demo_config() -> None:
    def settings(name: str) -> dict[str, str]:
        pairs = (line.split(None, 1) for line in (CONFIG_DIR / name).read_text().splitlines()
                 if line.strip() and not line.startswith("#"))
        return {key: value for key, value in pairs}

    shared = ("persistence", "autosave_interval", "max_queued_messages", "max_queued_bytes",
              "max_inflight_messages", "persistent_client_expiration", "max_packet_size", "set_tcp_nodelay")
    demo, production = settings("mosquitto.conf"), settings("production.conf")
    assert {key: production.get(key) for key in shared} == {key: demo[key] for key in shared}
    assert production["allow_anonymous"] == "false"
    assert production["require_certificate"] == "true" and production["use_identity_as_username"] == "true"
    assert [line for line in (CONFIG_DIR / "production.conf").read_text().splitlines()
            if line.startswith("listener")] == ["listener 8883"]


def test_the_compose_health_check_gets_an_answer_from_the_production_broker(
    broker: ProductionBroker, certs: Path
) -> None:
    import yaml

    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    command = [part.replace("/mosquitto/certs/", f"{certs}/").replace("$$", "$")
               for part in compose["services"]["mosquitto"]["healthcheck"]["test"][1:]]
    command[command.index("-p") + 1] = str(broker.port)

    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d+ seconds\n", done.stdout)
