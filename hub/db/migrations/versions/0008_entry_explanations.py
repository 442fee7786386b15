"""Staff members' explanations of the entries that name them (append-only).

Revision ID: 0008_entry_explanations
Revises: 0007_web_sessions
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models
from hub.db.append_only import append_only_statements, drop_append_only_statements

revision: str = "0008_entry_explanations"
down_revision: str | None = "0007_web_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()
ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "entry_explanations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("door_opened_event_id", BigId, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("site", ID, nullable=False),
        sa.Column("room", ID, nullable=True),
        sa.Column("staff_id", ID, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("given_at", UTC, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_entry_explanations_opening", "entry_explanations", ["door_opened_event_id", "given_at"])
    for statement in append_only_statements(op.get_bind().dialect.name, "entry_explanations"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_statements(op.get_bind().dialect.name, "entry_explanations"):
        op.execute(statement)
    op.drop_table("entry_explanations")
