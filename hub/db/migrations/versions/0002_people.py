"""Homes, rooms, residents and who lived where, staff and their shifts, accounts and tokens, preference versions.

Revision ID: 0002_people
Revises: 0001_ingest
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.models

revision: str = "0002_people"
down_revision: str | None = "0001_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hub.db.models.UTCDateTime()
ID = sa.String(64)

# A preference version is the record of what a resident asked for and on whose authority: never changed in place.
POSTGRES_APPEND_ONLY = """
CREATE FUNCTION preference_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'preference versions are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER preference_versions_no_update BEFORE UPDATE OR DELETE ON preference_versions
    FOR EACH ROW EXECUTE FUNCTION preference_versions_append_only();
CREATE TRIGGER preference_versions_no_truncate BEFORE TRUNCATE ON preference_versions
    FOR EACH STATEMENT EXECUTE FUNCTION preference_versions_append_only();
"""
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER preference_versions_no_update BEFORE UPDATE ON preference_versions "
    "BEGIN SELECT RAISE(ABORT, 'preference versions are append-only: UPDATE refused'); END",
    "CREATE TRIGGER preference_versions_no_delete BEFORE DELETE ON preference_versions "
    "BEGIN SELECT RAISE(ABORT, 'preference versions are append-only: DELETE refused'); END",
]

# Written out here rather than read from the models, so this revision stays what it was when later ones change them.
ROLES = "'resident', 'staff', 'night_lead', 'manager', 'admin'"
ACCOUNT_LINK = (
    "(role = 'resident' AND resident_id IS NOT NULL AND staff_id IS NULL)"
    " OR (role IN ('staff', 'night_lead', 'manager') AND staff_id IS NOT NULL AND resident_id IS NULL)"
    " OR (role = 'admin' AND resident_id IS NULL)"
)
AUTHORITY = (
    "(basis = 'own_choice' AND supporter_staff_id IS NULL AND mca_reference IS NULL AND review_date IS NULL)"
    " OR (basis = 'with_support' AND supporter_staff_id IS NOT NULL AND mca_reference IS NULL"
    " AND review_date IS NULL)"
    " OR (basis = 'best_interests' AND mca_reference IS NOT NULL AND review_date IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "homes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("home_id", ID, sa.ForeignKey("homes.id"), primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("created_at", UTC, nullable=False),
    )
    op.create_table(
        "residents",
        sa.Column("id", ID, primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("home_id", ID, sa.ForeignKey("homes.id"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
    )
    op.create_index("ix_residents_home_id", "residents", ["home_id"])
    op.create_table(
        "tenancies",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("resident_id", ID, sa.ForeignKey("residents.id"), nullable=False),
        sa.Column("home_id", ID, nullable=False),
        sa.Column("room_id", ID, nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["home_id", "room_id"], ["rooms.home_id", "rooms.id"]),
        sa.CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="ck_tenancies_ends_after_start"),
    )
    op.create_index("ix_tenancies_resident_id", "tenancies", ["resident_id"])
    op.create_index("ix_tenancies_room", "tenancies", ["home_id", "room_id", "started_at"])
    op.create_table(
        "staff",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("home_id", ID, sa.ForeignKey("homes.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("role IN ('staff', 'night_lead', 'manager', 'admin')", name="ck_staff_role"),
    )
    op.create_index("ix_staff_home_id", "staff", ["home_id"])
    op.create_table(
        "shifts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("staff_id", ID, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_shifts_ends_after_start"),
    )
    op.create_index("ix_shifts_staff_start", "shifts", ["staff_id", "starts_at"])
    op.create_table(
        "accounts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("resident_id", ID, sa.ForeignKey("residents.id"), nullable=True),
        sa.Column("staff_id", ID, sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(f"role IN ({ROLES})", name="ck_accounts_role"),
        sa.CheckConstraint(ACCOUNT_LINK, name="ck_accounts_link"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])
    op.create_table(
        "preference_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("resident_id", ID, sa.ForeignKey("residents.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("set_by_account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("supporter_staff_id", ID, sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("mca_reference", sa.String(200), nullable=True),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("quiet_hours", sa.JSON(), nullable=False),
        sa.Column("dnd_allowed", sa.Boolean(), nullable=False),
        sa.Column("not_now_hold_s", sa.Integer(), nullable=False),
        sa.Column("show_knocker", sa.Boolean(), nullable=False),
        sa.Column("excluded_staff", sa.JSON(), nullable=False),
        sa.Column("night_checks", sa.JSON(), nullable=False),
        sa.UniqueConstraint("resident_id", "version", name="uq_preference_versions_resident_version"),
        sa.CheckConstraint("basis IN ('own_choice', 'with_support', 'best_interests')",
                           name="ck_preference_versions_basis"),
        sa.CheckConstraint(AUTHORITY, name="ck_preference_versions_authority"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_APPEND_ONLY)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("preference_versions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION preference_versions_append_only()")
    for table in ("api_tokens", "accounts", "shifts", "staff", "tenancies", "residents", "rooms", "homes"):
        op.drop_table(table)
