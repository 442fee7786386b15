"""`make demo`: a simulated home of 12 rooms, end to end, on this machine.

Mosquitto (the project's config), the hub worker and API on SQLite, and twelve real door agents on gpiozero
mock pins playing a night again and again. Everything lives under `data/demo/` and is made anew each run.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy.orm import Session

from firmware_sim.home import SimulatedHome
from firmware_sim.local_services import PROJECT_ROOT, LocalBroker, free_port, wait_for_port
from firmware_sim.scenario import load_scenario, play
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.keys import load_or_create_hub_key
from hub.registry import register_device
from protocol.signing import public_key_b64

SITE = "demo-home"
ROOMS = 12


def hub_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "hub", *command], env=env, stdout=out, stderr=out)


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "data" / "demo")
    parser.add_argument("--api-port", type=int, default=8000)
    args = parser.parse_args(argv)

    shutil.rmtree(args.data_dir, ignore_errors=True)
    args.data_dir.mkdir(parents=True)
    broker = LocalBroker(args.data_dir / "broker").start()
    api_port = args.api_port if _free(args.api_port) else free_port()
    database_url = f"sqlite:///{args.data_dir / 'hub.db'}"
    env = {
        **os.environ,
        "THRESHOLD_HUB_DATABASE_URL": database_url,
        "THRESHOLD_HUB_MQTT_PORT": str(broker.port),
        "THRESHOLD_HUB_KEY_FILE": str(args.data_dir / "hub-key.pem"),
    }
    upgrade(database_url)
    hub_key = load_or_create_hub_key(args.data_dir / "hub-key.pem")
    home = SimulatedHome(
        ROOMS, broker_port=broker.port, data_dir=args.data_dir / "doors", hub_public_key=public_key_b64(hub_key),
        site=SITE, default_heartbeat_s=30, default_reading_s=30,
    )
    engine = make_engine(database_url)
    with Session(engine) as session:
        for site, device, public_key, doors in home.devices():
            register_device(session, site=site, device=device, public_key=public_key, doors=doors)
        session.commit()
    engine.dispose()

    worker = hub_process(["worker"], env, args.data_dir / "hub-worker.log")
    api = hub_process(["api", "--host", "127.0.0.1", "--port", str(api_port)], env, args.data_dir / "hub-api.log")
    scenario = load_scenario("night")
    base = f"http://127.0.0.1:{api_port}"
    try:
        wait_for_port(api_port, 30)
        home.start()
        print(
            f"\nThreshold demo: {ROOMS} door agents, Mosquitto on 127.0.0.1:{broker.port}, hub on {database_url}\n"
            f"  API and its OpenAPI docs   {base}/docs\n"
            f"  devices, status, last seen {base}/api/v1/devices\n"
            f"  events as stored           {base}/api/v1/events?site={SITE}\n"
            f"  logs                       {args.data_dir}/hub-worker.log, hub-api.log, broker/mosquitto.log\n"
            "Ctrl-C stops it.\n",
            flush=True,
        )
        started = time.monotonic()
        rounds = 0
        while args.seconds is None or time.monotonic() - started < args.seconds:
            rounds += 1
            for offset in range(0, ROOMS - scenario.rooms + 1, scenario.rooms):
                play(home, scenario, speed=1.0, room_offset=offset)
            devices = get_json(f"{base}/api/v1/devices")
            stored = sum(device["acked_seq"] for device in devices)
            online = sum(device["status"] == "online" for device in devices)
            print(f"night {rounds} played: {online}/{len(devices)} doors online, {stored} events stored", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        home.stop()
        for process in (api, worker):
            process.terminate()
            process.wait(30)
        broker.stop()


def _free(port: int) -> bool:
    try:
        wait_for_port(port, 0.1)
    except TimeoutError:
        return True
    return False


if __name__ == "__main__":
    main()
