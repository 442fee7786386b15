"""Devices, events (append-only), rejected messages, device heads.

Revision ID: 0001_ingest
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models

revision: str = "0001_ingest"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()

# Events are evidence: the database itself refuses to change or remove one, whatever the code does.
POSTGRES_APPEND_ONLY = """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
"""
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END",
]


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("doors", sa.JSON(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("retired_at", UTC, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_boot", sa.String(64), nullable=True),
        sa.Column("status_fw", sa.String(64), nullable=True),
        sa.Column("status_at", UTC, nullable=True),
        sa.Column("last_seen_at", UTC, nullable=True),
        sa.Column("last_heartbeat", sa.JSON(), nullable=True),
    )
    op.create_index("ix_devices_site", "devices", ["site"])
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("door", sa.String(64), nullable=True),
        sa.Column("room", sa.String(64), nullable=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("mono_ms", sa.BigInteger(), nullable=False),
        sa.Column("boot", sa.String(64), nullable=False),
        sa.Column("prev", sa.String(44), nullable=False),
        sa.Column("hash", sa.String(44), nullable=False),
        sa.Column("sig", sa.String(88), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.UniqueConstraint("device", "seq", name="uq_events_device_seq"),
    )
    op.create_index("ix_events_room_ts", "events", ["room", "ts_ms"])
    op.create_index("ix_events_device_ts", "events", ["device", "ts_ms"])
    op.create_index("ix_events_site_ts", "events", ["site", "ts_ms"])
    op.create_table(
        "rejected_messages",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
    )
    op.create_index("ix_rejected_messages_reason", "rejected_messages", ["reason"])
    op.create_index("ix_rejected_messages_device", "rejected_messages", ["device"])
    op.create_table(
        "device_heads",
        sa.Column("device", sa.String(64), sa.ForeignKey("devices.id"), primary_key=True),
        sa.Column("acked_seq", sa.BigInteger(), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_APPEND_ONLY)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("device_heads")
    op.drop_table("rejected_messages")
    op.drop_table("events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION events_append_only()")
    op.drop_table("devices")
