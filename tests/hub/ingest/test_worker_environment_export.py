"""The running worker sends the room readings it stores to InfluxDB, and never depends on it.

Real Mosquitto, a real database, signed `env.reading` events published as a device would, and the recorded
InfluxDB v2 write API of tests/hub/test_environment_export.py standing in for InfluxDB.
"""

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import HubSettings
from hub.db.models import StoredEvent
from hub.environment_export import RoomReading
from hub.ingest.worker import run_worker
from protocol.envelope import seal
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, chain_hash, signed_bytes
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import DEVICE, EVENT_TOPIC, SITE, VECTOR_KEY, DeviceSide, wait_for_hub_subscribed, wait_until
from tests.hub.test_environment_export import RecordedInflux, influx_port, servers  # noqa: F401 — fixtures

RECEIPT_TOPIC = device_topic(SITE, DEVICE, DeviceChannel.RECEIPT)
TS_MS = 1_795_654_800_000


def chain(kinds: list[str]) -> list[bytes]:
    """Signed events of the vector device from seq 1: readings of 20.00 °C + seq/100 and 45 % RH, and door openings."""
    payloads, prev = [], GENESIS_PREV
    for seq, kind in enumerate(kinds, start=1):
        data = {"temp_c_x100": 2000 + seq, "rh_x100": 4500, "co2_ppm": 700 + seq} if kind == "env.reading" else {}
        body = event_body(device=DEVICE, seq=seq, prev=prev, boot="test-boot", mono_ms=seq * 10,
                          ts_ms=TS_MS + seq * 1000, type=kind, door="d1", data=data)
        prev = chain_hash(signed_bytes(body))
        payloads.append(seal(VECTOR_KEY, "event", body))
    return payloads


def expected_lines(kinds: list[str]) -> list[str]:
    """What InfluxDB should get: the readings only, in the room the registry gives the vector device's door d1."""
    return [line for seq, kind in enumerate(kinds, start=1) if kind == "env.reading"
            for line in RoomReading(home=SITE, room="room-12", device=DEVICE, ts_ms=TS_MS + seq * 1000,
                                    temp_c_x100=2000 + seq, rh_x100=4500, co2_ppm=700 + seq).line_protocol()]


@pytest.fixture
def start_worker(
    hub_settings: HubSettings, registered: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> Iterator[Callable[[int], Callable[[], None]]]:
    """Starts the worker as `threshold-hub worker` runs it, told of InfluxDB at the port through its environment;
    returns what stops it (as SIGTERM would) and waits for it to finish."""
    stop = threading.Event()
    started: list[threading.Thread] = []

    def stopped() -> None:
        stop.set()
        for thread in started:
            thread.join(timeout=30)
            assert not thread.is_alive(), "the worker did not stop"

    def start(port: int) -> Callable[[], None]:
        monkeypatch.setenv("THRESHOLD_HUB_INFLUX_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("THRESHOLD_HUB_INFLUX_TOKEN", "threshold-test-token")
        monkeypatch.setenv("THRESHOLD_HUB_INFLUX_RETRY_MAX_S", "0.5")
        monkeypatch.setenv("THRESHOLD_HUB_INFLUX_SPOOL_FILE", str(tmp_path / "influx-spool.lp"))
        thread = threading.Thread(target=run_worker, args=(hub_settings, stop), name="hub-worker", daemon=True)
        thread.start()
        started.append(thread)
        wait_for_hub_subscribed(hub_settings.mqtt_port)
        return stopped

    yield start
    stopped()


def stored_types(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(StoredEvent.type).where(StoredEvent.device == DEVICE)
                                    .order_by(StoredEvent.seq)))


def receipts(side: DeviceSide) -> list[dict[str, int]]:
    return [json.loads(message.payload) for message in side.on(RECEIPT_TOPIC)]


KINDS = ["env.reading", "door.opened", "env.reading", "door.closed", "env.reading"]


def test_the_worker_writes_the_readings_it_stores_to_influxdb(
    start_worker: Callable[[int], Callable[[], None]], influx_port: int,  # noqa: F811
    servers: list[RecordedInflux], registered: sessionmaker[Session], devices_side: DeviceSide,  # noqa: F811
) -> None:
    server = RecordedInflux(influx_port).start()
    servers.append(server)
    start_worker(influx_port)
    devices_side.subscribe(RECEIPT_TOPIC)

    for payload in chain(KINDS):
        devices_side.publish(EVENT_TOPIC, payload)

    wait_until(lambda: {"acked_seq": len(KINDS)} in receipts(devices_side), what="the receipt for every event")
    wait_until(lambda: len(server.stored) == len(expected_lines(KINDS)), what="the readings in InfluxDB")
    assert server.stored == expected_lines(KINDS)
    assert {request.path for request in server.requests} == {"/api/v2/write"}
    assert stored_types(registered) == KINDS

    # A resend the hub already has is receipted again but not written to InfluxDB twice.
    before = len(receipts(devices_side))
    devices_side.publish(EVENT_TOPIC, chain(KINDS)[0])
    wait_until(lambda: len(receipts(devices_side)) > before, what="the duplicate receipted")
    assert server.stored == expected_lines(KINDS)


def test_with_influxdb_down_every_event_is_stored_and_receipted_and_the_readings_spooled_at_shutdown(
    start_worker: Callable[[int], Callable[[], None]], influx_port: int,  # noqa: F811
    registered: sessionmaker[Session], devices_side: DeviceSide, tmp_path: Path,
) -> None:
    # Nothing listens on influx_port: every write is refused.
    kinds = KINDS * 4
    stop_worker = start_worker(influx_port)
    devices_side.subscribe(RECEIPT_TOPIC)

    for payload in chain(kinds):
        devices_side.publish(EVENT_TOPIC, payload)

    wait_until(lambda: {"acked_seq": len(kinds)} in receipts(devices_side), what="the receipt for every event")
    assert stored_types(registered) == kinds

    # At shutdown what InfluxDB never took is kept for the next start, in order: nothing is lost.
    stop_worker()
    assert (tmp_path / "influx-spool.lp").read_text().splitlines() == expected_lines(kinds)
