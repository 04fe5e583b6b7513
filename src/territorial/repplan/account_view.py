"""Everything Territorial knows about one account, in one answer.

:func:`account_view` gathers the firmographics and location, the scores with their
reasons, the owner and the owner history across versions of the territory model, the
opportunities and activities as one timeline (newest first), the routing decisions with
their why-traces, the alerts still waiting to go out, the reps' flags, and the target
list and sequence the account is in (its owner's rep plan). A caller who may see only
some reps' accounts passes ``visible_reps``: any other account is "not found", the same
answer as for an account that does not exist.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from territorial.errors import NotFoundError, TerritorialError

TIMELINE_LIMIT = 200
DECISIONS_LIMIT = 20


def _plain(value: Any) -> Any:
    from territorial.repplan.plan import _plain as plain

    return plain(value)


def _row(conn: Any, table: Any, column: Any, value: str) -> dict[str, Any] | None:
    row = conn.execute(select(table).where(column == value)).mappings().first()
    return None if row is None else {k: _plain(v) for k, v in dict(row).items()}


def account_view(
    engine: Engine,
    *,
    account_id: str,
    visible_reps: frozenset[str] | None = None,
    with_plan: bool = True,
) -> dict[str, Any]:
    """The account's whole story (see the module); NotFoundError if it does not exist
    or its owner is not among ``visible_reps`` (``None``: every account)."""
    from territorial.planning.ownership import owner_history, owner_of
    from territorial.repplan.flags import list_flags
    from territorial.store.routing import decisions, get_decision, outbox
    from territorial.store.scores import account_scores
    from territorial.store.tables import accounts, activities, opportunities, reps

    owner = owner_of(engine, account_id=account_id)
    if visible_reps is not None and (owner is None or owner["rep_id"] not in visible_reps):
        raise NotFoundError(f"account {account_id!r} not found")
    with engine.connect() as conn:
        account = _row(conn, accounts, accounts.c.id, account_id)
        if account is None:
            raise NotFoundError(f"account {account_id!r} not found")
        scores = _row(conn, account_scores, account_scores.c.account_id, account_id)
        names = dict(conn.execute(select(reps.c.id, reps.c.name)).all())
        opps = (
            conn.execute(select(opportunities).where(opportunities.c.account_id == account_id))
            .mappings()
            .all()
        )
        acts = (
            conn.execute(
                select(activities)
                .where(activities.c.account_id == account_id)
                .order_by(activities.c.occurred_at.desc())
                .limit(TIMELINE_LIMIT)
            )
            .mappings()
            .all()
        )
        decision_ids = [
            r[0]
            for r in conn.execute(
                select(decisions.c.id)
                .where(decisions.c.account_id == account_id)
                .order_by(decisions.c.id.desc())
                .limit(DECISIONS_LIMIT)
            )
        ]
        routed = [get_decision(conn, decision_id=i) for i in decision_ids]
        alerts = (
            conn.execute(
                select(outbox)
                .where(outbox.c.decision_id.in_(decision_ids), outbox.c.status != "delivered")
                .order_by(outbox.c.id.desc())
            )
            .mappings()
            .all()
            if decision_ids
            else []
        )
    timeline: list[dict[str, Any]] = []
    for o in opps:
        what = f"{o['stage']}: {o['product'] or 'opportunity'} ${o['amount']:,.0f}"
        timeline.append(
            {
                "date": _plain(o["created_date"]),
                "kind": "opportunity created",
                "what": what,
                "who": names.get(o["owner_id"], o["owner_id"]),
                "id": o["id"],
            }
        )
        if o["is_closed"] and o["close_date"] is not None:
            timeline.append(
                {
                    "date": _plain(o["close_date"]),
                    "kind": "opportunity won" if o["is_won"] else "opportunity lost",
                    "what": what,
                    "who": names.get(o["owner_id"], o["owner_id"]),
                    "id": o["id"],
                }
            )
    for a in acts:
        timeline.append(
            {
                "date": _plain(a["occurred_at"]),
                "kind": a["channel"],
                "what": f"{a['channel']} ({a['duration_minutes']:.0f} min)",
                "who": names.get(a["rep_id"], a["rep_id"]),
                "id": a["id"],
            }
        )
    timeline.sort(key=lambda e: str(e["date"]), reverse=True)
    history = [
        {k: _plain(v) for k, v in h.items()} for h in owner_history(engine, account_id=account_id)
    ]
    for h in history:
        h["owner_name"] = names.get(h["owner_id"])
    view: dict[str, Any] = {
        "account": account,
        "owner": None if owner is None else {**owner, "rep_name": names.get(owner["rep_id"])},
        "scores": scores,
        "owner_history": history,
        "timeline": timeline[:TIMELINE_LIMIT],
        "open_opportunities": [
            {k: _plain(v) for k, v in dict(o).items()} for o in opps if not o["is_closed"]
        ],
        "routing_decisions": [
            {k: _plain(v) for k, v in d.items() if k != "trace"} | {"trace": d.get("trace")}
            for d in routed
        ],
        "open_alerts": [{k: _plain(v) for k, v in dict(a).items()} for a in alerts],
        "flags": [
            {k: _plain(v) for k, v in f.items()}
            for f in list_flags(engine, status=None, account_id=account_id)
        ],
        "plan": None,
    }
    if with_plan and owner is not None and owner.get("rep_id"):
        view["plan"] = _in_plan(engine, str(owner["rep_id"]), account_id)
    return view


def _in_plan(engine: Engine, rep_id: str, account_id: str) -> dict[str, Any]:
    """The account's place in its owner's plan: target row and its steps, or why not."""
    from territorial.repplan import cached_plan_data
    from territorial.repplan.plan import build_rep_plan

    try:
        plan = build_rep_plan(cached_plan_data(engine), rep_id)
    except TerritorialError as exc:
        return {"rep_id": rep_id, "target": None, "steps": [], "note": exc.message}
    targets = plan.targets[plan.targets["account_id"] == account_id]
    if targets.empty:
        return {
            "rep_id": rep_id,
            "target": None,
            "steps": [],
            "note": f"not among {rep_id}'s {len(plan.targets)} targets for "
            f"{plan.start:%d %b} to {plan.end:%d %b %Y}",
        }
    steps = plan.schedule[plan.schedule["account_id"] == account_id]
    target = {
        k: _plain(v) for k, v in targets.drop(columns=["latitude", "longitude"]).iloc[0].items()
    }
    return {
        "rep_id": rep_id,
        "target": target,
        "steps": [{k: _plain(v) for k, v in r.items()} for r in steps.to_dict("records")],
        "note": f"target #{target['rank']} of {len(plan.targets)} in {rep_id}'s plan",
    }


__all__ = ["account_view"]
_ = pd  # frames come from the plan
