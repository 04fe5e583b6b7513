"""The rep's territory plan: targets with their rationale, offers, collaboration and a
dated engagement schedule within capacity; exported as PDF, XLSX and iCalendar.

One builder (:func:`territorial.repplan.plan.build_rep_plan`) over data read once
(:func:`territorial.repplan.data.load_plan_data`); :func:`rep_plan` and
:func:`rep_plans` are the store-level entry points the CLI, API and workspace call.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from territorial.repplan.data import PlanData, load_plan_data
from territorial.repplan.plan import RepPlan, build_rep_plan
from territorial.repplan.playbook import Playbook, default_playbook, load_playbook
from territorial.repplan.targets import PlanOptions

log = logging.getLogger(__name__)


def rep_goals(engine: Engine, *, rep_id: str) -> list[dict[str, Any]]:
    """The rep's quotas and goals from ``territorial.goals`` when that module is installed
    and offers ``rep_goals(engine, rep_id=...)``; an empty list otherwise."""
    try:
        goals = importlib.import_module("territorial.goals")
    except ModuleNotFoundError:
        return []
    reader = getattr(goals, "rep_goals", None)
    if reader is None:
        log.warning("territorial.goals has no rep_goals(engine, rep_id=...); plans show no goals")
        return []
    return [dict(g) for g in reader(engine, rep_id=rep_id)]


def rep_plan(engine: Engine, *, rep_id: str, options: PlanOptions | None = None) -> RepPlan:
    """The plan of one rep (NotFoundError: unknown rep; ConfigError: no territory)."""
    data = load_plan_data(engine)
    return build_rep_plan(data, rep_id, options, goals=rep_goals(engine, rep_id=rep_id))


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
    for rep_id in plan_rep_ids(data, rep_ids):
        yield build_rep_plan(data, rep_id, options, goals=rep_goals(engine, rep_id=rep_id))


__all__ = [
    "PlanData",
    "PlanOptions",
    "Playbook",
    "RepPlan",
    "build_rep_plan",
    "default_playbook",
    "load_plan_data",
    "load_playbook",
    "plan_rep_ids",
    "rep_goals",
    "rep_plan",
    "rep_plans",
]
