"""Routing batches: a batch's traces stored together, decisions keep their index in it.

Adds ``routing_batches`` (one row per routed batch, with the id range of its
decisions) and ``routing_batch_traces`` (its decisions' why-traces, zstd-compressed
JSON in chunks), both append-only like ``routing_decisions``, and
``routing_decisions.batch_index``; the batch id index keeps only the decisions logged
before. Those keep their whole trace in their row (``batch_index`` null) and read back
unchanged.

Revision ID: 0005_routing_batches
Revises: 0003_routing
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_routing_batches"
down_revision = "0003_routing"
branch_labels = None
depends_on = None

_TABLES = ("routing_batches", "routing_batch_traces")

#: Decisions of a batch logged with their whole trace (before this revision).
_LEGACY = "batch_id IS NOT NULL AND batch_index IS NULL"

_APPEND_ONLY_SQLITE = """
CREATE TRIGGER {table}_no_{op}
BEFORE {OP} ON {table}
BEGIN
    SELECT RAISE(ABORT, '{table} is an append-only audit log');
END
"""

_APPEND_ONLY_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION routing_batches_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is an append-only audit log', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""

_APPEND_ONLY_PG_TRIGGER = """
CREATE TRIGGER {table}_append_only
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION routing_batches_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "routing_batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=True),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("first_decision_id", sa.Integer(), nullable=False),
        sa.Column("last_decision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_set_id"],
            ["routing_rule_sets.id"],
            name=op.f("fk_routing_batches_rule_set_id_routing_rule_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_batches")),
    )
    op.create_table(
        "routing_batch_traces",
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("traces", sa.LargeBinary(), nullable=False),
        sa.Column("traces_bytes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["routing_batches.id"],
            name=op.f("fk_routing_batch_traces_batch_id_routing_batches"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "chunk", name=op.f("pk_routing_batch_traces")),
    )
    # A plain ADD COLUMN (no table copy): the decisions' append-only triggers stay.
    op.add_column("routing_decisions", sa.Column("batch_index", sa.Integer(), nullable=True))
    # Newer batches find their decisions by the id range in routing_batches; the batch id
    # index keeps only the decisions logged before (an index entry per decision cost a
    # sixth of the time of logging a batch).
    op.drop_index(op.f("ix_routing_decisions_batch_id"), table_name="routing_decisions")
    op.create_index(
        "ix_routing_decisions_legacy_batch_id",
        "routing_decisions",
        ["batch_id"],
        sqlite_where=sa.text(_LEGACY),
        postgresql_where=sa.text(_LEGACY),
    )
    # The batch tables are part of the audit log: refuse UPDATE and DELETE in the database.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in _TABLES:
            for name in ("update", "delete"):
                op.execute(_APPEND_ONLY_SQLITE.format(table=table, op=name, OP=name.upper()))
    elif dialect == "postgresql":
        op.execute(_APPEND_ONLY_PG_FUNCTION)
        for table in _TABLES:
            op.execute(_APPEND_ONLY_PG_TRIGGER.format(table=table))


def downgrade() -> None:
    """Drops the batch traces: batch decisions logged since then lose their trace."""
    dialect = op.get_bind().dialect.name
    for table in _TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS routing_batches_append_only()")
    op.drop_index("ix_routing_decisions_legacy_batch_id", table_name="routing_decisions")
    op.create_index(op.f("ix_routing_decisions_batch_id"), "routing_decisions", ["batch_id"])
    op.drop_column("routing_decisions", "batch_index")
    op.drop_table("routing_batch_traces")
    op.drop_table("routing_batches")
