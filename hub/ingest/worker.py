"""The writer: one thread takes what is queued, stores it in one transaction, commits, then acks and sends receipts.

A checker thread reads and verifies the next batch meanwhile (Ed25519 verification releases the GIL), against
the registry as it was a moment before; the writer checks each device again in its transaction.

A database failure leaves the batch unacked (the broker redelivers it) and is retried; a message the database
refuses on its own is recorded as rejected rather than blocking the ones behind it.

Then, in a transaction of its own (so receipts never wait on the rules), the same thread decides the batch's entries
and raises its alerts (hub/decisions/), commits, and publishes them live. What the batch changes of entries decided
before (a door closing behind one) is decided again once no batch is waiting: new openings go first. The
scheduler's rounds (hub/scheduler.py) write only under the writer's lock, so the database has one writer at a time,
as SQLite needs.
"""

import logging
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain
from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory
from hub.db.migrate import upgrade
from hub.db.models import Device, RejectedMessage
from hub.environment_export import EnvironmentExport
from hub.decisions.batch import BatchPlan, decide_batch, find_redecisions, plan_batch, redecide_batch
from hub.decisions.entries import EntryContext, decide_opening, undecided_openings
from hub.decisions.live import LiveBoard
from hub.device_config import sealed_config
from hub.ingest.message import ReceivedMessage
from hub.ingest.mqtt import BrokerLink
from hub.ingest.store import (
    BatchOutcome,
    CheckedBatch,
    Rejection,
    VerifyKeys,
    check_batch,
    rejected_row,
    store_batch,
    store_checked,
    summary,
)
from hub.keys import load_or_create_hub_key
from hub.live import AlertMessage
from hub.rules.alerts import DEFAULT_LADDER
from hub.scheduler import NightRounds, start_rounds
from protocol.messages import Receipt
from protocol.topics import DeviceChannel, device_topic

log = logging.getLogger(__name__)

EMPTY_QUEUE_WAIT_S = 0.2
CHECKED_AHEAD = 16
"""Batches the checker may have ready before the writer takes them; the writer stores what is ready as one
batch (up to `batch_max`), so the slower the database, the larger its transactions."""
RETRY_MAX_S = 10.0
REDECIDE_WAIT_MAX_S = 1.0
"""How long re-decisions (a door closing behind an entry, a late event) may wait while batches keep coming: they
change decisions made and alerted on already, so the new openings of the batches behind go first."""
SWITCH_INTERVAL_S = 0.0005
"""How long a thread of the worker runs before another waiting for the interpreter may have it (Python's is 5 ms)."""
KEYS_FRESH_S = 1.0
"""How long the checker trusts the device keys it read; the writer checks every key again in its transaction."""
CATCH_UP = timedelta(days=1)
"""How far back a starting worker looks for door openings stored but never decided (it stopped between commits)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class IngestWorker:
    def __init__(
        self,
        settings: HubSettings,
        sessions: sessionmaker[Session],
        link: BrokerLink,
        hub_key: Ed25519PrivateKey,
        clock: Callable[[], datetime] = utc_now,
        export: EnvironmentExport | None = None,
    ) -> None:
        self.settings = settings
        self.export = export
        self.sessions = sessions
        self.link = link
        self.hub_key = hub_key
        self.clock = clock
        self.keys = VerifyKeys()
        self.checked: queue.Queue[CheckedBatch] = queue.Queue(maxsize=CHECKED_AHEAD)
        self._held: CheckedBatch | None = None
        """A checked batch taken from `checked` that did not fit in the last transaction."""
        self.published_configs: dict[str, int] = {}
        self.chain = HubChain(hub_key)
        self.board = LiveBoard(link.client)
        self.write_lock = threading.Lock()
        """Held for every database write of the worker process: the writer's batches and the scheduler's rounds."""
        self.context = EntryContext(default_zone=settings.home_time_zone, ladder=DEFAULT_LADDER)
        self._catch_up_due = True
        self._redecide_due: list[BatchPlan] = []
        """Batches' plans whose openings decided before are to be decided again (see `decide`)."""
        self._redecide_since = 0.0
        self._registry_keys: dict[str, str] = {}
        """The checker's copy of the registry's keys (its thread alone reads and writes it)."""
        self._keys_read_at = float("-inf")
        self._checker_may_run = threading.Event()
        """Cleared while the writer decides new openings: the checker's verifying would hold the interpreter that
        each of the decision's statements waits to have back (see SWITCH_INTERVAL_S), and the alert waits on them."""
        self._checker_may_run.set()

    def rounds(self) -> NightRounds:
        """The scheduler's rounds, sharing this writer's lock, chain and live board."""
        return NightRounds(self.sessions, self.chain, self.board, self.write_lock, self.settings, self.context,
                           clock=self.clock)

    def run(self, stop: threading.Event) -> None:
        checker = threading.Thread(target=self._check_ahead, args=(stop,), name="checker", daemon=True)
        checker.start()
        next_config_check = 0.0
        while not stop.is_set():
            if self.link.connected.is_set() and time.monotonic() >= next_config_check:
                self.publish_configs()
                next_config_check = time.monotonic() + self.settings.config_poll_s
            if self._catch_up_due:
                self.catch_up()
            batch = self._ready_batch()
            if batch is not None:
                self.handle(batch, stop)
            elif self._redecide_due:
                self.redecide_due()  # only after a database failure: otherwise the last batch's pass did them
        if self._redecide_due:
            self.redecide_due()
        checker.join()
        # Whatever is still queued was never acked: the broker keeps it for the next start.

    def _check_ahead(self, stop: threading.Event) -> None:
        keys = VerifyKeys()
        while not stop.is_set():
            messages = self._take()
            if not messages:
                continue
            self._checker_may_run.wait()
            batch = check_batch(messages, self._registered_keys, keys)
            while not stop.is_set():
                try:
                    self.checked.put(batch, timeout=EMPTY_QUEUE_WAIT_S)
                    break
                except queue.Full:
                    continue

    def _ready_batch(self) -> CheckedBatch | None:
        """Every checked batch that is ready, as one, up to `batch_max` messages."""
        batch, self._held = self._held, None
        if batch is None:
            try:
                batch = self.checked.get(timeout=EMPTY_QUEUE_WAIT_S)
            except queue.Empty:
                return None
        while True:
            try:
                later = self.checked.get_nowait()
            except queue.Empty:
                return batch
            if len(batch.messages) + len(later.messages) > self.settings.batch_max:
                self._held = later
                return batch
            batch.extend(later)

    def _registered_keys(self, devices: set[str]) -> dict[str, str]:
        """The devices' keys as the registry held them at most KEYS_FRESH_S ago: read again only when older, or
        for a device not seen since, because a read per batch costs the writer (its statements wait for the
        interpreter meanwhile) and a key out of date costs nothing but a second verification by the writer."""
        if time.monotonic() >= self._keys_read_at + KEYS_FRESH_S:
            self._registry_keys.clear()
            self._keys_read_at = time.monotonic()
        missing = devices - self._registry_keys.keys()
        if missing:
            try:
                with self.sessions() as session:
                    self._registry_keys.update(session.execute(
                        select(Device.id, Device.public_key).where(Device.id.in_(missing))).all())
            except SQLAlchemyError:
                # Not a failure of the batch: the writer verifies in its transaction whatever was not verified here.
                log.warning("could not read device keys ahead of the writer", exc_info=True)
        return {device: self._registry_keys[device] for device in devices if device in self._registry_keys}

    def _take(self) -> list[ReceivedMessage]:
        try:
            batch = [self.link.inbox.get(timeout=EMPTY_QUEUE_WAIT_S)]
        except queue.Empty:
            return []
        while len(batch) < self.settings.batch_max:
            try:
                batch.append(self.link.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def handle(self, batch: CheckedBatch, stop: threading.Event) -> None:
        """Store a batch until the database takes it, then ack it and send receipts. Returns early only on stop."""
        delay = 0.5
        while True:
            try:
                with self.write_lock:
                    outcome = self._commit(batch)
                break
            except SQLAlchemyError:
                log.exception("storing a batch of %d failed; not acked, retrying in %.1f s", len(batch.messages), delay)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX_S)
        for message in batch.messages:
            self.link.ack(message.mid, message.qos)
        for device, (site, acked_seq) in outcome.receipts.items():
            receipt = Receipt(acked_seq=acked_seq).model_dump_json().encode()
            self.link.publish_retained(device_topic(site, device, DeviceChannel.RECEIPT), receipt)
        if self.export is not None and outcome.readings:
            # Only once committed; submit() queues and returns, whatever state InfluxDB is in.
            self.export.submit(outcome.readings)
        log.debug("batch of %d: %s", len(batch.messages), summary(outcome))
        self.decide(outcome)

    def decide(self, outcome: BatchOutcome) -> None:
        """Decide the entries and raise the alerts of a committed batch, commit, then publish them live: first what is
        urgent (new openings, devices' alerts); the openings decided before that the batch changes are decided again
        while no batch is waiting, and once REDECIDE_WAIT_MAX_S on, a batch's worth before each batch."""
        if outcome.stored or outcome.rejected:
            self._decide_urgent(outcome)
        if self._redecide_due and (not self._batch_waiting()
                                   or time.monotonic() >= self._redecide_since + REDECIDE_WAIT_MAX_S):
            self.redecide_due(until_a_batch_waits=True)

    def _batch_waiting(self) -> bool:
        return not self.checked.empty() or self._held is not None

    def _decide_urgent(self, outcome: BatchOutcome) -> None:
        self._checker_may_run.clear()
        try:
            with self.write_lock, self.sessions() as session:
                now = self.clock()
                plan = plan_batch(session, outcome.new_events, outcome.rejected)
                if not plan.stored and not plan.rejected:
                    return
                decided = decide_batch(session, self.chain, plan, now, self.context)
                session.commit()
                self.board.alerts(decided.alerts)
                find_redecisions(session, plan)
                self.board.rooms_changed(self.sessions, decided.rooms, now)
                if plan.redecide:
                    if not self._redecide_due:
                        self._redecide_since = time.monotonic()
                    self._redecide_due.append(plan)
        except SQLAlchemyError:
            # The events are stored and receipted; their openings are decided by the catch-up that follows.
            log.exception("deciding a batch failed; catching up on undecided openings next")
            self._catch_up_due = True
        except Exception:
            # A rule that cannot take what a device sent must not stop ingest: receipts keep flowing.
            log.exception("the rules failed on a batch; its events are stored, its decisions are not")
        finally:
            self._checker_may_run.set()

    def redecide_due(self, until_a_batch_waits: bool = False) -> None:
        """Decide again the openings the batches since the last time changed, batch by batch in their order, so
        each new revision names its own cause (a door closing, a late event). With `until_a_batch_waits`, stop
        after any batch's openings once a new batch waits: a pass over many is as long as its statements, and the
        new openings behind it would wait that long for their alerts. A database failure keeps them due."""
        due, self._redecide_due = self._redecide_due, []
        try:
            with self.write_lock, self.sessions() as session:
                now = self.clock()
                while due:
                    decided = redecide_batch(session, self.chain, due[0], now, self.context)
                    session.commit()
                    due.pop(0)
                    self.board.alerts(decided.alerts)
                    self.board.rooms_changed(self.sessions, decided.rooms, now)
                    if until_a_batch_waits and self._batch_waiting():
                        break
        except SQLAlchemyError:
            log.exception("deciding again %d batches' openings failed; trying again after the next batch", len(due))
        except Exception:
            log.exception("the rules failed deciding openings again; their earlier decisions stand")
            due = []
        self._redecide_due = due + self._redecide_due

    def catch_up(self) -> None:
        """Decide door openings stored but never decided: a worker stopped between the two commits, or a failure."""
        messages: list[AlertMessage] = []
        try:
            with self.write_lock, self.sessions() as session:
                now = self.clock()
                rooms = set()
                for opened in undecided_openings(session, now - CATCH_UP):
                    decision, alerts = decide_opening(session, self.chain, opened, now, self.context)
                    messages += alerts
                    if decision is not None:
                        rooms.add((opened.site, decision.room))
                session.commit()
                self.board.alerts(messages)
                self.board.rooms_changed(self.sessions, rooms, now)
            self._catch_up_due = False
        except SQLAlchemyError:
            log.exception("catching up on undecided openings failed; trying again on the next pass")

    def _commit(self, batch: CheckedBatch) -> BatchOutcome:
        try:
            with self.sessions() as session:
                outcome = store_checked(session, batch, self.keys)
                session.commit()
                return outcome
        except (DataError, IntegrityError):
            # Something in the batch the database refuses (or another hub process stored a pair first):
            # take the messages one by one so the rest are not held up behind it.
            merged = BatchOutcome()
            for message in batch.messages:
                single = self._record_unstorable(message)
                merged.stored += single.stored
                merged.duplicates += single.duplicates
                merged.rejected.extend(single.rejected)
                merged.receipts.update(single.receipts)
                merged.readings.extend(single.readings)
                merged.new_events.extend(single.new_events)
            return merged

    def _record_unstorable(self, message: ReceivedMessage) -> BatchOutcome:
        with self.sessions() as session:
            try:
                outcome = store_batch(session, [message], self.keys)
                session.commit()
                return outcome
            except (DataError, IntegrityError) as error:
                session.rollback()
                rejection = Rejection(message, "store_failed", str(error.orig)[:300])
                session.execute(insert(RejectedMessage), [rejected_row(rejection)])
                session.commit()
                return BatchOutcome(rejected=[rejection])

    def publish_configs(self) -> None:
        """Publish the signed, retained config of every device whose config version is new to this process."""
        due: list[tuple[Device, tuple[str, bytes] | None]] = []
        try:
            with self.sessions() as session:
                for device in session.scalars(select(Device)):
                    if self.published_configs.get(device.id) == device.config_version:
                        continue
                    # Built while the session is open: a door's settings come from its resident's preferences.
                    sealed = None if device.retired_at is not None else sealed_config(session, device, self.hub_key)
                    due.append((device, sealed))
        except SQLAlchemyError:
            log.exception("could not read the registry; configs not published this round")
            return
        for device, sealed in due:
            if sealed is None:
                # A retired device gets no config: clear the retained one.
                self.link.publish_retained(device_topic(device.site, device.id, DeviceChannel.CONFIG), b"")
            else:
                self.link.publish_retained(*sealed)
            self.published_configs[device.id] = device.config_version


def run_worker(settings: HubSettings, stop: threading.Event | None = None) -> None:
    """Run the ingest worker until `stop` is set, or (when none is given) until SIGTERM or SIGINT."""
    if stop is None:
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: finishing the batch in hand, then stopping", signum)
            stop.set()

        # First of all: a stop asked for while the worker is still starting (migrating) is a clean stop too.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    # Each SQL statement lets go of the interpreter while the database works, then waits to have it back while
    # another thread (the MQTT client's, the checker's, a round's) runs on for up to the switch interval: 5 ms by
    # default, a writer's decision makes some thirty statements. Measured with bench/alert_latency.py.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    upgrade(settings.database_url)
    if stop.is_set():
        return
    engine = make_engine(settings.database_url)
    hub_key = load_or_create_hub_key(settings.key_file)
    inbox: queue.Queue[ReceivedMessage] = queue.Queue(maxsize=settings.receive_maximum * 2)
    link = BrokerLink(settings, inbox)
    export = EnvironmentExport.from_settings()
    link.start()
    worker = IngestWorker(settings, make_session_factory(engine), link, hub_key, export=export)
    worker.board.start()
    scheduler = start_rounds(worker.rounds(), settings.rounds_s, settings.checkpoint_s)
    try:
        worker.run(stop)
    finally:
        scheduler.shutdown(wait=True)
        worker.board.stop()
        if export is not None:
            export.close()
        link.stop()
        engine.dispose()
