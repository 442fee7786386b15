"""The dashboard's sign-in: server-side sessions, sign-in attempts for the rate limits, a TOTP second factor on
accounts, and tablets paired to rooms for residents.

Revision ID: 0007_web_sessions
Revises: 0006_events_by_type
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models

revision: str = "0007_web_sessions"
down_revision: str | None = "0006_events_by_type"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()
ID = sa.String(64)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("totp_secret", sa.String(64), nullable=True,
                                        comment="base32 TOTP secret; pending until totp_enrolled_at is set"))
    op.add_column("accounts", sa.Column("totp_enrolled_at", UTC, nullable=True))
    op.add_column("accounts", sa.Column("totp_last_step", sa.BigInteger(), nullable=True,
                                        comment="30-second step of the last code accepted: a code works once"))
    op.create_table(
        "web_sessions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("id_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("ended_reason", sa.String(32), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("method", sa.String(16), nullable=False, comment="password, paired_tablet or staff_beside"),
        sa.Column("beside_staff_id", ID, sa.ForeignKey("staff.id"), nullable=True,
                  comment="who was beside a resident signing in"),
        sa.Column("enrolling", sa.Boolean(), nullable=False,
                  comment="good only for enrolling a second factor, before anything else"),
    )
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, comment="as typed, lower-cased; may name no account"),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_sign_in_attempts_username_at", "sign_in_attempts", ["username", "at"])
    op.create_index("ix_sign_in_attempts_address_at", "sign_in_attempts", ["address", "at"])
    op.create_table(
        "tablet_pairings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("home_id", ID, nullable=False),
        sa.Column("room_id", ID, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("paired_by", sa.String(64), nullable=False, comment="username of who paired it"),
        sa.Column("paired_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["home_id", "room_id"], ["rooms.home_id", "rooms.id"]),
    )
    op.create_index("ix_tablet_pairings_room", "tablet_pairings", ["home_id", "room_id"])


def downgrade() -> None:
    op.drop_table("tablet_pairings")
    op.drop_table("sign_in_attempts")
    op.drop_table("web_sessions")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enrolled_at")
        batch.drop_column("totp_secret")
