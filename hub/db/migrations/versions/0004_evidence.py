"""Evidence: signed checkpoints, investigation cases (legal holds), and the record of retention purges.

The one change to `events`: its append-only trigger now lets a single, narrow UPDATE through — blanking `signed`
of a row that `purged_events` already names, with every other column unchanged — so a retention purge removes an
event's payload and keeps its hash, prev and seq for the chain (hub/evidence/retention.py says why).

Revision ID: 0004_evidence
Revises: 0003_entries_alerts
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models
from hub.db.append_only import append_only_statements, drop_append_only_statements

revision: str = "0004_evidence"
down_revision: str | None = "0003_entries_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()
ID = sa.String(64)
APPEND_ONLY = ("checkpoints", "purged_events")
KEPT_COLUMNS = ("id", "site", "device", "seq", "type", "door", "room", "ts_ms", "mono_ms", "boot", "prev", "hash",
                "sig", "received_at")

PURGE_NAMED = "EXISTS (SELECT 1 FROM purged_events p WHERE p.device = OLD.device AND p.seq = OLD.seq)"
SQLITE_PURGE_ONLY = (
    "NEW.signed = '' AND OLD.signed <> '' AND "
    + " AND ".join(f"NEW.{column} IS OLD.{column}" for column in KEPT_COLUMNS)
    + f" AND {PURGE_NAMED}"
)
POSTGRES_PURGE_ONLY = (
    "NEW.signed = '' AND OLD.signed <> '' AND "
    f"({', '.join(f'NEW.{column}' for column in KEPT_COLUMNS)}) IS NOT DISTINCT FROM "
    f"({', '.join(f'OLD.{column}' for column in KEPT_COLUMNS)}) AND {PURGE_NAMED}"
)


def _postgres_function(purge_clause: str) -> str:
    allow = f"IF TG_OP = 'UPDATE' AND {purge_clause} THEN RETURN NEW; END IF;" if purge_clause else ""
    return (
        "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{allow} RAISE EXCEPTION 'events are append-only: % refused', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END; $$"
    )


def _sqlite_update_trigger(purge_clause: str) -> list[str]:
    when = f"WHEN NOT ({purge_clause}) " if purge_clause else ""
    return [
        "DROP TRIGGER events_no_update",
        f"CREATE TRIGGER events_no_update BEFORE UPDATE ON events {when}"
        "BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END",
    ]


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("n", BigId, primary_key=True, autoincrement=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(44), nullable=False),
        sa.Column("leaves", sa.JSON(), nullable=False),
        sa.Column("prev", sa.String(44), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, comment="the exact signed bytes of the checkpoint body"),
        sa.Column("sig", sa.String(88), nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("site", ID, nullable=False),
        sa.Column("opened_by", ID, nullable=False),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rooms", sa.JSON(), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=False),
        sa.Column("window_from", UTC, nullable=False),
        sa.Column("window_to", UTC, nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
    )
    op.create_table(
        "purged_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("device", ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("purged_at", UTC, nullable=False),
        sa.UniqueConstraint("device", "seq", name="uq_purged_events_device_seq"),
    )
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only_statements(dialect, table):
            op.execute(statement)
    if dialect == "postgresql":
        op.execute(_postgres_function(POSTGRES_PURGE_ONLY))
    elif dialect == "sqlite":
        for statement in _sqlite_update_trigger(SQLITE_PURGE_ONLY):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_postgres_function(""))
    elif dialect == "sqlite":
        for statement in _sqlite_update_trigger(""):
            op.execute(statement)
    for table in APPEND_ONLY:
        for statement in drop_append_only_statements(dialect, table):
            op.execute(statement)
    for table in ("purged_events", "cases", "checkpoints"):
        op.drop_table(table)
