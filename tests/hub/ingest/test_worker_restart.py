"""The worker killed outright mid-stream and started again loses nothing and stores nothing twice."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from firmware_sim.local_services import PROJECT_ROOT, LocalBroker
from hub.db.models import DeviceHead, RejectedMessage, StoredEvent
from hub.ingest.gaps import find_gaps
from protocol.topics import DeviceChannel, device_topic
from tests.hub.conftest import (
    DEVICE,
    EVENT_TOPIC,
    SITE,
    VECTOR_KEY,
    DeviceSide,
    signed_chain,
    wait_for_hub_subscribed,
    wait_until,
)

EVENTS = 1500


class WorkerProcess:
    """`python -m hub worker` as its own process, configured only through the environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "hub", "worker"], cwd=PROJECT_ROOT,
                                            env=self.env, stdout=log, stderr=log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


@pytest.fixture
def worker_process(
    broker: LocalBroker, migrated_url: str, registered: sessionmaker[Session], tmp_path: Path
) -> Iterator[WorkerProcess]:
    env = {
        **os.environ,
        "THRESHOLD_HUB_DATABASE_URL": migrated_url,
        "THRESHOLD_HUB_MQTT_PORT": str(broker.port),
        "THRESHOLD_HUB_KEY_FILE": str(tmp_path / "hub-key.pem"),
        "THRESHOLD_HUB_BATCH_MAX": "50",
        "THRESHOLD_HUB_CONFIG_POLL_S": "0.2",
    }
    process = WorkerProcess(env, tmp_path / "worker.log")
    yield process
    if process.process is not None and process.process.poll() is None:
        process.process.kill()
        process.process.wait(timeout=10)


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(StoredEvent).where(StoredEvent.device == DEVICE))


def test_sigkill_mid_stream_loses_nothing(
    worker_process: WorkerProcess, registered: sessionmaker[Session], broker: LocalBroker
) -> None:
    worker_process.start()
    wait_for_hub_subscribed(broker.port)
    # Motion, not door openings: this is about ingest surviving kills; 1,500 door openings in a row would each
    # be decided and alerted (tests/hub/decisions covers that), which is not what is measured here.
    chain = signed_chain(VECTOR_KEY, DEVICE, range(1, EVENTS + 1), type="motion.detected")
    side = DeviceSide(broker.port)
    side.subscribe(device_topic(SITE, DEVICE, DeviceChannel.RECEIPT))
    publisher = threading.Thread(target=lambda: [side.publish(EVENT_TOPIC, chain[seq]) for seq in sorted(chain)])
    publisher.start()
    try:
        for kill_after in (200, 700):
            wait_until(lambda: count(registered) >= kill_after, timeout_s=30, what=f"{kill_after} events stored")
            worker_process.kill()
            worker_process.start()
        publisher.join(timeout=60)
        wait_until(lambda: count(registered) == EVENTS, timeout_s=60, what="every event stored")
        with registered() as session:
            seqs = list(session.scalars(select(StoredEvent.seq).where(StoredEvent.device == DEVICE).order_by(StoredEvent.seq)))
            head = session.get(DeviceHead, DEVICE)
            assert seqs == list(range(1, EVENTS + 1))
            assert (head.acked_seq, head.max_seq) == (EVENTS, EVENTS)
            assert find_gaps(session, DEVICE) == []
            assert session.scalar(select(func.count()).select_from(RejectedMessage)) == 0
        wait_until(lambda: any(json.loads(m.payload) == {"acked_seq": EVENTS}
                               for m in side.on(device_topic(SITE, DEVICE, DeviceChannel.RECEIPT))),
                   what="the final receipt")
        assert worker_process.stop() == 0  # SIGTERM: a clean stop
    finally:
        side.close()


def test_a_stop_asked_for_while_starting_is_a_clean_stop(worker_process: WorkerProcess) -> None:
    worker_process.start()
    time.sleep(0.3)  # inside its start-up (imports, migrations): what systemd or a test may stop at any moment
    assert worker_process.stop() == 0
