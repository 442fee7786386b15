"""The writer: one thread takes what is queued, stores it in one transaction, commits, then acks and sends receipts.

A database failure leaves the batch unacked (the broker redelivers it) and is retried; a message the database
refuses on its own is recorded as rejected rather than blocking the ones behind it.
"""

import logging
import queue
import signal
import threading
import time
from types import FrameType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import HubSettings
from hub.db.engine import make_engine, make_session_factory
from hub.db.migrate import upgrade
from hub.db.models import Device, RejectedMessage
from hub.device_config import sealed_config
from hub.ingest.message import ReceivedMessage
from hub.ingest.mqtt import BrokerLink
from hub.ingest.store import BatchOutcome, Rejection, VerifyKeys, rejected_row, store_batch, summary
from hub.keys import load_or_create_hub_key
from protocol.messages import Receipt
from protocol.topics import DeviceChannel, device_topic

log = logging.getLogger(__name__)

EMPTY_QUEUE_WAIT_S = 0.2
RETRY_MAX_S = 10.0


class IngestWorker:
    def __init__(
        self,
        settings: HubSettings,
        sessions: sessionmaker[Session],
        link: BrokerLink,
        hub_key: Ed25519PrivateKey,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.link = link
        self.hub_key = hub_key
        self.keys = VerifyKeys()
        self.published_configs: dict[str, int] = {}

    def run(self, stop: threading.Event) -> None:
        next_config_check = 0.0
        while not stop.is_set():
            if self.link.connected.is_set() and time.monotonic() >= next_config_check:
                self.publish_configs()
                next_config_check = time.monotonic() + self.settings.config_poll_s
            batch = self._take()
            if batch:
                self.handle(batch, stop)
        # Whatever is still queued was never acked: the broker keeps it for the next start.

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

    def handle(self, batch: list[ReceivedMessage], stop: threading.Event) -> None:
        """Store a batch until the database takes it, then ack it and send receipts. Returns early only on stop."""
        delay = 0.5
        while True:
            try:
                outcome = self._commit(batch)
                break
            except SQLAlchemyError:
                log.exception("storing a batch of %d failed; not acked, retrying in %.1f s", len(batch), delay)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX_S)
        for message in batch:
            self.link.ack(message.mid, message.qos)
        for device, (site, acked_seq) in outcome.receipts.items():
            receipt = Receipt(acked_seq=acked_seq).model_dump_json().encode()
            self.link.publish_retained(device_topic(site, device, DeviceChannel.RECEIPT), receipt)
        log.debug("batch of %d: %s", len(batch), summary(outcome))

    def _commit(self, batch: list[ReceivedMessage]) -> BatchOutcome:
        try:
            with self.sessions() as session:
                outcome = store_batch(session, batch, self.keys)
                session.commit()
                return outcome
        except (DataError, IntegrityError):
            # Something in the batch the database refuses (or another hub process stored a pair first):
            # take the messages one by one so the rest are not held up behind it.
            if len(batch) == 1:
                return self._record_unstorable(batch[0])
            merged = BatchOutcome()
            for message in batch:
                single = self._commit([message])
                merged.stored += single.stored
                merged.duplicates += single.duplicates
                merged.rejected.extend(single.rejected)
                merged.receipts.update(single.receipts)
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
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    hub_key = load_or_create_hub_key(settings.key_file)
    inbox: queue.Queue[ReceivedMessage] = queue.Queue(maxsize=settings.receive_maximum * 2)
    link = BrokerLink(settings, inbox)
    if stop is None:
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: finishing the batch in hand, then stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    link.start()
    try:
        IngestWorker(settings, make_session_factory(engine), link, hub_key).run(stop)
    finally:
        link.stop()
        engine.dispose()
