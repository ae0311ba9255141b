"""Water balance inputs: billed and unbilled consumption, per system and DMA.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Reserved in the revision chain so that parts built in parallel do not fork it; the owner
fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
