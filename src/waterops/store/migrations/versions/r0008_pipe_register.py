"""Pipe register: pipes with material, age, road, break and leak history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Reserved in the revision chain so that parts built in parallel do not fork it; the owner
fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
