"""Saved territory plans: ``plans`` and ``plan_assignments`` (keyword-only access).

A plan row records how it was made (``parameters``) and its metrics at creation
(``report``, the REPORT.json content); assignments are per account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from territorial.errors import ConfigError, NotFoundError
from territorial.store.tables import plan_assignments, plans

if TYPE_CHECKING:
    from territorial.design.engine import DesignResult

STATUSES = ("draft", "active", "archived")


def save_plan(
    engine: Engine,
    *,
    name: str,
    result: DesignResult,
    parameters: dict[str, Any],
    parent_id: int | None = None,
    created_by: str | None = None,
    status: str = "draft",
    account_units: pd.Series | None = None,
) -> int:
    """Store a design result; returns the new plan id.

    ``account_units`` (account id → unit id, from ``problem_from_store``) expands a
    plan over aggregated units (postal codes, H3 cells) to one row per account;
    without it the units are taken to be accounts. Locked units are flagged.
    """
    if status not in STATUSES:
        raise ConfigError(f"plan status must be one of {STATUSES}, got {status!r}")
    if not name.strip():
        raise ConfigError("a plan needs a name")
    problem = result.problem
    frame = result.to_frame()
    locked_ids: set[str] = set()
    if problem.locked is not None:
        locked_ids = set(problem.unit_ids[problem.locked >= 0].tolist())
    frame["locked"] = frame["id"].isin(locked_ids)
    if account_units is not None:
        per_unit = frame.set_index("id")
        rows = pd.DataFrame(
            {"account_id": account_units.index.astype(str), "unit": account_units.values}
        )
        rows = rows[rows["unit"].isin(per_unit.index)]
        rows["territory_id"] = per_unit.loc[rows["unit"], "territory"].to_numpy()
        rows["locked"] = per_unit.loc[rows["unit"], "locked"].to_numpy()
    else:
        rows = frame.rename(columns={"id": "account_id", "territory": "territory_id"})
    with engine.begin() as conn:
        plan_id = conn.execute(
            insert(plans).values(
                name=name,
                parent_id=parent_id,
                created_at=datetime.now(UTC),
                created_by=created_by,
                status=status,
                parameters=parameters,
                report=result.to_report_dict(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        records = [
            {
                "plan_id": plan_id,
                "account_id": str(r.account_id),
                "territory_id": str(r.territory_id),
                "locked": bool(r.locked),
            }
            for r in rows.itertuples(index=False)
        ]
        for start in range(0, len(records), 5000):
            conn.execute(insert(plan_assignments), records[start : start + 5000])
    return int(plan_id)


def load_plan(engine: Engine, *, plan_id: int) -> dict[str, Any]:
    """A stored plan: its row's fields plus ``assignments`` (DataFrame: account_id,
    territory_id, locked)."""
    with engine.connect() as conn:
        row = conn.execute(select(plans).where(plans.c.id == plan_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no plan {plan_id}")
        assignments = pd.DataFrame(
            conn.execute(
                select(
                    plan_assignments.c.account_id,
                    plan_assignments.c.territory_id,
                    plan_assignments.c.locked,
                )
                .where(plan_assignments.c.plan_id == plan_id)
                .order_by(plan_assignments.c.account_id)
            ).all(),
            columns=["account_id", "territory_id", "locked"],
        )
    out = dict(row)
    out["assignments"] = assignments
    return out


def list_plans(engine: Engine, *, status: str | None = None) -> pd.DataFrame:
    """Plans (newest first): id, name, status, parent_id, created_at, created_by."""
    query = select(
        plans.c.id,
        plans.c.name,
        plans.c.status,
        plans.c.parent_id,
        plans.c.created_at,
        plans.c.created_by,
    ).order_by(plans.c.id.desc())
    if status is not None:
        query = query.where(plans.c.status == status)
    with engine.connect() as conn:
        return pd.DataFrame(
            conn.execute(query).all(), columns=[c.name for c in query.selected_columns]
        )


def activate_plan(engine: Engine, *, plan_id: int) -> None:
    """Make ``plan_id`` the active plan; the previously active one is archived."""
    with engine.begin() as conn:
        exists = conn.execute(select(plans.c.id).where(plans.c.id == plan_id)).first()
        if exists is None:
            raise NotFoundError(f"no plan {plan_id}")
        conn.execute(
            update(plans)
            .where(plans.c.status == "active", plans.c.id != plan_id)
            .values(status="archived")
        )
        conn.execute(update(plans).where(plans.c.id == plan_id).values(status="active"))


__all__ = ["activate_plan", "list_plans", "load_plan", "save_plan"]
