"""The worker's rounds: what needs looking at as time passes, not as events arrive.

Every few seconds an APScheduler 3 BackgroundScheduler, started only in the worker process, walks the rounds:
escalate alerts nobody has acknowledged, and look for doors held open, devices gone quiet, rooms out of range for a
sustained time, lone workers overdue, and runs of "not now" that call for a welfare check; then sign into the hub's
chain what API processes left for it. Each round first reads what it finds without the writer's lock (the writer
goes on storing and deciding meanwhile), asking every door or room at once rather than one by one, then raises or
clears each alert in a transaction of its own under the lock, so the database has one writer at a time and the
writer never waits for a whole round; the rules themselves are hub/rules/'s pure functions.

Escalation state lives in the alerts (`escalated`, `next_escalation_at`), so a worker that starts again carries on
where the last one stopped; each alert climbs its home's own ladder (DEFAULT_LADDER for a home that has set none).
Time comes from `clock`, so tests drive the ladder without waiting for it.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.chain import HubChain
from hub.core.config import HubSettings
from hub.db.bulk import newest_seqs, stored_pairs
from hub.db.models import (
    AlertRecord,
    Device,
    EntryRecord,
    PendingHubEvent,
    RoomEnvironmentLimits,
    StoredEvent,
    Tenancy,
)
from hub.db.models import CheckIn as CheckInRow
from hub.decisions.alerts import (
    AlertRaise,
    alert_ladder,
    clear_active,
    escalate_due,
    raise_once,
    reschedule,
)
from hub.decisions.entries import EntryContext, decision_of, entry_subject
from hub.decisions.facts import door_fact, door_facts, ms_of, preferences_at, room_context, room_subject
from hub.decisions.live import LiveBoard
from hub.evidence.checkpoints import checkpoint_payload, make_checkpoint
from hub.evidence.retention import RetentionSettings, purge
from hub.live import AlertMessage
from hub.people.environment_limits import limits_of
from hub.rules.alerts import AlertType
from hub.rules.entries import UNIDENTIFIED, EntryKind
from hub.rules.environment import Reading, excursions, outside
from hub.rules.presence import CheckIn, devices_offline, doors_held_open, lone_workers_overdue
from hub.rules.welfare import welfare_prompt
from protocol.events import EventType
from protocol.hub_events import HUB_SOURCE
from protocol.topics import hub_topic

log = logging.getLogger(__name__)

WELFARE_TYPES = (EventType.CONSENT_DECLINED, EventType.CONSENT_GRANTED, EventType.DOOR_OPENED)
PRESENCE_REACH = timedelta(hours=12)
WELFARE_REACH = timedelta(hours=24)
RETENTION_EVERY_S = 6 * 3600


@dataclass
class Findings:
    """What a round found, read without the writer's lock: alerts that should be active, and ones whose condition
    has ended (type, subject, the note that says why)."""

    raises: list[AlertRaise] = field(default_factory=list)
    clears: list[tuple[AlertType, str, str]] = field(default_factory=list)


def _rooms_of(messages: list[AlertMessage]) -> set[tuple[str, str]]:
    return {(message.site, message.room) for message in messages if message.room}


def _single_room(device: Device) -> str | None:
    rooms = sorted(set(device.doors.values()))
    return rooms[0] if len(rooms) == 1 else None


class NightRounds:
    """The scheduler's jobs; each is also callable directly with a `now`, as the tests do."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        chain: HubChain,
        board: LiveBoard,
        lock: threading.Lock,
        settings: HubSettings,
        context: EntryContext,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.chain = chain
        self.board = board
        self.lock = lock
        self.settings = settings
        self.context = context
        self.clock = clock

    def _write(self, work: Callable[..., list[AlertMessage]], now: datetime | None) -> list[AlertMessage]:
        """Run `work(session=, at=)` under the writer's lock, commit, then publish the alerts it changed."""
        with self.lock, self.sessions() as session:
            at = now or self.clock()
            messages = work(session=session, at=at)
            session.commit()
            self.board.alerts(messages)
            self.board.rooms_changed(self.sessions, _rooms_of(messages), at)
            return messages

    def _write_each(self, changes: list[Callable[..., list[AlertMessage]]], at: datetime) -> list[AlertMessage]:
        """Each change in a transaction of its own, the lock taken for one at a time: a round with many (every
        alert of a busy night climbing its ladder at once) holds the writer up for one change, never for all."""
        messages: list[AlertMessage] = []
        for change in changes:
            messages += self._write(change, at)
        return messages

    def _find_then_write(self, find: Callable[[Session, datetime], Findings], now: datetime | None
                         ) -> list[AlertMessage]:
        """Run `find` in a reading session, then raise what is not active yet and clear what is, each under the
        lock; a round that changes nothing never takes it. raise_once and clear_active look again under the lock,
        so an alert changed meanwhile is neither raised twice nor cleared twice."""
        at = now or self.clock()
        with self.sessions() as session:
            findings = find(session, at)
            types = {wanted.type.value for wanted in findings.raises} | {type.value for type, _, _ in findings.clears}
            active = {(type, subject) for type, subject in session.execute(
                select(AlertRecord.type, AlertRecord.subject).where(AlertRecord.cleared_at.is_(None),
                                                                    AlertRecord.type.in_(types)))} if types else set()
        raises = [wanted for wanted in findings.raises if (wanted.type.value, wanted.subject) not in active]
        clears = [(type, subject, note) for type, subject, note in findings.clears if (type.value, subject) in active]
        return self._write_each([
            *(partial(raise_once, chain=self.chain, wanted=wanted, default=self.context.ladder) for wanted in raises),
            *(partial(clear_active, chain=self.chain, type=type, subject=subject, note=note, default=self.context.ladder)
              for type, subject, note in clears),
        ], at)

    # escalation ----------------------------------------------------------------------------------------------

    def rebuild_escalations(self, now: datetime | None = None) -> None:
        """Recompute when each active, unacknowledged alert next escalates, from its state and the ladder in force."""
        def work(session: Session, at: datetime) -> list[AlertMessage]:
            for record in list(session.scalars(select(AlertRecord).where(AlertRecord.cleared_at.is_(None)))):
                reschedule(session, record, alert_ladder(session, record.site, record.type, self.context.ladder))
            return []
        self._write(work, now)

    def escalations(self, now: datetime | None = None) -> list[AlertMessage]:
        at = now or self.clock()
        due = select(AlertRecord).where(
            AlertRecord.cleared_at.is_(None), AlertRecord.acknowledged_by.is_(None),
            AlertRecord.next_escalation_at <= at,
        ).order_by(AlertRecord.next_escalation_at)
        with self.sessions() as session:
            due_ids = list(session.scalars(due.with_only_columns(AlertRecord.id)))

        def escalate(alert_id: str, session: Session, at: datetime) -> list[AlertMessage]:
            record = session.scalar(due.where(AlertRecord.id == alert_id))  # still due, under the lock?
            return escalate_due(session, self.chain, record, at, self.context.ladder) if record else []
        return self._write_each([partial(escalate, alert_id) for alert_id in due_ids], at)

    # presence ------------------------------------------------------------------------------------------------

    def _devices(self, session: Session) -> list[Device]:
        return list(session.scalars(select(Device).where(Device.retired_at.is_(None), Device.id != HUB_SOURCE)))

    def devices(self, now: datetime | None = None) -> list[AlertMessage]:
        """Devices with no heartbeat received for `device_offline_s`, or whose will says offline."""
        def find(session: Session, at: datetime) -> Findings:
            limit = timedelta(seconds=self.settings.device_offline_s)
            devices = self._devices(session)
            last_beats = [(device.id, seq) for device in devices if (seq := (device.last_heartbeat or {}).get("seq"))]
            heartbeats = [door_fact(row) for row in session.scalars(
                select(StoredEvent).where(stored_pairs(last_beats)))] if last_beats else []
            # A device just registered has not had the time to be heard from.
            watched = [d.id for d in devices if d.created_at + limit <= at]
            quiet = {offline.device for offline in devices_offline(watched, heartbeats, at, limit)}
            quiet |= {d.id for d in devices if d.status == "offline"}
            findings = Findings()
            for device in devices:
                subject = f"device:{device.id}"
                if device.id in quiet:
                    findings.raises.append(
                        AlertRaise(device.site, _single_room(device), AlertType.DEVICE_OFFLINE, subject))
                else:
                    findings.clears.append((AlertType.DEVICE_OFFLINE, subject, "The device is heard from again."))
            return findings
        return self._find_then_write(find, now)

    def doors(self, now: datetime | None = None) -> list[AlertMessage]:
        """Doors open longer than `door_held_open_s`; the alert clears once the door has closed."""
        def find(session: Session, at: datetime) -> Findings:
            devices = self._devices(session)
            rooms = {(device.id, door): (device.site, room) for device in devices for door, room in device.doors.items()}
            # A door stands open when its newest opening has no closing after it, by seq (its device's own order):
            # most doors, closed, need neither their opening's row nor its clock.
            newest = newest_seqs(session, rooms, [EventType.DOOR_OPENED, EventType.DOOR_CLOSED])
            standing = [(device, opened) for (device, _), (opened, closed) in newest.items()
                        if opened is not None and (closed is None or closed < opened)]
            openings = list(session.scalars(select(StoredEvent).where(stored_pairs(standing)))) if standing else []
            held = {(fact.device, fact.door): fact for fact in
                    doors_held_open(door_facts(session, openings), at, self.settings.door_held_open_s)}
            findings = Findings()
            for (device, door), (site, room) in sorted(rooms.items()):
                subject = f"door:{device}:{door}"
                if (device, door) in held:
                    findings.raises.append(AlertRaise(site, room, AlertType.DOOR_HELD_OPEN, subject,
                                                      rests_on=(held[(device, door)].opened,)))
                else:
                    findings.clears.append((AlertType.DOOR_HELD_OPEN, subject, "The door is closed."))
            return findings
        return self._find_then_write(find, now)

    def lone_workers(self, now: datetime | None = None) -> list[AlertMessage]:
        """Identified staff inside a room behind a closed door, unheard from for `lone_worker_check_in_s`."""
        def find(session: Session, at: datetime) -> Findings:
            since = at - PRESENCE_REACH
            # Only openings someone was identified at can have a lone worker: every revision of those, so the latest
            # (which may no longer name anyone) is the one that counts.
            identified = select(EntryRecord.door_opened_event_id).where(EntryRecord.opened_at >= since,
                                                                        EntryRecord.who != UNIDENTIFIED)
            records = session.scalars(select(EntryRecord).where(EntryRecord.door_opened_event_id.in_(identified))
                                      .order_by(EntryRecord.revision))
            latest = {record.door_opened_event_id: record for record in records}
            entries = [decision_of(record) for record in latest.values()
                       if record.kind == EntryKind.ENTRY and record.who != UNIDENTIFIED and record.closed_at]
            sites = {record.door_opened_event_id: record.site for record in latest.values()}
            openings = door_facts(session, list(session.scalars(select(StoredEvent).where(
                StoredEvent.type == EventType.DOOR_OPENED, StoredEvent.ts_ms >= ms_of(since),
                StoredEvent.device.in_({entry.device for entry in entries}),
            )))) if entries else []
            check_ins = [CheckIn(staff=row.staff_id, room=row.room, at=row.at) for row in session.scalars(
                select(CheckInRow).where(CheckInRow.at >= since))] if entries else []
            overdue = {o.entry: o for o in lone_workers_overdue(entries, openings, check_ins, at,
                                                                self.settings.lone_worker_check_in_s)}
            findings = Findings()
            for entry in entries:
                subject = entry_subject(entry.door_opened)
                if entry.door_opened in overdue:
                    found = overdue[entry.door_opened]
                    findings.raises.append(AlertRaise(
                        sites[int(entry.door_opened)], entry.room, AlertType.LONE_WORKER_OVERDUE, subject,
                        rests_on=(entry.door_opened,),
                        sentence=f"{found.staff} has been in {found.room} past the limit without checking in.",
                    ))
                else:
                    findings.clears.append((AlertType.LONE_WORKER_OVERDUE, subject,
                                            "Checked in, or the door opened again."))
            return findings
        return self._find_then_write(find, now)

    # rooms ---------------------------------------------------------------------------------------------------

    def environment(self, now: datetime | None = None) -> list[AlertMessage]:
        """Rooms out of range for a sustained time, by the room's own limits or the defaults; cleared when back."""
        def find(session: Session, at: datetime) -> Findings:
            findings = Findings()
            rooms = {device.id: (device.site, room) for device in self._devices(session)
                     if (room := _single_room(device)) is not None}  # a reading has no door: only a room's device
            own_limits = {(row.home_id, row.room_id): row for row in session.scalars(select(RoomEnvironmentLimits))}
            # A room is out of range now only if its newest reading is: most rooms, most rounds, need no more than
            # that one reading, read for every room at once.
            newest = newest_seqs(session, [(device, None) for device in rooms], [EventType.ENV_READING])
            last_readings = [(device, seq) for (device, _), (seq,) in newest.items() if seq is not None]
            last_reading = {row.device: door_fact(row) for row in session.scalars(
                select(StoredEvent).where(stored_pairs(last_readings)))} if last_readings else {}
            for device, (site, room) in sorted(rooms.items()):
                limits = limits_of(own_limits.get((site, room)))
                reach = timedelta(seconds=2 * limits.sustained_s + limits.max_gap_s)
                last = last_reading.get(device)
                if last is not None and last.ts_ms >= ms_of(at - reach) and outside(
                        limits, last.data["temp_c_x100"], last.data["rh_x100"]):
                    rows = list(session.scalars(select(StoredEvent).where(
                        StoredEvent.device == device, StoredEvent.type == EventType.ENV_READING,
                        StoredEvent.ts_ms >= ms_of(at - reach), StoredEvent.ts_ms <= ms_of(at),
                    )))
                    readings = [Reading(at=fact.at, temp_c_x100=fact.data["temp_c_x100"],
                                        rh_x100=fact.data["rh_x100"], fact=fact.id)
                                for fact in door_facts(session, rows) if fact.at <= at]
                else:
                    readings = []
                still_out = {e.kind: e for e in excursions(readings, limits) if e.end is None}
                for kind in ("too_cold", "too_hot", "too_dry", "too_humid"):
                    subject = f"{room_subject(site, room)}:{kind}"
                    if kind in still_out:
                        excursion = still_out[kind]
                        findings.raises.append(AlertRaise(
                            site, room, AlertType.ENVIRONMENT_OUT_OF_RANGE, subject,
                            rests_on=excursion.readings[-20:],
                            sentence=f"The room has been {kind.replace('_', ' ')} since "
                            f"{excursion.start.isoformat(timespec='minutes')} (worst {excursion.worst_x100 / 100:g}).",
                        ))
                    else:
                        findings.clears.append((AlertType.ENVIRONMENT_OUT_OF_RANGE, subject, "Back in range."))
            return findings
        return self._find_then_write(find, now)

    def welfare(self, now: datetime | None = None) -> list[AlertMessage]:
        """A long run of "not now" raises a `welfare_check` alert for the room, to the night lead first: one active
        per room, and once per run (keyed by its first "not now"), so resolving it does not bring it back for the
        same run. It clears when the run ends: the resident said "come in" or the door opened."""
        def find(session: Session, at: datetime) -> Findings:
            findings = Findings()
            tenancies = session.scalars(select(Tenancy).where(Tenancy.ended_at.is_(None)))
            for tenancy in list(tenancies):
                site, room_id = tenancy.home_id, tenancy.room_id
                subject = room_subject(site, room_id)
                rows = list(session.scalars(select(StoredEvent).where(
                    StoredEvent.site == site, StoredEvent.room == room_id,
                    StoredEvent.device != HUB_SOURCE, StoredEvent.type.in_([str(t) for t in WELFARE_TYPES]),
                    StoredEvent.ts_ms >= ms_of(at - WELFARE_REACH),
                )))
                prompt = None
                if any(row.type == EventType.CONSENT_DECLINED for row in rows):
                    preferences = preferences_at(session, tenancy.resident_id, at)
                    room = room_context(session, site, room_id, tenancy.resident_id, self.context.default_zone)
                    prompt = welfare_prompt(door_facts(session, rows), preferences, room, at)
                if prompt is None:
                    findings.clears.append((AlertType.WELFARE_CHECK, subject, "The run of “not now” ended."))
                elif not self._prompted(session, subject, prompt.key, prompt.since):
                    findings.raises.append(
                        AlertRaise(site, room_id, AlertType.WELFARE_CHECK, subject, rests_on=prompt.declines))
            return findings

        return self._find_then_write(find, now)

    @staticmethod
    def _prompted(session: Session, subject: str, key: str, since: datetime) -> bool:
        """Whether this run (first "not now" `key`) has had its welfare alert already, active or not."""
        raised = session.scalars(select(AlertRecord.rests_on).where(
            AlertRecord.type == AlertType.WELFARE_CHECK, AlertRecord.subject == subject, AlertRecord.raised_at >= since,
        ))
        return any(rests_on[:1] == [key] for rests_on in raised)

    # the hub's chain -----------------------------------------------------------------------------------------

    def sign_pending(self) -> int:
        with self.sessions() as session:
            if session.scalar(select(PendingHubEvent.id).limit(1)) is None:
                return 0
        with self.lock, self.sessions() as session:
            signed = self.chain.sign_pending(session)
            session.commit()
            return signed

    # evidence ------------------------------------------------------------------------------------------------

    def checkpoint(self) -> int:
        """Sign a checkpoint over every chain's head and publish it retained on each home's hub topic, so a copy
        lives outside the hub (a witness keeps them)."""
        with self.lock, self.sessions() as session:
            record = make_checkpoint(session, self.chain.key, self.clock())
            session.commit()
            sites = list(session.scalars(select(Device.site).distinct().where(Device.id != HUB_SOURCE)))
        payload = checkpoint_payload(record)
        for site in sites:
            self.board.client.publish(hub_topic(site, "checkpoint"), payload, qos=1, retain=True)
        return record.n

    def retention(self) -> int:
        """Blank what has outlived its data class's retention, never what an open case holds."""
        purged = 0
        for data_class, older_than in RetentionSettings().periods().items():
            with self.lock, self.sessions() as session:
                purged += purge(session, data_class, older_than, self.clock()).purged
                session.commit()
        return purged

    def round(self) -> None:
        """One pass of every job; one failing (a database away) does not stop the others."""
        for job in (self.escalations, self.doors, self.devices, self.environment, self.lone_workers, self.welfare,
                    self.sign_pending):
            try:
                job()
            except Exception:
                log.exception("scheduler round %s failed; trying again next round", job.__name__)


def _logged(job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("scheduled %s failed; trying again next time", job.__name__)

    return run


def start_rounds(rounds: NightRounds, interval_s: float, checkpoint_s: float) -> BackgroundScheduler:
    """Rebuild escalation state from the database, then run the rounds every `interval_s` in a background thread."""
    try:
        rounds.rebuild_escalations()
    except Exception:
        log.exception("could not rebuild escalation state; the rounds will escalate from what is stored")
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(rounds.round, "interval", seconds=interval_s, id="rounds", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    for job, seconds in ((rounds.checkpoint, checkpoint_s), (rounds.retention, RETENTION_EVERY_S)):
        scheduler.add_job(_logged(job), "interval", seconds=seconds, id=job.__name__, max_instances=1,
                          coalesce=True)
    scheduler.start()
    return scheduler
