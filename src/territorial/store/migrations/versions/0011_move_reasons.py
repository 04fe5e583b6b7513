"""Manual plan moves keep the reason they replaced (``plan_moves.from_reason``), so undo
puts an account's design reason back.

Revision ID: 0011_move_reasons
Revises: 0004_workspace
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_move_reasons"
down_revision = "0004_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_moves") as batch:
        batch.add_column(sa.Column("from_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_moves") as batch:
        batch.drop_column("from_reason")
