"""The hub's test parts: a migrated database on each engine, the vector device registered, a running worker,
and a plain MQTT client to play the devices. All real: Mosquitto, SQLite files, PostgreSQL."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import LocalBroker, LocalPostgres
from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory
from hub.db.migrate import upgrade
from hub.db.models import Account, AccountRole, StaffRole
from hub.ingest.message import ReceivedMessage
from hub.ingest.worker import run_worker
from hub.people.accounts import issue_token
from hub.people.homes import add_home, add_resident, add_room, add_staff, move_in
from hub.people.passwords import hash_password
from hub.registry import register_device
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, chain_hash, private_key_from_seed, signed_bytes
from protocol.topics import DeviceChannel, device_topic

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "protocol" / "protocol-vectors.json").read_text()
)
VECTOR_DEVICE = VECTORS["device"]
VECTOR_KEY = private_key_from_seed(bytes.fromhex(VECTOR_DEVICE["private_seed_hex"]))
SITE, DEVICE = VECTOR_DEVICE["site"], VECTOR_DEVICE["id"]
EVENT_TOPIC = VECTOR_DEVICE["event_topic"]


def wait_until(check: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def vector_payload(index: int) -> bytes:
    return json.dumps(VECTORS["chain"][index]["payload"]).encode()


def received(topic: str, payload: bytes, mid: int = 1, retain: bool = False,
             at: datetime | None = None) -> ReceivedMessage:
    """A message as the hub's MQTT adapter hands it over, received now or at `at` (a test's own clock)."""
    return ReceivedMessage(topic, payload, mid, 1, retain, at or datetime.now(UTC))


def signed_chain(
    key: Ed25519PrivateKey, device: str, seqs: range, door: str = "d1", type: str = "door.opened"
) -> dict[int, bytes]:
    """Payloads of a well-formed chain from seq 1, keyed by seq; only those in `seqs` are returned."""
    payloads: dict[int, bytes] = {}
    prev = GENESIS_PREV
    for seq in range(1, seqs.stop):
        body = event_body(device=device, seq=seq, prev=prev, boot="test-boot", mono_ms=seq * 10,
                          ts_ms=1_795_654_800_000 + seq * 1000, type=type, door=door)
        prev = chain_hash(signed_bytes(body))
        if seq in seqs:
            payloads[seq] = seal(key, "event", body)
    return payloads


@pytest.fixture
def migrated_url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    created = make_engine(migrated_url)
    yield created
    created.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def registered(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The vector device, door-0007 of oakwood, with door d1 in room-12."""
    with sessions() as session:
        register_device(session, site=SITE, device=DEVICE, public_key=VECTOR_DEVICE["public_key"],
                        doors={"d1": "room-12"})
        session.commit()
    return sessions


@pytest.fixture
def hub_settings(broker: LocalBroker, migrated_url: str, tmp_path: Path) -> HubSettings:
    return HubSettings(
        database_url=migrated_url,
        mqtt_port=broker.port,
        key_file=tmp_path / "hub-key.pem",
        config_poll_s=0.2,
        _env_file=None,
    )


def wait_for_hub_subscribed(port: int) -> None:
    """The hub publishes configs only after it has subscribed, so a retained config means it is listening."""
    probe = DeviceSide(port)
    try:
        probe.subscribe(device_topic(SITE, DEVICE, DeviceChannel.CONFIG))
        wait_until(lambda: probe.messages, what="the hub's config for the vector device")
    finally:
        probe.close()


@pytest.fixture
def worker(hub_settings: HubSettings, registered: sessionmaker[Session]) -> Iterator[threading.Thread]:
    """The ingest worker, in a thread of this process, listening; stopped cleanly at the end."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(hub_settings, stop), name="hub-worker", daemon=True)
    thread.start()
    wait_for_hub_subscribed(hub_settings.mqtt_port)
    yield thread
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the worker did not stop"


@dataclass
class DeviceSide:
    """A plain paho client standing in for devices: publishes, and records what arrives on its subscriptions."""

    port: int
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(message)

    def subscribe(self, topic: str) -> None:
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=10)

    def on(self, topic: str) -> list[mqtt.MQTTMessage]:
        with self.lock:
            return [message for message in self.messages if message.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def devices_side(broker: LocalBroker) -> Iterator[DeviceSide]:
    side = DeviceSide(broker.port)
    yield side
    side.close()


# People: two homes with their residents, staff and accounts, each account with a live token. -------------------

TEST_PASSWORD = "correct horse battery"
_TEST_PASSWORD_HASH = hash_password(TEST_PASSWORD)  # hashed once: argon2id is slow on purpose


@dataclass
class People:
    """Oakwood (the vector device's site; ada in room-12, ben in room-14) and Elmfield (cy in room-01), with an
    account per person named as below, and a token for each."""

    sessions: sessionmaker[Session]
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


PEOPLE_STAFF = {  # account and staff id → (home, role)
    "sam": ("oakwood", StaffRole.STAFF), "nia": ("oakwood", StaffRole.NIGHT_LEAD),
    "meg": ("oakwood", StaffRole.MANAGER), "eve": ("elmfield", StaffRole.STAFF),
    "max": ("elmfield", StaffRole.MANAGER),
}
PEOPLE_RESIDENTS = {"ada": ("oakwood", "room-12"), "ben": ("oakwood", "room-14"), "cy": ("elmfield", "room-01")}


@pytest.fixture
def people(sessions: sessionmaker[Session]) -> People:
    tokens: dict[str, str] = {}
    with sessions() as session:
        for home in ("oakwood", "elmfield"):
            add_home(session, home_id=home, name=home.title(), time_zone="Europe/London")
        for resident, (home, room) in PEOPLE_RESIDENTS.items():
            add_room(session, home, room)
            add_resident(session, resident_id=resident, display_name=resident.title(), home_id=home)
            move_in(session, resident, room)
        for name, (home, role) in PEOPLE_STAFF.items():
            add_staff(session, staff_id=name, name=name.title(), home_id=home, role=role)
        links: dict[str, tuple[AccountRole, str | None, str | None]] = {
            "admin": (AccountRole.ADMIN, None, None),
            **{name: (AccountRole.RESIDENT, name, None) for name in PEOPLE_RESIDENTS},
            **{name: (AccountRole(role.value), None, name) for name, (_home, role) in PEOPLE_STAFF.items()},
        }
        for name, (role, resident, staff) in links.items():
            account = Account(username=name, password_hash=_TEST_PASSWORD_HASH, role=role.value,
                              resident_id=resident, staff_id=staff, disabled=False, created_at=datetime.now(UTC))
            session.add(account)
            session.flush()
            tokens[name] = issue_token(session, account)
        session.commit()
    return People(sessions, tokens)
