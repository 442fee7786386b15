"""A home's own escalation ladder (append-only versions) and rooms' own environment limits.

Revision ID: 0005_home_settings
Revises: 0004_evidence
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models
from hub.db.append_only import append_only_statements, drop_append_only_statements

revision: str = "0005_home_settings"
down_revision: str | None = "0004_evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()
ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "escalation_ladders",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("home_id", ID, sa.ForeignKey("homes.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("updated_by", ID, nullable=False, comment="username of the account that set it"),
        sa.Column("updated_at", UTC, nullable=False),
        sa.UniqueConstraint("home_id", "version", name="uq_escalation_ladders_home_version"),
    )
    op.create_table(
        "room_environment_limits",
        sa.Column("home_id", ID, primary_key=True),
        sa.Column("room_id", ID, primary_key=True),
        sa.Column("min_temp_c_x100", sa.Integer(), nullable=False),
        sa.Column("max_temp_c_x100", sa.Integer(), nullable=False),
        sa.Column("min_rh_x100", sa.Integer(), nullable=False),
        sa.Column("max_rh_x100", sa.Integer(), nullable=False),
        sa.Column("sustained_s", sa.Integer(), nullable=False),
        sa.Column("updated_by", ID, nullable=False, comment="username of the account that set them"),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["home_id", "room_id"], ["rooms.home_id", "rooms.id"]),
        sa.CheckConstraint("min_temp_c_x100 < max_temp_c_x100", name="ck_room_environment_limits_temp"),
        sa.CheckConstraint("min_rh_x100 < max_rh_x100", name="ck_room_environment_limits_rh"),
        sa.CheckConstraint("sustained_s >= 0", name="ck_room_environment_limits_sustained"),
    )
    for statement in append_only_statements(op.get_bind().dialect.name, "escalation_ladders"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_statements(op.get_bind().dialect.name, "escalation_ladders"):
        op.execute(statement)
    op.drop_table("room_environment_limits")
    op.drop_table("escalation_ladders")
