"""Goals: quota sets (versioned, never deleted), their territories and monthly phasing,
and SMART goals per rep or territory. See ``territorial.store.goals``.

Revision ID: 0009_goals
Revises: 0008_access
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_goals"
down_revision = "0008_access"
branch_labels = None
depends_on = ("0001_core",)

ID = sa.String(length=128)


def upgrade() -> None:
    op.create_table(
        "quota_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("fiscal_start_month", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("fairness", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_sets")),
    )
    op.create_index(op.f("ix_quota_sets_period_id"), "quota_sets", ["period", "id"])
    op.create_table(
        "quota_rows",
        sa.Column("quota_set_id", sa.Integer(), nullable=False),
        sa.Column("territory_id", ID, nullable=False),
        sa.Column("territory_name", sa.Text(), nullable=True),
        sa.Column("rep_id", ID, nullable=True),
        sa.Column("potential", sa.Float(), nullable=False),
        sa.Column("history", sa.Float(), nullable=False),
        sa.Column("growth", sa.Float(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("productivity", sa.Float(), nullable=False),
        sa.Column("quota", sa.Float(), nullable=False),
        sa.Column("expected_bookings", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["quota_set_id"], ["quota_sets.id"], name=op.f("fk_quota_rows_quota_set_id_quota_sets")
        ),
        sa.PrimaryKeyConstraint("quota_set_id", "territory_id", name=op.f("pk_quota_rows")),
    )
    op.create_index(op.f("ix_quota_rows_rep_id"), "quota_rows", ["rep_id"])
    op.create_table(
        "quota_months",
        sa.Column("quota_set_id", sa.Integer(), nullable=False),
        sa.Column("territory_id", ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("quota", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quota_set_id"],
            ["quota_sets.id"],
            name=op.f("fk_quota_months_quota_set_id_quota_sets"),
        ),
        sa.PrimaryKeyConstraint(
            "quota_set_id", "territory_id", "month", name=op.f("pk_quota_months")
        ),
    )
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("grain", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    op.create_index(op.f("ix_goals_scope_subject_id"), "goals", ["scope", "subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_goals_scope_subject_id"), table_name="goals")
    op.drop_table("goals")
    op.drop_table("quota_months")
    op.drop_index(op.f("ix_quota_rows_rep_id"), table_name="quota_rows")
    op.drop_table("quota_rows")
    op.drop_index(op.f("ix_quota_sets_period_id"), table_name="quota_sets")
    op.drop_table("quota_sets")
