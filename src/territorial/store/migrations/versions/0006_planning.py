"""Planning: the territory model's lifecycle, members, owner history, holdovers,
notifications and the job queue.

Adds lifecycle columns to ``plans`` (effective and review dates, who submitted and
approved, the generated rule set, the holdover policy), a ``reason`` per assignment, and
the tables of ``territorial.store.planning``. Existing plans keep their status ('draft',
'active', 'archived' are lifecycle states).

Revision ID: 0006_planning
Revises:
Depends on: 0001_core, 0004_workspace
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_planning"
down_revision = None
branch_labels = ("planning",)
depends_on = ("0001_core", "0004_workspace")

ID = sa.String(length=128)

_PLAN_COLUMNS = (
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("snapshot", sa.JSON(), nullable=True),
    sa.Column("effective_date", sa.Date(), nullable=True),
    sa.Column("review_date", sa.Date(), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("submitted_by", sa.String(length=255), nullable=True),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("approved_by", sa.String(length=255), nullable=True),
    sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rule_set_id", sa.Integer(), nullable=True),
    sa.Column("holdover", sa.JSON(), nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        for column in _PLAN_COLUMNS:
            batch.add_column(column._copy())
    with op.batch_alter_table("plan_assignments") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))

    op.create_table(
        "plan_territories",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("territory_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_territories_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("plan_id", "territory_id", name=op.f("pk_plan_territories")),
    )
    op.create_table(
        "plan_members",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("territory_id", ID, nullable=False),
        sa.Column("rep_id", ID, nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_members_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("plan_id", "territory_id", "rep_id", name=op.f("pk_plan_members")),
    )
    op.create_index(op.f("ix_plan_members_rep_id"), "plan_members", ["rep_id"])
    op.create_table(
        "plan_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_events_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_events")),
    )
    op.create_index(op.f("ix_plan_events_plan_id"), "plan_events", ["plan_id"])
    op.create_table(
        "account_owner_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("previous_owner_id", ID, nullable=True),
        sa.Column("owner_id", ID, nullable=True),
        sa.Column("territory_id", ID, nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_account_owner_history_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_owner_history")),
    )
    op.create_index(
        op.f("ix_account_owner_history_account_id"), "account_owner_history", ["account_id"]
    )
    op.create_index(op.f("ix_account_owner_history_plan_id"), "account_owner_history", ["plan_id"])
    op.create_table(
        "opportunity_holdovers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("opportunity_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("held_owner_id", ID, nullable=True),
        sa.Column("new_owner_id", ID, nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_opportunity_holdovers_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_holdovers")),
    )
    op.create_index(
        op.f("ix_opportunity_holdovers_opportunity_id"), "opportunity_holdovers", ["opportunity_id"]
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rep_id", ID, nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_rep_id"), "notifications", ["rep_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_status_id"), "jobs", ["status", "id"])


def downgrade() -> None:
    for name in (
        "jobs",
        "notifications",
        "opportunity_holdovers",
        "account_owner_history",
        "plan_events",
        "plan_members",
        "plan_territories",
    ):
        op.drop_table(name)
    with op.batch_alter_table("plan_assignments") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("plans") as batch:
        for column in reversed(_PLAN_COLUMNS):
            batch.drop_column(column.name)
