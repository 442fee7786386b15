"""An index for finding a device's events of one type by seq: the heartbeat before an event (its clock offset)
is looked up for every fact the rules and timelines place in time.

Revision ID: 0006_events_by_type
Revises: 0005_home_settings
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_events_by_type"
down_revision: str | None = "0005_home_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_device_type_seq", "events", ["device", "type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_device_type_seq", table_name="events")
