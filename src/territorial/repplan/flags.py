"""The reps' voice: flags on accounts of their book, requests for accounts of others.

A rep flags an account of their book (:data:`FLAG_KINDS`) or requests one from another
territory, with a comment. Planners see the queue (:func:`list_flags`), **accept** it —
when the flag names a territory the account should go to, the move is made in a *draft*
version of the territory model (the one the reps' flags collect in, a copy of the active
version made by :func:`territorial.planning.lifecycle.new_draft` when there is none),
never in the active one — or **decline** it with a reason. Either way the rep is
notified (:func:`territorial.store.planning.notify`). Nothing is deleted: a decided flag
keeps its decision, who made it and when. :func:`feedback_counts` gives the counts per
rep or per territory for the plan review; :func:`requestable_accounts` finds the accounts
of other territories a rep may request.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, select, update

from territorial.errors import ConfigError, ConflictError, NotFoundError, PermissionDeniedError
from territorial.planning.lifecycle import CLI, Actor

#: Flags a rep may raise on an account of their book, with how they read.
FLAG_KINDS: dict[str, str] = {
    "wrong_territory": "belongs in another territory",
    "wrong_segment": "is in the wrong segment",
    "customer_of_another_rep": "is already a customer of another rep",
    "out_of_business": "is out of business",
    "duplicate": "is a duplicate",
}
REQUEST = "request"
KINDS = (*FLAG_KINDS, REQUEST)
STATUSES = ("open", "accepted", "declined")
#: Name of the draft version accepted flags collect in.
DRAFT_NAME = "Reps' flags"


def _table() -> Any:
    from territorial.store.tables import rep_flags

    return rep_flags


def _public(row: Any) -> dict[str, Any]:
    from territorial.store.planning import aware

    out = dict(row)
    out["created_at"] = aware(out["created_at"])
    out["decided_at"] = aware(out["decided_at"])
    out["kind_text"] = FLAG_KINDS.get(out["kind"], "requested by the rep")
    return out


def rep_territory(engine: Engine, *, rep_id: str) -> str | None:
    """The territory the rep owns in the active model (or CRM), first by id."""
    from territorial.planning.ownership import territory_reps

    members = territory_reps(engine)
    mine = members[(members["rep_id"] == rep_id) & (members["role"] == "owner")]
    return None if mine.empty else str(mine["territory_id"].iloc[0])


def add_flag(
    engine: Engine,
    *,
    rep_id: str,
    account_id: str,
    kind: str,
    comment: str,
    to_territory: str | None = None,
    by: str = "cli",
) -> dict[str, Any]:
    """Record a rep's flag or request (see the module); returns the stored flag.

    A flag needs the account in the rep's book (NotFoundError otherwise, as the rep
    cannot see it); a request needs an account outside it, and asks for it to move to
    the rep's territory.
    """
    from territorial.planning.ownership import active_plan_id, owner_of
    from territorial.store.planning import utcnow

    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    comment = (comment or "").strip()
    if not comment:
        raise ConfigError("a flag needs a comment saying what is wrong")
    if len(comment) > 2000:
        raise ConfigError(f"the comment has {len(comment)} characters; at most 2000")
    owner = owner_of(engine, account_id=account_id)
    if kind == REQUEST:
        from territorial.store.tables import accounts

        with engine.connect() as conn:
            exists = conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first()
        if exists is None:
            raise NotFoundError(f"account {account_id!r} not found")
        if owner is not None and owner["rep_id"] == rep_id:
            raise ConflictError(f"account {account_id} is already in {rep_id}'s book")
        to_territory = rep_territory(engine, rep_id=rep_id)
        if to_territory is None:
            raise ConflictError(f"rep {rep_id} carries no territory to move the account to")
    elif owner is None or owner["rep_id"] != rep_id:
        raise NotFoundError(f"account {account_id!r} not found in {rep_id}'s book")
    table = _table()
    with engine.begin() as conn:
        duplicate = conn.execute(
            select(table.c.id).where(
                table.c.rep_id == rep_id,
                table.c.account_id == account_id,
                table.c.kind == kind,
                table.c.status == "open",
            )
        ).first()
        if duplicate is not None:
            raise ConflictError(
                f"{rep_id} already has an open {kind} flag on {account_id} (#{duplicate[0]})"
            )
        new_id = conn.execute(
            insert(table).values(
                created_at=utcnow(),
                rep_id=rep_id,
                created_by=by,
                account_id=account_id,
                kind=kind,
                comment=comment,
                plan_id=active_plan_id(engine),
                from_territory=None if owner is None else owner["territory_id"],
                to_territory=to_territory,
                status="open",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return get_flag(engine, flag_id=int(new_id))


def get_flag(engine: Engine, *, flag_id: int) -> dict[str, Any]:
    """One flag; NotFoundError when there is none."""
    table = _table()
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == flag_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no flag #{flag_id} (see territorial flags list)")
    return _public(row)


def list_flags(
    engine: Engine,
    *,
    status: str | None = "open",
    rep_ids: frozenset[str] | None = None,
    account_id: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Flags, oldest first (the queue order); ``rep_ids`` limits to those reps'."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    table = _table()
    query = select(table).order_by(table.c.id).limit(limit)
    if status is not None:
        query = query.where(table.c.status == status)
    if rep_ids is not None:
        query = query.where(table.c.rep_id.in_(sorted(rep_ids)))
    if account_id is not None:
        query = query.where(table.c.account_id == account_id)
    with engine.connect() as conn:
        return [_public(r) for r in conn.execute(query).mappings()]


def _flags_draft(engine: Engine, actor: Actor) -> int:
    """The draft accepted flags collect in: the newest draft named :data:`DRAFT_NAME`
    whose parent is the active version, else a new copy of the active version."""
    from territorial.planning.lifecycle import new_draft
    from territorial.planning.ownership import active_plan_id
    from territorial.store.tables import plans

    active = active_plan_id(engine)
    if active is None:
        raise ConflictError(
            "no territory model is active: moves are made in a draft copy of the active "
            "version (activate one first, see territorial plans)"
        )
    with engine.connect() as conn:
        found = conn.execute(
            select(plans.c.id)
            .where(
                plans.c.status == "draft",
                plans.c.parent_id == active,
                plans.c.name == DRAFT_NAME,
            )
            .order_by(plans.c.id.desc())
        ).first()
    if found is not None:
        return int(found[0])
    return new_draft(engine, plan_id=active, actor=actor, name=DRAFT_NAME)


def accept(
    engine: Engine,
    *,
    flag_id: int,
    actor: Actor = CLI,
    to_territory: str | None = None,
    draft_plan_id: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Accept an open flag; with a territory to go to (the request's, or ``to_territory``)
    the account moves there in a draft (``draft_plan_id`` or the reps' flags draft).
    Returns the decided flag."""
    from territorial.planning.lifecycle import ensure_editable
    from territorial.store.planning import add_event, notify, utcnow
    from territorial.store.tables import plan_assignments

    if not actor.can_plan:
        raise PermissionDeniedError(f"a {actor.role} may not decide reps' flags")
    flag = get_flag(engine, flag_id=flag_id)
    if flag["status"] != "open":
        raise ConflictError(f"flag #{flag_id} is already {flag['status']}")
    target = to_territory or flag["to_territory"]
    draft = None
    if target:
        draft = draft_plan_id if draft_plan_id is not None else _flags_draft(engine, actor)
    table = _table()
    with engine.begin() as conn:
        if draft is not None:
            ensure_editable(conn, draft)
            moved = conn.execute(
                update(plan_assignments)
                .where(
                    plan_assignments.c.plan_id == draft,
                    plan_assignments.c.account_id == flag["account_id"],
                )
                .values(territory_id=target, reason=f"rep flag #{flag_id}: {flag['comment']}")
            )
            if not moved.rowcount:
                conn.execute(
                    insert(plan_assignments).values(
                        plan_id=draft,
                        account_id=flag["account_id"],
                        territory_id=target,
                        locked=False,
                        reason=f"rep flag #{flag_id}: {flag['comment']}",
                    )
                )
            add_event(
                conn,
                plan_id=draft,
                actor=actor.name,
                action="flag accepted",
                from_status="draft",
                to_status="draft",
                note=f"#{flag_id}: {flag['account_id']} to {target}",
                details={"flag_id": flag_id, "account_id": flag["account_id"], "to": target},
            )
        done = conn.execute(
            update(table)
            .where(table.c.id == flag_id, table.c.status == "open")
            .values(
                status="accepted",
                decided_at=utcnow(),
                decided_by=actor.name,
                decision_note=(note or "").strip() or None,
                to_territory=target,
                draft_plan_id=draft,
            )
        )
        if not done.rowcount:
            raise ConflictError(f"flag #{flag_id} was decided meanwhile")
        moved_text = f"; it moves to {target} in draft plan {draft}" if draft else ""
        notify(
            conn,
            kind="flag_answered",
            title=f"Your flag on {flag['account_id']} was accepted{moved_text}",
            body={"flag_id": flag_id, "status": "accepted", "note": note, "draft_plan_id": draft},
            rep_id=flag["rep_id"],
            plan_id=draft,
        )
    return get_flag(engine, flag_id=flag_id)


def decline(engine: Engine, *, flag_id: int, reason: str, actor: Actor = CLI) -> dict[str, Any]:
    """Decline an open flag with the reason the rep is told."""
    from territorial.store.planning import notify, utcnow

    if not actor.can_plan:
        raise PermissionDeniedError(f"a {actor.role} may not decide reps' flags")
    reason = (reason or "").strip()
    if not reason:
        raise ConfigError("declining a flag needs a reason (the rep is told)")
    flag = get_flag(engine, flag_id=flag_id)
    if flag["status"] != "open":
        raise ConflictError(f"flag #{flag_id} is already {flag['status']}")
    table = _table()
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == flag_id, table.c.status == "open")
            .values(
                status="declined", decided_at=utcnow(), decided_by=actor.name, decision_note=reason
            )
        )
        notify(
            conn,
            kind="flag_answered",
            title=f"Your flag on {flag['account_id']} was declined: {reason}",
            body={"flag_id": flag_id, "status": "declined", "reason": reason},
            rep_id=flag["rep_id"],
        )
    return get_flag(engine, flag_id=flag_id)


#: What :func:`feedback_counts` groups by.
FEEDBACK_GROUPINGS = ("rep", "territory")


def flag_territory(flag: dict[str, Any]) -> str | None:
    """The territory of the rep who raised a flag: a request asks for an account to move
    into the rep's territory (``to_territory``), a flag is on the rep's own book
    (``from_territory``)."""
    return flag["to_territory"] if flag["kind"] == REQUEST else flag["from_territory"]


def feedback_counts(
    engine: Engine, *, plan_id: int | None = None, by: str = "rep"
) -> list[dict[str, Any]]:
    """Flags and requests by status and kind (``plan_id``: raised while that version was
    active), for the plan review, per rep (``rep_id``) or per territory (``territory_id``:
    the territory of the rep who raised it, see :func:`flag_territory`; with
    ``requested_away``: requests by other reps for accounts of the territory)."""
    if by not in FEEDBACK_GROUPINGS:
        raise ConfigError(f"--by must be one of {', '.join(FEEDBACK_GROUPINGS)}; got {by!r}")
    table = _table()
    query = select(
        table.c.rep_id,
        table.c.kind,
        table.c.status,
        table.c.from_territory,
        table.c.to_territory,
        func.count(),
    ).group_by(
        table.c.rep_id, table.c.kind, table.c.status, table.c.from_territory, table.c.to_territory
    )
    if plan_id is not None:
        query = query.where(table.c.plan_id == plan_id)
    key_name = "rep_id" if by == "rep" else "territory_id"
    extra = {} if by == "rep" else {"requested_away": 0}
    rows: dict[str, dict[str, Any]] = {}

    def row_of(key: str) -> dict[str, Any]:
        return rows.setdefault(
            key,
            {
                key_name: key,
                "total": 0,
                **dict.fromkeys(STATUSES, 0),
                **dict.fromkeys(KINDS, 0),
                **extra,
            },
        )

    with engine.connect() as conn:
        for rep_id, kind, status, from_t, to_t, count in conn.execute(query):
            flag = {"kind": kind, "from_territory": from_t, "to_territory": to_t}
            key = rep_id if by == "rep" else flag_territory(flag)
            if key is not None:
                row = row_of(str(key))
                row["total"] += int(count)
                row[status] += int(count)
                row[kind] += int(count)
            if by == "territory" and kind == REQUEST and from_t is not None:
                row_of(str(from_t))["requested_away"] += int(count)
    return [rows[k] for k in sorted(rows)]


def requestable_accounts(
    engine: Engine, *, rep_id: str, query: str, limit: int = 25
) -> list[dict[str, Any]]:
    """Accounts of other territories (or of no territory) the rep may request, whose id,
    name or city contains ``query`` (case-insensitive, at least 2 characters), by name;
    only what a rep may see of another's account: id, name, city, state, industry,
    segment, its territory, and the id of the rep's open request when there is one."""
    from territorial.repplan import cached_plan_data, plan_rep_ids

    text = (query or "").strip().lower()
    if len(text) < 2:
        raise ConfigError(f"search with at least 2 characters; got {query!r}")
    if not 1 <= limit <= 200:
        raise ConfigError(f"limit must be 1-200; got {limit}")
    data = cached_plan_data(engine)
    plan_rep_ids(data, [rep_id])  # an unknown rep, or one without territory, fails here
    accounts = data.accounts
    found = np.zeros(len(accounts), dtype=bool)
    for column in ("id", "name", "city"):
        values = accounts[column].astype("string").str.lower()
        found |= values.str.contains(text, regex=False).fillna(False).to_numpy(dtype=bool)
    owners = data.book.set_index("account_id")
    hits = accounts[found]
    hits = hits[~hits["id"].isin(data.book.loc[data.book["rep_id"] == rep_id, "account_id"])]
    hits = hits.sort_values(["name", "id"]).head(limit)
    open_requests = {
        f["account_id"]: f["id"]
        for f in list_flags(engine, status="open", rep_ids=frozenset({rep_id}))
        if f["kind"] == REQUEST
    }
    out = []
    for row in hits.to_dict("records"):
        owner = owners.loc[row["id"]] if row["id"] in owners.index else None
        out.append(
            {
                "account_id": row["id"],
                "account_name": row["name"],
                "city": _text(row.get("city")),
                "state": _text(row.get("state")),
                "industry": _text(row.get("industry")),
                "segment": _text(row.get("segment")),
                "territory_id": None if owner is None else _text(owner["territory_id"]),
                "territory_name": None if owner is None else _text(owner["territory_name"]),
                "open_request": open_requests.get(row["id"]),
            }
        )
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = [
    "DRAFT_NAME",
    "FEEDBACK_GROUPINGS",
    "FLAG_KINDS",
    "KINDS",
    "REQUEST",
    "STATUSES",
    "accept",
    "add_flag",
    "decline",
    "feedback_counts",
    "flag_territory",
    "get_flag",
    "list_flags",
    "rep_territory",
    "requestable_accounts",
]
