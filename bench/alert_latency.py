"""Alert latency: from the publish of a `door.opened` that makes an unpermitted entry to the alert arriving at a
Server-Sent Events client of the hub API, while other doors add a background of events.

    .venv/bin/python bench/alert_latency.py [--entries 1000] [--doors 50] [--background-rate 1000]
                                            [--every 0.15] [--hold 1.0] [--back-to-back]
                                            [--database sqlite|postgresql]

The entries go round the home's doors (`--doors`); each door opens with no knock (an unpermitted entry: "no knock")
and closes again. By default they come on a schedule whatever the hub does (open loop: one every `--every` seconds,
each door closing `--hold` seconds after it opened), so a slow alert cannot slow the entries after it and hide
itself. With `--back-to-back` (the design of earlier runs) each entry waits for the alert of the one before, its
door closing at once, so every opening lands on the hub re-deciding the entry before it as that door closes.
In the same run, a plain MQTT subscriber on the doors' event topics gives the broker's own publish → subscribe
latency for the very same messages: the floor. Prints p50 / p95 / p99 of both, and the target (p99 ≤ 100 ms).

As in a home, every door sends a heartbeat a minute, and the night lead acknowledges each alert (through the API)
a few seconds after it reaches them, so alerts do not climb the escalation ladder during the run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.signed_load import HEARTBEAT, SignedDevice, connected_client, make_devices, signed_events  # noqa: E402
from firmware_sim.local_services import LocalBroker, LocalPostgres, free_port, wait_for_port  # noqa: E402
from hub.db.engine import make_engine  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.db.models import AccountRole, StaffRole  # noqa: E402
from hub.people.accounts import create_account, issue_token  # noqa: E402
from hub.people.homes import add_home, add_room, add_shift, add_staff  # noqa: E402
from hub.live import alerts_topic  # noqa: E402
from hub.registry import register_device  # noqa: E402
from protocol.envelope import seal  # noqa: E402
from protocol.events import EventType, event_body  # noqa: E402
from protocol.signing import GENESIS_PREV, chain_hash, generate_private_key, signed_bytes  # noqa: E402
from protocol.topics import DeviceChannel, device_topic  # noqa: E402

SITE = "latencyhome"
HEARTBEAT_S = 60
"""Every door says it is alive once a minute, as doors do: without, each would raise `device_offline` 130 s in."""
ACKNOWLEDGE_AFTER_S = 5.0
"""The night lead acknowledges each alert this long after it reaches their phone, as they would (the ladder's next
step is 2 minutes on): unanswered, 1,000 alerts would each climb the ladder during the run."""



def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def prepare(database_url: str, doors: list[SignedDevice], background: list[SignedDevice]) -> str:
    """The home, the alerting door, the background doors and a night lead's API token."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        add_home(session, home_id=SITE, name="Latency home", time_zone="Europe/London")
        for device in [*doors, *background]:
            add_room(session, SITE, device.room)
            register_device(session, site=SITE, device=device.device_id, public_key=device.public_key,
                            doors={"d1": device.room})
        add_staff(session, staff_id="nia", name="Nia", home_id=SITE, role=StaffRole.NIGHT_LEAD)
        now = datetime.now(UTC)
        add_shift(session, staff_id="nia", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=12))
        account = create_account(session, username="nia", password="night lead bench password",
                                 role=AccountRole.NIGHT_LEAD, staff_id="nia")
        token = issue_token(session, account)
        session.commit()
    engine.dispose()
    return token


class AlertStream:
    """An SSE client of the hub API: when each alert arrived."""

    def __init__(self, url: str, token: str) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        self.connected = threading.Event()
        self._url, self._token = url, token
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            self._read()
        except httpx.RemoteProtocolError:
            pass  # the API stopping at the end of the run ends the stream mid-message

    def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "text/event-stream"}
        with httpx.stream("GET", self._url, headers=headers, timeout=None) as response:
            response.raise_for_status()
            self.connected.set()
            kind, live = None, False
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                    live = live or kind == "ready"  # what came before is the snapshot of the board
                elif line.startswith("data:") and kind == "alert" and live:
                    alert = json.loads(line.split(":", 1)[1])
                    if alert["type"] == "unpermitted_entry" and alert["change"] == "raised":
                        self.arrivals.append((time.monotonic(), alert))
                elif not line:
                    kind = None


class NightLead:
    """Acknowledges each alert the stream brings, ACKNOWLEDGE_AFTER_S after it arrived, through the API."""

    def __init__(self, base_url: str, token: str, stream: AlertStream, stop: threading.Event) -> None:
        self.client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.stream, self.stop = stream, stop
        self.acknowledged = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.acknowledged == len(self.stream.arrivals):
                self.stop.wait(0.1)
                continue
            arrived, alert = self.stream.arrivals[self.acknowledged]
            if self.stop.wait(max(0.0, arrived + ACKNOWLEDGE_AFTER_S - time.monotonic())):
                return
            try:
                self.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge").raise_for_status()
            except httpx.HTTPError:
                if self.stop.is_set():
                    return  # the API stopping at the end of the run
                raise
            self.acknowledged += 1


class HubTopic:
    """A plain subscriber on the hub's alerts topic: when the worker's alert left it, before the API's stream."""

    def __init__(self, port: int) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        self.client = connected_client(port)
        self.client.on_message = self._on_message
        self.client.subscribe(alerts_topic(SITE), qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        alert = json.loads(message.payload)
        if alert["type"] == "unpermitted_entry" and alert["change"] == "raised":
            self.arrivals.append((time.monotonic(), alert))


class Floor:
    """A plain subscriber on the alerting door's event topic: the broker's own latency."""

    def __init__(self, port: int, doors: list[SignedDevice]) -> None:
        self.arrivals: dict[tuple[str, int], float] = {}
        self.client = connected_client(port)
        self.client.on_message = self._on_message
        for door in doors:
            self.client.subscribe(device_topic(SITE, door.device_id, DeviceChannel.EVENT), qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        event = json.loads(message.payload)["event"]
        self.arrivals[(event["device"], event["seq"])] = time.monotonic()


def background_load(port: int, messages: list[tuple[str, bytes]], rate: float, stop: threading.Event) -> None:
    client = connected_client(port)
    interval = 1.0 / rate
    started = time.monotonic()
    for n, (topic, payload) in enumerate(messages):
        if stop.is_set():
            break
        delay = started + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        client.publish(topic, payload, qos=1)
    client.loop_stop()
    client.disconnect()


class DoorEvents:
    """The alerting doors' signed events, each chained on the door's last; when each opening or closing was
    published. Heartbeats come from a thread of their own, so each door's chain is extended under a lock."""

    def __init__(self, doors: list[SignedDevice]) -> None:
        self.doors = doors
        self.chains = {door.device_id: (GENESIS_PREV, 0) for door in doors}
        self.published: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()

    def publish(self, client: mqtt.Client, door: SignedDevice, kind: EventType) -> float:
        with self.lock:
            prev, seq = self.chains[door.device_id]
            beat = kind is EventType.DEVICE_HEARTBEAT
            body = event_body(device=door.device_id, seq=seq + 1, prev=prev, boot="latency", mono_ms=seq + 1,
                              ts_ms=int(time.time() * 1000), type=kind, door=None if beat else "d1",
                              data=HEARTBEAT if beat else None)
            self.chains[door.device_id] = (chain_hash(signed_bytes(body)), seq + 1)
            payload = seal(door.key, "event", body)
            sent = time.monotonic()
            if not beat:
                self.published[(door.device_id, seq + 1)] = sent
            client.publish(device_topic(SITE, door.device_id, DeviceChannel.EVENT), payload, qos=1)
        return sent

    def heartbeats(self, client: mqtt.Client, stop: threading.Event) -> None:
        while True:
            for door in self.doors:
                self.publish(client, door, EventType.DEVICE_HEARTBEAT)
            if stop.wait(HEARTBEAT_S):
                return


def back_to_back(client: mqtt.Client, door_events: DoorEvents, entries: int, stream: AlertStream,
                 hub_topic: HubTopic, workdir: Path) -> tuple[list[float], list[float]]:
    latencies: list[float] = []
    on_hub_topic: list[float] = []
    for entry in range(entries + 1):  # the first opening warms the path up and is not counted
        door = door_events.doors[entry % len(door_events.doors)]
        before = len(stream.arrivals)
        sent = door_events.publish(client, door, EventType.DOOR_OPENED)
        deadline = time.monotonic() + 10
        while len(stream.arrivals) == before and time.monotonic() < deadline:
            time.sleep(0.0005)
        if len(stream.arrivals) == before:
            raise RuntimeError(f"no alert for entry {entry}; see {workdir / 'hub.log'}")
        if entry:
            latencies.append((stream.arrivals[before][0] - sent) * 1000)
            # Entries go one at a time, so the n-th alert on the hub's topic is this entry's.
            if len(hub_topic.arrivals) > before:
                on_hub_topic.append((hub_topic.arrivals[before][0] - sent) * 1000)
        time.sleep(0.005)
        door_events.publish(client, door, EventType.DOOR_CLOSED)
        time.sleep(0.005)
    return latencies, on_hub_topic


def on_schedule(client: mqtt.Client, door_events: DoorEvents, entries: int, every: float, hold: float,
                stream: AlertStream, hub_topic: HubTopic) -> tuple[list[float], list[float]]:
    """Entries on a fixed schedule, whatever the hub does; each alert is matched to its opening by room, in order
    (each door has a room of its own, and each opening raises an alert of its own)."""
    due: list[tuple[float, int, EventType]] = [(n * every, n, EventType.DOOR_OPENED) for n in range(entries + 1)]
    due += [(n * every + hold, n, EventType.DOOR_CLOSED) for n in range(entries + 1)]
    due.sort()
    opened: dict[str, list[float]] = {}
    started = time.monotonic()
    for at, entry, kind in due:
        delay = started + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        door = door_events.doors[entry % len(door_events.doors)]
        sent = door_events.publish(client, door, kind)
        if kind is EventType.DOOR_OPENED:
            opened.setdefault(door.room, []).append(sent)
    deadline = time.monotonic() + 30
    while len(stream.arrivals) < entries + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    first = opened[door_events.doors[0].room][0]  # the first opening warms the path up and is not counted

    def matched(arrivals: list[tuple[float, dict]]) -> list[float]:
        by_room: dict[str, list[float]] = {}
        for arrived, alert in arrivals:
            by_room.setdefault(alert["room"], []).append(arrived)
        if any(len(by_room.get(room, [])) != len(sent) for room, sent in opened.items()):
            raise RuntimeError("an opening has no alert, or an alert no opening: cannot match them by room")
        return [(arrived - sent) * 1000 for sent, arrived in sorted(
            pair for room, sent_times in opened.items() for pair in zip(sent_times, by_room[room]) if pair[0] != first)]

    return matched(stream.arrivals), matched(hub_topic.arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--doors", type=int, default=50, help="doors the entries go round")
    parser.add_argument("--background-rate", type=float, default=1000.0, help="background events per second")
    parser.add_argument("--every", type=float, default=0.15, help="seconds between entries (open loop)")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds each door stays open (open loop)")
    parser.add_argument("--back-to-back", action="store_true",
                        help="each entry waits for the alert of the one before, its door closing at once")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    broker = LocalBroker(workdir / "broker").start()
    postgres = LocalPostgres().start() if args.database == "postgresql" else None
    database_url = postgres.create_database("latency") if postgres else f"sqlite:///{workdir / 'hub.db'}"
    doors = [SignedDevice(SITE, f"entry-{n:03d}", generate_private_key(), f"room-e{n:03d}")
             for n in range(1, args.doors + 1)]
    background = make_devices(SITE, 20)
    token = prepare(database_url, doors, background)
    env = {**os.environ, "THRESHOLD_HUB_DATABASE_URL": database_url, "THRESHOLD_HUB_MQTT_PORT": str(broker.port),
           "THRESHOLD_HUB_KEY_FILE": str(workdir / "hub-key.pem")}
    api_port = free_port()
    log = (workdir / "hub.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env, stdout=log, stderr=log)
    api = subprocess.Popen([sys.executable, "-m", "hub", "api", "--port", str(api_port)], env=env, stdout=log,
                           stderr=log)
    stop = threading.Event()
    try:
        wait_for_port(api_port, 30)
        stream = AlertStream(f"http://127.0.0.1:{api_port}/api/v1/live?site={SITE}", token)
        if not stream.connected.wait(30):
            raise RuntimeError(f"the SSE stream did not open; see {workdir / 'hub.log'}")
        night_lead = NightLead(f"http://127.0.0.1:{api_port}", token, stream, stop)
        floor = Floor(broker.port, doors)
        hub_topic = HubTopic(broker.port)
        client = connected_client(broker.port)
        seconds = args.entries * (0.06 if args.back_to_back else args.every) + args.hold + 30
        load = signed_events(background, int(args.background_rate * seconds / len(background)) + 1,
                             heartbeat_every=int(HEARTBEAT_S * args.background_rate / len(background)))
        threading.Thread(target=background_load, args=(broker.port, load, args.background_rate, stop),
                         daemon=True).start()
        time.sleep(2)  # the background is running

        door_events = DoorEvents(doors)
        threading.Thread(target=door_events.heartbeats, args=(client, stop), daemon=True).start()
        if args.back_to_back:
            latencies, on_hub_topic = back_to_back(client, door_events, args.entries, stream, hub_topic, workdir)
        else:
            latencies, on_hub_topic = on_schedule(client, door_events, args.entries, args.every, args.hold, stream,
                                                  hub_topic)
        published = door_events.published
        time.sleep(1)
        floors = [(floor.arrivals[key] - sent) * 1000 for key, sent in published.items() if key in floor.arrivals]
    finally:
        stop.set()
        for process in (api, worker):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # an open event stream can hold uvicorn's graceful shutdown
                process.kill()
                process.wait()
        broker.stop()
        if postgres:
            postgres.stop()

    pace = "back to back" if args.back_to_back else f"one every {args.every:g} s, each door open {args.hold:g} s"
    print(f"{len(latencies)} unpermitted entries on {args.database} ({pace}), "
          f"background {args.background_rate:,.0f} events/s, {night_lead.acknowledged} alerts acknowledged by the "
          f"night lead {ACKNOWLEDGE_AFTER_S:g} s after they arrived")
    print(f"{'path':<36}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, values in (("broker publish → subscribe (floor)", floors),
                         ("door.opened → alert on hub's topic", on_hub_topic),
                         ("door.opened → alert on SSE", latencies)):
        print(f"{name:<36}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}"
              f"{percentile(values, 0.99):>9.1f}")
    tenth = max(1, len(latencies) // 10)
    print("p50 by tenth of the run (ms): " + " ".join(
        f"{statistics.median(latencies[i:i + tenth]):.0f}" for i in range(0, len(latencies), tenth)))
    p99 = percentile(latencies, 0.99)
    print(f"target p99 ≤ 100 ms: {'ok' if p99 <= 100 else 'MISS'} ({p99:.1f} ms; "
          f"{p99 / max(percentile(floors, 0.99), 0.001):.0f}× the broker's p99)")


if __name__ == "__main__":
    main()
