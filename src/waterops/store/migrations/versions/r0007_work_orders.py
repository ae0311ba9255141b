"""Field work orders and the trunk main's records (failures, safe-operation counter).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Reserved in the revision chain so that parts built in parallel do not fork it; the owner
fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
