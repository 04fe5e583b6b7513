"""Routing: rule set versions, decisions audit log, pool state, absences, overrides, outbox.

Revision ID: 0003_routing
Revises:
Depends on: 0001_core
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_routing"
down_revision = None
branch_labels = ("routing",)
depends_on = "0001_core"

_APPEND_ONLY_SQLITE = """
CREATE TRIGGER routing_decisions_no_{op}
BEFORE {OP} ON routing_decisions
BEGIN
    SELECT RAISE(ABORT, 'routing_decisions is an append-only audit log');
END
"""

_APPEND_ONLY_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION routing_decisions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'routing_decisions is an append-only audit log';
END;
$$ LANGUAGE plpgsql
"""

_APPEND_ONLY_PG_TRIGGER = """
CREATE TRIGGER routing_decisions_append_only
BEFORE UPDATE OR DELETE ON routing_decisions
FOR EACH ROW EXECUTE FUNCTION routing_decisions_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "routing_rule_sets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule_sets")),
    )
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=255), nullable=True),
        sa.Column("account_id", sa.String(length=128), nullable=True),
        sa.Column("territory_id", sa.String(length=128), nullable=True),
        sa.Column("owner_id", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_set_id"],
            ["routing_rule_sets.id"],
            name=op.f("fk_routing_decisions_rule_set_id_routing_rule_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    op.create_index(op.f("ix_routing_decisions_record_id"), "routing_decisions", ["record_id"])
    op.create_index(op.f("ix_routing_decisions_batch_id"), "routing_decisions", ["batch_id"])
    op.create_table(
        "routing_pool_state",
        sa.Column("territory_id", sa.String(length=128), nullable=False),
        sa.Column("rep_id", sa.String(length=128), nullable=False),
        sa.Column("credit", sa.Float(), nullable=False),
        sa.Column("assigned_total", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("assigned_in_period", sa.Integer(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("territory_id", "rep_id", name=op.f("pk_routing_pool_state")),
    )
    op.create_table(
        "routing_absences",
        sa.Column("rep_id", sa.String(length=128), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", name=op.f("pk_routing_absences")),
    )
    op.create_table(
        "routing_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("territory_id", sa.String(length=128), nullable=True),
        sa.Column("owner_id", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_overrides")),
    )
    op.create_index(op.f("ix_routing_overrides_account_id"), "routing_overrides", ["account_id"])
    op.create_table(
        "routing_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("alert", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["routing_decisions.id"],
            name=op.f("fk_routing_outbox_decision_id_routing_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_outbox")),
    )
    op.create_index(
        op.f("ix_routing_outbox_status_next_attempt_at"),
        "routing_outbox",
        ["status", "next_attempt_at"],
    )
    # The decisions table is an audit log: refuse UPDATE and DELETE in the database.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("update", "delete"):
            op.execute(_APPEND_ONLY_SQLITE.format(op=name, OP=name.upper()))
    elif dialect == "postgresql":
        op.execute(_APPEND_ONLY_PG_FUNCTION)
        op.execute(_APPEND_ONLY_PG_TRIGGER)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS routing_decisions_no_update")
        op.execute("DROP TRIGGER IF EXISTS routing_decisions_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS routing_decisions_append_only ON routing_decisions")
        op.execute("DROP FUNCTION IF EXISTS routing_decisions_append_only()")
    op.drop_table("routing_outbox")
    op.drop_table("routing_overrides")
    op.drop_table("routing_absences")
    op.drop_table("routing_pool_state")
    op.drop_table("routing_decisions")
    op.drop_table("routing_rule_sets")
