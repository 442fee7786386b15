"""Two indexes on alerts, each for a look-up that walked every alert the home had ever had: a room's active alerts
(the live board counts them for every room state it publishes) and a subject's alerts of one type, active or not
(the entry rules ask for the help alerts open when a door opened; the welfare round whether a run was prompted).

Revision ID: 0009_active_alerts_by_room
Revises: 0008_entry_explanations
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_active_alerts_by_room"
down_revision: str | None = "0008_entry_explanations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("cleared_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_alerts_active_room", "alerts", ["site", "room"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index("ix_alerts_subject_type", "alerts", ["subject", "type"])


def downgrade() -> None:
    op.drop_index("ix_alerts_subject_type", table_name="alerts")
    op.drop_index("ix_alerts_active_room", table_name="alerts")
