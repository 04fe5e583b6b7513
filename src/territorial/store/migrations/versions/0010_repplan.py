"""Rep plans: the reps' flags and account requests (``rep_flags``).

Revision ID: 0010_repplan
Revises: 0008_access
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_repplan"
down_revision = "0008_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rep_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rep_id", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("from_territory", sa.String(length=128), nullable=True),
        sa.Column("to_territory", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("draft_plan_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_flags")),
    )
    op.create_index(op.f("ix_rep_flags_status_id"), "rep_flags", ["status", "id"], unique=False)
    op.create_index(op.f("ix_rep_flags_rep_id"), "rep_flags", ["rep_id"], unique=False)
    op.create_index(op.f("ix_rep_flags_account_id"), "rep_flags", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rep_flags_account_id"), table_name="rep_flags")
    op.drop_index(op.f("ix_rep_flags_rep_id"), table_name="rep_flags")
    op.drop_index(op.f("ix_rep_flags_status_id"), table_name="rep_flags")
    op.drop_table("rep_flags")
