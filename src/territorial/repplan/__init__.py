"""The rep's territory plan: targets with their rationale, offers, collaboration and a
dated engagement schedule within capacity; exported as PDF, XLSX and iCalendar.

One builder (:func:`territorial.repplan.plan.build_rep_plan`) over data read once
(:func:`territorial.repplan.data.load_plan_data`); :func:`rep_plan` and
:func:`rep_plans` are the store-level entry points the CLI, API and workspace call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from territorial.memo import VersionedMemo
from territorial.repplan.data import PlanData, load_plan_data
from territorial.repplan.goals import RepGoals, rep_goals
from territorial.repplan.plan import RepPlan, build_rep_plan
from territorial.repplan.playbook import Playbook, default_playbook, load_playbook
from territorial.repplan.targets import PlanOptions

log = logging.getLogger(__name__)


_PLAN_DATA: VersionedMemo[PlanData] = VersionedMemo()
_REP_GOALS: VersionedMemo[dict[str, RepGoals]] = VersionedMemo()


def _data_version(engine: Engine) -> tuple[Any, ...]:
    """What the plan data depends on: scores, imports, the active version."""
    from sqlalchemy import func, select

    from territorial.store.scores import account_scores
    from territorial.store.tables import imports, plans

    with engine.connect() as conn:
        return (
            conn.execute(select(func.max(account_scores.c.scored_at))).scalar(),
            conn.execute(select(func.max(imports.c.id))).scalar(),
            conn.execute(select(func.max(plans.c.activated_at))).scalar(),
            conn.execute(select(plans.c.id).where(plans.c.status == "active")).scalar(),
        )


def cached_plan_data(engine: Engine) -> PlanData:
    """:func:`load_plan_data`, kept while the scores, imports and active version stay
    the same (the workspace and the API ask for plans one rep at a time)."""
    return _PLAN_DATA.get(engine, _data_version(engine), lambda: load_plan_data(engine))


def _goals_version(engine: Engine) -> tuple[Any, ...]:
    """What the reps' goals depend on beyond the plan data: the goals extract's data,
    quota sets and goals."""
    from sqlalchemy import func, select

    from territorial.goals.performance import data_fingerprint
    from territorial.store.goals import goals, quota_sets

    with engine.connect() as conn:
        return (
            *_data_version(engine),
            data_fingerprint(engine),
            conn.execute(select(func.max(quota_sets.c.id))).scalar(),
            conn.execute(select(func.max(goals.c.id))).scalar(),
        )


def cached_rep_goals(engine: Engine, data: PlanData) -> dict[str, RepGoals]:
    """:func:`rep_goals` of every rep who carries a territory, kept while the data, the
    quota sets and the goals stay the same (one computation serves every rep's page:
    the standings cost the same for one rep as for all)."""
    return _REP_GOALS.get(
        engine, _goals_version(engine), lambda: rep_goals(engine, rep_ids=data.carriers())
    )


def rep_plan(engine: Engine, *, rep_id: str, options: PlanOptions | None = None) -> RepPlan:
    """The plan of one rep (NotFoundError: unknown rep; ConfigError: no territory)."""
    data = cached_plan_data(engine)
    plan_rep_ids(data, [rep_id])  # a rep unknown or without territory fails before goals
    goals = cached_rep_goals(engine, data)[rep_id]
    return build_rep_plan(data, rep_id, options, goals=goals)


def visible_reps(engine: Engine, user: Any | None) -> frozenset[str] | None:
    """Rep ids whose plans and accounts ``user`` may see (``None``: all): a rep their
    own, a manager their team's and their own, admins and planners everyone's. ``None``
    as user is the command line or the API's bootstrap token."""
    if user is None:
        return None
    from territorial.web.auth import visible_territories

    return visible_territories(engine, user)


def plan_for(
    engine: Engine,
    *,
    rep_id: str,
    visible: frozenset[str] | None,
    options: PlanOptions | None = None,
) -> RepPlan:
    """The plan of ``rep_id`` for a caller who sees ``visible`` reps: another rep's plan
    is "not found", the same answer as for a rep who does not exist."""
    from territorial.errors import NotFoundError

    if visible is not None and rep_id not in visible:
        raise NotFoundError(f"no rep {rep_id!r}")
    return rep_plan(engine, rep_id=rep_id, options=options)


def plan_rep_ids(data: PlanData, rep_ids: Sequence[str] | None) -> list[str]:
    """``rep_ids`` checked (each known and carrying a territory), or every carrier."""
    if rep_ids is None:
        return data.carriers()
    for rep_id in rep_ids:
        data.book_of(rep_id)
    return list(rep_ids)


def rep_plans(
    engine: Engine,
    *,
    rep_ids: Sequence[str] | None = None,
    options: PlanOptions | None = None,
    data: PlanData | None = None,
) -> Iterator[RepPlan]:
    """Plans of ``rep_ids`` (default: every rep who carries a territory), one at a time,
    from one read of the store. Every rep id is checked before the first plan is made."""
    data = data or load_plan_data(engine)
    ids = plan_rep_ids(data, rep_ids)
    goals = rep_goals(engine, rep_ids=ids)
    for rep_id in ids:
        yield build_rep_plan(data, rep_id, options, goals=goals[rep_id])


__all__ = [
    "PlanData",
    "PlanOptions",
    "Playbook",
    "RepGoals",
    "RepPlan",
    "build_rep_plan",
    "cached_plan_data",
    "cached_rep_goals",
    "default_playbook",
    "load_plan_data",
    "load_playbook",
    "plan_for",
    "plan_rep_ids",
    "rep_goals",
    "rep_plan",
    "rep_plans",
    "visible_reps",
]
