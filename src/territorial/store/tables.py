"""Relational schema of the core store (SQLAlchemy Core).

One ``metadata`` for the whole product. Other areas (scoring, routing, workspace)
declare their tables in their own modules on this same ``metadata`` and ship an
Alembic migration on their own branch (see ``store/migrations``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(128)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("source", Text, nullable=False, doc="files or folder imported"),
    Column("status", String(16), nullable=False, doc="'succeeded' or 'rejected'"),
    Column("counts", JSON, nullable=False, doc="rows written per entity"),
    Column("warnings", JSON, nullable=False, doc="non-blocking problems, as dicts"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("domain", String(255)),
    Column("street", Text),
    Column("postal_code", String(16)),
    Column("city", String(128)),
    Column("state", String(64)),
    Column("country", String(64)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("geocode_source", String(16), doc="'input', 'postal_code' or NULL when unlocated"),
    Column("industry", String(128)),
    Column("employees", Integer),
    Column("annual_revenue", Float),
    Column("currency", String(3)),
    Column("segment", String(64)),
    Column("owner_id", ID),
    Column("attributes", JSON),
    Column("import_id", Integer, ForeignKey("imports.id")),
)
Index(None, accounts.c.owner_id)
Index(None, accounts.c.state)

reps = Table(
    "reps",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", String(255)),
    Column("role", String(64)),
    Column("home_city", String(128)),
    Column("home_state", String(64)),
    Column("home_postal_code", String(16)),
    Column("home_latitude", Float),
    Column("home_longitude", Float),
    Column("specialties", JSON, doc="list of industries or segments"),
    Column("capacity_hours", Float, doc="selling hours per week"),
    Column("max_accounts", Integer),
    Column("start_date", Date),
    Column("active", Boolean, nullable=False),
    Column("manager_id", ID),
    Column("import_id", Integer, ForeignKey("imports.id")),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("owner_id", ID),
    Column("amount", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("created_date", Date, nullable=False),
    Column("close_date", Date),
    Column("is_closed", Boolean, nullable=False),
    Column("is_won", Boolean, nullable=False),
    Column("product", String(128)),
    Column("import_id", Integer, ForeignKey("imports.id")),
)
Index(None, opportunities.c.account_id)

activities = Table(
    "activities",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("rep_id", ID),
    Column("channel", String(16), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("duration_minutes", Float, nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id")),
)
Index(None, activities.c.account_id)

territories = Table(
    "territories",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_id", ID, ForeignKey("territories.id")),
    Column("segment", String(64)),
    Column("owner_ids", JSON, doc="rep ids owning the territory"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("parent_id", Integer, ForeignKey("plans.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128)),
    Column(
        "status",
        String(16),
        nullable=False,
        doc="'draft', 'submitted', 'approved', 'scheduled', 'active', 'superseded' or "
        "'archived' (see territorial.planning.lifecycle)",
    ),
    Column("parameters", JSON, doc="how the plan was made (design options)"),
    Column("report", JSON, doc="metrics at creation: balance, compactness, moves"),
    Column("description", Text),
    Column("snapshot", JSON, doc="the data it was designed from: counts, last import, scores"),
    Column("effective_date", Date, doc="the day it takes (or took) effect"),
    Column("review_date", Date, doc="when the model should be reviewed again"),
    Column("submitted_at", DateTime(timezone=True)),
    Column("submitted_by", String(255)),
    Column("approved_at", DateTime(timezone=True)),
    Column("approved_by", String(255)),
    Column("activated_at", DateTime(timezone=True)),
    Column("superseded_at", DateTime(timezone=True)),
    Column("rule_set_id", Integer, doc="the routing rule set its activation generated"),
    Column("holdover", JSON, doc="the holdover policy of its activation"),
)

plan_assignments = Table(
    "plan_assignments",
    metadata,
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", ID, primary_key=True),
    Column("territory_id", ID, nullable=False),
    Column("locked", Boolean, nullable=False, default=False),
    Column("reason", Text, doc="why the account is in its territory (the design's reason)"),
)
Index(None, plan_assignments.c.plan_id, plan_assignments.c.territory_id)

# --- reps' flags and account requests (migration 0010_repplan; territorial.repplan.flags) ---
rep_flags = Table(
    "rep_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rep_id", ID, nullable=False, doc="the rep who flags or requests"),
    Column("created_by", String(255), nullable=False, doc="e-mail of the user, or 'cli'"),
    Column("account_id", ID, nullable=False),
    Column(
        "kind",
        String(32),
        nullable=False,
        doc="'wrong_territory', 'wrong_segment', 'customer_of_another_rep', "
        "'out_of_business', 'duplicate' or 'request'",
    ),
    Column("comment", Text, nullable=False),
    Column("plan_id", Integer, doc="the active version when flagged (NULL: CRM owners)"),
    Column("from_territory", ID, doc="the account's territory when flagged"),
    Column("to_territory", ID, doc="where the account should go (requests: the rep's)"),
    Column("status", String(16), nullable=False, doc="'open', 'accepted' or 'declined'"),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(255)),
    Column("decision_note", Text, doc="why declined, or the planner's note"),
    Column("draft_plan_id", Integer, doc="the draft version holding the accepted move"),
)
Index(None, rep_flags.c.status, rep_flags.c.id)
Index(None, rep_flags.c.rep_id)
Index(None, rep_flags.c.account_id)

#: Entities a user imports, in the order they must be written (foreign keys).
ENTITY_TABLES: dict[str, Table] = {
    "accounts": accounts,
    "reps": reps,
    "opportunities": opportunities,
    "activities": activities,
}
