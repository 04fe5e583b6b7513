"""The lifecycle of a version of the territory model.

::

    draft ──submit──▶ submitted ──approve──▶ approved ──activate──▶ active ──▶ superseded
      ▲                   │                      │  (future date)      ▲
      └──────reject───────┘                      └────▶ scheduled ─────┘ (when due)
    any version but the active one ──archive──▶ archived

* Only drafts change. An approved, scheduled, active or superseded version is frozen:
  :func:`new_draft` copies it into a draft whose ``parent_id`` is it.
* Approval is by an admin or planner **other than the author** whenever the store has
  more than one active admin or planner (then the command line must name the approver,
  ``--user EMAIL``); a team of one approves its own plans.
* Every transition appends a row to ``plan_events`` (who, when, from, to, why); nothing
  is deleted.

Activation itself (owners, routing rules, holdovers, alerts) is
:func:`territorial.planning.activation.activate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update

from territorial.errors import ConfigError, ConflictError, NotFoundError, PermissionDeniedError
from territorial.store.planning import add_event, plan_members, plan_territories, utcnow
from territorial.store.tables import plan_assignments, plans
from territorial.store.workspace import users

#: Every status a version can have, in lifecycle order.
STATUSES: tuple[str, ...] = (
    "draft",
    "submitted",
    "approved",
    "scheduled",
    "active",
    "superseded",
    "archived",
)
#: Statuses whose assignments may change.
EDITABLE: frozenset[str] = frozenset({"draft"})
#: Roles that may design, submit, approve and activate.
PLANNER_ROLES: frozenset[str] = frozenset({"admin", "planner"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a workspace user, or the command line (``name='cli'``, no role).

    The command line is run by whoever holds the database; it counts as a planner,
    except where a second person is required (approving one's own plan).
    """

    name: str
    role: str | None = None
    user_id: int | None = None

    @property
    def is_cli(self) -> bool:
        return self.user_id is None

    @property
    def can_plan(self) -> bool:
        return self.is_cli or self.role in PLANNER_ROLES


CLI = Actor("cli")


def actor_for(engine: Engine, email: str | None) -> Actor:
    """The actor named by ``email`` (an active workspace user), or :data:`CLI`."""
    if email is None or not email.strip():
        return CLI
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    if row is None:
        raise NotFoundError(f"no workspace user with e-mail {email!r} (see territorial users list)")
    if not row.active:
        raise PermissionDeniedError(f"user {row.email} is disabled")
    return Actor(row.email, row.role, int(row.id))


# --- reading ---------------------------------------------------------------------------------
def get_version(engine: Engine, *, plan_id: int) -> dict[str, Any]:
    """One version's row (no assignments), with ``review_due`` and counts."""
    with engine.connect() as conn:
        row = _row(conn, plan_id)
        counts = conn.execute(
            select(
                func.count(),
                func.count(func.distinct(plan_assignments.c.territory_id)),
            ).where(plan_assignments.c.plan_id == plan_id)
        ).first()
    out = _public(row)
    out["accounts"] = int(counts[0]) if counts else 0
    out["territories"] = int(counts[1]) if counts else 0
    return out


def _row(conn: Connection, plan_id: int) -> Mapping[Any, Any]:
    row = conn.execute(select(plans).where(plans.c.id == plan_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no plan {plan_id} (see territorial plans list)")
    return row


def _public(row: Mapping[Any, Any], today: date | None = None) -> dict[str, Any]:
    out = dict(row)
    today = today or date.today()
    review = out.get("review_date")
    out["review_due"] = bool(
        review is not None and review <= today and out["status"] in ("active", "scheduled")
    )
    return out


def list_versions(engine: Engine, *, status: str | None = None) -> list[dict[str, Any]]:
    """Every version, newest first, with ``review_due`` (the review date has passed)."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    query = select(plans).order_by(plans.c.id.desc())
    if status is not None:
        query = query.where(plans.c.status == status)
    today = date.today()
    with engine.connect() as conn:
        rows = [_public(r, today) for r in conn.execute(query).mappings()]
        sizes: dict[int, int] = dict(
            conn.execute(
                select(plan_assignments.c.plan_id, func.count()).group_by(
                    plan_assignments.c.plan_id
                )
            ).all()
        )
    for r in rows:
        r["accounts"] = int(sizes.get(r["id"], 0))
    return rows


def ensure_editable(conn: Connection, plan_id: int) -> Mapping[str, Any]:
    """The plan's row if its assignments may change (a draft), else a ConflictError."""
    row = _row(conn, plan_id)
    if row["status"] not in EDITABLE:
        raise ConflictError(
            f"plan {plan_id} is {row['status']} and cannot change; make an editable copy "
            f"(territorial plans copy {plan_id}) and change that draft"
        )
    return row


# --- transitions -----------------------------------------------------------------------------
def _transition(
    conn: Connection,
    row: Mapping[str, Any],
    *,
    to: str,
    actor: Actor,
    action: str,
    note: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        update(plans)
        .where(plans.c.id == row["id"], plans.c.status == row["status"])
        .values(status=to, **(values or {}))
    )
    add_event(
        conn,
        plan_id=int(row["id"]),
        actor=actor.name,
        action=action,
        from_status=row["status"],
        to_status=to,
        note=note,
    )


def _require_planner(actor: Actor, what: str) -> None:
    if not actor.can_plan:
        raise PermissionDeniedError(f"a {actor.role} may not {what} territory plans")


def _require_status(row: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    if row["status"] not in allowed:
        raise ConflictError(
            f"plan {row['id']} is {row['status']}; only a {' or '.join(allowed)} plan can be {what}"
        )


def submit(engine: Engine, *, plan_id: int, actor: Actor = CLI, note: str | None = None) -> None:
    """Send a draft for approval."""
    _require_planner(actor, "submit")
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        _require_status(row, ("draft",), "submitted")
        _transition(
            conn,
            row,
            to="submitted",
            actor=actor,
            action="submitted",
            note=note,
            values={"submitted_at": utcnow(), "submitted_by": actor.name},
        )


def approvers(conn: Connection) -> list[str]:
    """E-mails of the active admins and planners who may approve."""
    return [
        r[0]
        for r in conn.execute(
            select(users.c.email).where(users.c.active.is_(True), users.c.role.in_(PLANNER_ROLES))
        )
    ]


def approve(
    engine: Engine,
    *,
    plan_id: int,
    actor: Actor = CLI,
    note: str | None = None,
    effective_date: date | None = None,
) -> None:
    """Approve a submitted version (by someone other than its author, see the module).

    ``effective_date`` may be set now; activation then uses it unless given another.
    """
    _require_planner(actor, "approve")
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        _require_status(row, ("submitted",), "approved")
        authors = {a for a in (row["created_by"], row["submitted_by"]) if a}
        team = approvers(conn)
        if len(team) >= 2:
            others = sorted(e for e in team if e not in authors)
            if actor.is_cli:
                raise PermissionDeniedError(
                    f"plan {plan_id} needs an approver other than its author "
                    f"({', '.join(sorted(authors)) or 'the command line'}): name one with "
                    f"--user EMAIL (approvers: {', '.join(others)})"
                )
            if actor.name in authors:
                raise PermissionDeniedError(
                    f"{actor.name} wrote plan {plan_id} and may not approve it; another admin "
                    f"or planner must ({', '.join(others)})"
                )
        values: dict[str, Any] = {"approved_at": utcnow(), "approved_by": actor.name}
        if effective_date is not None:
            _check_effective(effective_date)
            values["effective_date"] = effective_date
        _transition(
            conn, row, to="approved", actor=actor, action="approved", note=note, values=values
        )


def reject(engine: Engine, *, plan_id: int, reason: str, actor: Actor = CLI) -> None:
    """Send a submitted version back to draft, with the reason (kept in its events)."""
    _require_planner(actor, "reject")
    if not reason or not reason.strip():
        raise ConfigError("a rejection needs a reason (--reason TEXT)")
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        _require_status(row, ("submitted",), "rejected")
        _transition(
            conn,
            row,
            to="draft",
            actor=actor,
            action="rejected",
            note=reason.strip(),
            values={"submitted_at": None, "submitted_by": None},
        )


def archive(engine: Engine, *, plan_id: int, actor: Actor = CLI, note: str | None = None) -> None:
    """Archive a version that is not active (kept and readable; it cannot come back)."""
    _require_planner(actor, "archive")
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        if row["status"] == "active":
            raise ConflictError(
                f"plan {plan_id} is the active territory model; activate another version "
                "before archiving it"
            )
        _require_status(
            row, ("draft", "submitted", "approved", "scheduled", "superseded"), "archived"
        )
        _transition(conn, row, to="archived", actor=actor, action="archived", note=note)


def _check_effective(effective: date, today: date | None = None) -> None:
    today = today or date.today()
    if effective < today:
        raise ConfigError(
            f"effective date {effective.isoformat()} is in the past (today is "
            f"{today.isoformat()}); give today or a later date"
        )


def set_review_date(
    engine: Engine, *, plan_id: int, review_date: date | None, actor: Actor = CLI
) -> None:
    """When the model should be reviewed next (``plans list`` flags versions past it)."""
    _require_planner(actor, "review")
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        conn.execute(update(plans).where(plans.c.id == plan_id).values(review_date=review_date))
        add_event(
            conn,
            plan_id=plan_id,
            actor=actor.name,
            action="review date",
            from_status=row["status"],
            to_status=row["status"],
            note=None if review_date is None else review_date.isoformat(),
        )


# --- copies ----------------------------------------------------------------------------------
def new_draft(engine: Engine, *, plan_id: int, actor: Actor = CLI, name: str | None = None) -> int:
    """Copy a version (assignments, locks, reasons, territories, members) into a new draft
    whose parent is it; returns the draft's id. The way to change a frozen version."""
    _require_planner(actor, "edit")
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        new_id = conn.execute(
            insert(plans).values(
                name=name or f"{row['name']} (edit)",
                parent_id=plan_id,
                created_at=utcnow(),
                created_by=actor.name,
                status="draft",
                parameters=row["parameters"],
                report=row["report"],
                description=row["description"],
                snapshot=row["snapshot"],
                review_date=row["review_date"],
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        new_id = int(new_id)
        _copy_rows(conn, plan_assignments, plan_id, new_id)
        _copy_rows(conn, plan_territories, plan_id, new_id)
        _copy_rows(conn, plan_members, plan_id, new_id)
        add_event(
            conn,
            plan_id=new_id,
            actor=actor.name,
            action="created",
            to_status="draft",
            note=f"copy of plan {plan_id}",
        )
    return new_id


def _copy_rows(conn: Connection, table: Any, source: int, target: int) -> None:
    columns = [c for c in table.c if c.name != "plan_id"]
    rows = conn.execute(select(*columns).where(table.c.plan_id == source)).mappings().all()
    payload = [{**r, "plan_id": target} for r in rows]
    for start in range(0, len(payload), 5000):
        conn.execute(insert(table), payload[start : start + 5000])


# --- diff ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanDiff:
    """What changes going from version ``a`` to version ``b``.

    ``moves``: one row per account whose territory or owner differs (account_id,
    from_territory, to_territory, from_rep, to_rep); ``territories``: per territory
    (accounts in a, in b, gained, lost, kept); ``reps``: the same per owner rep.
    """

    a: int | None
    b: int
    moves: pd.DataFrame
    territories: pd.DataFrame
    reps: pd.DataFrame

    @property
    def moved_accounts(self) -> int:
        return len(self.moves)

    def to_dict(self, *, max_moves: int = 1000) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "moved_accounts": self.moved_accounts,
            "territories": self.territories.to_dict(orient="records"),
            "reps": self.reps.to_dict(orient="records"),
            "moves": self.moves.head(max_moves).to_dict(orient="records"),
        }


def diff(engine: Engine, *, a: int | None, b: int) -> PlanDiff:
    """Per-account, per-territory and per-rep differences from ``a`` to ``b``.

    ``a=None`` compares with the CRM owners as imported (``accounts.owner_id``).
    """
    from territorial.planning.ownership import book

    before = book(engine, plan_id=a) if a is not None else _crm_book(engine)
    after = book(engine, plan_id=b)
    return diff_books(before, after, a=a, b=b)


def _crm_book(engine: Engine) -> pd.DataFrame:
    from territorial.planning.ownership import BOOK_COLUMNS
    from territorial.store.tables import accounts

    with engine.connect() as conn:
        frame = pd.DataFrame(
            conn.execute(
                select(accounts.c.id, accounts.c.owner_id).where(accounts.c.owner_id.is_not(None))
            ).all(),
            columns=["account_id", "rep_id"],
        )
    frame["territory_id"] = frame["rep_id"]
    frame["territory_name"] = frame["rep_id"]
    frame["plan_id"] = None
    return frame[list(BOOK_COLUMNS)]


def diff_books(before: pd.DataFrame, after: pd.DataFrame, *, a: int | None, b: int) -> PlanDiff:
    """The diff of two ownership tables (``book`` frames); pure."""
    joined = before[["account_id", "territory_id", "rep_id"]].merge(
        after[["account_id", "territory_id", "rep_id"]],
        on="account_id",
        how="outer",
        suffixes=("_a", "_b"),
    )
    changed = (joined["territory_id_a"].fillna("\0") != joined["territory_id_b"].fillna("\0")) | (
        joined["rep_id_a"].fillna("\0") != joined["rep_id_b"].fillna("\0")
    )
    moves = joined[changed].rename(
        columns={
            "territory_id_a": "from_territory",
            "territory_id_b": "to_territory",
            "rep_id_a": "from_rep",
            "rep_id_b": "to_rep",
        }
    )
    moves = moves[["account_id", "from_territory", "to_territory", "from_rep", "to_rep"]]
    territories = _side_counts(joined, "territory_id")
    reps = _side_counts(joined, "rep_id")
    return PlanDiff(
        a=a,
        b=b,
        moves=moves.sort_values("account_id").reset_index(drop=True),
        territories=territories,
        reps=reps,
    )


def _side_counts(joined: pd.DataFrame, key: str) -> pd.DataFrame:
    ka, kb = joined[f"{key}_a"], joined[f"{key}_b"]
    in_a = ka.value_counts()
    in_b = kb.value_counts()
    same = ka == kb
    kept = ka[same].value_counts()
    gained = kb[~same & kb.notna()].value_counts()
    lost = ka[~same & ka.notna()].value_counts()
    names = sorted(set(in_a.index) | set(in_b.index))
    label = "territory_id" if key == "territory_id" else "rep_id"
    frame = pd.DataFrame(
        {
            label: names,
            "accounts_a": [int(in_a.get(n, 0)) for n in names],
            "accounts_b": [int(in_b.get(n, 0)) for n in names],
            "gained": [int(gained.get(n, 0)) for n in names],
            "lost": [int(lost.get(n, 0)) for n in names],
            "kept": [int(kept.get(n, 0)) for n in names],
        }
    )
    return frame


__all__ = [
    "CLI",
    "EDITABLE",
    "STATUSES",
    "Actor",
    "PlanDiff",
    "actor_for",
    "approve",
    "approvers",
    "archive",
    "diff",
    "diff_books",
    "ensure_editable",
    "get_version",
    "list_versions",
    "new_draft",
    "reject",
    "set_review_date",
    "submit",
]
