"""Quota sets and goals (keyword-only data access).

A quota set is saved as a new **version** every time (``version`` counts the sets of the
same period and plan); nothing is ever deleted or overwritten: the newest version of a
period is its current quotas. Goals are the same: setting a goal again supersedes the
previous one (``superseded_at``), which stays. Schema ships as migration ``0009_goals``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
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
    func,
    insert,
    select,
    update,
)

from territorial.errors import NotFoundError
from territorial.store.tables import ID, metadata

quota_sets = Table(
    "quota_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("plan_id", Integer, doc="the territory model version the quotas are for (NULL: CRM)"),
    Column("period", String(16), nullable=False, doc="FY2027, 2027-Q1 or 2027-03"),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False, doc="first day after the period"),
    Column("fiscal_start_month", Integer, nullable=False),
    Column("method", String(16), nullable=False, doc="'potential', 'history' or 'blend'"),
    Column("target", Float, nullable=False, doc="company target, dollars"),
    Column("options", JSON, nullable=False, doc="weights, floor, cap, ramp ..."),
    Column("fairness", JSON, nullable=False, doc="CV of quota/potential, outliers"),
    Column("explanation", JSON, nullable=False, doc="the method in words"),
    Column("version", Integer, nullable=False, doc="1, 2 ... per period and plan"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(255)),
)
Index(None, quota_sets.c.period, quota_sets.c.id)

quota_rows = Table(
    "quota_rows",
    metadata,
    Column("quota_set_id", Integer, ForeignKey("quota_sets.id"), primary_key=True),
    Column("territory_id", ID, primary_key=True),
    Column("territory_name", Text),
    Column("rep_id", ID),
    Column("potential", Float, nullable=False, doc="dollars per year"),
    Column("history", Float, nullable=False, doc="trailing 12-month bookings, dollars"),
    Column("growth", Float, nullable=False),
    Column("share", Float, nullable=False),
    Column("productivity", Float, nullable=False),
    Column("quota", Float, nullable=False, doc="dollars for the period"),
    Column("expected_bookings", Float, doc="sum of potential x propensity, dollars"),
)
Index(None, quota_rows.c.rep_id)

quota_months = Table(
    "quota_months",
    metadata,
    Column("quota_set_id", Integer, ForeignKey("quota_sets.id"), primary_key=True),
    Column("territory_id", ID, primary_key=True),
    Column("month", String(7), primary_key=True, doc="YYYY-MM"),
    Column("quota", Float, nullable=False, doc="dollars"),
)

goals = Table(
    "goals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False, doc="'rep' or 'territory'"),
    Column("subject_id", ID, nullable=False, doc="the rep or territory id"),
    Column("metric", String(32), nullable=False, doc="see territorial.goals.smart.METRICS"),
    Column("target", Float, nullable=False),
    Column("grain", String(16), nullable=False, doc="'week', 'month' or 'quarter'"),
    Column("source", String(16), nullable=False, doc="'manager' or 'derived'"),
    Column("note", Text, doc="how a derived target was computed, or the manager's note"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(255)),
    Column("superseded_at", DateTime(timezone=True)),
)
Index(None, goals.c.scope, goals.c.subject_id)

GOALS_TABLES = (quota_sets, quota_rows, quota_months, goals)

_ROW_COLUMNS = (
    "territory_name",
    "rep_id",
    "potential",
    "history",
    "growth",
    "share",
    "productivity",
    "quota",
    "expected_bookings",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


def save_quota_set(
    engine: Engine,
    *,
    name: str,
    plan_id: int | None,
    period: str,
    period_start: date,
    period_end: date,
    fiscal_start_month: int,
    method: str,
    target: float,
    options: dict[str, Any],
    fairness: dict[str, Any],
    explanation: list[str],
    quotas: pd.DataFrame,
    monthly: pd.DataFrame,
    created_by: str | None = None,
) -> int:
    """Store a new version of a period's quotas (rows and months in one transaction)."""
    with engine.begin() as conn:
        version = (
            conn.execute(
                select(func.count())
                .select_from(quota_sets)
                .where(
                    quota_sets.c.period == period,
                    quota_sets.c.plan_id.is_(None)
                    if plan_id is None
                    else quota_sets.c.plan_id == plan_id,
                )
            ).scalar_one()
            + 1
        )
        set_id = conn.execute(
            insert(quota_sets)
            .values(
                name=name,
                plan_id=plan_id,
                period=period,
                period_start=period_start,
                period_end=period_end,
                fiscal_start_month=fiscal_start_month,
                method=method,
                target=float(target),
                options=options,
                fairness=fairness,
                explanation=list(explanation),
                version=int(version),
                created_at=_now(),
                created_by=created_by,
            )
            .returning(quota_sets.c.id)
        ).scalar_one()
        rows = [
            {
                "quota_set_id": set_id,
                "territory_id": str(r["territory"]),
                **{c: _none(r.get(c)) for c in _ROW_COLUMNS},
            }
            for r in quotas.to_dict("records")
        ]
        if rows:
            conn.execute(insert(quota_rows), rows)
        months = [
            {
                "quota_set_id": set_id,
                "territory_id": str(r["territory"]),
                "month": str(r["month"]),
                "quota": float(r["quota"]),
            }
            for r in monthly.to_dict("records")
        ]
        if months:
            conn.execute(insert(quota_months), months)
    return int(set_id)


def list_quota_sets(engine: Engine, *, period: str | None = None) -> list[dict[str, Any]]:
    """Every stored quota set (newest first), optionally of one period."""
    query = select(quota_sets).order_by(quota_sets.c.id.desc())
    if period is not None:
        query = query.where(quota_sets.c.period == period)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def get_quota_set(engine: Engine, *, quota_set_id: int | None = None) -> dict[str, Any]:
    """One quota set's header (``quota_set_id`` default: the newest stored)."""
    query = select(quota_sets)
    query = (
        query.order_by(quota_sets.c.id.desc()).limit(1)
        if quota_set_id is None
        else query.where(quota_sets.c.id == quota_set_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(
            "no quotas stored yet: run `territorial quota`"
            if quota_set_id is None
            else f"no quota set {quota_set_id}"
        )
    return dict(row)


def read_quota_rows(engine: Engine, *, quota_set_id: int) -> pd.DataFrame:
    """The territories of a quota set: ``territory_id, rep_id, quota ...``."""
    with engine.connect() as conn:
        result = conn.execute(
            select(quota_rows)
            .where(quota_rows.c.quota_set_id == quota_set_id)
            .order_by(quota_rows.c.territory_id)
        )
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def read_quota_months(engine: Engine, *, quota_set_id: int) -> pd.DataFrame:
    """Monthly phasing of a quota set: ``territory_id, month (YYYY-MM), quota``."""
    with engine.connect() as conn:
        result = conn.execute(
            select(quota_months.c.territory_id, quota_months.c.month, quota_months.c.quota)
            .where(quota_months.c.quota_set_id == quota_set_id)
            .order_by(quota_months.c.territory_id, quota_months.c.month)
        )
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame["quota"] = frame["quota"].astype(float)
    return frame


def add_goal(
    engine: Engine,
    *,
    scope: str,
    subject_id: str,
    metric: str,
    target: float,
    grain: str,
    source: str,
    note: str | None = None,
    created_by: str | None = None,
) -> int:
    """Set a goal; the subject's previous goal on the same metric is superseded (kept)."""
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            update(goals)
            .where(
                goals.c.scope == scope,
                goals.c.subject_id == subject_id,
                goals.c.metric == metric,
                goals.c.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )
        return int(
            conn.execute(
                insert(goals)
                .values(
                    scope=scope,
                    subject_id=subject_id,
                    metric=metric,
                    target=float(target),
                    grain=grain,
                    source=source,
                    note=note,
                    created_at=now,
                    created_by=created_by,
                    superseded_at=None,
                )
                .returning(goals.c.id)
            ).scalar_one()
        )


def list_goals(
    engine: Engine,
    *,
    scope: str | None = None,
    subject_id: str | None = None,
    include_superseded: bool = False,
) -> list[dict[str, Any]]:
    """Goals (current ones unless ``include_superseded``), oldest first."""
    query = select(goals).order_by(goals.c.id)
    if scope is not None:
        query = query.where(goals.c.scope == scope)
    if subject_id is not None:
        query = query.where(goals.c.subject_id == subject_id)
    if not include_superseded:
        query = query.where(goals.c.superseded_at.is_(None))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


__all__ = [
    "GOALS_TABLES",
    "add_goal",
    "get_quota_set",
    "goals",
    "list_goals",
    "list_quota_sets",
    "quota_months",
    "quota_rows",
    "quota_sets",
    "read_quota_months",
    "read_quota_rows",
    "save_quota_set",
]
