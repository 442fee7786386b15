"""Ingest rate: the hub (verify, store once, receipt) against a bare paho subscriber, same broker, same run.

    .venv/bin/python bench/ingest_rate.py [--devices 50] [--events 400] [--rounds 3]

Each round publishes the same number of freshly signed events three ways through one Mosquitto (the project's
config): to a bare QoS 1 subscriber that only counts them, to the hub worker on SQLite, and to the hub worker on
PostgreSQL. The hub's time runs from the first publish until every device's receipt covers its last event.
Prints each round, then the medians and the ratio hub / bare (target: ≥ 0.5).
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.signed_load import SignedDevice, connected_client, make_devices, publish_all, signed_events  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from firmware_sim.local_services import LocalBroker, LocalPostgres  # noqa: E402
from hub.db.engine import make_engine  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.registry import register_device  # noqa: E402
from protocol.messages import Receipt  # noqa: E402
from protocol.topics import event_subscription  # noqa: E402


def bare_subscriber(port: int, site: str, expected: int, ready: "multiprocessing.Event", done: "multiprocessing.Queue") -> None:
    import paho.mqtt.client as mqtt

    client = connected_client(port, client_id="bench-bare")
    count = 0

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        nonlocal count
        count += 1
        if count == expected:
            done.put(time.monotonic())

    client.on_message = on_message
    client.subscribe(event_subscription(site), qos=1)
    time.sleep(0.5)
    ready.set()
    while True:
        time.sleep(3600)


def run_bare(port: int, devices: list[SignedDevice], per_device: int) -> float:
    messages = signed_events(devices, per_device)
    context = multiprocessing.get_context("spawn")
    ready, done = context.Event(), context.Queue()
    process = context.Process(target=bare_subscriber, args=(port, devices[0].site, len(messages), ready, done), daemon=True)
    process.start()
    ready.wait(20)
    started = publish_all(port, messages)
    finished = done.get(timeout=300)
    process.kill()
    return len(messages) / (finished - started)


class ReceiptWatch:
    """Waits until every device's receipt covers a seq."""

    def __init__(self, port: int, devices: list[SignedDevice]) -> None:
        self.acked = {device.device_id: 0 for device in devices}
        self.target = 0
        self.reached = threading.Event()
        self.finished_at = 0.0
        self.client = connected_client(port)
        self.client.on_message = self._on_receipt
        self.client.subscribe(f"threshold/v1/{devices[0].site}/device/+/receipt", qos=1)

    def expect(self, seq: int) -> None:
        self.target = seq
        self.reached.clear()

    def _on_receipt(self, client: object, userdata: object, message: object) -> None:
        device = message.topic.split("/")[4]
        self.acked[device] = Receipt.model_validate_json(message.payload).acked_seq
        if self.target and min(self.acked.values()) >= self.target and not self.reached.is_set():
            self.finished_at = time.monotonic()
            self.reached.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def hub_environment(database_url: str, port: int, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "THRESHOLD_HUB_DATABASE_URL": database_url,
        "THRESHOLD_HUB_MQTT_PORT": str(port),
        "THRESHOLD_HUB_KEY_FILE": str(workdir / "hub-key.pem"),
        "THRESHOLD_HUB_MQTT_CLIENT_ID": f"bench-hub-{workdir.name}",
    }


def register(database_url: str, devices: list[SignedDevice]) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        for device in devices:
            register_device(session, site=device.site, device=device.device_id, public_key=device.public_key,
                            doors={"d1": device.room})
        session.commit()
    engine.dispose()


def run_hub(database_url: str, port: int, devices: list[SignedDevice], per_device: int) -> float:
    workdir = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    env = hub_environment(database_url, port, workdir)
    register(database_url, devices)
    log = (workdir / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env, stdout=log, stderr=log)
    watch = ReceiptWatch(port, devices)
    try:
        # Each device's first event warms the hub up (connection, caches); the clock runs on the rest.
        chain = signed_events(devices, per_device + 1)
        warmup, messages = chain[: len(devices)], chain[len(devices) :]
        watch.expect(1)
        # Resent until receipted, as an agent would: the worker may not have subscribed yet.
        deadline = time.monotonic() + 60
        while not watch.reached.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not receipt the warm-up events; see {workdir / 'worker.log'}")
            publish_all(port, warmup)
            watch.reached.wait(1)
        watch.expect(per_device + 1)
        started = publish_all(port, messages)
        if not watch.reached.wait(600):
            raise RuntimeError(f"the hub stopped short: receipts {watch.acked}")
        return len(messages) / (watch.finished_at - started)
    finally:
        watch.close()
        worker.terminate()
        worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--events", type=int, default=400, help="events per device per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    broker = LocalBroker().start()
    postgres = LocalPostgres().start()
    results: dict[str, list[float]] = {"bare": [], "hub-sqlite": [], "hub-postgresql": []}
    try:
        for round_number in range(1, args.rounds + 1):
            home = f"bench-{round_number}"
            results["bare"].append(run_bare(broker.port, make_devices(f"{home}-bare", args.devices), args.events))
            sqlite_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-sqlite-')}/hub.db"
            sqlite_devices = make_devices(f"{home}-sqlite", args.devices)
            results["hub-sqlite"].append(run_hub(sqlite_url, broker.port, sqlite_devices, args.events))
            pg_url = postgres.create_database(f"bench_{round_number}")
            pg_devices = make_devices(f"{home}-pg", args.devices)
            results["hub-postgresql"].append(run_hub(pg_url, broker.port, pg_devices, args.events))
            print(f"round {round_number}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()), flush=True)
    finally:
        postgres.stop()
        broker.stop()

    bare = statistics.median(results["bare"])
    print(f"\n{args.devices} devices × {args.events} events, QoS 1, MQTT 5, medians of {args.rounds} rounds")
    print(f"{'path':<16}{'events/s':>12}{'× bare':>9}{'target':>9}")
    for name, rates in results.items():
        rate = statistics.median(rates)
        target = "" if name == "bare" else ("≥ 0.5 ok" if rate / bare >= 0.5 else "≥ 0.5 MISS")
        print(f"{name:<16}{rate:>12,.0f}{rate / bare:>9.2f}{target:>11}")


if __name__ == "__main__":
    main()
