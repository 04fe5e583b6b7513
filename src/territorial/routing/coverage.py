"""Coverage of a rule set over a book of accounts: overlaps and accounts nobody claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from territorial.routing.engine import CompiledRules


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """How a rule set splits a book.

    ``per_territory`` counts accounts won per territory; ``overlaps`` counts accounts
    matched by two territories (``winner`` took them from ``other``); ``unclaimed``
    lists the ids no territory claims; ``excluded`` those removed by an exclusion.
    """

    accounts: int
    claimed: int
    per_territory: pd.DataFrame
    overlaps: pd.DataFrame
    unclaimed: list[str]
    excluded: list[str]
    empty_territories: list[str]

    def to_dict(self, *, limit: int = 100) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "claimed": self.claimed,
            "unclaimed_count": len(self.unclaimed),
            "unclaimed": self.unclaimed[:limit],
            "excluded_count": len(self.excluded),
            "excluded": self.excluded[:limit],
            "empty_territories": self.empty_territories,
            "per_territory": self.per_territory.to_dict(orient="records"),
            "overlaps": self.overlaps.head(limit).to_dict(orient="records"),
        }


def coverage_report(
    rules: CompiledRules, accounts: pd.DataFrame, *, today: date | None = None
) -> CoverageReport:
    """Route ``accounts`` and report overlaps, gaps and empty territories."""
    result = rules.route_frame(accounts, today=today)
    territory = pd.Series(result.territory, dtype=object)
    counts = territory.value_counts()
    per = pd.DataFrame(
        {
            "territory_id": [t.id for t in rules.rule_set.territories],
            "territory": [t.label for t in rules.rule_set.territories],
            "accounts": [int(counts.get(t.id, 0)) for t in rules.rule_set.territories],
        }
    )
    excluded_mask = pd.Series(result.excluded, dtype=object).notna().to_numpy()
    unclaimed_mask = territory.isna().to_numpy() & ~excluded_mask
    overlaps = result.overlaps.copy()
    if len(overlaps):
        overlaps["accounts"] = overlaps["accounts"].astype(int)
    return CoverageReport(
        accounts=len(territory),
        claimed=int(territory.notna().sum()),
        per_territory=per,
        overlaps=overlaps,
        unclaimed=[str(i) for i in result.ids[unclaimed_mask]],
        excluded=[str(i) for i in result.ids[excluded_mask]],
        empty_territories=per.loc[per["accounts"] == 0, "territory_id"].tolist(),
    )
