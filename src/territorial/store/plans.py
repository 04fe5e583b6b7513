"""Saved territory plans: ``plans`` and ``plan_assignments`` (keyword-only access).

A plan row is a version of the territory model: how it was made (``parameters``), its
metrics at creation (``report``, the REPORT.json content) and its lifecycle (see
:mod:`territorial.planning.lifecycle`); assignments are per account, with the design's
reason; ``plan_territories`` and ``plan_members`` say who carries each territory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine, insert, select

from territorial.errors import ConfigError, NotFoundError
from territorial.store.planning import add_event, plan_members, plan_territories
from territorial.store.tables import plan_assignments, plans, reps

if TYPE_CHECKING:
    from territorial.design.engine import DesignResult


def save_plan(
    engine: Engine,
    *,
    name: str,
    result: DesignResult,
    parameters: dict[str, Any],
    parent_id: int | None = None,
    created_by: str | None = None,
    account_units: pd.Series | None = None,
    territories: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    description: str | None = None,
    snapshot: dict[str, Any] | None = None,
) -> int:
    """Store a design result as a new **draft** version of the territory model; returns
    its id. (Submitting, approving and activating: :mod:`territorial.planning`.)

    ``account_units`` (account id → unit id, from ``problem_from_store``) expands a
    plan over aggregated units (postal codes, counties, H3 cells) to one row per
    account; without it the units are taken to be accounts. Locked units are flagged,
    and each row keeps the design's reason (``result.to_frame()["reason"]``) when the
    engine gives one.

    ``territories`` (``territory_id``, ``name``, optional ``parent_id``, ``segment``)
    and ``members`` (``territory_id``, ``rep_id``, ``role``) say who carries each
    territory; by default a territory whose id is a rep's id is that rep's (role
    ``owner``) and is named after them.
    """
    if not name.strip():
        raise ConfigError("a plan needs a name")
    problem = result.problem
    frame = result.to_frame()
    locked_ids: set[str] = set()
    if problem.locked is not None:
        locked_ids = set(problem.unit_ids[problem.locked >= 0].tolist())
    frame["locked"] = frame["id"].isin(locked_ids)
    if "reason" not in frame.columns:
        frame["reason"] = None
    if account_units is not None:
        per_unit = frame.set_index("id")
        rows = pd.DataFrame(
            {"account_id": account_units.index.astype(str), "unit": account_units.values}
        )
        rows = rows[rows["unit"].isin(per_unit.index)]
        for column, target in (
            ("territory", "territory_id"),
            ("locked", "locked"),
            ("reason", "reason"),
        ):
            rows[target] = per_unit.loc[rows["unit"], column].to_numpy()
    else:
        rows = frame.rename(columns={"id": "account_id", "territory": "territory_id"})
    return save_assignments(
        engine,
        name=name,
        assignments=rows[["account_id", "territory_id", "locked", "reason"]],
        territory_ids=[str(t) for t in result.plan.territory_ids],
        parameters=parameters,
        report=result.to_report_dict(),
        parent_id=parent_id,
        created_by=created_by,
        territories=territories,
        members=members,
        description=description,
        snapshot=snapshot,
    )


def save_assignments(
    engine: Engine,
    *,
    name: str,
    assignments: pd.DataFrame,
    parameters: dict[str, Any],
    territory_ids: list[str] | None = None,
    report: dict[str, Any] | None = None,
    parent_id: int | None = None,
    created_by: str | None = None,
    territories: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    description: str | None = None,
    snapshot: dict[str, Any] | None = None,
) -> int:
    """Store per-account ``assignments`` (``account_id``, ``territory_id``, optional
    ``locked`` and ``reason``) as a new **draft** version; returns its id. What
    :func:`save_plan` does with a design result, for plans that were not designed (the
    CRM owners saved as a plan)."""
    if not name.strip():
        raise ConfigError("a plan needs a name")
    rows = assignments.copy()
    if "locked" not in rows.columns:
        rows["locked"] = False
    if "reason" not in rows.columns:
        rows["reason"] = None
    if territory_ids is None:
        territory_ids = sorted(set(rows["territory_id"].astype(str)))
    with engine.begin() as conn:
        territory_rows, member_rows = _territory_rows(conn, territory_ids, territories, members)
        plan_id = int(
            conn.execute(
                insert(plans).values(
                    name=name,
                    parent_id=parent_id,
                    created_at=datetime.now(UTC),
                    created_by=created_by,
                    status="draft",
                    parameters=parameters,
                    report=report or {},
                    description=description,
                    snapshot=snapshot,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        records = [
            {
                "plan_id": plan_id,
                "account_id": str(r.account_id),
                "territory_id": str(r.territory_id),
                "locked": bool(r.locked),
                "reason": None if r.reason is None or pd.isna(r.reason) else str(r.reason),
            }
            for r in rows[["account_id", "territory_id", "locked", "reason"]].itertuples(
                index=False
            )
        ]
        for start in range(0, len(records), 5000):
            conn.execute(insert(plan_assignments), records[start : start + 5000])
        if territory_rows:
            conn.execute(
                insert(plan_territories), [{**r, "plan_id": plan_id} for r in territory_rows]
            )
        if member_rows:
            conn.execute(insert(plan_members), [{**r, "plan_id": plan_id} for r in member_rows])
        add_event(
            conn,
            plan_id=plan_id,
            actor=created_by or "cli",
            action="created",
            to_status="draft",
            note=None if parent_id is None else f"from plan {parent_id}",
        )
    return plan_id


def _territory_rows(
    conn: Any,
    territory_ids: list[str],
    territories: pd.DataFrame | None,
    members: pd.DataFrame | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``plan_territories`` and ``plan_members`` (validated against the reps)."""
    rep_names = {r.id: r.name for r in conn.execute(select(reps.c.id, reps.c.name))}
    given: dict[str, dict[str, Any]] = {}
    if territories is not None:
        missing = {"territory_id", "name"} - set(territories.columns)
        if missing:
            raise ConfigError(f"the territories table lacks columns {sorted(missing)}")
        for r in territories.to_dict(orient="records"):
            given[str(r["territory_id"])] = r
    territory_rows = []
    for tid in territory_ids:
        spec = given.get(tid, {})
        name = spec.get("name") or (f"{rep_names[tid]} ({tid})" if tid in rep_names else tid)
        territory_rows.append(
            {
                "territory_id": tid,
                "name": str(name),
                "parent_id": _text_or_none(spec.get("parent_id")),
                "segment": _text_or_none(spec.get("segment")),
            }
        )
    if members is None:
        member_rows = [
            {"territory_id": tid, "rep_id": tid, "role": "owner"}
            for tid in territory_ids
            if tid in rep_names
        ]
    else:
        missing = {"territory_id", "rep_id"} - set(members.columns)
        if missing:
            raise ConfigError(f"the members table lacks columns {sorted(missing)}")
        member_rows = []
        for r in members.to_dict(orient="records"):
            tid, rep = str(r["territory_id"]), str(r["rep_id"])
            if tid not in territory_ids:
                raise ConfigError(f"member {rep!r} names territory {tid!r}, not in the plan")
            if rep not in rep_names:
                raise ConfigError(f"member {rep!r} of territory {tid!r} is not a rep in the store")
            member_rows.append(
                {"territory_id": tid, "rep_id": rep, "role": str(r.get("role") or "owner")}
            )
    return territory_rows, member_rows


def _text_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)


def load_plan(engine: Engine, *, plan_id: int) -> dict[str, Any]:
    """A stored plan: its row's fields plus ``assignments`` (DataFrame: account_id,
    territory_id, locked, reason)."""
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
                    plan_assignments.c.reason,
                )
                .where(plan_assignments.c.plan_id == plan_id)
                .order_by(plan_assignments.c.account_id)
            ).all(),
            columns=["account_id", "territory_id", "locked", "reason"],
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


__all__ = ["list_plans", "load_plan", "save_assignments", "save_plan"]
