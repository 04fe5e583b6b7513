"""Who carries a territory, and how many hours a year a rep gives the workload.

One answer for design (which reps get a territory, each one's capacity limits), for
``territorial score`` and for ``territorial capacity`` (reps available, reps needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def carries_territory(reps: pd.DataFrame, roles: Sequence[str]) -> np.ndarray:
    """``(len(reps),)`` bool: the rep's role is one of ``roles`` (case-insensitive; ``"*"``
    for any) or unrecorded, and their ``max_accounts`` is not 0.

    Managers, SDRs and overlay specialists carry no territory unless their role is listed
    (setting ``territory_roles``); a rep whose book is capped at 0 accounts carries none.
    """
    n = len(reps)
    wanted = {r.strip().lower() for r in roles if r.strip()}
    if "role" in reps.columns and "*" not in wanted:
        role = reps["role"].astype("string").str.strip().str.lower()
        by_role = (role.isna() | (role == "") | role.isin(wanted)).fillna(True).to_numpy(bool)
    else:
        by_role = np.ones(n, dtype=bool)
    if "max_accounts" in reps.columns:
        cap = pd.to_numeric(reps["max_accounts"], errors="coerce")
        by_cap = ~(cap == 0).fillna(False).to_numpy(bool)
    else:
        by_cap = np.ones(n, dtype=bool)
    return by_role & by_cap


def yearly_hours(
    weekly_hours: Any, *, weeks_per_year: float, utilisation: float, default_weekly: float
) -> np.ndarray:
    """Hours a year each rep gives account work: ``capacity_hours`` per week (or
    ``default_weekly`` when unknown) x ``weeks_per_year`` x ``utilisation``."""
    weekly = pd.to_numeric(pd.Series(weekly_hours, dtype="object"), errors="coerce")
    weekly = weekly.where(weekly > 0).fillna(default_weekly).to_numpy(dtype=np.float64)
    return weekly * weeks_per_year * utilisation


def specialty_list(value: Any) -> tuple[str, ...]:
    """A rep's specialties as a tuple of names, whatever the store or file held (a list,
    a ``|``- or ``,``-separated string, ``None``/NaN)."""
    if value is None:
        return ()
    if isinstance(value, float) and np.isnan(value):
        return ()
    if isinstance(value, str):
        parts = value.replace(",", "|").split("|")
    elif isinstance(value, (list, tuple, set, np.ndarray)):
        parts = [str(v) for v in value if v is not None]
    else:
        parts = [str(value)]
    return tuple(p.strip() for p in parts if p and p.strip())


__all__ = ["carries_territory", "specialty_list", "yearly_hours"]
