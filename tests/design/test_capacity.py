"""How many reps: workload over capacity, rounded up, with the tolerance note."""

from __future__ import annotations

import pandas as pd
import pytest

from territorial.design.capacity import reps_needed, required_territories
from territorial.errors import ConfigError


@pytest.mark.parametrize(
    ("workload", "exact", "reps", "note"),
    [
        (14_720.0, 10.0, 10, ""),  # 40 h x 46 weeks x 0.8 = 1,472 h per rep
        (15_000.0, 10.19, 11, "10 reps would each carry 101.9% of capacity"),
        (17_500.0, 11.89, 12, "12 reps run at 99.1% of capacity"),
        (100.0, 0.07, 1, "1 reps run at 6.8% of capacity"),
    ],
)
def test_reps_needed(workload: float, exact: float, reps: int, note: str) -> None:
    row = reps_needed(workload, hours_per_week=40, utilisation=0.8, weeks=46, tolerance=0.05)
    assert row.exact == pytest.approx(exact, abs=0.01)
    assert row.territories == reps
    assert row.note.startswith(note)


def test_per_segment() -> None:
    df = pd.DataFrame({"workload_hours": [1000.0, 2000.0, 500.0], "segment": ["SMB", "ENT", "SMB"]})
    rows = required_territories(df, hours_per_week=10, weeks=50, utilisation=1.0, segment="segment")
    assert [(r.segment, r.territories) for r in rows] == [("ENT", 4), ("SMB", 3), ("all", 7)]


def test_bad_utilisation() -> None:
    with pytest.raises(ConfigError, match="utilisation"):
        reps_needed(10.0, utilisation=1.5)
