"""Simulating a rule change over the whole book, without committing anything.

The difference is shown per rep (accounts and potential gained and lost) and per
account (from which territory and owner to which). Pools count as one "rep" named
``pool:<territory id>``; records with no territory count under ``(unassigned)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from territorial.routing.engine import CompiledRules

UNASSIGNED = "(unassigned)"


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """Per-rep and per-account difference between the current and the proposed rules.

    ``per_rep`` columns: rep, accounts_before, accounts_after, gained, lost,
    potential_before, potential_after, potential_gained, potential_lost (dollars).
    ``moves`` columns: account_id, from_territory, to_territory, from_owner,
    to_owner, potential.
    """

    per_rep: pd.DataFrame
    moves: pd.DataFrame
    accounts: int

    def to_dict(self, *, limit: int = 200) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "moved": len(self.moves),
            "per_rep": self.per_rep.to_dict(orient="records"),
            "moves": self.moves.head(limit).to_dict(orient="records"),
        }


def _owners(rules: CompiledRules, territory: np.ndarray) -> np.ndarray:
    owner_of = {t.id: (t.primary_owner or f"(unowned {t.id})") for t in rules.rule_set.territories}
    return np.array(
        [owner_of.get(t, UNASSIGNED) if t else UNASSIGNED for t in territory], dtype=object
    )


def simulate_change(
    current: CompiledRules,
    proposed: CompiledRules,
    accounts: pd.DataFrame,
    *,
    potential: pd.Series | np.ndarray | None = None,
    today: date | None = None,
) -> SimulationReport:
    """Route ``accounts`` under both rule sets and diff the books per rep.

    ``potential`` (dollars per account, aligned with ``accounts``) defaults to the
    ``potential`` column, else ``annual_revenue``, else zero.
    """
    accounts = accounts.reset_index(drop=True)
    if potential is None:
        for name in ("potential", "annual_revenue"):
            if name in accounts.columns:
                potential = accounts[name]
                break
    value = (
        np.zeros(len(accounts))
        if potential is None
        else pd.to_numeric(pd.Series(np.asarray(potential)), errors="coerce")
        .fillna(0.0)
        .to_numpy(dtype=float)
    )
    before = current.route_frame(accounts, today=today)
    after = proposed.route_frame(accounts, today=today)
    t0 = np.array([None if pd.isna(t) else t for t in before.territory], dtype=object)
    t1 = np.array([None if pd.isna(t) else t for t in after.territory], dtype=object)
    o0, o1 = _owners(current, t0), _owners(proposed, t1)
    frame = pd.DataFrame({"o0": o0, "o1": o1, "v": value})
    moved = frame["o0"] != frame["o1"]
    b = frame.groupby("o0").agg(accounts_before=("v", "size"), potential_before=("v", "sum"))
    a = frame.groupby("o1").agg(accounts_after=("v", "size"), potential_after=("v", "sum"))
    lost = frame[moved].groupby("o0").agg(lost=("v", "size"), potential_lost=("v", "sum"))
    gained = frame[moved].groupby("o1").agg(gained=("v", "size"), potential_gained=("v", "sum"))
    per = pd.concat([b, a, gained, lost], axis=1).fillna(0)
    for col in ("accounts_before", "accounts_after", "gained", "lost"):
        per[col] = per[col].astype(int)
    per = per.rename_axis("rep").reset_index()
    per = per[
        [
            "rep",
            "accounts_before",
            "accounts_after",
            "gained",
            "lost",
            "potential_before",
            "potential_after",
            "potential_gained",
            "potential_lost",
        ]
    ].sort_values("rep", ignore_index=True)
    changed = (
        moved.to_numpy() | (pd.Series(t0, dtype=object) != pd.Series(t1, dtype=object)).to_numpy()
    )
    moves = pd.DataFrame(
        {
            "account_id": before.ids[changed],
            "from_territory": t0[changed],
            "to_territory": t1[changed],
            "from_owner": o0[changed],
            "to_owner": o1[changed],
            "potential": value[changed],
        }
    )
    return SimulationReport(per_rep=per, moves=moves, accounts=len(accounts))
