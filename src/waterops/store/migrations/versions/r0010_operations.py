"""Operations records of emergencies (isolation plans, contamination events, source switches).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Reserved in the revision chain so that parts built in parallel do not fork it; the owner
fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
