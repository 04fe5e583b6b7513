"""Import history: every write of imported rows can be undone, nothing is lost.

Schema (migration ``0007_imports``, branch ``imports``):

* ``import_row_versions``: for every row an import (or an undo) changed or deleted, the
  row as it was before (JSON, every column), with the import's id. Append-only.
* ``imports`` gains ``kind`` (``import`` or ``undo``), ``undoes`` (the import an undo
  reverses), ``undone_by`` (the undo that reversed this import) and ``details`` (what
  was recognised and decided while reading the files: entities, date orders, decimal
  marks; and new/changed/unchanged/deleted counts).
* The imported tables gain the standard CRM fields Territorial keeps as columns:
  ``accounts.type``; ``opportunities.name``, ``type``, ``lead_source``, ``probability``
  (percent, 0-100) and ``forecast_category``; ``activities.type`` (the CRM's own
  activity type, e.g. ``Task`` or ``NOTE``, whatever channel it maps to); and
  ``attributes`` (JSON: the export's other columns) on reps, opportunities and
  activities, as accounts already had.

Rows inserted by an import are those whose ``import_id`` is the import's and that
have no version of that import; together with the versions that is enough to put
every table back as it was (see :func:`territorial.store.records.undo_import`).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from territorial.store.tables import (
    ID,
    accounts,
    activities,
    imports,
    metadata,
    opportunities,
    reps,
)

import_row_versions = Table(
    "import_row_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("entity", String(32), nullable=False, doc="accounts, reps, opportunities, activities"),
    Column("row_id", ID, nullable=False),
    Column("action", String(8), nullable=False, doc="'updated' or 'deleted'"),
    Column("data", JSON, nullable=False, doc="the whole row before the import, column -> value"),
)
Index(None, import_row_versions.c.import_id, import_row_versions.c.entity)
Index(None, import_row_versions.c.entity, import_row_versions.c.row_id)

# Columns this area adds to the core tables (declared here so the core module stays
# the foundation's; the migration below creates them).
imports.append_column(
    Column("kind", String(16), nullable=False, server_default="import", doc="import or undo")
)
imports.append_column(Column("undoes", Integer, doc="the import an undo reverses"))
imports.append_column(Column("undone_by", Integer, doc="the undo that reversed this import"))
imports.append_column(Column("details", JSON, doc="what was recognised and decided"))

accounts.append_column(Column("type", String(64), doc="Customer, Prospect, Partner..."))
reps.append_column(Column("attributes", JSON, doc="the export's other columns"))
for column in (
    Column("name", Text, doc="opportunity / deal name"),
    Column("type", String(64), doc="New Business, Existing Business..."),
    Column("lead_source", String(128), doc="where the opportunity came from"),
    Column("probability", Float, doc="chance to close, percent 0-100"),
    Column("forecast_category", String(64), doc="Pipeline, Best Case, Commit, Closed..."),
    Column("attributes", JSON, doc="the export's other columns"),
):
    opportunities.append_column(column)
activities.append_column(Column("type", String(64), doc="the CRM's own activity type"))
activities.append_column(Column("attributes", JSON, doc="the export's other columns"))

#: Columns this module adds to the imported tables: standard CRM fields an export may
#: or may not have (never required) and the computed ``attributes``.
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("type",),
    "reps": ("attributes",),
    "opportunities": (
        "name", "type", "lead_source", "probability", "forecast_category", "attributes",
    ),
    "activities": ("type", "attributes"),
}  # fmt: skip

__all__ = ["ADDED_COLUMNS", "import_row_versions"]
