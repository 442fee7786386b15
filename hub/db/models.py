"""The hub's tables. Events and preference versions are append-only: nothing in the hub updates or deletes one."""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH = 64
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite keeps no offset, so one is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the hub stores only timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Device(Base):
    """A registered door agent, and what the hub last heard from it."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    site: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    doors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    status_boot: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    status_fw: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_heartbeat: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class StoredEvent(Base):
    """One event exactly as its device signed it, with the fields the hub filters on beside it."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("device", "seq", name="uq_events_device_seq"),
        Index("ix_events_room_ts", "room", "ts_ms"),
        Index("ix_events_device_ts", "device", "ts_ms"),
        Index("ix_events_site_ts", "site", "ts_ms"),
        Index("ix_events_device_type_seq", "device", "type", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    device: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(128))
    door: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    room: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    mono_ms: Mapped[int] = mapped_column(BigInteger)
    boot: Mapped[str] = mapped_column(String(ID_LENGTH))
    prev: Mapped[str] = mapped_column(String(44))
    hash: Mapped[str] = mapped_column(String(44))
    sig: Mapped[str] = mapped_column(String(88))
    signed: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RejectedMessage(Base):
    """Anything received that could not be stored as an event or status, kept byte for byte with the reason."""

    __tablename__ = "rejected_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    device: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeviceHead(Base):
    """How far each device's stored chain reaches: `acked_seq` is what its receipt says."""

    __tablename__ = "device_heads"

    device: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"), primary_key=True)
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    max_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class StaffRole(StrEnum):
    STAFF = "staff"
    NIGHT_LEAD = "night_lead"
    MANAGER = "manager"
    ADMIN = "admin"


class AccountRole(StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    NIGHT_LEAD = "night_lead"
    MANAGER = "manager"
    ADMIN = "admin"


class Basis(StrEnum):
    """On what authority a preference version was set."""

    OWN_CHOICE = "own_choice"
    WITH_SUPPORT = "with_support"
    BEST_INTERESTS = "best_interests"


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


class Home(Base):
    """A care home or supported-living site; its id is the `site` its doors publish under."""

    __tablename__ = "homes"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Room(Base):
    """A room of a home: the id its doors name in the device registry."""

    __tablename__ = "rooms"

    home_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("homes.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    home_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("homes.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tenancy(Base):
    """Who lived in which room when. A move adds a row; the only change ever made to one is closing it (`ended_at`)."""

    __tablename__ = "tenancies"
    __table_args__ = (
        ForeignKeyConstraint(["home_id", "room_id"], ["rooms.home_id", "rooms.id"]),
        Index("ix_tenancies_room", "home_id", "room_id", "started_at"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="ck_tenancies_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"), index=True)
    home_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    room_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Staff(Base):
    """A member of staff; the id is the one their handset and badge send in events."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(_one_of("role", StaffRole), name="ck_staff_role"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    home_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("homes.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Shift(Base):
    """The duty roster: who is on shift when (UTC)."""

    __tablename__ = "shifts"
    __table_args__ = (
        Index("ix_shifts_staff_start", "staff_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ck_shifts_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("staff.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Account(Base):
    """Someone who signs in: a resident, a member of staff, or an admin (who need not be on a home's staff)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(_one_of("role", AccountRole), name="ck_accounts_role"),
        CheckConstraint(
            "(role = 'resident' AND resident_id IS NOT NULL AND staff_id IS NULL)"
            " OR (role IN ('staff', 'night_lead', 'manager') AND staff_id IS NOT NULL AND resident_id IS NULL)"
            " OR (role = 'admin' AND resident_id IS NULL)",
            name="ck_accounts_link",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    resident_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"), default=None)
    staff_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("staff.id"), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(
        String(64), default=None, comment="base32 TOTP secret; pending until totp_enrolled_at is set")
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(
        BigInteger, default=None, comment="30-second step of the last code accepted: a code works once")


class ApiToken(Base):
    """A bearer token, kept only as its SHA-256: the token itself is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebSession(Base):
    """A dashboard session: the cookie holds a random id, this row only its SHA-256. Ended rows are kept (who was
    signed in when, and why each session ended)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    method: Mapped[str] = mapped_column(String(16), comment="password, paired_tablet or staff_beside")
    beside_staff_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("staff.id"), default=None, comment="who was beside a resident signing in")
    enrolling: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="good only for enrolling a second factor, before anything else")


class SignInAttempt(Base):
    """One sign-in attempt, for the rate limits per username and per address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), comment="as typed, lower-cased; may name no account")
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class TabletPairing(Base):
    """A tablet paired to a room, where its resident may sign in: the tablet's cookie holds a random secret, this
    row only its SHA-256. Pairing again or unpairing sets `revoked_at`; rows are kept."""

    __tablename__ = "tablet_pairings"
    __table_args__ = (
        ForeignKeyConstraint(["home_id", "room_id"], ["rooms.home_id", "rooms.id"]),
        Index("ix_tablet_pairings_room", "home_id", "room_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    home_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    room_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    paired_by: Mapped[str] = mapped_column(String(64), comment="username of who paired it")
    paired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)


class PreferenceVersion(Base):
    """One version of a resident's entry preferences. A change is a new row; the database refuses any other change."""

    __tablename__ = "preference_versions"
    __table_args__ = (
        UniqueConstraint("resident_id", "version", name="uq_preference_versions_resident_version"),
        CheckConstraint(_one_of("basis", Basis), name="ck_preference_versions_basis"),
        CheckConstraint(
            "(basis = 'own_choice' AND supporter_staff_id IS NULL AND mca_reference IS NULL AND review_date IS NULL)"
            " OR (basis = 'with_support' AND supporter_staff_id IS NOT NULL AND mca_reference IS NULL"
            " AND review_date IS NULL)"
            " OR (basis = 'best_interests' AND mca_reference IS NOT NULL AND review_date IS NOT NULL)",
            name="ck_preference_versions_authority",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    basis: Mapped[str] = mapped_column(String(16))
    supporter_staff_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("staff.id"), default=None)
    mca_reference: Mapped[str | None] = mapped_column(String(200), default=None)
    review_date: Mapped[date | None] = mapped_column(Date, default=None)
    wait_s: Mapped[int | None] = mapped_column(Integer)
    quiet_hours: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    dnd_allowed: Mapped[bool] = mapped_column(Boolean)
    not_now_hold_s: Mapped[int] = mapped_column(Integer)
    show_knocker: Mapped[bool] = mapped_column(Boolean)
    excluded_staff: Mapped[list[str]] = mapped_column(JSON)
    night_checks: Mapped[list[dict[str, str]]] = mapped_column(JSON)


class EntryRecord(Base):
    """One decision about one door opening, as the entry rules made it. A re-decision (a late event, the door
    closing) adds the next revision; no row is ever changed, so every earlier decision stays in the history."""

    __tablename__ = "entry_decisions"
    __table_args__ = (
        UniqueConstraint("door_opened_event_id", "revision", name="uq_entry_decisions_opening_revision"),
        Index("ix_entry_decisions_site_opened", "site", "opened_at"),
        Index("ix_entry_decisions_room_opened", "room", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    door_opened_event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"))
    revision: Mapped[int] = mapped_column(Integer)
    cause: Mapped[str] = mapped_column(String(32), comment="first, late_event or door_closed")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    room: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    device: Mapped[str] = mapped_column(String(ID_LENGTH))
    door: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    resident_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    sentence: Mapped[str] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(32))
    preference_version: Mapped[int | None] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(ID_LENGTH))
    knock_event_id: Mapped[int | None] = mapped_column(BigId)
    answer_event_id: Mapped[int | None] = mapped_column(BigId)
    waited_ms: Mapped[int | None] = mapped_column(BigInteger)
    wait_s: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inside_ms: Mapped[int | None] = mapped_column(BigInteger)
    rests_on: Mapped[list[str]] = mapped_column(JSON)
    review_required: Mapped[bool] = mapped_column(Boolean)


class EntryExplanation(Base):
    """What the member of staff an entry names said about it, in their own words. A second explanation is a new
    row; the database refuses any other change, so what was said first stays on record. Each is also a
    `hub.entry.explained` event in the hub's chain."""

    __tablename__ = "entry_explanations"
    __table_args__ = (Index("ix_entry_explanations_opening", "door_opened_event_id", "given_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    door_opened_event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"))
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    room: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    staff_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("staff.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)


class AlertRecord(Base):
    """An alert's current state (hub/rules/alerts.py's AlertState); every change is also an AlertChangeRecord and
    an event in the hub's own chain. At most one active alert per subject and type, enforced here."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_one_active", "subject", "type", unique=True,
            postgresql_where=text("cleared_at IS NULL"), sqlite_where=text("cleared_at IS NULL"),
        ),
        Index("ix_alerts_site_raised", "site", "raised_at"),
        Index("ix_alerts_next_escalation", "next_escalation_at"),
        Index(
            "ix_alerts_active_room", "site", "room",
            postgresql_where=text("cleared_at IS NULL"), sqlite_where=text("cleared_at IS NULL"),
        ),
        Index("ix_alerts_subject_type", "subject", "type"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    room: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    type: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    subject_staff: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    sentence: Mapped[str] = mapped_column(Text)
    rests_on: Mapped[list[str]] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    clear_note: Mapped[str | None] = mapped_column(Text, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolution_note: Mapped[str | None] = mapped_column(Text, default=None)
    escalated: Mapped[list[int]] = mapped_column(JSON, default=list)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AlertChangeRecord(Base):
    """One line of an alert's history (append-only)."""

    __tablename__ = "alert_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("alerts.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(ID_LENGTH))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))


class CheckIn(Base):
    """A lone worker's check-in from their handset while in a room (append-only)."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_staff_at", "staff_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("staff.id"))
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    room: Mapped[str] = mapped_column(String(ID_LENGTH))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class EscalationLadderVersion(Base):
    """One version of a home's escalation ladder (hub/rules/alerts.py's EscalationLadder steps). A change is a new
    row and the database refuses any other change, so who set which ladder when stays on record; the newest version
    is the one in force, and a home with none climbs DEFAULT_LADDER."""

    __tablename__ = "escalation_ladders"
    __table_args__ = (UniqueConstraint("home_id", "version", name="uq_escalation_ladders_home_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    home_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("homes.id"))
    version: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(ID_LENGTH), comment="username of the account that set it")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomEnvironmentLimits(Base):
    """A room's own environment limits, in place of the defaults (hub/rules/environment.py's EnvironmentLimits).
    Every change is also a `hub.environment_limits.changed` event in the hub's chain."""

    __tablename__ = "room_environment_limits"
    __table_args__ = (
        ForeignKeyConstraint(["home_id", "room_id"], ["rooms.home_id", "rooms.id"]),
        CheckConstraint("min_temp_c_x100 < max_temp_c_x100", name="ck_room_environment_limits_temp"),
        CheckConstraint("min_rh_x100 < max_rh_x100", name="ck_room_environment_limits_rh"),
        CheckConstraint("sustained_s >= 0", name="ck_room_environment_limits_sustained"),
    )

    home_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    min_temp_c_x100: Mapped[int] = mapped_column(Integer)
    max_temp_c_x100: Mapped[int] = mapped_column(Integer)
    min_rh_x100: Mapped[int] = mapped_column(Integer)
    max_rh_x100: Mapped[int] = mapped_column(Integer)
    sustained_s: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(ID_LENGTH), comment="username of the account that set them")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PendingHubEvent(Base):
    """Something a person did through the hub (a preference version, a remote knock, a timeline read), written in
    the same transaction as the change itself and signed into the hub's own chain by the worker, its one writer."""

    __tablename__ = "pending_hub_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    room: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    type: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckpointRecord(Base):
    """A signed checkpoint over the head of every chain (hub/evidence/checkpoints.py). Checkpoints chain to each
    other like events do, and the table is append-only."""

    __tablename__ = "checkpoints"

    n: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tree_size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(44))
    leaves: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    prev: Mapped[str] = mapped_column(String(44))
    body: Mapped[str] = mapped_column(Text, comment="the exact signed bytes of the checkpoint body")
    sig: Mapped[str] = mapped_column(String(88))


class Case(Base):
    """An investigation. While open (`closed_at` is null) it holds its scope: the retention purge never touches it."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(ID_LENGTH))
    opened_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    rooms: Mapped[list[str]] = mapped_column(JSON)
    staff: Mapped[list[str]] = mapped_column(JSON)
    window_from: Mapped[datetime] = mapped_column(UTCDateTime)
    window_to: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PurgedEvent(Base):
    """An event whose payload the retention purge removed; the events row keeps its hash, prev and seq (append-only)."""

    __tablename__ = "purged_events"
    __table_args__ = (UniqueConstraint("device", "seq", name="uq_purged_events_device_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device: Mapped[str] = mapped_column(String(ID_LENGTH))
    seq: Mapped[int] = mapped_column(BigInteger)
    data_class: Mapped[str] = mapped_column(String(32))
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime)
