"""Scoring: the account_scores table (one row per account, replaced by each scoring run).

Revision ID: 0002_scoring
Revises:
Depends on: 0001_core
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_scoring"
down_revision = None
branch_labels = ("scoring",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "account_scores",
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fit_score", sa.Float(), nullable=False),
        sa.Column("fit_reasons", sa.Text(), nullable=True),
        sa.Column("propensity", sa.Float(), nullable=True),
        sa.Column("propensity_percentile", sa.Float(), nullable=True),
        sa.Column("propensity_reasons", sa.Text(), nullable=True),
        sa.Column("potential", sa.Float(), nullable=False),
        sa.Column("potential_percentile", sa.Float(), nullable=True),
        sa.Column("potential_method", sa.String(length=16), nullable=False),
        sa.Column("potential_inputs", sa.Text(), nullable=True),
        sa.Column("serviceable", sa.Boolean(), nullable=False),
        sa.Column("tier_score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("tier_reasons", sa.Text(), nullable=True),
        sa.Column("visit_hours", sa.Float(), nullable=False),
        sa.Column("call_hours", sa.Float(), nullable=False),
        sa.Column("travel_hours", sa.Float(), nullable=False),
        sa.Column("workload_hours", sa.Float(), nullable=False),
        sa.Column("travel_miles", sa.Float(), nullable=False),
        sa.Column("travel_from", sa.String(length=16), nullable=False),
        sa.Column("workload_reasons", sa.Text(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_scores")),
    )
    op.create_index(op.f("ix_account_scores_tier"), "account_scores", ["tier"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_scores_tier"), table_name="account_scores")
    op.drop_table("account_scores")
