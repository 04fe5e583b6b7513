"""Who owns each account: the one answer every part of Territorial asks.

The **active version of the territory model** answers: its assignments give each
account a territory, its members give each territory an owner rep. Before any version
is active, the CRM owner as imported (``accounts.owner_id``) answers, each rep's book
being a territory of its own (territory id = rep id). Quotas, performance, rep plans,
routing and the workspace read ownership through these functions only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from territorial.errors import NotFoundError
from territorial.store.planning import owner_history as owner_history_table
from territorial.store.planning import plan_members, plan_territories, query_frame
from territorial.store.tables import accounts, plan_assignments, plans, reps

BOOK_COLUMNS = ("account_id", "territory_id", "territory_name", "rep_id", "plan_id")
TERRITORY_COLUMNS = ("territory_id", "territory_name", "rep_id", "role", "plan_id")


def active_plan_id(engine: Engine) -> int | None:
    """Id of the active version of the territory model, or ``None``."""
    with engine.connect() as conn:
        return _active_plan_id(conn)


def _active_plan_id(conn: Any) -> int | None:
    row = conn.execute(
        select(plans.c.id).where(plans.c.status == "active").order_by(plans.c.id.desc())
    ).first()
    return None if row is None else int(row[0])


def _plan_exists(conn: Any, plan_id: int) -> None:
    if conn.execute(select(plans.c.id).where(plans.c.id == plan_id)).first() is None:
        raise NotFoundError(f"no plan {plan_id}")


def territory_reps(engine: Engine, *, plan_id: int | None = None) -> pd.DataFrame:
    """Who carries each territory: ``territory_id, territory_name, rep_id, role, plan_id``.

    ``plan_id`` defaults to the active version; with none active, every rep who owns
    accounts in the CRM is the owner of a territory named after them. A territory of a
    stored plan without member rows (plans saved before the territory model) is owned
    by the rep whose id it carries, when there is one.
    """
    with engine.connect() as conn:
        return _territory_reps(conn, plan_id)


def _territory_reps(conn: Any, plan_id: int | None) -> pd.DataFrame:
    if plan_id is None:
        plan_id = _active_plan_id(conn)
    if plan_id is None:
        return _crm_territories(conn)
    _plan_exists(conn, plan_id)
    names = {
        r.territory_id: r.name
        for r in conn.execute(
            select(plan_territories.c.territory_id, plan_territories.c.name).where(
                plan_territories.c.plan_id == plan_id
            )
        )
    }
    members = pd.DataFrame(
        conn.execute(
            select(plan_members.c.territory_id, plan_members.c.rep_id, plan_members.c.role)
            .where(plan_members.c.plan_id == plan_id)
            .order_by(plan_members.c.territory_id, plan_members.c.role, plan_members.c.rep_id)
        ).all(),
        columns=["territory_id", "rep_id", "role"],
    )
    territory_ids = [
        r[0]
        for r in conn.execute(
            select(plan_assignments.c.territory_id)
            .where(plan_assignments.c.plan_id == plan_id)
            .distinct()
        )
    ]
    every = sorted(set(territory_ids) | set(names) | set(members["territory_id"]))
    rep_names = _rep_names(conn)
    rows: list[dict[str, Any]] = []
    with_members = set(members["territory_id"])
    for r in members.itertuples(index=False):
        rows.append(
            {
                "territory_id": r.territory_id,
                "territory_name": names.get(r.territory_id) or r.territory_id,
                "rep_id": r.rep_id,
                "role": r.role,
                "plan_id": plan_id,
            }
        )
    for tid in every:
        if tid in with_members:
            continue
        # Plans from before the territory model: a territory named by a rep id is theirs.
        owner = tid if tid in rep_names else None
        rows.append(
            {
                "territory_id": tid,
                "territory_name": names.get(tid) or _default_name(tid, rep_names),
                "rep_id": owner,
                "role": "owner" if owner else None,
                "plan_id": plan_id,
            }
        )
    out = pd.DataFrame(rows, columns=list(TERRITORY_COLUMNS))
    return out.sort_values(["territory_id", "role", "rep_id"], na_position="last").reset_index(
        drop=True
    )


def _rep_names(conn: Any) -> dict[str, str]:
    return {r.id: r.name for r in conn.execute(select(reps.c.id, reps.c.name))}


def _default_name(territory_id: str, rep_names: dict[str, str]) -> str:
    name = rep_names.get(territory_id)
    return f"{name} ({territory_id})" if name else territory_id


def _crm_territories(conn: Any) -> pd.DataFrame:
    rep_names = _rep_names(conn)
    owners = sorted(
        r[0]
        for r in conn.execute(
            select(accounts.c.owner_id).where(accounts.c.owner_id.is_not(None)).distinct()
        )
    )
    return pd.DataFrame(
        [
            {
                "territory_id": o,
                "territory_name": _default_name(o, rep_names),
                "rep_id": o,
                "role": "owner",
                "plan_id": None,
            }
            for o in owners
        ],
        columns=list(TERRITORY_COLUMNS),
    )


def territory_owners(engine: Engine, *, plan_id: int | None = None) -> dict[str, str]:
    """Territory id → its owner rep (the member with role ``owner``; first by id)."""
    members = territory_reps(engine, plan_id=plan_id)
    return _owners(members)


def _owners(members: pd.DataFrame) -> dict[str, str]:
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    return dict(owners.drop_duplicates("territory_id")[["territory_id", "rep_id"]].to_numpy())


def book(engine: Engine, *, plan_id: int | None = None) -> pd.DataFrame:
    """Every owned account: ``account_id, territory_id, territory_name, rep_id, plan_id``.

    The active version's assignments with each territory's owner (``plan_id`` picks
    another version); with no version active, the CRM owners (``plan_id`` is then
    missing and ``territory_id`` is the owner's rep id). Accounts without a territory or
    owner are not listed.
    """
    with engine.connect() as conn:
        if plan_id is None:
            plan_id = _active_plan_id(conn)
        if plan_id is None:
            frame = query_frame(
                conn,
                select(
                    accounts.c.id.label("account_id"), accounts.c.owner_id.label("rep_id")
                ).where(accounts.c.owner_id.is_not(None)),
            )
            names = _crm_territories(conn).set_index("territory_id")["territory_name"]
            frame["territory_id"] = frame["rep_id"]
            frame["territory_name"] = frame["territory_id"].map(names)
            frame["plan_id"] = pd.Series([None] * len(frame), dtype=object)
            return frame[list(BOOK_COLUMNS)].sort_values("account_id").reset_index(drop=True)
        members = _territory_reps(conn, plan_id)
        assignments = query_frame(
            conn,
            select(plan_assignments.c.account_id, plan_assignments.c.territory_id)
            .where(plan_assignments.c.plan_id == plan_id)
            .order_by(plan_assignments.c.account_id),
        )
    owners = _owners(members)
    names = members.drop_duplicates("territory_id").set_index("territory_id")["territory_name"]
    assignments["territory_name"] = assignments["territory_id"].map(names)
    assignments["rep_id"] = assignments["territory_id"].map(owners)
    assignments["plan_id"] = plan_id
    return assignments[list(BOOK_COLUMNS)].reset_index(drop=True)


def owner_of(engine: Engine, *, account_id: str) -> dict[str, Any] | None:
    """The owning row of one account (as in :func:`book`), or ``None``; with the active
    plan's ``reason`` for the assignment (``None`` for CRM owners or a plan without)."""
    with engine.connect() as conn:
        plan_id = _active_plan_id(conn)
        if plan_id is None:
            owner = conn.execute(
                select(accounts.c.owner_id).where(accounts.c.id == account_id)
            ).scalar()
            if owner is None:
                return None
            return {
                "account_id": account_id,
                "territory_id": owner,
                "territory_name": _default_name(owner, _rep_names(conn)),
                "rep_id": owner,
                "plan_id": None,
            }
        assigned = conn.execute(
            select(plan_assignments.c.territory_id, plan_assignments.c.reason).where(
                plan_assignments.c.plan_id == plan_id, plan_assignments.c.account_id == account_id
            )
        ).first()
        if assigned is None:
            return None
        territory, reason = assigned
        members = _territory_reps(conn, plan_id)
    row = members[members["territory_id"] == territory]
    owners = _owners(row)
    return {
        "account_id": account_id,
        "territory_id": territory,
        "territory_name": row["territory_name"].iloc[0] if len(row) else territory,
        "rep_id": owners.get(territory),
        "plan_id": plan_id,
        "reason": reason,
    }


def owner_history(engine: Engine, *, account_id: str) -> list[dict[str, Any]]:
    """Every owner change of an account, oldest first (activations, releases ...)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(owner_history_table)
            .where(owner_history_table.c.account_id == account_id)
            .order_by(owner_history_table.c.id)
        ).mappings()
        return [dict(r) for r in rows]


__all__ = [
    "BOOK_COLUMNS",
    "TERRITORY_COLUMNS",
    "active_plan_id",
    "book",
    "owner_history",
    "owner_of",
    "territory_owners",
    "territory_reps",
]
