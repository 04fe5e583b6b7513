"""Imports: undoable history (row versions), recorded readings, standard CRM fields.

Adds ``import_row_versions`` (the previous version of every row an import changed or
deleted), ``imports.kind/undoes/undone_by/details``, ``accounts.type``,
``opportunities.name/type/lead_source/probability/forecast_category/attributes``,
``reps.attributes`` and ``activities.type/attributes``. See
``territorial.store.imports``.

Revision ID: 0007_imports
Revises:
Depends on: 0001_core
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_imports"
down_revision = None
branch_labels = ("imports",)
depends_on = "0001_core"

_ADDED: dict[str, list[sa.Column]] = {
    "imports": [
        sa.Column("kind", sa.String(length=16), nullable=False, server_default="import"),
        sa.Column("undoes", sa.Integer(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
    ],
    "accounts": [sa.Column("type", sa.String(length=64), nullable=True)],
    "reps": [sa.Column("attributes", sa.JSON(), nullable=True)],
    "opportunities": [
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("lead_source", sa.String(length=128), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("forecast_category", sa.String(length=64), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
    ],
    "activities": [
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
    ],
}


def upgrade() -> None:
    op.create_table(
        "import_row_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_import_row_versions_import_id_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row_versions")),
    )
    op.create_index(
        op.f("ix_import_row_versions_import_id_entity"),
        "import_row_versions",
        ["import_id", "entity"],
    )
    op.create_index(
        op.f("ix_import_row_versions_entity_row_id"), "import_row_versions", ["entity", "row_id"]
    )
    # Plain ADD COLUMN on both databases (no table copy): these are all nullable or
    # have a default, so a million-row table gains them instantly.
    for table, columns in _ADDED.items():
        for column in columns:
            op.add_column(table, column)


def downgrade() -> None:
    for table, columns in _ADDED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column.name)
    op.drop_index(op.f("ix_import_row_versions_entity_row_id"), table_name="import_row_versions")
    op.drop_index(op.f("ix_import_row_versions_import_id_entity"), table_name="import_row_versions")
    op.drop_table("import_row_versions")
