"""What stands between a rep and their territory plan, and who fixes it.

:func:`plan_readiness` lists what is missing (the rep not in the imported data, no
accounts, no scores, no territory for the rep), each with who fixes it and how; an empty
list means the plan can be built. The workspace shows the list instead of an error; the
CLI and the API keep their errors (the same conditions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, func, select


@dataclass(frozen=True, slots=True)
class Missing:
    """One thing missing: ``what`` in the rep's words, ``who`` fixes it and ``how``."""

    what: str
    who: str
    how: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def plan_readiness(engine: Engine, *, rep_id: str | None) -> list[Missing]:
    """What is missing before ``rep_id``'s plan can be made (empty: nothing), in the
    order it has to be fixed. ``rep_id=None`` (a planner or admin who is no rep): the
    store is checked and, when it is ready, that some rep carries a territory."""
    from territorial.planning.ownership import active_plan_id, territory_reps
    from territorial.store.scores import scores_as_of
    from territorial.store.tables import accounts, plans, reps

    missing: list[Missing] = []
    with engine.connect() as conn:
        known = (
            rep_id is not None
            and conn.execute(select(reps.c.id).where(reps.c.id == rep_id)).first() is not None
        )
        account_count = conn.execute(select(func.count()).select_from(accounts)).scalar() or 0
    if rep_id is not None and not known:
        missing.append(
            Missing(
                f"Rep {rep_id} is not among the imported reps.",
                "a planner",
                "imports the CRM's users (reps) export with `territorial import` "
                "(Import page), or an admin fixes the rep id of your user.",
            )
        )
    if not account_count:
        missing.append(
            Missing(
                "No accounts are imported yet.",
                "a planner",
                "imports the CRM's accounts export with `territorial import` (Import page).",
            )
        )
    elif scores_as_of(engine) is None:
        missing.append(
            Missing(
                "The accounts are not scored yet: targets are ranked by their fit, "
                "propensity and potential.",
                "a planner",
                "runs `territorial score` (or Score in the workspace) after each import.",
            )
        )
    if not account_count or (rep_id is not None and not known):
        return missing
    members = territory_reps(engine)
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    if rep_id is None:
        owns = not owners.empty
        who = "No rep"
    else:
        owns = not owners[owners["rep_id"] == rep_id].empty
        who = f"Rep {rep_id}"
    if not owns:
        active = active_plan_id(engine)
        if active is None:
            model = "the CRM owners (no version of the territory model is active)"
        else:
            with engine.connect() as conn:
                name = conn.execute(select(plans.c.name).where(plans.c.id == active)).scalar()
            model = f"the active territory model ({name}, version {active})"
        missing.append(
            Missing(
                f"{who} carries a territory in {model}."
                if rep_id is None
                else f"{who} carries no territory in {model}.",
                "a planner",
                "gives the rep a territory in a draft version (Design or Map), then "
                "submits it for approval and activates it (`territorial plans`).",
            )
        )
    return missing


def readiness_dicts(missing: list[Missing]) -> list[dict[str, Any]]:
    """JSON-ready rows of :func:`plan_readiness`."""
    return [m.to_dict() for m in missing]


__all__ = ["Missing", "plan_readiness", "readiness_dicts"]
