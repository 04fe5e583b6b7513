"""Capacity planning: how many reps (territories) a workload needs.

Hours per week, utilisation and weeks default to the scoring configuration's
``capacity`` section (``territorial score --show-config``), so ``territorial capacity``
and ``territorial score`` agree on how many reps a book needs.

``exact = workload_hours / (hours_per_week * weeks * utilisation)``; the answer is
``ceil(exact)``. With a balance tolerance ``t`` every territory may carry up to
``1 + t`` times the mean, so when ``exact / floor(exact) - 1 <= t`` one rep fewer
(``floor``) also works at a load within the tolerance; the note says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from territorial.errors import ConfigError


@dataclass(frozen=True, slots=True)
class CapacityRow:
    """Reps needed for one segment (or ``"all"``)."""

    segment: str
    workload_hours: float  # hours per period
    capacity_hours: float  # hours one rep gives the workload per period
    exact: float  # fractional reps
    territories: int  # reps recommended (ceil)
    load_per_rep: float  # workload per rep / capacity per rep with ``territories`` reps
    note: str


def _defaults(
    hours_per_week: float | None, utilisation: float | None, weeks: float | None
) -> tuple[float, float, float]:
    """Missing values from the scoring configuration's ``capacity`` section: the one
    setting ``territorial score``, ``territorial capacity`` and design share."""
    if hours_per_week is None or utilisation is None or weeks is None:
        from territorial.scoring import load_config

        cap = load_config(None).capacity
        hours_per_week = cap.hours_per_week if hours_per_week is None else hours_per_week
        utilisation = cap.utilisation if utilisation is None else utilisation
        weeks = cap.weeks_per_year if weeks is None else weeks
    return float(hours_per_week), float(utilisation), float(weeks)


def reps_needed(
    workload_hours: float,
    *,
    hours_per_week: float | None = None,
    utilisation: float | None = None,
    weeks: float | None = None,
    tolerance: float = 0.05,
    segment: str = "all",
) -> CapacityRow:
    """Reps needed for ``workload_hours`` (hours per period of ``weeks`` working weeks);
    unset values come from the scoring configuration's ``capacity`` section."""
    hours_per_week, utilisation, weeks = _defaults(hours_per_week, utilisation, weeks)
    if hours_per_week <= 0 or weeks <= 0:
        raise ConfigError("hours per week and weeks must be positive")
    if not 0 < utilisation <= 1:
        raise ConfigError(f"utilisation must be in (0, 1], got {utilisation}")
    if workload_hours < 0:
        raise ConfigError(f"workload must be non-negative, got {workload_hours}")
    capacity = hours_per_week * weeks * utilisation
    exact = workload_hours / capacity
    count = max(1, math.ceil(exact - 1e-9))
    note = ""
    lower = math.floor(exact)
    if lower >= 1 and lower < count and exact / lower - 1 <= tolerance:
        note = (
            f"{lower} reps would each carry {exact / lower:.1%} of capacity, within the "
            f"±{tolerance:.0%} tolerance"
        )
    elif count > exact > 0:
        note = f"{count} reps run at {exact / count:.1%} of capacity"
    return CapacityRow(segment, workload_hours, capacity, exact, count, exact / count, note)


def required_territories(
    units: pd.DataFrame,
    *,
    workload: str = "workload_hours",
    hours_per_week: float | None = None,
    utilisation: float | None = None,
    weeks: float | None = None,
    tolerance: float = 0.05,
    segment: str | None = None,
) -> list[CapacityRow]:
    """Reps needed overall, or per segment (a row per segment plus ``"all"``); unset
    values come from the scoring configuration's ``capacity`` section."""
    hours_per_week, utilisation, weeks = _defaults(hours_per_week, utilisation, weeks)
    if workload not in units.columns:
        raise ConfigError(f"no workload column {workload!r} (columns: {', '.join(units.columns)})")
    hours = pd.to_numeric(units[workload], errors="coerce")
    if hours.isna().any():
        raise ConfigError(f"{int(hours.isna().sum())} rows have no numeric {workload!r}")
    kw = dict(
        hours_per_week=hours_per_week, utilisation=utilisation, weeks=weeks, tolerance=tolerance
    )
    rows: list[CapacityRow] = []
    if segment is not None:
        if segment not in units.columns:
            raise ConfigError(f"no segment column {segment!r}")
        for name, part in hours.groupby(units[segment].astype(str)):
            rows.append(reps_needed(float(part.sum()), segment=str(name), **kw))
        total = sum(r.territories for r in rows)
        overall = reps_needed(float(hours.sum()), **kw)  # type: ignore[arg-type]
        rows.append(
            CapacityRow(
                "all",
                overall.workload_hours,
                overall.capacity_hours,
                overall.exact,
                total,
                overall.exact / total if total else 0.0,
                "sum of the segments",
            )
        )
        return rows
    return [reps_needed(float(hours.sum()), **kw)]  # type: ignore[arg-type]


__all__ = ["CapacityRow", "reps_needed", "required_territories"]
