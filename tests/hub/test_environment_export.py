"""Room readings to InfluxDB 2, held to the v2 write API's recorded responses.

InfluxDB 2 is a third-party server that cannot be installed on our machines (Debian ships only 1.6, without the
v2 API). A small HTTP server here replays its documented responses (`recordings/influxdb_v2_write.json`) and
records exactly what the export sent; it "stores" a request's lines only when it answers 204, as InfluxDB does.
"""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from firmware_sim.local_services import free_port
from hub.environment_export import EnvironmentExport, InfluxSettings, RoomReading
from protocol.events import event_body
from protocol.signing import GENESIS_PREV, signed_bytes
from tests.hub.conftest import wait_until

RECORDED = json.loads((Path(__file__).parent / "recordings" / "influxdb_v2_write.json").read_text())
TOKEN = "threshold-test-token"


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str


@dataclass
class RecordedInflux:
    """Answers each write with the next scripted response (then 204), holding requests while `hold` is set."""

    port: int
    script: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "RecordedInflux":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
                url = urlsplit(self.path)
                recorder.requests.append(Request(url.path, parse_qs(url.query), dict(self.headers), body))
                if recorder.hold.is_set():
                    recorder.holding.set()
                    recorder.release.wait(30)
                name = recorder.script.pop(0) if recorder.script else "written"
                response = RECORDED[name]
                if response["status"] == 204:
                    recorder.stored.extend(body.split("\n"))
                payload = response["body"].encode()
                self.send_response(response["status"])
                for header, value in response["headers"].items():
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def influx_port() -> int:
    return free_port()


@pytest.fixture
def servers() -> Iterator[list[RecordedInflux]]:
    started: list[RecordedInflux] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def exports() -> Iterator[list[EnvironmentExport]]:
    made: list[EnvironmentExport] = []
    yield made
    for export in made:
        if export._thread.is_alive():
            export.close(timeout_s=1)


def settings(port: int, tmp_path: Path, **overrides: object) -> InfluxSettings:
    values: dict[str, object] = {"url": f"http://127.0.0.1:{port}", "token": TOKEN, "org": "care-group",
                                 "bucket": "rooms", "timeout_ms": 5000, "retry_max_s": 0.5,
                                 "spool_file": tmp_path / "spool.lp"}
    return InfluxSettings(**(values | overrides))  # type: ignore[arg-type]


def reading(n: int, co2: int | None = 850, room: str | None = "room-01") -> RoomReading:
    return RoomReading(home="home-1", room=room, device="door-01", ts_ms=1_700_000_000_000 + n * 60_000,
                       temp_c_x100=2150 + n, rh_x100=4520, co2_ppm=co2)


def lines_of(*readings: RoomReading) -> list[str]:
    return [line for item in readings for line in item.line_protocol()]


def test_a_reading_is_written_as_line_protocol_with_the_token_org_bucket_and_precision(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    server = RecordedInflux(influx_port).start()
    servers.append(server)
    export = EnvironmentExport(settings(influx_port, tmp_path))
    exports.append(export)

    export.submit([reading(0), RoomReading(home="home-1", room="blue room, 2", device="door-02",
                                           ts_ms=1_700_000_000_500, temp_c_x100=-50, rh_x100=7001, co2_ppm=None)])

    wait_until(lambda: len(server.stored) == 5, what="five points stored")
    (request,) = server.requests
    assert request.path == "/api/v2/write"
    assert request.query == {"org": ["care-group"], "bucket": ["rooms"], "precision": ["ms"]}
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert request.body.split("\n") == [
        "temperature,device=door-01,home=home-1,room=room-01 celsius=21.5 1700000000000",
        "humidity,device=door-01,home=home-1,room=room-01 percent=45.2 1700000000000",
        "co2,device=door-01,home=home-1,room=room-01 ppm=850i 1700000000000",
        # A room name with a space and a comma is escaped; a reading without CO2 has no co2 point.
        "temperature,device=door-02,home=home-1,room=blue\\ room\\,\\ 2 celsius=-0.5 1700000000500",
        "humidity,device=door-02,home=home-1,room=blue\\ room\\,\\ 2 percent=70.01 1700000000500",
    ]
    wait_until(lambda: export.pending == 0 and export.written == 5, what="the buffer emptied, 5 written")


def test_a_503_is_retried_and_every_point_arrives_once(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    server = RecordedInflux(influx_port, script=["unavailable", "unavailable"]).start()
    servers.append(server)
    export = EnvironmentExport(settings(influx_port, tmp_path))
    exports.append(export)

    export.submit([reading(1), reading(2)])

    wait_until(lambda: server.stored, what="a write InfluxDB took")
    assert [request.body for request in server.requests] == ["\n".join(lines_of(reading(1), reading(2)))] * 3
    assert server.stored == lines_of(reading(1), reading(2))
    assert export.failures == 2 and "HTTP 503" in (export.last_error or "")
    wait_until(lambda: export.pending == 0, what="the buffer emptied")


def test_a_wrong_token_is_retried_until_put_right_and_nothing_is_lost(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    server = RecordedInflux(influx_port, script=["unauthorized"]).start()
    servers.append(server)
    export = EnvironmentExport(settings(influx_port, tmp_path))
    exports.append(export)

    export.submit([reading(3)])

    wait_until(lambda: server.stored == lines_of(reading(3)), what="the reading after the 401")
    assert "HTTP 401" in (export.last_error or "")


def test_influxdb_not_yet_started_then_up_loses_nothing_and_keeps_the_order(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    export = EnvironmentExport(settings(influx_port, tmp_path))
    exports.append(export)

    export.submit([reading(n) for n in range(4)])
    wait_until(lambda: export.failures >= 2, what="failed tries while nothing listens")
    assert "refused" in (export.last_error or "").lower()
    export.submit([reading(n) for n in range(4, 6)])
    assert export.pending == 18

    server = RecordedInflux(influx_port).start()
    servers.append(server)
    wait_until(lambda: len(server.stored) == 18, what="all 18 points once InfluxDB is up")
    assert server.stored == lines_of(*(reading(n) for n in range(6)))
    wait_until(lambda: export.written == 18, what="the export counting 18 written")
    assert export.dropped == 0 and export.pending == 0


def test_submit_never_waits_on_a_hung_influxdb(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    server = RecordedInflux(influx_port)
    server.hold.set()
    servers.append(server.start())
    export = EnvironmentExport(settings(influx_port, tmp_path, timeout_ms=60_000, batch_points=3))
    exports.append(export)
    export.submit([reading(0)])
    wait_until(server.holding.is_set, what="InfluxDB holding the first write")

    later = [reading(n) for n in range(1, 501)]
    submitter = threading.Thread(target=export.submit, args=(later,))
    submitter.start()
    submitter.join(timeout=10)
    assert not submitter.is_alive(), "submit() waited on InfluxDB"
    assert server.holding.is_set() and not server.release.is_set() and len(server.requests) == 1
    assert export.pending == 3 * 501

    server.hold.clear()
    server.release.set()
    wait_until(lambda: len(server.stored) == 3 * 501, what="every point once InfluxDB answers")
    assert server.stored == lines_of(reading(0), *later)


def test_close_sends_what_is_buffered_before_it_returns(
    influx_port: int, servers: list[RecordedInflux], tmp_path: Path
) -> None:
    server = RecordedInflux(influx_port).start()
    servers.append(server)
    export = EnvironmentExport(settings(influx_port, tmp_path, batch_points=7))

    export.submit([reading(n) for n in range(40)])
    export.close()

    assert server.stored == lines_of(*(reading(n) for n in range(40)))
    assert not (tmp_path / "spool.lp").exists()


def test_what_influxdb_has_not_taken_at_shutdown_is_spooled_and_sent_first_next_time(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    first = EnvironmentExport(settings(influx_port, tmp_path))
    first.submit([reading(1), reading(2)])
    wait_until(lambda: first.failures >= 1, what="a failed try while nothing listens")
    first.close(timeout_s=5)
    assert (tmp_path / "spool.lp").read_text().splitlines() == lines_of(reading(1), reading(2))

    server = RecordedInflux(influx_port).start()
    servers.append(server)
    second = EnvironmentExport(settings(influx_port, tmp_path))
    exports.append(second)
    second.submit([reading(3)])

    wait_until(lambda: len(server.stored) == 9, what="spooled and new points")
    assert server.stored == lines_of(reading(1), reading(2), reading(3))
    assert not (tmp_path / "spool.lp").exists()


def test_a_full_buffer_drops_the_oldest_and_counts_them(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    export = EnvironmentExport(settings(influx_port, tmp_path, max_buffered=6))
    exports.append(export)

    export.submit([reading(1), reading(2), reading(3)])

    assert export.dropped == 3 and export.pending == 6
    server = RecordedInflux(influx_port).start()
    servers.append(server)
    wait_until(lambda: len(server.stored) == 6, what="the newest six points")
    assert server.stored == lines_of(reading(2), reading(3))


def test_a_batch_influxdb_cannot_parse_is_dropped_and_counted_and_the_rest_flow(
    influx_port: int, servers: list[RecordedInflux], exports: list[EnvironmentExport], tmp_path: Path
) -> None:
    server = RecordedInflux(influx_port, script=["malformed"]).start()
    servers.append(server)
    export = EnvironmentExport(settings(influx_port, tmp_path))
    exports.append(export)

    export.submit([reading(1)])
    wait_until(lambda: export.dropped == 3, what="the refused batch counted")
    export.submit([reading(2)])

    wait_until(lambda: server.stored == lines_of(reading(2)), what="the next batch written")
    assert "HTTP 400" in (export.last_error or "")


def test_room_readings_come_from_stored_env_reading_rows_only() -> None:
    body = event_body(device="door-01", seq=7, prev=GENESIS_PREV, boot="b1", mono_ms=5, ts_ms=1_700_000_000_000,
                      type="env.reading", door="d1", data={"temp_c_x100": 1790, "rh_x100": 7250, "co2_ppm": None})
    row = {"site": "home-1", "device": "door-01", "room": "room-04", "ts_ms": body["ts_ms"], "type": body["type"],
           "signed": signed_bytes(body).decode()}

    assert RoomReading.from_stored(row) == RoomReading(home="home-1", room="room-04", device="door-01",
                                                       ts_ms=1_700_000_000_000, temp_c_x100=1790, rh_x100=7250,
                                                       co2_ppm=None)
    assert RoomReading.from_stored({**row, "type": "door.opened"}) is None


def test_the_export_is_off_until_influxdb_is_configured(tmp_path: Path) -> None:
    assert EnvironmentExport.from_settings(InfluxSettings(url=None, spool_file=tmp_path / "s.lp")) is None
