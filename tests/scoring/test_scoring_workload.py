"""Workload and capacity: the formula by hand on a tiny book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territorial.scoring.config import load_config
from territorial.scoring.frames import prepare_accounts, prepare_reps
from territorial.scoring.workload import (
    account_workload,
    capacity_plan,
    great_circle_miles,
    reps_needed,
    travel_distances,
)

CONFIG = load_config(
    overrides={
        "workload": {
            "per_tier": {
                "A": {
                    "visits_per_year": 10,
                    "visit_hours": 2,
                    "calls_per_year": 20,
                    "call_hours": 0.5,
                },
                "B": {
                    "visits_per_year": 4,
                    "visit_hours": 1,
                    "calls_per_year": 10,
                    "call_hours": 0.5,
                },
                "C": {
                    "visits_per_year": 0,
                    "visit_hours": 1,
                    "calls_per_year": 4,
                    "call_hours": 0.25,
                },
            },
            "road_factor": 1.25,
            "speed_mph": 50,
            "default_travel_miles": 20,
            "max_travel_miles": 400,
        },
        "capacity": {"hours_per_week": 40, "weeks_per_year": 45, "utilisation": 0.5},
    }
)


def test_great_circle_one_degree_of_latitude() -> None:
    # One degree of latitude is 69.09 miles on a sphere of radius 3,958.8 miles.
    assert great_circle_miles(40.0, -100.0, 41.0, -100.0) == pytest.approx(69.09, abs=0.01)
    assert great_circle_miles(40.0, -100.0, 40.0, -100.0) == 0.0


def test_workload_by_hand() -> None:
    # Rep r1 lives at (40, -100); the A account sits one degree north: 69.09 mi great-circle.
    reps = prepare_reps(
        pd.DataFrame({"id": ["r1"], "home_latitude": [40.0], "home_longitude": [-100.0]})
    )
    accounts = prepare_accounts(
        pd.DataFrame(
            {
                "id": ["near", "far_unowned", "unlocated"],
                "latitude": [41.0, 50.0, None],
                "longitude": [-100.0, -100.0, None],
                "owner_id": ["r1", None, "r1"],
            }
        )
    )
    travel = travel_distances(accounts, reps, CONFIG.workload)
    assert list(travel.travel_from) == ["owner", "nearest rep", "default"]
    road = 69.09 * 1.25
    np.testing.assert_allclose(travel.road_miles, [road, 400.0, 20.0], rtol=1e-3)

    work = account_workload(["A", "B", "C"], travel.road_miles, CONFIG.workload)
    # A: 10 visits x 2 h + 20 calls x 0.5 h + 10 visits x 2 x 86.36 mi / 50 mph
    expected_a = 20 + 10 + 10 * 2 * road / 50
    # B: 4 x 1 + 10 x 0.5 + 4 x 2 x 400 / 50 (capped distance)
    expected_b = 4 + 5 + 4 * 2 * 400 / 50
    # C: no visits, so no travel: 4 x 0.25
    expected_c = 1.0
    np.testing.assert_allclose(work.workload_hours, [expected_a, expected_b, expected_c], rtol=1e-3)
    np.testing.assert_allclose(
        work.visit_hours + work.call_hours + work.travel_hours, work.workload_hours
    )
    assert (
        work.reasons[0]
        == "10 visits x 2.0 h + 20 calls x 0.5 h + travel 10 x 2 x 86 mi / 50 mph = 65 h/yr"
    )


def test_reps_needed_formula() -> None:
    assert reps_needed(
        1800.0, hours_per_week=40, weeks_per_year=45, utilisation=0.5
    ) == pytest.approx(2.0)


def test_capacity_plan_by_segment() -> None:
    frame = pd.DataFrame(
        {"segment": ["SMB", "SMB", "Enterprise"], "workload_hours": [450.0, 450.0, 900.0]}
    )
    reps = prepare_reps(
        pd.DataFrame({"id": ["r1", "r2"], "capacity_hours": [30.0, None], "active": [True, True]})
    )
    plan = capacity_plan(frame, config=CONFIG.capacity, reps=reps).set_index("group")
    assert plan.loc["all", "reps_needed"] == pytest.approx(2.0)
    assert plan.loc["SMB", "reps_needed"] == pytest.approx(1.0)
    assert plan.loc["all", "reps_available"] == 2
    assert plan.loc["all", "capacity_hours"] == pytest.approx((30 + 40) * 45 * 0.5)
