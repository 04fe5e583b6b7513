"""Adapters build problems from frames and from the store's accounts and reps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from territorial.design.adapters import problem_from_frames, problem_from_store, split_territories
from territorial.errors import ConfigError


def _units(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(n)],
            "lat": rng.uniform(30, 40, n),
            "lon": rng.uniform(-100, -90, n),
            "revenue": rng.uniform(1, 2, n),
            "segment": ["SMB"] * (n // 2) + ["ENT"] * (n - n // 2),
        }
    )


@pytest.mark.parametrize(
    ("totals", "k", "expected"),
    [
        ({"a": 1.0, "b": 1.0}, 4, {"a": 2, "b": 2}),
        ({"a": 9.0, "b": 1.0}, 4, {"a": 3, "b": 1}),
        ({"a": 1.0, "b": 0.0, "c": 0.0}, 3, {"a": 1, "b": 1, "c": 1}),
    ],
)
def test_split_territories(totals: dict[str, float], k: int, expected: dict[str, int]) -> None:
    assert split_territories(totals, k) == expected


def test_frames_with_segments() -> None:
    problem = problem_from_frames(
        _units(), balance=["revenue=20%"], n_territories=4, segment="segment"
    )
    assert problem.segment_names == ("ENT", "SMB")
    assert problem.territory_ids[0].startswith("ENT-")
    assert problem.measure_names == ("revenue",)
    assert problem.coord_kind == "latlon"


def test_centers_must_agree_with_the_territory_count() -> None:
    centers = pd.DataFrame({"id": ["a", "b"], "lat": [35, 36], "lon": [-95, -96]})
    with pytest.raises(ConfigError, match="--territories 3 but 2 centers"):
        problem_from_frames(_units(), balance=[], n_territories=3, centers_df=centers)
    problem = problem_from_frames(_units(), balance=[], centers_df=centers)
    assert problem.territory_ids == ("a", "b")


def test_unknown_units_in_the_current_plan_are_named() -> None:
    current = pd.DataFrame({"id": ["u0", "ghost"], "territory": ["T001", "T001"]})
    with pytest.raises(ConfigError, match="'ghost'"):
        problem_from_frames(_units(), balance=[], n_territories=2, current_df=current)


def _rep(rid: str, lat: float, active: bool, specialties: list[str] | None) -> dict[str, object]:
    return {
        "id": rid,
        "name": rid,
        "home_latitude": lat,
        "home_longitude": -95.0,
        "active": active,
        "specialties": specialties,
    }


def test_problem_from_store(sqlite_url: str) -> None:
    from territorial.store import open_store
    from territorial.store.tables import accounts, reps

    engine = open_store(sqlite_url)
    rng = np.random.default_rng(1)
    with engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [
                {
                    "id": f"A{i}", "name": f"Acme {i}", "latitude": float(rng.uniform(30, 40)),
                    "longitude": float(rng.uniform(-100, -90)),
                    "annual_revenue": float(rng.uniform(1e6, 2e6)),
                    "postal_code": f"{70000 + i % 10}", "country": "US",
                    "industry": "Healthcare" if i % 3 == 0 else "Retail",
                }
                for i in range(30)
            ],
        )  # fmt: skip
        conn.execute(
            insert(reps),
            [
                _rep("R1", 32.0, True, ["Healthcare"]),
                _rep("R2", 38.0, True, ["Retail"]),
                _rep("R3", 35.0, False, None),
            ],
        )
    problem, unit_of = problem_from_store(
        engine, measures=["accounts", "annual_revenue"], tolerance=0.5
    )
    assert problem.territory_ids == ("R1", "R2")
    assert problem.n_units == 30 and problem.centers is not None
    special, _ = problem_from_store(engine, measures=["accounts"], tolerance=0.9, specialties=True)
    assert special.allowed is not None
    healthcare = [i for i, u in enumerate(special.unit_ids) if int(u[1:]) % 3 == 0]
    assert special.allowed[healthcare].tolist() == [[True, False]] * len(healthcare)
    by_zip, unit_of = problem_from_store(
        engine, measures=["accounts"], tolerance=0.9, unit="postal_code"
    )
    assert by_zip.n_units == 10 and by_zip.measures[:, 0].sum() == 30
    assert unit_of["A3"] == "US:70003"
    engine.dispose()
