"""The engagement schedule: each target's sequence placed on the calendar within capacity.

:class:`Calendar` keeps the hours planned per week and places one sequence at a time at
the best start that fits: every week's hours (steps, plus the round trip of a visit)
stay within the rep's weekly limit, and the whole sequence lies inside the plan's weeks.
Among the starts that fit, it prefers (1) for a seasonal segment, the start whose *ask*
(the last call, visit or event) falls in the segment's strongest buying month, (2) a
start that puts a visit in a week where a nearby target (same visit cluster) is already
visited, (3) the earliest week, (4) the weekday with the fewest starts.

:func:`group_visits` then moves visits of one cluster and week onto one day when every
visit's sequence order allows it, and prices each day's trip (home → visits in
nearest-neighbour order → home, road miles / speed). Grouping never adds hours: a tour
is at most the sum of the separate round trips (triangle inequality), so the weekly
limit checked at placement still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from territorial.repplan.playbook import SequenceRule
from territorial.scoring.workload import great_circle_miles

#: Targets whose homes are within this many miles form one visit cluster.
CLUSTER_MILES = 30.0
_ASK = ("call", "visit", "event")


def weekday_dates(start: date, day: int) -> int:
    """Day offset of step ``day`` from ``start``, a weekend moved to the next Monday."""
    weekday = (start.weekday() + day) % 7
    return day + (7 - weekday if weekday >= 5 else 0)


@dataclass(frozen=True)
class Placement:
    """Where a sequence went: ``start`` (day offset of its first step) and per step its
    day offset; ``ask_day`` is the offset of its last call, visit or event."""

    start: int
    days: tuple[int, ...]
    ask_day: int
    timing: str


@dataclass
class Calendar:
    """Hours planned per week of one rep's plan (see the module docstring)."""

    start: date
    weeks: int
    limit: float
    load: np.ndarray = field(init=False)
    starts: np.ndarray = field(init=False)
    visit_weeks: dict[int, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.load = np.zeros(self.weeks)
        self.starts = np.zeros(self.weeks * 7, dtype=np.int64)

    def _shape(
        self, sequence: SequenceRule, weekday: int, travel_hours: float
    ) -> tuple[list[int], np.ndarray]:
        """Step offsets from a start on ``weekday`` (0-4) of week 0, and hours per week."""
        anchor = self.start + timedelta(days=weekday)
        days = [weekday + weekday_dates(anchor, s.day) for s in sequence.steps]
        span = days[-1] // 7 + 1
        hours = np.zeros(span)
        for d, s in zip(days, sequence.steps, strict=True):
            hours[d // 7] += s.hours + (travel_hours if s.channel == "visit" else 0.0)
        return days, hours

    def place(
        self,
        sequence: SequenceRule,
        *,
        travel_hours: float,
        cluster: int | None,
        season: dict[int, float] | None,
        segment: str | None,
    ) -> Placement | None:
        """Put the sequence at its best start (see the module), or ``None`` if no start fits."""
        best: tuple[Any, ...] | None = None
        for weekday in range(5):
            days, hours = self._shape(sequence, weekday, travel_hours)
            span = len(hours)
            if span > self.weeks:
                continue
            windows = sliding_window_view(self.load, span)
            fits = np.flatnonzero(((windows + hours) <= self.limit + 1e-9).all(axis=1))
            ask = max(
                (d for d, s in zip(days, sequence.steps, strict=True) if s.channel in _ASK),
                default=days[-1],
            )
            visit = [d for d, s in zip(days, sequence.steps, strict=True) if s.channel == "visit"]
            for w in fits:
                start = int(w) * 7
                strength = 0.0
                if season:
                    month = (self.start + timedelta(days=start + ask)).month
                    strength = round(season.get(month, 1.0), 1)
                mate = 0
                if cluster is not None and visit:
                    weeks_visited = self.visit_weeks.get(cluster, set())
                    mate = int(any((start + d) // 7 in weeks_visited for d in visit))
                key = (-strength, -mate, int(w), int(self.starts[start + weekday]), weekday)
                if best is None or key < best[0]:
                    best = (key, start + weekday, days, hours, ask, visit, strength)
        if best is None:
            return None
        _key, first, days, hours, ask, visit, strength = best
        w0 = first // 7
        self.load[w0 : w0 + len(hours)] += hours
        self.starts[first] += 1
        offsets = tuple(first - first % 7 + d for d in days)
        if cluster is not None:
            for d in visit:
                self.visit_weeks.setdefault(cluster, set()).add((first - first % 7 + d) // 7)
        timing = ""
        if season:
            ask_date = self.start + timedelta(days=first - first % 7 + ask)
            timing = (
                f"{segment} buys most in "
                + ", ".join(
                    f"{date(2000, m, 1):%b}"
                    for m, _ in sorted(season.items(), key=lambda kv: -kv[1])[:2]
                )
                + f"; the ask falls in {ask_date:%b} (index {strength:.1f})"
            )
        return Placement(first, offsets, first - first % 7 + ask, timing)


def visit_clusters(lat: np.ndarray, lon: np.ndarray, *, miles: float = CLUSTER_MILES) -> np.ndarray:
    """Cluster id per point: greedy, in the given order, each unclustered point opens a
    cluster joined by every unclustered point within ``miles``; unlocated points -1."""
    n = len(lat)
    out = np.full(n, -1, dtype=np.int64)
    located = np.isfinite(lat) & np.isfinite(lon)
    next_id = 0
    for i in range(n):
        if out[i] >= 0 or not located[i]:
            continue
        d = great_circle_miles(lat[i], lon[i], lat, lon)
        join = (out < 0) & located & (d <= miles)
        out[join] = next_id
        next_id += 1
    return out


def group_visits(
    schedule: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    start: date,
    home: tuple[float, float] | None,
    road_factor: float,
    speed_mph: float,
    default_miles: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move a cluster's visits of one week onto one day where the sequences allow, and
    price each day's trip. Returns the schedule (``day``, ``date``, ``trip`` and
    ``travel_hours`` updated) and the trips (``trip, date, accounts, stops, miles,
    travel_hours, separate_hours``)."""
    schedule = schedule.copy()
    info = targets.set_index("account_id")
    visits = schedule[schedule["channel"] == "visit"]
    by_account = {a: g.sort_values("day") for a, g in schedule.groupby("account_id")}
    windows: dict[int, tuple[int, int]] = {}
    for idx, row in visits.iterrows():
        steps = by_account[row["account_id"]]
        before = steps.loc[steps["day"] < row["day"], "day"]
        after = steps.loc[steps["day"] > row["day"], "day"]
        week = int(row["day"]) // 7
        lo = max(week * 7, int(before.max()) + 1 if len(before) else week * 7)
        hi = min(week * 7 + 4, int(after.min()) - 1 if len(after) else week * 7 + 4)
        windows[int(idx)] = (lo, hi)
    for (_cluster, _week), group in visits.assign(
        cluster=visits["account_id"].map(info["cluster"]), week=visits["day"] // 7
    ).groupby(["cluster", "week"]):
        if _cluster < 0 or len(group) < 2:
            continue
        pending = sorted(group.index, key=lambda i: int(schedule.at[i, "day"]))
        while pending:
            lo, hi = windows[int(pending[0])]
            members = [pending[0]]
            for i in pending[1:]:
                a, b = windows[int(i)]
                if max(lo, a) <= min(hi, b):
                    lo, hi = max(lo, a), min(hi, b)
                    members.append(i)
            for i in members:
                schedule.at[i, "day"] = lo
            pending = [i for i in pending if i not in members]
    schedule["date"] = [start + timedelta(days=int(d)) for d in schedule["day"]]
    trips: list[dict[str, Any]] = []
    schedule["trip"] = None
    schedule["travel_hours"] = 0.0
    visits = schedule[schedule["channel"] == "visit"]
    for number, (day, group) in enumerate(visits.groupby("day"), start=1):
        ids = list(group["account_id"])
        lat = info.loc[ids, "latitude"].to_numpy(float)
        lon = info.loc[ids, "longitude"].to_numpy(float)
        one_way = info.loc[ids, "miles"].to_numpy(float)
        separate = np.where(np.isfinite(one_way), one_way, default_miles) * 2
        tour = _tour_miles(home, lat, lon, road_factor)
        miles = min(tour, float(separate.sum())) if np.isfinite(tour) else float(separate.sum())
        hours = miles / speed_mph
        trip = f"T{number}"
        share = separate / separate.sum() if separate.sum() > 0 else np.full(len(ids), 1 / len(ids))
        schedule.loc[group.index, "trip"] = trip
        schedule.loc[group.index, "travel_hours"] = hours * share
        trips.append(
            {
                "trip": trip,
                "date": start + timedelta(days=int(day)),
                "accounts": len(ids),
                "stops": ", ".join(info.loc[ids, "account_name"].astype(str)),
                "cities": ", ".join(dict.fromkeys(info.loc[ids, "city"].astype(str))),
                "miles": round(miles, 1),
                "travel_hours": round(hours, 2),
                "separate_hours": round(float(separate.sum()) / speed_mph, 2),
            }
        )
    columns = [
        "trip",
        "date",
        "accounts",
        "stops",
        "cities",
        "miles",
        "travel_hours",
        "separate_hours",
    ]
    return schedule, pd.DataFrame(trips, columns=columns)


def _tour_miles(
    home: tuple[float, float] | None, lat: np.ndarray, lon: np.ndarray, road_factor: float
) -> float:
    """Road miles of home → stops (nearest neighbour) → home; NaN if anything is unlocated."""
    if home is None or not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        return float("nan")
    here = home
    left = list(range(len(lat)))
    total = 0.0
    while left:
        d = great_circle_miles(here[0], here[1], lat[left], lon[left])
        k = int(np.argmin(d))
        total += float(d[k])
        here = (float(lat[left[k]]), float(lon[left[k]]))
        left.pop(k)
    total += float(great_circle_miles(here[0], here[1], home[0], home[1]))
    return total * road_factor


__all__ = ["CLUSTER_MILES", "Calendar", "Placement", "group_visits", "visit_clusters"]
