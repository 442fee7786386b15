"""Room readings to InfluxDB 2, for long-term trends and Grafana; the hub's own alerts and charts never wait on it.

The worker calls `submit()` after each committed batch with that batch's `env.reading` events, and `close()` at
shutdown. `submit()` only turns readings into line protocol and appends them to a bounded in-memory buffer: it
never waits on the network. One background thread writes the buffer in order through influxdb-client's
*synchronous* write API and retries with backoff until InfluxDB takes each batch; a batch leaves the buffer only
once InfluxDB has answered 2xx.

Why not influxdb-client's batching `WriteApi`: it holds points in an Rx pipeline we cannot see into, drops a batch
once its own retries are spent, and whatever it still holds at exit is gone unless `flush()` and `close()` run at
exactly the right moment. Here the buffer is ours: it can be counted, it waits out an outage of any length up to
`max_buffered` points, and `close()` drains it within a deadline and then spools what InfluxDB has not taken to a
file that the next start sends first. Rewriting a point is harmless — InfluxDB keeps one point per series and
time — so a write that timed out after InfluxDB stored it may safely be sent again.

Each reading becomes up to three points, a measurement per kind, tagged by home (the site), room and device:

    temperature,device=door-01,home=home-1,room=room-01 celsius=21.5 1700000000000
    humidity,device=door-01,home=home-1,room=room-01 percent=45.2 1700000000000
    co2,device=door-01,home=home-1,room=room-01 ppm=850i 1700000000000
"""

import json
import logging
import threading
from collections import deque
from itertools import islice
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.events import EnvReadingData, EventType

log = logging.getLogger(__name__)

# InfluxDB refuses these for what was sent, not for when: sending the same lines again cannot succeed.
UNRETRIABLE = {400, 413, 422}


class InfluxSettings(BaseSettings):
    """InfluxDB 2 for room readings; the export is off while `url` is unset."""

    model_config = SettingsConfigDict(env_prefix="THRESHOLD_HUB_INFLUX_", env_file=".env", extra="ignore")

    url: str | None = Field(default=None, title="InfluxDB URL", description="e.g. http://influxdb:8086; unset: off")
    token: str = Field(default="", title="API token", description="A token allowed to write to the bucket")
    org: str = Field(default="threshold", title="Organisation")
    bucket: str = Field(default="environment", title="Bucket")
    timeout_ms: int = Field(default=10_000, ge=100, title="HTTP timeout of one write (ms)")
    batch_points: int = Field(default=1000, ge=1, title="Most points in one write")
    max_buffered: int = Field(
        default=200_000,
        ge=1,
        title="Most points held while InfluxDB is away",
        description="About three days of readings for 12 rooms at one a minute; past it the oldest are dropped.",
    )
    retry_max_s: float = Field(default=30.0, gt=0, title="Longest wait between two tries")
    spool_file: Path | None = Field(
        default=Path("data/influx-spool.lp"),
        title="Spool file",
        description="What InfluxDB had not taken at shutdown, in line protocol; sent first at the next start.",
    )


class RoomReading(BaseModel):
    """One `env.reading` as stored by the hub: where it was taken and what it read."""

    model_config = ConfigDict(frozen=True)

    home: str = Field(title="Site id")
    room: str | None = Field(title="Room of the reading's door; None when the device has no door for it")
    device: str
    ts_ms: int = Field(title="The device's clock, Unix epoch ms, UTC")
    temp_c_x100: int
    rh_x100: int
    co2_ppm: int | None

    @classmethod
    def from_stored(cls, row: Mapping[str, Any]) -> "RoomReading | None":
        """From a stored event row (`site`, `device`, `room`, `ts_ms`, `type`, `signed`); None if not a reading."""
        if row["type"] != EventType.ENV_READING:
            return None
        data = EnvReadingData.model_validate(json.loads(row["signed"])["data"])
        return cls(home=row["site"], room=row["room"], device=row["device"], ts_ms=row["ts_ms"],
                   temp_c_x100=data.temp_c_x100, rh_x100=data.rh_x100, co2_ppm=data.co2_ppm)

    def line_protocol(self) -> list[str]:
        points = [
            Point("temperature").field("celsius", self.temp_c_x100 / 100),
            Point("humidity").field("percent", self.rh_x100 / 100),
        ]
        if self.co2_ppm is not None:
            points.append(Point("co2").field("ppm", self.co2_ppm))
        tags = {"home": self.home, "device": self.device} | ({"room": self.room} if self.room else {})
        for point in points:
            for key, value in tags.items():
                point.tag(key, value)
            point.time(self.ts_ms, WritePrecision.MS)
        return [point.to_line_protocol() for point in points]


class EnvironmentExport:
    """A bounded buffer of line protocol and the one thread that writes it to InfluxDB, oldest first."""

    def __init__(self, settings: InfluxSettings) -> None:
        if not settings.url:
            raise ValueError("InfluxSettings.url is not set")
        self.settings = settings
        self._client = InfluxDBClient(url=settings.url, token=settings.token, org=settings.org,
                                      timeout=settings.timeout_ms, retries=False)
        # The write API's reference asks for the charset; the client's write service would send bare text/plain.
        # This client only ever writes line protocol, so the header can be set for all its requests.
        self._client.api_client.set_default_header("Content-Type", "text/plain; charset=utf-8")
        self._write = self._client.write_api(write_options=SYNCHRONOUS)
        self._buffer: deque[str] = deque()
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None
        self._load_spool()
        self._thread = threading.Thread(target=self._run, name="influx-export", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls, settings: InfluxSettings | None = None) -> "EnvironmentExport | None":
        """The export when InfluxDB is configured, else None."""
        settings = settings or InfluxSettings()
        return cls(settings) if settings.url else None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def submit(self, readings: Iterable[RoomReading]) -> None:
        """Queue readings for InfluxDB and return at once, whatever state InfluxDB is in."""
        lines = [line for reading in readings for line in reading.line_protocol()]
        if not lines:
            return
        with self._lock:
            if self._closing.is_set():
                raise RuntimeError("the environment export is closed")
            self._buffer.extend(lines)
            overflow = len(self._buffer) - self.settings.max_buffered
            for _ in range(max(overflow, 0)):
                self._buffer.popleft()
            if overflow > 0:
                self.dropped += overflow
            self._lock.notify()
        if overflow > 0:
            log.warning("InfluxDB buffer full: dropped the %d oldest points (the hub's database still has them)",
                        overflow)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is buffered for up to `timeout_s`, spool the rest to the spool file, and stop."""
        with self._lock:
            self._closing.set()
            self._lock.notify()
        self._thread.join(timeout_s)
        with self._lock:
            remaining = list(self._buffer)
            self._buffer.clear()
        if remaining:
            self._spool(remaining)
        self._client.close()

    def _run(self) -> None:
        delay = 0.5
        while True:
            with self._lock:
                while not self._buffer and not self._closing.is_set():
                    self._lock.wait()
                if not self._buffer:
                    return
                batch = list(islice(self._buffer, self.settings.batch_points))
            outcome = self._send(batch)
            if outcome == "retry":
                # While closing, one failed try is enough: close() spools the rest for the next start.
                if self._closing.wait(delay):
                    return
                delay = min(delay * 2, self.settings.retry_max_s)
                continue
            delay = 0.5
            with self._lock:
                # submit() may have dropped the oldest meanwhile; only what is still at the front was sent.
                for line in batch:
                    if self._buffer and self._buffer[0] is line:
                        self._buffer.popleft()

    def _send(self, batch: list[str]) -> str:
        try:
            self._write.write(bucket=self.settings.bucket, org=self.settings.org, record=batch,
                              write_precision=WritePrecision.MS)
        except ApiException as error:
            self.failures += 1
            self.last_error = f"HTTP {error.status}: {error.body or error.reason}"
            if error.status in UNRETRIABLE:
                with self._lock:
                    self.dropped += len(batch)
                log.error("InfluxDB refused %d points for good (%s); they stay in the hub's database",
                          len(batch), self.last_error)
                return "refused"
            log.warning("InfluxDB did not take %d points (%s); will retry", len(batch), self.last_error)
            return "retry"
        except Exception as error:  # noqa: BLE001 — any transport failure (refused, reset, timeout) is retried
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"
            log.warning("InfluxDB unreachable (%s); %d points wait", self.last_error, self.pending)
            return "retry"
        self.written += len(batch)
        return "written"

    def _spool(self, lines: list[str]) -> None:
        path = self.settings.spool_file
        if path is None:
            self.dropped += len(lines)
            log.error("InfluxDB did not take %d points before shutdown and no spool file is set", len(lines))
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as spool:
            spool.writelines(f"{line}\n" for line in lines)
        log.warning("InfluxDB did not take %d points before shutdown; spooled to %s", len(lines), path)

    def _load_spool(self) -> None:
        path = self.settings.spool_file
        if path is None or not path.exists():
            return
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        self._buffer.extend(lines[-self.settings.max_buffered:])
        self.dropped += max(len(lines) - self.settings.max_buffered, 0)
        path.unlink()
        log.info("sending %d points spooled at the last shutdown first", len(self._buffer))
