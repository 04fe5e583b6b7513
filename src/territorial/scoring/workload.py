"""Workload per account (hours per year) and how many reps a book needs.

    workload_hours = visits x visit_hours + calls x call_hours + travel_hours
    travel_hours   = visits x 2 x road_miles / speed_mph           (there and back)
    road_miles     = min(great_circle_miles(owner home, account) x road_factor, max_travel_miles)

Visits, calls and their durations come from the account's tier. The owner's home is the
owning rep's ``home_latitude/home_longitude``; accounts without an owner (or whose owner
is unknown or unlocated) travel from the nearest active rep's home; when no distance can
be measured ``default_travel_miles`` is used. Every account says where it travelled from.

    reps_needed = total workload_hours / (hours_per_week x weeks_per_year x utilisation)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.neighbors import BallTree

from territorial.geometry import EARTH_RADIUS_MI, great_circle_miles
from territorial.scoring.config import CapacityConfig, WorkloadConfig
from territorial.scoring.explain import ObjectArray, format_decimal, format_int

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class TravelResult:
    """One-way ``great_circle_miles`` and ``road_miles`` per account and where from
    (``travel_from``: ``"owner"``, ``"nearest rep"`` or ``"default"``)."""

    great_circle_miles: FloatArray
    road_miles: FloatArray
    travel_from: ObjectArray


def travel_distances(
    accounts: pd.DataFrame, reps: pd.DataFrame, config: WorkloadConfig
) -> TravelResult:
    """One-way road miles from each account's owner home (or the nearest rep) to the account."""
    n = len(accounts)
    lat = accounts["latitude"].to_numpy(dtype=float)
    lon = accounts["longitude"].to_numpy(dtype=float)
    located = np.isfinite(lat) & np.isfinite(lon)
    rep_lat = reps["home_latitude"].to_numpy(dtype=float)
    rep_lon = reps["home_longitude"].to_numpy(dtype=float)
    rep_ok = np.isfinite(rep_lat) & np.isfinite(rep_lon)
    index = pd.Index(reps["id"].to_numpy(dtype=object))
    owner = index.get_indexer(accounts["owner_id"].to_numpy(dtype=object))
    has_owner_home = (
        (owner >= 0) & rep_ok[np.clip(owner, 0, None)] if len(reps) else np.zeros(n, bool)
    )
    miles = np.full(n, np.nan)
    source = np.full(n, "default", dtype=object)
    use_owner = has_owner_home & located
    if use_owner.any():
        o = owner[use_owner]
        miles[use_owner] = great_circle_miles(
            lat[use_owner], lon[use_owner], rep_lat[o], rep_lon[o]
        )
        source[use_owner] = "owner"
    candidates = rep_ok & reps["active"].to_numpy(dtype=bool)
    need = located & ~use_owner
    if need.any() and candidates.any():
        tree = BallTree(
            np.radians(np.c_[rep_lat[candidates], rep_lon[candidates]]), metric="haversine"
        )
        dist, _ = tree.query(np.radians(np.c_[lat[need], lon[need]]), k=1)
        miles[need] = dist[:, 0] * EARTH_RADIUS_MI
        source[need] = "nearest rep"
    road = np.where(
        np.isfinite(miles),
        np.minimum(miles * config.road_factor, config.max_travel_miles),
        config.default_travel_miles,
    )
    return TravelResult(great_circle_miles=miles, road_miles=road, travel_from=source)


@dataclass(frozen=True, slots=True, eq=False)
class WorkloadResult:
    """Hours per year per account: ``visit_hours``, ``call_hours``, ``travel_hours`` and
    their sum ``workload_hours``, with the formula as text in ``reasons``."""

    workload_hours: FloatArray
    visit_hours: FloatArray
    call_hours: FloatArray
    travel_hours: FloatArray
    reasons: ObjectArray


def account_workload(
    tiers: npt.ArrayLike, road_miles: npt.ArrayLike, config: WorkloadConfig
) -> WorkloadResult:
    """Yearly hours per account from its tier and its one-way road miles."""
    tier = np.asarray(tiers, dtype=object)
    road = np.asarray(road_miles, dtype=float)
    table = pd.DataFrame({t: vars_of(w) for t, w in config.per_tier.items()}).T
    rows = table.reindex(tier)
    visits = rows["visits_per_year"].to_numpy(dtype=float)
    calls = rows["calls_per_year"].to_numpy(dtype=float)
    visit_hours = visits * rows["visit_hours"].to_numpy(dtype=float)
    call_hours = calls * rows["call_hours"].to_numpy(dtype=float)
    travel_hours = visits * 2.0 * road / config.speed_mph
    total = visit_hours + call_hours + travel_hours
    visit_word = np.where(visits == 1, " visit x ", " visits x ").astype(object)
    call_word = np.where(calls == 1, " call x ", " calls x ").astype(object)
    reasons = (
        format_int(visits)
        + visit_word
        + _hours(rows["visit_hours"])
        + " h + "
        + format_int(calls)
        + call_word
        + _hours(rows["call_hours"])
        + " h + travel "
        + format_int(visits)
        + " x 2 x "
        + format_int(road)
        + " mi / "
        + format_int(config.speed_mph)
        + " mph = "
        + format_int(total)
        + " h/yr"
    )
    return WorkloadResult(
        workload_hours=total,
        visit_hours=visit_hours,
        call_hours=call_hours,
        travel_hours=travel_hours,
        reasons=reasons.astype(object),
    )


def vars_of(work: object) -> dict[str, float]:
    return {
        k: float(getattr(work, k))
        for k in ("visits_per_year", "visit_hours", "calls_per_year", "call_hours")
    }


def _hours(values: pd.Series) -> ObjectArray:
    return format_decimal(values.to_numpy(dtype=float), 2)


def reps_needed(
    total_hours: float, *, hours_per_week: float, weeks_per_year: float, utilisation: float
) -> float:
    """Reps (fractional) to carry ``total_hours`` of yearly workload."""
    return float(total_hours) / (hours_per_week * weeks_per_year * utilisation)


def capacity_plan(
    frame: pd.DataFrame,
    *,
    config: CapacityConfig,
    reps: pd.DataFrame | None = None,
    by: str | None = "segment",
) -> pd.DataFrame:
    """How many reps the book needs, overall (row ``"all"``) and per ``by`` group.

    Columns: ``group``, ``accounts``, ``workload_hours`` (per year), ``hours_per_rep``
    (``hours_per_week x weeks_per_year x utilisation``), ``reps_needed`` and, overall,
    ``reps_available`` (active reps whose role carries a territory, setting
    ``territory_roles``) and ``capacity_hours`` (their yearly usable hours, from
    each rep's ``capacity_hours`` per week or ``hours_per_week`` when unknown).
    """
    per_rep = config.hours_per_week * config.weeks_per_year * config.utilisation
    parts = []
    if by is not None and by in frame.columns:
        grouped = frame.groupby(frame[by].fillna("unknown")).agg(
            accounts=("workload_hours", "size"), workload_hours=("workload_hours", "sum")
        )
        grouped.index.name = "group"
        parts.append(grouped.reset_index())
    total = pd.DataFrame(
        {
            "group": ["all"],
            "accounts": [len(frame)],
            "workload_hours": [frame["workload_hours"].sum()],
        }
    )
    out = pd.concat([total, *parts], ignore_index=True)
    out["hours_per_rep"] = per_rep
    out["reps_needed"] = out["workload_hours"] / per_rep
    out["reps_available"] = np.nan
    out["capacity_hours"] = np.nan
    if reps is not None and len(reps):
        from territorial.domain.staffing import carries_territory
        from territorial.settings import load_settings

        # reps available: active people whose role carries a territory (as in design)
        roles = load_settings().territory_role_names
        active = reps[reps["active"].fillna(False).astype(bool) & carries_territory(reps, roles)]
        weekly = active["capacity_hours"].fillna(config.hours_per_week).to_numpy(dtype=float)
        out.loc[0, "reps_available"] = len(active)
        out.loc[0, "capacity_hours"] = float(
            weekly.sum() * config.weeks_per_year * config.utilisation
        )
    return out
