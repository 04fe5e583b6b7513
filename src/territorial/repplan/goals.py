"""The rep's quota and goals in the plan, read from :mod:`territorial.goals`.

Figures are not computed here: the quota, bookings, attainment, pace, pipeline and
coverage are :func:`territorial.goals.standings.standings` (``by="rep"``), the SMART
goals with their progress are :func:`territorial.goals.smart.goal_progress` (the rep's
own goals and those of the territories the rep owns). :func:`rep_goals` calls each once
for any number of reps, so ``rep-plan --all`` pays for them once.

When there is no quota set, or no goal for the rep, :class:`RepGoals` says so in words
and names who fixes it (:attr:`RepGoals.missing`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

#: Said when no quota set is stored (or the newest starts after the data's last day).
NO_QUOTA = (
    "No quota for this period: a planner sets quotas with `territorial quota "
    "--plan ID --target DOLLARS --period FY2027 --out quotas.csv`."
)
#: Said when the quota set has no quota for this rep's territories.
NO_REP_QUOTA = (
    "The newest quota set ({period}) has no quota for this rep's territory: a planner "
    "re-runs `territorial quota` on the active territory model."
)
#: Said when no SMART goal is set for the rep or their territories.
NO_GOALS = (
    "No SMART goals yet: the manager sets them (`territorial goals set --rep ID ...`) "
    "or derives them from the plan (`territorial goals derive --apply`)."
)
GOAL_COLUMNS = (
    "scope",
    "subject_id",
    "metric",
    "meaning",
    "target",
    "period",
    "actual",
    "previous_period",
    "previous",
    "on_track",
    "source",
    "note",
)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class RepGoals:
    """One rep's standing against quota (dollars; attainment and pace as shares, 1.0 =
    100%) for the quota period to ``as_of``, and their SMART goals (rows with
    :data:`GOAL_COLUMNS`). Quota figures are ``None`` when no quota applies."""

    rep_id: str
    period: str | None
    period_start: str | None
    as_of: str | None
    quota_set_id: int | None
    quota: float | None
    quota_to_date: float | None
    bookings: float | None
    attainment: float | None
    pace: float | None
    pipeline: float | None
    coverage: float | None
    win_rate: float | None
    goals: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def has_quota(self) -> bool:
        return self.quota is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (no NaN)."""
        return {
            "rep_id": self.rep_id,
            "period": self.period,
            "period_start": self.period_start,
            "as_of": self.as_of,
            "quota_set_id": self.quota_set_id,
            "quota": self.quota,
            "quota_to_date": self.quota_to_date,
            "bookings": self.bookings,
            "attainment": self.attainment,
            "pace": self.pace,
            "pipeline": self.pipeline,
            "coverage": self.coverage,
            "win_rate": self.win_rate,
            "goals": [dict(g) for g in self.goals],
            "missing": list(self.missing),
        }

    def lines(self) -> list[tuple[str, str]]:
        """The figures in words, ``(label, text)``, for the PDF, the workbook's Summary
        and the workspace page."""
        out: list[tuple[str, str]] = []
        if self.has_quota:
            out.append(
                (
                    "Quota",
                    f"${self.quota:,.0f} for {self.period} (from {self.period_start}); "
                    f"${self.quota_to_date or 0:,.0f} due by {self.as_of}",
                )
            )
            out.append(
                (
                    "Attainment",
                    f"${self.bookings or 0:,.0f} booked = {_percent(self.attainment)} of quota; "
                    f"pace {_percent(self.pace)} of the quota to date",
                )
            )
            if self.pipeline is not None:
                cover = "" if self.coverage is None else f", coverage {self.coverage:.2f}x"
                out.append(("Pipeline", f"${self.pipeline:,.0f} open{cover}"))
        for goal in self.goals:
            out.append((f"Goal: {metric_label(str(goal['metric']))}", _goal_text(goal)))
        for text in self.missing:
            out.append(("Missing", text))
        return out


def metric_label(metric: str) -> str:
    """``tier_a_meetings`` as "tier-A meetings"."""
    return metric.replace("tier_a", "tier-A").replace("_", " ")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _metric_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric in ("tier_a_coverage", "win_rate"):
        return _percent(value)
    if metric == "new_pipeline_per_month":
        return f"${value:,.0f}"
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def _goal_text(goal: dict[str, Any]) -> str:
    metric = str(goal["metric"])
    whose = "" if goal["scope"] == "rep" else f" (territory {goal['subject_id']})"
    state = {True: "on track", False: "behind", None: "not measured yet"}[goal["on_track"]]
    source = {"manager": "set by the manager", "derived": "derived from the plan"}.get(
        str(goal["source"]), f"source: {goal['source']}"
    )
    return (
        f"target {_metric_value(metric, goal['target'])}{whose}; "
        f"{goal['period'] or 'this period'}: {_metric_value(metric, goal['actual'])}, "
        f"{goal['previous_period'] or 'last period'}: "
        f"{_metric_value(metric, goal['previous'])} ({state}; {source})"
    )


def rep_goals(
    engine: Engine,
    *,
    rep_ids: Sequence[str],
    cache_dir: Path | None = None,
) -> dict[str, RepGoals]:
    """Quota standing and SMART goals of each of ``rep_ids`` (see the module docstring),
    from one call of :func:`~territorial.goals.standings.standings` and one of
    :func:`~territorial.goals.smart.goal_progress` for all of them."""
    from territorial.goals.smart import METRICS, goal_progress
    from territorial.goals.standings import standings
    from territorial.planning.ownership import territory_reps

    wanted = [str(r) for r in dict.fromkeys(rep_ids)]
    if not wanted:
        return {}
    table = standings(engine, by="rep", keys=frozenset(wanted), cache_dir=cache_dir)
    attrs = table.attrs
    rows = {str(r["key"]): r for r in table.to_dict("records")}
    progress = goal_progress(engine, cache_dir=cache_dir)
    members = territory_reps(engine)
    owners = members[(members["role"] == "owner") & members["rep_id"].isin(wanted)]
    territories: dict[str, set[str]] = {}
    for territory, rep in zip(owners["territory_id"], owners["rep_id"], strict=True):
        territories.setdefault(str(rep), set()).add(str(territory))

    out: dict[str, RepGoals] = {}
    for rep_id in wanted:
        row = rows.get(rep_id, {})
        mine = progress[
            ((progress["scope"] == "rep") & (progress["subject_id"] == rep_id))
            | (
                (progress["scope"] == "territory")
                & progress["subject_id"].isin(territories.get(rep_id, set()))
            )
        ]
        goals = [
            {
                "scope": g["scope"],
                "subject_id": g["subject_id"],
                "metric": g["metric"],
                "meaning": METRICS.get(g["metric"], ("", ""))[1],
                "target": _number(g["target"]),
                "period": g["period"],
                "actual": _number(g["actual"]),
                "previous_period": g["previous_period"],
                "previous": _number(g["previous"]),
                "on_track": None if g["on_track"] is None else bool(g["on_track"]),
                "source": g["source"],
                "note": g["note"] if isinstance(g["note"], str) else None,
            }
            for g in mine.to_dict("records")
        ]
        quota = _number(row.get("quota"))
        missing: list[str] = []
        if attrs.get("quota_set_id") is None:
            missing.append(NO_QUOTA)
        elif quota is None:
            missing.append(NO_REP_QUOTA.format(period=attrs.get("period")))
        if not goals:
            missing.append(NO_GOALS)
        out[rep_id] = RepGoals(
            rep_id=rep_id,
            period=attrs.get("period"),
            period_start=attrs.get("period_start"),
            as_of=attrs.get("as_of"),
            quota_set_id=attrs.get("quota_set_id"),
            quota=quota,
            quota_to_date=_number(row.get("quota_to_date")) if quota is not None else None,
            bookings=_number(row.get("bookings")) or 0.0,
            attainment=_number(row.get("attainment")),
            pace=_number(row.get("pace")),
            pipeline=_number(row.get("pipeline")),
            coverage=_number(row.get("coverage")),
            win_rate=_number(row.get("win_rate")),
            goals=goals,
            missing=missing,
        )
    return out


__all__ = ["GOAL_COLUMNS", "NO_GOALS", "NO_QUOTA", "NO_REP_QUOTA", "RepGoals", "rep_goals"]
