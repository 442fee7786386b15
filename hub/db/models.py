"""The hub's tables. Events are append-only: nothing in the hub updates or deletes one."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
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
