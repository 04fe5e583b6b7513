"""SMART goals beyond bookings: specific metric, measurable target, a subject (rep or
territory) and a period grain; set by a manager or derived from the plan.

Metrics (:data:`METRICS`) and how a derived target is computed:

* ``activities_per_week``: the median rep's activities per week over the last 13 weeks,
  scaled by the subject's workload hours (``account_scores``) over the median subject's
  (clipped to 0.5-1.5).
* ``new_pipeline_per_month``: the subject's mean monthly quota (newest quota set) / the
  company's trailing win rate by amount (pipeline needed to make the number).
* ``tier_a_meetings``: a meeting or visit per tier-A account per quarter, per month.
* ``tier_a_coverage``: ``DEFAULT_TIER_A_COVERAGE`` of tier-A accounts touched in the
  last ``TIER_A_DAYS`` days.
* ``win_rate``: the company's trailing-12-month win rate (count).

Progress (:func:`goal_progress`) reads the same performance table as every other view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from territorial.errors import ConfigError, NotFoundError

#: metric -> (grain, performance column or how it is measured, meaning)
METRICS: dict[str, tuple[str, str]] = {
    "activities_per_week": ("week", "activities logged per ISO week"),
    "new_pipeline_per_month": ("month", "dollars of opportunities created per month"),
    "tier_a_meetings": ("month", "meetings and visits with tier-A accounts per month"),
    "tier_a_coverage": ("month", "share of tier-A accounts touched in the last 90 days (0-1)"),
    "win_rate": ("quarter", "won / (won + lost) per fiscal quarter (0-1)"),
}
SCOPES = ("rep", "territory")
SELLING_WEEKS = 46
TIER_A_DAYS = 90
DEFAULT_TIER_A_COVERAGE = 0.8


@dataclass(frozen=True, slots=True)
class GoalTarget:
    scope: str
    subject_id: str
    metric: str
    target: float
    note: str


def check_goal(scope: str, metric: str, target: float | None) -> None:
    if scope not in SCOPES:
        raise ConfigError(f"goal scope {scope!r} is not one of {', '.join(SCOPES)}")
    if metric not in METRICS:
        raise ConfigError(f"goal metric {metric!r} is not one of {', '.join(METRICS)}")
    if target is not None:
        if not math.isfinite(target) or target < 0:
            raise ConfigError(f"goal target must be a number >= 0, got {target}")
        if metric in ("tier_a_coverage", "win_rate") and target > 1:
            raise ConfigError(f"{metric} is a share: target must be 0-1, got {target}")


def _subjects(engine: Any, scope: str) -> pd.DataFrame:
    """``subject_id, rep_id, territory_id`` of every owned territory (the territory model)."""
    from territorial.planning.ownership import territory_reps

    members = territory_reps(engine)
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    frame = owners.drop_duplicates("territory_id")[["territory_id", "rep_id"]]
    frame = frame.assign(subject_id=frame["rep_id"] if scope == "rep" else frame["territory_id"])
    return frame.drop_duplicates("subject_id").reset_index(drop=True)


def check_subject(engine: Any, scope: str, subject_id: str) -> None:
    """:class:`NotFoundError` unless the rep (or territory) exists."""
    from sqlalchemy import select

    from territorial.store.tables import reps

    if scope == "rep":
        with engine.connect() as conn:
            if conn.execute(select(reps.c.id).where(reps.c.id == subject_id)).first() is None:
                raise NotFoundError(f"no rep {subject_id!r}")
        return
    if subject_id not in set(_subjects(engine, "territory")["subject_id"]):
        raise NotFoundError(f"no territory {subject_id!r} in the active territory model")


def set_goal(
    engine: Any,
    *,
    scope: str,
    subject_id: str,
    metric: str,
    target: float,
    note: str | None = None,
    created_by: str | None = None,
) -> int:
    """A manager's goal for one rep or territory (supersedes the previous one)."""
    from territorial.store.goals import add_goal

    check_goal(scope, metric, target)
    check_subject(engine, scope, subject_id)
    return add_goal(
        engine,
        scope=scope,
        subject_id=subject_id,
        metric=metric,
        target=float(target),
        grain=METRICS[metric][0],
        source="manager",
        note=note,
        created_by=created_by,
    )


def derive_targets(
    engine: Any, *, scope: str = "rep", metric: str | None = None
) -> list[GoalTarget]:
    """Targets derived from the plan for every subject (see the module docstring)."""
    from territorial.goals.performance import load_extract
    from territorial.planning.ownership import book
    from territorial.store.goals import get_quota_set, read_quota_months, read_quota_rows
    from territorial.store.scores import read_scores

    metrics = [metric] if metric else list(METRICS)
    for m in metrics:
        check_goal(scope, m, None)
    subjects = _subjects(engine, scope)
    if subjects.empty:
        raise NotFoundError("no territories with an owner: activate a plan or import owners")
    owned = book(engine)[["account_id", "territory_id", "rep_id"]]
    owned["subject_id"] = owned["rep_id"] if scope == "rep" else owned["territory_id"]
    scores = read_scores(engine, columns=("account_id", "tier", "workload_hours"))
    per_account = owned.merge(scores, on="account_id", how="left")
    workload = per_account.groupby("subject_id")["workload_hours"].sum()
    tier_a = per_account[per_account["tier"] == "A"].groupby("subject_id").size()
    tables = load_extract(engine)
    acts = tables["acts"].select(["occurred_at"]).num_rows
    opps = tables["opps"].to_pandas()
    closed = opps[opps["is_closed"]]
    as_of = pd.Timestamp(closed["close_date"].max()) if len(closed) else pd.Timestamp.now()
    recent = closed[closed["close_date"] > as_of - pd.Timedelta(days=365)]
    won_amount = recent.loc[recent["is_won"], "amount"].sum()
    amount_rate = won_amount / recent["amount"].sum() if recent["amount"].sum() > 0 else 0.0
    count_rate = recent["is_won"].mean() if len(recent) else 0.0
    median_rate = 0.0
    if acts:
        activity = tables["acts"].select(["rep_id", "occurred_at"]).to_pandas()
        when = pd.to_datetime(activity["occurred_at"])
        recent_acts = activity[when > when.max() - pd.Timedelta(weeks=13)]
        per_rep = recent_acts.groupby("rep_id").size() / 13.0
        median_rate = float(per_rep.median()) if len(per_rep) else 0.0
    owned_workload = workload[workload > 0]
    median_hours = float(owned_workload.median()) if len(owned_workload) else 0.0
    monthly_quota: dict[str, float] = {}
    try:
        header = get_quota_set(engine)
        months = read_quota_months(engine, quota_set_id=int(header["id"]))
        rows = read_quota_rows(engine, quota_set_id=int(header["id"]))[["territory_id", "rep_id"]]
        months = months.merge(rows, on="territory_id")
        key = "rep_id" if scope == "rep" else "territory_id"
        monthly_quota = (months.groupby(key)["quota"].sum() / months["month"].nunique()).to_dict()
    except NotFoundError:
        header = None
    out: list[GoalTarget] = []
    for subject in subjects["subject_id"]:
        for m in metrics:
            if m == "activities_per_week":
                hours = float(workload.get(subject, 0.0))
                scale = float(np.clip(hours / median_hours, 0.5, 1.5)) if median_hours > 0 else 1.0
                value = median_rate * scale
                note = (
                    f"median rep's {median_rate:.1f} activities/week (last 13 weeks) × "
                    f"{scale:.2f} (workload {hours:,.0f} h/year against the median "
                    f"{median_hours:,.0f})"
                )
            elif m == "new_pipeline_per_month":
                if header is None or subject not in monthly_quota or amount_rate <= 0:
                    continue
                quota = monthly_quota[subject]
                value = quota / amount_rate
                note = f"monthly quota {quota:,.0f} $ / win rate by amount {amount_rate:.0%}"
            elif m == "tier_a_meetings":
                accounts = int(tier_a.get(subject, 0))
                value = accounts / 3.0
                note = f"{accounts} tier-A accounts, one meeting each per quarter"
            elif m == "tier_a_coverage":
                value = DEFAULT_TIER_A_COVERAGE
                note = (
                    f"{DEFAULT_TIER_A_COVERAGE:.0%} of tier-A accounts touched "
                    f"in {TIER_A_DAYS} days"
                )
            else:
                value = float(count_rate)
                note = "the company's win rate over the last 12 months"
            out.append(GoalTarget(scope, str(subject), m, round(float(value), 4), note))
    return out


def apply_derived(engine: Any, *, targets: list[GoalTarget], created_by: str | None = None) -> int:
    """Store derived targets as goals (source 'derived'); returns how many."""
    from territorial.store.goals import add_goal

    for t in targets:
        add_goal(
            engine,
            scope=t.scope,
            subject_id=t.subject_id,
            metric=t.metric,
            target=t.target,
            grain=METRICS[t.metric][0],
            source="derived",
            note=t.note,
            created_by=created_by,
        )
    return len(targets)


def goal_progress(
    engine: Any, *, as_of: date | None = None, cache_dir: Path | None = None
) -> pd.DataFrame:
    """Every current goal with its actual value in the last complete period and the current
    one: ``scope, subject_id, metric, target, source, period, actual, previous_period,
    previous, on_track``."""
    from territorial.goals.performance import data_as_of, load_extract, performance_table
    from territorial.store.goals import list_goals

    goals = pd.DataFrame(list_goals(engine))
    columns = [
        "scope",
        "subject_id",
        "metric",
        "target",
        "source",
        "note",
        "period",
        "actual",
        "previous_period",
        "previous",
        "on_track",
    ]
    if goals.empty:
        return pd.DataFrame(columns=columns)
    if as_of is None:
        as_of = data_as_of(load_extract(engine, cache_dir=cache_dir))
    rows: list[dict[str, Any]] = []
    for (scope, grain), part in goals.groupby(["scope", "grain"]):
        start = as_of - timedelta(days={"week": 14, "month": 62, "quarter": 190}[grain])
        table = performance_table(
            engine, by=scope, grain=grain, start=start, end=as_of, cache_dir=cache_dir
        )
        coverage = None
        if (part["metric"] == "tier_a_coverage").any():
            coverage = _tier_a_coverage(engine, scope=scope, as_of=as_of, cache_dir=cache_dir)
        periods = sorted(table["period"].unique())
        current = periods[-1] if periods else None
        previous = periods[-2] if len(periods) > 1 else None
        cells = table.set_index(["key", "period"])
        for goal in part.to_dict("records"):
            if goal["metric"] == "tier_a_coverage":
                actual = (
                    float(coverage.get(goal["subject_id"], float("nan")))
                    if coverage is not None
                    else float("nan")
                )
                last = actual
            else:
                actual = _goal_value(cells, goal["subject_id"], current, goal["metric"])
                last = _goal_value(cells, goal["subject_id"], previous, goal["metric"])
            judged = last if goal["metric"] != "tier_a_coverage" else actual
            rows.append(
                {
                    "scope": scope,
                    "subject_id": goal["subject_id"],
                    "metric": goal["metric"],
                    "target": goal["target"],
                    "source": goal["source"],
                    "note": goal["note"],
                    "period": current,
                    "actual": actual,
                    "previous_period": previous,
                    "previous": last,
                    "on_track": bool(judged >= goal["target"]) if math.isfinite(judged) else None,
                }
            )
    return pd.DataFrame(rows, columns=columns)


_GOAL_COLUMNS = {
    "activities_per_week": "activities",
    "new_pipeline_per_month": "new_pipeline",
    "tier_a_meetings": "tier_a_meetings",
    "win_rate": "win_rate",
}


def _goal_value(cells: pd.DataFrame, subject: str, period: str | None, metric: str) -> float:
    """The goal's metric for one subject and period of a performance table (NaN if none)."""
    if period is None or (subject, period) not in cells.index or metric not in _GOAL_COLUMNS:
        return float("nan")
    return float(cells.loc[(subject, period), _GOAL_COLUMNS[metric]])


def _tier_a_coverage(engine: Any, *, scope: str, as_of: date, cache_dir: Path | None) -> pd.Series:
    """Share of each subject's tier-A accounts touched in the ``TIER_A_DAYS`` before ``as_of``."""
    import duckdb

    from territorial.goals.performance import load_extract

    tables = load_extract(engine, cache_dir=cache_dir)
    key = "a.book_rep" if scope == "rep" else "a.territory_id"
    con = duckdb.connect()
    try:
        con.register("acts", tables["acts"])
        con.register("accounts", tables["accounts"])
        frame = con.execute(
            f"""
            SELECT {key} AS key, count(*) AS accounts,
                   count(*) FILTER (WHERE a.id IN (
                       SELECT account_id FROM acts
                       WHERE CAST(occurred_at AS DATE) > ? AND CAST(occurred_at AS DATE) <= ?))
                       AS touched
            FROM accounts a WHERE a.tier = 'A' AND {key} IS NOT NULL GROUP BY 1
            """,
            [as_of - timedelta(days=TIER_A_DAYS), as_of],
        ).df()
    finally:
        con.close()
    return (frame.set_index("key")["touched"] / frame.set_index("key")["accounts"]).astype(float)


__all__ = [
    "METRICS",
    "SCOPES",
    "GoalTarget",
    "apply_derived",
    "check_goal",
    "derive_targets",
    "goal_progress",
    "set_goal",
]
