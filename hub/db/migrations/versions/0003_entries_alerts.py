"""Entry decisions (with their history), alerts and their changes, lone-worker check-ins, and the hub's pending
own-chain events.

Revision ID: 0003_entries_alerts
Revises: 0002_people
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models
from hub.db.append_only import append_only_statements, drop_append_only_statements

revision: str = "0003_entries_alerts"
down_revision: str | None = "0002_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()
ID = sa.String(64)
APPEND_ONLY = ("entry_decisions", "alert_changes", "check_ins")


def upgrade() -> None:
    op.create_table(
        "entry_decisions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("door_opened_event_id", BigId, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False, comment="first, late_event or door_closed"),
        sa.Column("decided_at", UTC, nullable=False),
        sa.Column("site", ID, nullable=False),
        sa.Column("room", ID, nullable=True),
        sa.Column("device", ID, nullable=False),
        sa.Column("door", ID, nullable=True),
        sa.Column("resident_id", ID, nullable=True),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=False),
        sa.Column("preference_version", sa.Integer(), nullable=True),
        sa.Column("who", ID, nullable=False),
        sa.Column("knock_event_id", BigId, nullable=True),
        sa.Column("answer_event_id", BigId, nullable=True),
        sa.Column("waited_ms", sa.BigInteger(), nullable=True),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("inside_ms", sa.BigInteger(), nullable=True),
        sa.Column("rests_on", sa.JSON(), nullable=False),
        sa.Column("review_required", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("door_opened_event_id", "revision", name="uq_entry_decisions_opening_revision"),
    )
    op.create_index("ix_entry_decisions_site_opened", "entry_decisions", ["site", "opened_at"])
    op.create_index("ix_entry_decisions_room_opened", "entry_decisions", ["room", "opened_at"])

    op.create_table(
        "alerts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("site", ID, nullable=False),
        sa.Column("room", ID, nullable=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("subject_staff", ID, nullable=True),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("rests_on", sa.JSON(), nullable=False),
        sa.Column("raised_at", UTC, nullable=False),
        sa.Column("acknowledged_by", ID, nullable=True),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("cleared_at", UTC, nullable=True),
        sa.Column("clear_note", sa.Text(), nullable=True),
        sa.Column("resolved_by", ID, nullable=True),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("escalated", sa.JSON(), nullable=False),
        sa.Column("next_escalation_at", UTC, nullable=True),
    )
    op.create_index(
        "uq_alerts_one_active", "alerts", ["subject", "type"], unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"), sqlite_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index("ix_alerts_site_raised", "alerts", ["site", "raised_at"])
    op.create_index("ix_alerts_next_escalation", "alerts", ["next_escalation_at"])

    op.create_table(
        "alert_changes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("alert_id", ID, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("by", ID, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
    )
    op.create_index("ix_alert_changes_alert_id", "alert_changes", ["alert_id"])

    op.create_table(
        "check_ins",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("staff_id", ID, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("site", ID, nullable=False),
        sa.Column("room", ID, nullable=False),
        sa.Column("at", UTC, nullable=False),
    )
    op.create_index("ix_check_ins_staff_at", "check_ins", ["staff_id", "at"])

    op.create_table(
        "pending_hub_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("site", ID, nullable=False),
        sa.Column("room", ID, nullable=True),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only_statements(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in drop_append_only_statements(dialect, table):
            op.execute(statement)
    for table in ("pending_hub_events", "check_ins", "alert_changes", "alerts", "entry_decisions"):
        op.drop_table(table)
