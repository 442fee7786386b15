"""Timeline reads: a year of a 60-room home, then one room's night and the whole home's night as timelines,
each beside the raw indexed SQL query that fetches the same rows; and the export of a one-night case.

    .venv/bin/python bench/timeline_reads.py [--events 5000000] [--rooms 60] [--nights 50] [--engine both]

Per room and day: a heartbeat and a reading every 15 minutes (96 each: a 15-minute heartbeat keeps a year of 60
rooms near 5 M events; the offline limit is set to twice that), and 4 knock-and-wait episodes of 9 events each
(knock, indicator, answer, indicator, door opened, motion, door closed, motion cleared, indicator idle), each
opening with its entry decision. Bodies are real canonical JSON; `prev`, `hash` and `sig` are one fixed dummy for
every row: reads never verify, so the cost measured is the same. SQLite loads with executemany in 50,000-row
transactions, PostgreSQL with COPY (hub/db/bulk.py).

"Warm": the median of three runs per night after a first one. "Cold": the first run of a night on a fresh
engine (a new connection, no page of that night touched by this process; the OS page cache is not dropped).
The timeline time includes all its queries (rows, heartbeats before the window, heads, offline alerts, entries)
and the assembly, not the HTTP layer's JSON encoding.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from firmware_sim.local_services import LocalPostgres  # noqa: E402
from hub.core.heap import settle  # noqa: E402
from hub.db.bulk import append_events  # noqa: E402
from hub.db.engine import make_engine, make_session_factory  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.db.models import Device, DeviceHead, EntryRecord, Home, Room  # noqa: E402
from hub.evidence.bundle import export_bundle  # noqa: E402
from hub.evidence.cases import open_case  # noqa: E402
from hub.timelines.assemble import assemble  # noqa: E402
from hub.timelines.load import home_query, load_home, load_room, ms, room_query  # noqa: E402
from hub.timelines.window import night  # noqa: E402
from protocol.events import event_body  # noqa: E402
from protocol.signing import GENESIS_PREV, generate_private_key, signed_bytes  # noqa: E402

SITE = "bench"
ZONE = "Europe/London"
START = datetime(2025, 11, 1, tzinfo=UTC)
SLOT = timedelta(minutes=15)
OFFLINE_AFTER = 2 * SLOT
PER_ROOM_DAY = 96 * 2 + 4 * 9
CHUNK = 50_000
DUMMY_HASH = GENESIS_PREV
DUMMY_SIG = "A" * 86 + "=="
EPISODE = [("knock.requested", 0), ("indicator.changed", 0.3), ("consent.granted", 12), ("indicator.changed", 12.2),
           ("door.opened", 20), ("motion.detected", 22), ("door.closed", 300), ("motion.cleared", 900),
           ("indicator.changed", 301)]


def room_day(device: str, room: str, day: datetime, seq: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """One room's day in device-time order (seqs count up with time)."""
    events: list[tuple[datetime, str, str | None, dict[str, Any]]] = []
    for slot in range(96):
        moment = day + slot * SLOT + timedelta(seconds=rng.randint(0, 30))
        events.append((moment, "device.heartbeat", None, {"uptime_s": slot * 900, "clock_synced": True,
                                                          "clock_offset_ms": rng.randint(-40, 40), "outbox": 0,
                                                          "fw": "1.0"}))
        events.append((moment + timedelta(seconds=60), "env.reading", None, {
            "temp_c_x100": rng.randint(1900, 2300), "rh_x100": rng.randint(3500, 5500), "co2_ppm": None}))
    for _ in range(4):
        begin = day + timedelta(seconds=rng.randint(0, 86_000 - 1000))
        request = f"{device}-{begin.timestamp():.0f}"
        states = iter(["waiting", "come_in", "idle"])
        for type, after in EPISODE:
            data: dict[str, Any] = {}
            if type == "knock.requested":
                data = {"request": request, "source": "button", "staff": f"staff-{rng.randint(1, 12)}"}
            elif type == "consent.granted":
                data = {"request": request}
            elif type == "indicator.changed":
                data = {"state": next(states)}
            door = None if type.startswith("motion") else "d1"
            events.append((begin + timedelta(seconds=after), type, door, data))
    events.sort(key=lambda event: event[0])
    for moment, type, door, data in events:
        seq += 1
        ts_ms = int(moment.timestamp() * 1000)
        body = event_body(device=device, seq=seq, prev=DUMMY_HASH, boot="boot-1", mono_ms=seq, ts_ms=ts_ms,
                          type=type, door=door, data=data)
        yield {"site": SITE, "device": device, "seq": seq, "type": type, "door": door,
               "room": room if door else None, "ts_ms": ts_ms, "mono_ms": seq, "boot": "boot-1", "prev": DUMMY_HASH,
               "hash": DUMMY_HASH, "sig": DUMMY_SIG, "signed": signed_bytes(body).decode("utf-8"),
               "received_at": moment + timedelta(milliseconds=rng.randint(5, 400))}


def load(engine: Engine, events: int, rooms: int) -> int:
    days = max(1, events // (rooms * PER_ROOM_DAY))
    rng = random.Random(7)
    now = START + timedelta(days=days + 1)
    with make_session_factory(engine)() as session:
        session.add(Home(id=SITE, name="Bench", time_zone=ZONE, created_at=START))
        for index in range(1, rooms + 1):
            session.add(Room(home_id=SITE, id=f"room-{index:02d}", created_at=START))
            session.add(Device(id=f"door-{index:02d}", site=SITE, public_key=DUMMY_HASH,
                               doors={"d1": f"room-{index:02d}"}, created_at=START, status="online"))
        session.commit()
    seqs = dict.fromkeys(range(1, rooms + 1), 0)
    batch: list[dict[str, Any]] = []
    total = 0
    started = time.perf_counter()
    with engine.connect() as connection:
        for day_index in range(days):
            day = START + timedelta(days=day_index)
            for index in range(1, rooms + 1):
                device, room = f"door-{index:02d}", f"room-{index:02d}"
                for row in room_day(device, room, day, seqs[index], rng):
                    batch.append(row)
                seqs[index] = batch[-1]["seq"]
                if len(batch) >= CHUNK:
                    total += _flush(connection, batch)
            print(f"\r  day {day_index + 1}/{days}: {total:,} events, {time.perf_counter() - started:.0f} s",
                  end="", file=sys.stderr, flush=True)
        total += _flush(connection, batch)
    print(file=sys.stderr)
    with make_session_factory(engine)() as session:
        for index, top in seqs.items():
            session.add(DeviceHead(device=f"door-{index:02d}", acked_seq=top, max_seq=top))
        session.commit()
    _entries(engine)
    if engine.dialect.name == "postgresql":
        # What autovacuum does as a home's year is written: loaded in two minutes, it would be read before autovacuum
        # caught up, and planned without statistics (one room's night measured four times slower).
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    print(f"  loaded {total:,} events over {days} days in {time.perf_counter() - started:.0f} s; now {now:%Y-%m-%d}")
    return days


def _flush(connection: Any, batch: list[dict[str, Any]]) -> int:
    with connection.begin():
        append_events(connection, batch)
    count = len(batch)
    batch.clear()
    return count


def _entries(engine: Engine) -> None:
    """An entry decision for every door opening, as the worker would have made it."""
    from sqlalchemy import select

    from hub.db.models import StoredEvent

    with engine.connect() as connection:
        openings = connection.execute(select(StoredEvent.id, StoredEvent.device, StoredEvent.room,
                                             StoredEvent.ts_ms).where(StoredEvent.type == "door.opened")).all()
        connection.commit()
        rows = [{
            "door_opened_event_id": row.id, "revision": 1, "cause": "first",
            "decided_at": datetime.fromtimestamp(row.ts_ms / 1000, UTC), "site": SITE, "room": row.room,
            "device": row.device, "door": "d1", "resident_id": None,
            "opened_at": datetime.fromtimestamp(row.ts_ms / 1000, UTC), "kind": "entry", "outcome": "permitted",
            "reason": "consent", "sentence": "entered after the resident said come in", "rules_version": "entries-v1",
            "preference_version": None, "who": "unidentified", "knock_event_id": row.id - 4,
            "answer_event_id": row.id - 2, "waited_ms": 20_000, "wait_s": 30, "closed_at": None, "inside_ms": None,
            "rests_on": [str(row.id - 4), str(row.id - 2), str(row.id)], "review_required": False,
        } for row in openings]
        for first in range(0, len(rows), CHUNK):
            with connection.begin():
                connection.execute(insert(EntryRecord.__table__), rows[first:first + CHUNK])


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def measure(url: str, days: int, rooms: int, nights: int) -> dict[str, tuple[float, float]]:
    from zoneinfo import ZoneInfo

    rng = random.Random(11)
    zone = ZoneInfo(ZONE)
    picks = [(night((START + timedelta(days=rng.randint(1, days - 2))).date(), zone), f"room-{rng.randint(1, rooms):02d}")
             for _ in range(nights * 2)]
    now = START + timedelta(days=days + 1)
    settle()  # as the API process does once it has started (hub/core/heap.py)

    def raw_room(session: Session, window: Any, room: str) -> int:
        device = f"door-{int(room[-2:]):02d}"
        return len(session.connection().execute(*room_query(SITE, room, [device], ms(window[0]), ms(window[1]))).all())

    def timeline_room(session: Session, window: Any, room: str) -> int:
        return len(assemble(load_room(session, SITE, room, window[0], window[1], now, OFFLINE_AFTER)).items)

    def raw_home(session: Session, window: Any, _room: str) -> int:
        return len(session.connection().execute(*home_query(SITE, ms(window[0]), ms(window[1]))).all())

    def timeline_home(session: Session, window: Any, _room: str) -> int:
        return len(assemble(load_home(session, SITE, window[0], window[1], now, OFFLINE_AFTER)).items)

    results: dict[str, tuple[float, float]] = {}
    sizes: dict[str, int] = {}
    for name, work in (("room raw", raw_room), ("room timeline", timeline_room), ("home raw", raw_home),
                       ("home timeline", timeline_home)):
        # Cold: each night touched for the first time, on a fresh engine; raw and timeline on different nights.
        sample = picks[:nights] if "raw" in name else picks[nights:]
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            cold = [_timed(lambda w=window, r=room: work(session, w, r)) for window, room in sample]
            warm = []
            for window, room in sample:
                sizes[name] = work(session, window, room)
                warm.append(statistics.median(_timed(lambda w=window, r=room: work(session, w, r)) for _ in range(3)))
        engine.dispose()
        results[f"{name} warm"] = _percentiles(warm)
        results[f"{name} cold"] = _percentiles(cold)
    print(f"  rows in the last night measured: {sizes}")
    return results


def export_case(url: str, days: int) -> float:
    from zoneinfo import ZoneInfo

    engine = make_engine(url)
    window = night((START + timedelta(days=days // 2)).date(), ZoneInfo(ZONE))
    with make_session_factory(engine)() as session:
        case = open_case(session, site=SITE, opened_by="bench", reason="benchmark", rooms=["room-07"], staff=[],
                         window_from=window[0], window_to=window[1], now=window[1])
        session.commit()
        with tempfile.TemporaryDirectory() as folder:
            took = _timed(lambda: export_bundle(session, case.id, Path(folder) / "case.zip", generate_private_key(),
                                                window[1]))
    engine.dispose()
    return took


def run(engine_name: str, url: str, events: int, rooms: int, nights: int) -> None:
    print(f"{engine_name}:")
    upgrade(url)
    engine = make_engine(url)
    days = load(engine, events, rooms)
    engine.dispose()
    results = measure(url, days, rooms, nights)
    for view in ("room", "home"):
        for state in ("warm", "cold"):
            raw, full = results[f"{view} raw {state}"], results[f"{view} timeline {state}"]
            print(f"  {view} night, {state}: raw p50/p95 {raw[0]:.2f}/{raw[1]:.2f} ms; timeline "
                  f"{full[0]:.2f}/{full[1]:.2f} ms; ratio p50 {full[0] / raw[0]:.1f}x p95 {full[1] / raw[1]:.1f}x")
    print(f"  one-night case export (room-07): {export_case(url, days) / 1000:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--rooms", type=int, default=60)
    parser.add_argument("--nights", type=int, default=50)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="timeline-bench-") as folder:
        if args.engine in ("sqlite", "both"):
            run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.events, args.rooms, args.nights)
        if args.engine in ("postgresql", "both"):
            cluster = LocalPostgres().start()
            try:
                run("PostgreSQL", cluster.create_database("timeline_bench"), args.events, args.rooms, args.nights)
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
