"""The territory model's tables: who carries each territory, the lifecycle's events,
owner history, holdovers, notifications and the job queue (keyword-only data access).

Declared on the shared ``metadata``; the schema ships as migration ``0006_planning`` on
its own branch (``planning``). The lifecycle rules live in :mod:`territorial.planning`;
this module only reads and writes rows. Every table here is append-only or keeps its
history in place (a status or a timestamp changes; nothing is deleted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from territorial.store.tables import ID, metadata

plan_territories = Table(
    "plan_territories",
    metadata,
    Column("plan_id", Integer, ForeignKey("plans.id"), primary_key=True),
    Column("territory_id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_id", ID, doc="region or team the territory belongs to (a territory id)"),
    Column("segment", String(64)),
)

plan_members = Table(
    "plan_members",
    metadata,
    Column("plan_id", Integer, ForeignKey("plans.id"), primary_key=True),
    Column("territory_id", ID, primary_key=True),
    Column("rep_id", ID, primary_key=True),
    Column(
        "role",
        String(32),
        nullable=False,
        doc="'owner' (carries the territory and owns its accounts), 'overlay', 'sdr' ...",
    ),
)
Index(None, plan_members.c.rep_id)

plan_events = Table(
    "plan_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False, doc="e-mail of the user, or 'cli'"),
    Column("action", String(32), nullable=False, doc="created, submitted, approved, ..."),
    Column("from_status", String(16)),
    Column("to_status", String(16)),
    Column("note", Text, doc="reason of a rejection, effective date ..."),
    Column("details", JSON),
)
Index(None, plan_events.c.plan_id)

owner_history = Table(
    "account_owner_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", ID, nullable=False),
    Column("previous_owner_id", ID),
    Column("owner_id", ID),
    Column("territory_id", ID),
    Column("plan_id", Integer, ForeignKey("plans.id")),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("source", String(32), nullable=False, doc="'activation', 'import', 'reassignment'"),
)
Index(None, owner_history.c.account_id)
Index(None, owner_history.c.plan_id)

holdovers = Table(
    "opportunity_holdovers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("opportunity_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False),
    Column("held_owner_id", ID, doc="owner the open opportunity stays with"),
    Column("new_owner_id", ID, doc="the account's owner in the activated plan"),
    Column(
        "action",
        String(16),
        nullable=False,
        doc="'held' (stays with its owner) or 'transferred' (moved to the new owner)",
    ),
    Column("until", Date, doc="held until this date; NULL: until the opportunity closes"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True), doc="when a held opportunity was handed over"),
)
Index(None, holdovers.c.opportunity_id)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rep_id", ID, doc="the rep it is for (reps see theirs)"),
    Column("user_id", Integer, doc="or the workspace user it is for"),
    Column("kind", String(32), nullable=False, doc="'book_changed', 'flag_answered' ..."),
    Column("title", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("plan_id", Integer),
    Column("read_at", DateTime(timezone=True)),
)
Index(None, notifications.c.rep_id)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False, doc="'design', 'activate_due' ..."),
    Column(
        "status",
        String(16),
        nullable=False,
        doc="'queued', 'running', 'done', 'failed' or 'cancelled'",
    ),
    Column("payload", JSON, nullable=False, doc="the job's input (options)"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(255)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True), doc="last sign of life of its worker"),
    Column("worker", String(255), doc="host:pid of the worker running it"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("progress", Float, nullable=False, default=0.0, doc="0 to 1"),
    Column("message", Text, doc="what the job is doing now"),
    Column("result", JSON, doc="the job's output (e.g. the saved plan id)"),
    Column("error", Text, doc="why it failed"),
)
Index(None, jobs.c.status, jobs.c.id)

PLANNING_TABLES = (
    plan_territories,
    plan_members,
    plan_events,
    owner_history,
    holdovers,
    notifications,
    jobs,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: they are UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


# --- events ------------------------------------------------------------------------------
def add_event(
    conn: Connection,
    *,
    plan_id: int,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one lifecycle event of a plan."""
    conn.execute(
        insert(plan_events).values(
            plan_id=plan_id,
            at=at or utcnow(),
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note,
            details=dict(details or {}),
        )
    )


def list_events(engine: Engine, *, plan_id: int) -> list[dict[str, Any]]:
    """A plan's lifecycle events, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(plan_events).where(plan_events.c.plan_id == plan_id).order_by(plan_events.c.id)
        ).mappings()
        return [{**r, "at": aware(r["at"])} for r in rows]


# --- notifications -----------------------------------------------------------------------
def notify(
    conn: Connection,
    *,
    kind: str,
    title: str,
    body: Mapping[str, Any],
    rep_id: str | None = None,
    user_id: int | None = None,
    plan_id: int | None = None,
    at: datetime | None = None,
) -> None:
    """Leave a notification for a rep (or a user) in the same transaction as its cause."""
    notify_many(
        conn,
        rows=[
            {
                "kind": kind,
                "title": title,
                "body": dict(body),
                "rep_id": rep_id,
                "user_id": user_id,
                "plan_id": plan_id,
            }
        ],
        at=at,
    )


def notify_many(
    conn: Connection, *, rows: Sequence[Mapping[str, Any]], at: datetime | None = None
) -> None:
    """Many notifications at once (``kind``, ``title``, ``body``, ``rep_id`` ...)."""
    if not rows:
        return
    now = at or utcnow()
    conn.execute(
        insert(notifications),
        [
            {
                "created_at": now,
                "rep_id": r.get("rep_id"),
                "user_id": r.get("user_id"),
                "kind": r["kind"],
                "title": r["title"],
                "body": dict(r["body"]),
                "plan_id": r.get("plan_id"),
                "read_at": None,
            }
            for r in rows
        ],
    )


def list_notifications(
    engine: Engine,
    *,
    rep_id: str | None = None,
    user_id: int | None = None,
    unread_only: bool = False,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Notifications for a rep and/or a user, newest first."""
    query = select(notifications).order_by(notifications.c.id.desc()).limit(limit)
    if rep_id is not None and user_id is not None:
        query = query.where(
            (notifications.c.rep_id == rep_id) | (notifications.c.user_id == user_id)
        )
    elif rep_id is not None:
        query = query.where(notifications.c.rep_id == rep_id)
    elif user_id is not None:
        query = query.where(notifications.c.user_id == user_id)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    with engine.connect() as conn:
        return [
            {**r, "created_at": aware(r["created_at"]), "read_at": aware(r["read_at"])}
            for r in conn.execute(query).mappings()
        ]


def mark_notifications_read(engine: Engine, *, ids: Iterable[int]) -> int:
    """Mark notifications read (kept, never deleted); returns how many changed."""
    ids = list(ids)
    if not ids:
        return 0
    with engine.begin() as conn:
        done = conn.execute(
            update(notifications)
            .where(notifications.c.id.in_(ids), notifications.c.read_at.is_(None))
            .values(read_at=utcnow())
        )
    return int(done.rowcount or 0)


__all__ = [
    "PLANNING_TABLES",
    "add_event",
    "holdovers",
    "jobs",
    "list_events",
    "list_notifications",
    "mark_notifications_read",
    "notifications",
    "notify",
    "notify_many",
    "owner_history",
    "plan_events",
    "plan_members",
    "plan_territories",
]


def query_frame(conn: Connection, statement: Any) -> pd.DataFrame:
    """A DataFrame of a query's rows (object columns), built column by column: pandas is
    slow on SQLAlchemy ``Row`` objects (seconds at 100k rows)."""
    result = conn.execute(statement)
    names = list(result.keys())
    rows = result.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pd.DataFrame(
        {
            name: pd.Series(list(values), dtype=object)
            for name, values in zip(names, columns, strict=True)
        }
    )
