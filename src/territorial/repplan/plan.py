"""A rep's territory plan: targets, offers, collaboration and the dated schedule.

:func:`build_rep_plan` is the one builder (CLI, API and workspace call it): from
:class:`~territorial.repplan.data.PlanData` and :class:`~territorial.repplan.targets.PlanOptions`
it ranks the rep's book, places target sequences on the calendar within capacity taking
expansion and new-logo candidates in the configured shares (a candidate whose sequence
fits no start is skipped; a pool stops after 20 skipped in a row), then adds the offer,
the product to lead with, the collaboration and the rationale of each target.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from territorial.repplan.data import PlanData, next_monday
from territorial.repplan.goals import RepGoals
from territorial.repplan.playbook import Playbook
from territorial.repplan.schedule import Calendar, group_visits, visit_clusters
from territorial.repplan.targets import (
    Capacity,
    PlanOptions,
    ProductAffinity,
    add_lookalikes,
    candidates,
    rationale,
    rep_capacity,
)

log = logging.getLogger(__name__)

#: A pool (expansion or new logos) stops after this many candidates in a row that fit nowhere.
MAX_SKIPPED_IN_A_ROW = 20
TARGET_COLUMNS = (
    "rank",
    "account_id",
    "account_name",
    "pool",
    "tier",
    "potential",
    "propensity",
    "fit_score",
    "open_opps",
    "open_amount",
    "industry",
    "segment",
    "city",
    "state",
    "rationale",
    "product",
    "product_reason",
    "offer",
    "offer_rule",
    "collaboration",
    "collaboration_rules",
    "sequence",
    "first_step_date",
    "next_step",
    "channels",
    "timing",
    "planned_hours",
    "latitude",
    "longitude",
)
SCHEDULE_COLUMNS = (
    "account_id",
    "account_name",
    "date",
    "week",
    "channel",
    "step",
    "hours",
    "travel_hours",
    "trip",
    "sequence",
)


@dataclass(frozen=True, eq=False)
class RepPlan:
    """One rep's plan. Frames: ``targets`` (:data:`TARGET_COLUMNS`), ``schedule``
    (:data:`SCHEDULE_COLUMNS`, one row per step, decision points with channel
    ``decision``), ``collaboration`` (``account_id, account_name, team, action, rule``),
    ``trips`` (visit days with travel), ``weekly`` (hours per week against the limit),
    ``book_points`` (the book's locations and tiers, for the map)."""

    rep: dict[str, Any]
    territories: tuple[str, ...]
    plan_id: int | None
    as_of: date
    start: date
    end: date
    capacity: Capacity
    numbers: dict[str, Any]
    targets: pd.DataFrame
    schedule: pd.DataFrame
    collaboration: pd.DataFrame
    trips: pd.DataFrame
    weekly: pd.DataFrame
    book_points: pd.DataFrame
    playbook_source: str
    goals: RepGoals | None

    @property
    def rep_id(self) -> str:
        return str(self.rep["id"])

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values (dates as ISO text, no NaN)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]

        return {
            "rep": {
                k: _plain(self.rep.get(k))
                for k in ("id", "name", "email", "role", "home_city", "home_state", "manager_id")
            },
            "territories": list(self.territories),
            "plan_id": self.plan_id,
            "as_of": self.as_of.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "playbook": self.playbook_source,
            "numbers": {k: _plain(v) for k, v in self.numbers.items()},
            "goals": None if self.goals is None else self.goals.to_dict(),
            "targets": records(self.targets.drop(columns=["latitude", "longitude"])),
            "schedule": records(self.schedule),
            "collaboration": records(self.collaboration),
            "trips": records(self.trips),
            "weekly": records(self.weekly),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (pd.Timestamp, date)):
        return (
            value.isoformat()[:10]
            if not isinstance(value, pd.Timestamp)
            else value.date().isoformat()
        )
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else round(float(value), 4)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, tuple):
        return list(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


class _Fill(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(_Fill(values)).strip()


def _texts(row: Any, reps: dict[str, str]) -> dict[str, Any]:
    lookalike = row.get("lookalike_name") if isinstance(row.get("lookalike_name"), str) else ""
    product = row.get("product") or "our platform"
    return {
        "lookalike": lookalike,
        "lookalike_or_product": f"the story of {lookalike}"
        if lookalike
        else f"a {product} overview",
        "product": product,
        "technology": row.get("technology") or "",
        "other_reps": ", ".join(f"{reps.get(r, r)} ({r})" for r in row.get("other_reps") or ()),
        "industry": row.get("industry") or "",
        "city": row.get("city") or "",
    }


def plan_start(data: PlanData, options: PlanOptions) -> date:
    """The Monday the schedule starts (``options.start``'s week, or after the data date)."""
    if options.start is not None:
        return options.start - timedelta(days=options.start.weekday())
    return next_monday(data.as_of + timedelta(days=1))


def build_rep_plan(
    data: PlanData,
    rep_id: str,
    options: PlanOptions | None = None,
    *,
    goals: RepGoals | None = None,
) -> RepPlan:
    """The plan of one rep who carries a territory (see the module docstring).

    Raises NotFoundError for an unknown rep and ConfigError for a rep without territory.
    """
    options = options or PlanOptions()
    options.check()
    playbook = options.playbook
    config = data.scoring_config()
    work = config.workload
    rep = data.rep_row(rep_id)
    book = data.book_of(rep_id)
    capacity = rep_capacity(rep, book, options, default_hours=config.capacity.hours_per_week)
    start = plan_start(data, options)
    ranked = candidates(data, book, rep)
    top = ranked.head(max(3 * options.max_targets, 300)).copy()
    top = add_lookalikes(data, top, playbook)
    matches = np.column_stack(
        [rule.when.mask(top, playbook.engagement) for rule in playbook.sequences]
    )
    top["cluster"] = visit_clusters(
        top["latitude"].to_numpy(float), top["longitude"].to_numpy(float)
    )
    miles = top["miles"].to_numpy(float)
    top["visit_travel_hours"] = (
        2 * np.where(np.isfinite(miles), miles, work.default_travel_miles) / work.speed_mph
    )

    top["sequence_index"] = -1
    rows = {
        i: r
        for i, r in zip(
            top.index,
            top[["visit_travel_hours", "cluster", "segment"]].to_dict("records"),
            strict=True,
        )
    }
    calendar = Calendar(start, options.weeks, capacity.plan_limit)
    shares = {"expansion": options.expansion_share, "new logo": 1.0 - options.expansion_share}
    queues = {
        pool: [i for i in top.index[top["pool"] == pool]] for pool in shares if shares[pool] > 0
    }
    hours = dict.fromkeys(shares, 0.0)
    skipped = dict.fromkeys(shares, 0)
    placed: list[tuple[int, Any]] = []
    while len(placed) < options.max_targets:
        open_pools = [p for p, q in queues.items() if q and skipped[p] < MAX_SKIPPED_IN_A_ROW]
        if not open_pools:
            break
        pool = min(open_pools, key=lambda p: (hours[p] / shares[p], p))
        i = queues[pool].pop(0)
        row = rows[i]
        # the first matching sequence that fits (a field sequence may not, far away)
        placement = None
        for k in np.flatnonzero(matches[top.index.get_loc(i)]):
            sequence = playbook.sequences[int(k)]
            placement = calendar.place(
                sequence,
                travel_hours=float(row["visit_travel_hours"]),
                cluster=int(row["cluster"]) if row["cluster"] >= 0 else None,
                season=data.seasonality.get(str(row["segment"])),
                segment=str(row["segment"]),
            )
            if placement is not None:
                top.at[i, "sequence_index"] = int(k)
                break
        if placement is None:
            skipped[pool] += 1
            continue
        skipped[pool] = 0
        visits = sum(1 for s in sequence.steps if s.channel == "visit")
        hours[pool] += sequence.hours + visits * float(row["visit_travel_hours"])
        placed.append((i, placement))

    chosen = top.loc[[i for i, _ in placed]].copy()
    chosen["timing"] = [p.timing for _, p in placed]
    targets, schedule, collaboration = _describe(data, chosen, placed, playbook, start, options)
    home = (rep.get("home_latitude"), rep.get("home_longitude"))
    located = all(v is not None and np.isfinite(v) for v in home)
    schedule, trips = group_visits(
        schedule,
        targets.assign(cluster=chosen["cluster"].to_numpy(), miles=chosen["miles"].to_numpy()),
        start=start,
        home=(float(home[0]), float(home[1])) if located else None,  # type: ignore[arg-type]
        road_factor=work.road_factor,
        speed_mph=work.speed_mph,
        default_miles=work.default_travel_miles,
    )
    schedule = schedule.sort_values(["day", "account_id"]).reset_index(drop=True)
    schedule["week"] = schedule["day"] // 7 + 1
    first = schedule.groupby("account_id")["date"].min()
    targets["first_step_date"] = targets["account_id"].map(first)
    steps_only = schedule[schedule["channel"] != "decision"]
    targets["next_step"] = targets["account_id"].map(
        steps_only.drop_duplicates("account_id").set_index("account_id")["step"]
    )
    per_target = schedule.groupby("account_id")[["hours", "travel_hours"]].sum().sum(axis=1)
    targets["planned_hours"] = targets["account_id"].map(per_target).round(2)
    weekly = _weekly(schedule, start, options.weeks, capacity)
    numbers = _numbers(book, targets, schedule, trips, weekly, capacity, data, rep_id)
    end = start + timedelta(days=7 * options.weeks - 1)
    book_points = book[["id", "latitude", "longitude", "tier"]].rename(columns={"id": "account_id"})
    territories = tuple(sorted(set(book["territory_name"].dropna().astype(str))))
    return RepPlan(
        rep=rep,
        territories=territories,
        plan_id=data.plan_id,
        as_of=data.as_of,
        start=start,
        end=end,
        capacity=capacity,
        numbers=numbers,
        targets=targets[list(TARGET_COLUMNS)].reset_index(drop=True),
        schedule=schedule[list(SCHEDULE_COLUMNS)],
        collaboration=collaboration,
        trips=trips,
        weekly=weekly,
        book_points=book_points,
        playbook_source=playbook.source,
        goals=goals,
    )


def _describe(
    data: PlanData,
    chosen: pd.DataFrame,
    placed: list[tuple[int, Any]],
    playbook: Playbook,
    start: date,
    options: PlanOptions,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    affinity = ProductAffinity.of(data, playbook)
    rep_names = dict(zip(data.reps["id"].astype(str), data.reps["name"].astype(str), strict=False))
    records = chosen.to_dict("records")
    leads = [affinity.lead(row) for row in records]
    chosen["product"] = [p for p, _ in leads]
    chosen["product_reason"] = [w for _, w in leads]
    offer_index = playbook.first_match(playbook.offers, chosen)
    for row, (product, _) in zip(records, leads, strict=True):
        row["product"] = product
    texts = [_texts(row, rep_names) for row in records]
    chosen["offer"] = [
        _fill(playbook.offers[k].offer, t) for k, t in zip(offer_index, texts, strict=True)
    ]
    chosen["offer_rule"] = [playbook.offers[k].name for k in offer_index]
    collab_rows: list[dict[str, Any]] = []
    for rule in playbook.collaboration:
        hit = rule.when.mask(chosen, playbook.engagement)
        for (_, row), t in zip(
            chosen[hit].iterrows(), [t for t, h in zip(texts, hit, strict=False) if h], strict=True
        ):
            collab_rows.append(
                {
                    "account_id": row["id"],
                    "account_name": row["name"],
                    "team": rule.team,
                    "action": _fill(rule.action, t),
                    "rule": rule.name,
                }
            )
    for rule in playbook.clusters:
        for key, group in chosen.groupby(list(rule.by), dropna=True):
            if len(group) < rule.min_targets:
                continue
            values = dict(zip(rule.by, key if isinstance(key, tuple) else (key,), strict=False))
            action = _fill(rule.action, {**values, "count": len(group)})
            for _, row in group.iterrows():
                collab_rows.append(
                    {
                        "account_id": row["id"],
                        "account_name": row["name"],
                        "team": rule.team,
                        "action": action,
                        "rule": rule.name,
                    }
                )
    collaboration = pd.DataFrame(
        collab_rows, columns=["account_id", "account_name", "team", "action", "rule"]
    )
    teams = collaboration.groupby("account_id")["team"].agg(lambda t: "; ".join(dict.fromkeys(t)))
    rules = collaboration.groupby("account_id")["rule"].agg(lambda t: "; ".join(dict.fromkeys(t)))

    schedule_rows: list[dict[str, Any]] = []
    channels: list[str] = []
    for (_i, placement), t, offer, row in zip(placed, texts, chosen["offer"], records, strict=True):
        sequence = playbook.sequences[int(row["sequence_index"])]
        values = {**t, "offer": offer}
        for step, day in zip(sequence.steps, placement.days, strict=True):
            schedule_rows.append(
                {
                    "account_id": row["id"],
                    "account_name": row["name"],
                    "day": int(day),
                    "channel": step.channel,
                    "step": _fill(step.step, values),
                    "hours": step.hours,
                    "sequence": sequence.name,
                }
            )
        channels.append("|".join(s.channel for s in sequence.steps))
    schedule = pd.DataFrame(
        schedule_rows,
        columns=["account_id", "account_name", "day", "channel", "step", "hours", "sequence"],
    )
    targets = pd.DataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "account_id": chosen["id"].to_numpy(),
            "account_name": chosen["name"].to_numpy(),
            "pool": chosen["pool"].to_numpy(),
            "tier": chosen["tier"].to_numpy(),
            "potential": chosen["potential"].round(0).to_numpy(),
            "propensity": chosen["propensity"].round(3).to_numpy(),
            "fit_score": chosen["fit_score"].round(1).to_numpy(),
            "open_opps": chosen["open_opps"].to_numpy(),
            "open_amount": chosen["open_amount"].to_numpy(),
            "industry": chosen["industry"].to_numpy(),
            "segment": chosen["segment"].to_numpy(),
            "city": chosen["city"].to_numpy(),
            "state": chosen["state"].to_numpy(),
            "rationale": [rationale(row, data.as_of) for row in records],
            "product": chosen["product"].to_numpy(),
            "product_reason": chosen["product_reason"].to_numpy(),
            "offer": chosen["offer"].to_numpy(),
            "offer_rule": chosen["offer_rule"].to_numpy(),
            "collaboration": [teams.get(a, "") for a in chosen["id"]],
            "collaboration_rules": [rules.get(a, "") for a in chosen["id"]],
            "sequence": [playbook.sequences[int(k)].name for k in chosen["sequence_index"]],
            "channels": channels,
            "timing": chosen["timing"].to_numpy(),
            "latitude": chosen["latitude"].to_numpy(),
            "longitude": chosen["longitude"].to_numpy(),
        }
    )
    return targets, schedule, collaboration


def _weekly(schedule: pd.DataFrame, start: date, weeks: int, capacity: Capacity) -> pd.DataFrame:
    week = schedule["day"] // 7
    planned = (schedule["hours"] + schedule["travel_hours"]).groupby(week).sum()
    planned = planned.reindex(range(weeks), fill_value=0.0)
    return pd.DataFrame(
        {
            "week": np.arange(1, weeks + 1),
            "week_start": [start + timedelta(days=7 * w) for w in range(weeks)],
            "target_hours": planned.round(2).to_numpy(),
            "customer_hours": round(capacity.customer_load, 2),
            "total_hours": (planned + capacity.customer_load).round(2).to_numpy(),
            "target_limit": round(capacity.plan_limit, 2),
            "capacity": capacity.capacity,
        }
    )


def _numbers(
    book: pd.DataFrame,
    targets: pd.DataFrame,
    schedule: pd.DataFrame,
    trips: pd.DataFrame,
    weekly: pd.DataFrame,
    capacity: Capacity,
    data: PlanData,
    rep_id: str,
) -> dict[str, Any]:
    mine = data.open_opps[data.open_opps["account_id"].isin(book["id"])]
    return {
        "book_accounts": len(book),
        "customers": int(book["customer"].sum()),
        "book_potential": float(book["potential"].sum()),
        "tier_a_accounts": int((book["tier"] == "A").sum()),
        "open_opportunities": len(mine),
        "open_pipeline": float(mine["amount"].sum()),
        "capacity_hours_per_week": capacity.capacity,
        "capacity_source": capacity.capacity_source,
        "customer_hours_per_week": round(capacity.customer_load, 2),
        "free_hours_per_week": round(capacity.free, 2),
        "target_hours_limit_per_week": round(capacity.plan_limit, 2),
        "overloaded": capacity.overloaded,
        "targets": len(targets),
        "expansion_targets": int((targets["pool"] == "expansion").sum()),
        "new_logo_targets": int((targets["pool"] == "new logo").sum()),
        "target_potential": float(targets["potential"].sum()),
        "planned_hours": round(float(schedule["hours"].sum() + schedule["travel_hours"].sum()), 2),
        "busiest_week_hours": float(weekly["total_hours"].max()) if len(weekly) else 0.0,
        "visits": int((schedule["channel"] == "visit").sum()),
        "visit_days": len(trips),
        "travel_hours": float(trips["travel_hours"].sum()) if len(trips) else 0.0,
        "travel_hours_saved": float((trips["separate_hours"] - trips["travel_hours"]).sum())
        if len(trips)
        else 0.0,
    }


__all__ = ["SCHEDULE_COLUMNS", "TARGET_COLUMNS", "RepPlan", "build_rep_plan", "plan_start"]
