"""Nothing lost, nothing twice (PROTOCOL.md §7), under the faults a care home really has.

Three real door agents send 2,000 events each while the hub worker is SIGKILLed three times, the broker
crashes once (SIGKILL: whatever it held only in memory is gone) and one agent's network is cut for 30 s.
At the end every (device, seq) is stored exactly once, every chain verifies, no gap is left and every
receipt covers its device.

A fourth agent, the negative control, deletes from its outbox on the broker's PUBACK instead of the hub's
receipt. In the same run it must show loss: proof that this test can see loss at all.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from edge.agent import DoorAgent
from edge.link import HubLink
from edge.settings import AgentSettings, DoorPins
from firmware_sim.local_services import LocalBroker
from hub.ingest.gaps import find_gaps
from protocol.signing import GENESIS_PREV, chain_hash
from tests.system.tcp_link import CuttableLink

SITE = "faulthome"
EVENTS_PER_AGENT = 2000
RECORD_SECONDS = 40.0


class ReceiptIgnoringLink(HubLink):
    """WRONG on purpose: treats the broker's PUBACK as if the hub had stored the event."""

    agent: DoorAgent

    def on_broker_accepted(self, seq: int) -> None:
        self.agent.outbox.confirm_through(seq)


class HubWorker:
    """The real hub worker as its own process, so it can be SIGKILLed and started again."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=self.env, stdout=log, stderr=log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def hub(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, check=True, capture_output=True, text=True).stdout


def wait_until(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def crashable_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    running = LocalBroker(tmp_path / "broker").start()
    yield running
    running.stop()


@pytest.mark.slow
def test_nothing_lost_nothing_twice_under_faults(tmp_path: Path, crashable_broker: LocalBroker) -> None:
    broker = crashable_broker
    env = {
        **os.environ,
        "THRESHOLD_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "THRESHOLD_HUB_MQTT_PORT": str(broker.port),
        "THRESHOLD_HUB_KEY_FILE": str(tmp_path / "hub-key.pem"),
        "THRESHOLD_HUB_MQTT_CLIENT_ID": "fault-hub",
    }
    hub(env, "migrate")
    hub_public_key = hub(env, "hub-key").strip().split()[-1]

    cut_link = CuttableLink(broker.port)
    agents: dict[str, DoorAgent] = {}
    for number, (link_class, port) in enumerate(
        [(HubLink, broker.port), (HubLink, broker.port), (HubLink, cut_link.port), (ReceiptIgnoringLink, broker.port)],
        start=1,
    ):
        settings = AgentSettings(
            device_id=f"door-{number:02d}", site=SITE, data_dir=tmp_path / f"agent-{number}", broker_port=port,
            hub_public_key=hub_public_key, doors={"d1": DoorPins(contact=17)}, resend_after_s=3.0,
            default_heartbeat_s=3600,
        )
        agent = DoorAgent(settings, pin_factory=MockFactory(), link_class=link_class)
        if isinstance(agent.link, ReceiptIgnoringLink):
            agent.link.agent = agent
        agents[settings.device_id] = agent
        hub(env, "device", "add", "--site", SITE, "--device", agent.device, "--public-key", agent.public_key_b64,
            "--door", f"d1=room-{number:02d}")
    honest = ["door-01", "door-02", "door-03"]
    control = "door-04"

    worker = HubWorker(env, tmp_path / "hub-worker.log")
    worker.start()
    for agent in agents.values():
        agent.start()

    def send(agent: DoorAgent) -> None:
        for n in range(EVENTS_PER_AGENT):
            agent.record("motion.detected" if n % 2 == 0 else "motion.cleared", "d1", {})
            time.sleep(RECORD_SECONDS / EVENTS_PER_AGENT)

    senders = [threading.Thread(target=send, args=(agent,)) for agent in agents.values()]
    started = time.monotonic()
    for sender in senders:
        sender.start()

    def at(second: float) -> None:
        time.sleep(max(0.0, started + second - time.monotonic()))

    at(4), worker.kill(), at(6), worker.start()
    at(8), cut_link.cut()
    wait_until(lambda: not agents["door-03"].link.connected.is_set(), 10, "the cut agent to notice")
    at(14), worker.kill(), at(15), worker.start()
    # The hub is away while the broker crashes: what the broker held for it only in memory is lost.
    at(22), worker.kill(), at(25), broker.process.send_signal(signal.SIGKILL), broker.process.wait()
    at(27), broker.start(), worker.start()
    at(38), cut_link.restore()
    for sender in senders:
        sender.join()

    engine = create_engine(env["THRESHOLD_HUB_DATABASE_URL"])

    def stored(device: str) -> list[tuple[int, str, str, str]]:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT seq, prev, hash, signed FROM events WHERE device = :d ORDER BY seq"), {"d": device}
            ).all()

    try:
        wait_until(
            lambda: all(agents[d].outbox.pending_count() == 0 and agents[d].last_receipt == agents[d].outbox.last_seq()
                        for d in honest),
            timeout_s=180, what="every honest agent's outbox to be receipted",
        )
        for device in honest:
            rows = stored(device)
            last_seq = agents[device].outbox.last_seq()
            assert last_seq >= EVENTS_PER_AGENT
            assert [row.seq for row in rows] == list(range(1, last_seq + 1)), f"{device}: a seq is missing or twice"
            prev = GENESIS_PREV
            for row in rows:
                assert row.prev == prev, f"{device} seq {row.seq}: chain broken"
                assert row.hash == chain_hash(row.signed.encode()), f"{device} seq {row.seq}: hash does not match"
                prev = row.hash
            with Session(engine) as session:
                assert find_gaps(session, device) == [], f"{device}: gaps left"
        wait_until(lambda: agents[control].outbox.pending_count() == 0, 30, "the control's outbox to empty")
        control_seqs = {row.seq for row in stored(control)}
        lost = set(range(1, agents[control].outbox.last_seq() + 1)) - control_seqs
        assert lost, "the negative control lost nothing: this test could not have seen loss"
        print(f"negative control lost {len(lost)} of {agents[control].outbox.last_seq()} events")
    finally:
        for agent in agents.values():
            agent.stop()
        worker.stop()
        cut_link.close()
        engine.dispose()
