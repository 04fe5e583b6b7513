"""Metrics are pure functions of (problem, assignment); constraints name themselves."""

from __future__ import annotations

import numpy as np
import pytest
from _design_fixtures import QUADRANTS, grid_edges

from territorial.design import metrics
from territorial.design.problem import Balance, DesignProblem

# Halves of the grid: left two columns vs right two columns (2 territories).
HALVES = np.array([x // 2 for y in range(4) for x in range(4)])
# Stripes: every row a territory.
ROWS = np.array([y for y in range(4) for x in range(4)])


def test_totals_and_deviation_on_the_grid(grid: DesignProblem) -> None:
    totals = metrics.territory_totals(grid, QUADRANTS)
    assert totals.tolist() == [[4, 40]] * 4
    assert np.abs(metrics.balance_deviation(grid, QUADRANTS)).max() == 0.0
    uneven = QUADRANTS.copy()
    uneven[0] = 1  # r0c0 joins the second quadrant: 3 vs 5 accounts
    dev = metrics.balance_deviation(grid, uneven)
    assert dev[:, 0].tolist() == [-0.25, 0.25, 0.0, 0.0]
    assert metrics.worst_deviation(grid, uneven) == 0.25


def test_quadrants_inertia_with_medoids(grid: DesignProblem) -> None:
    # each 2x2 quadrant: a corner unit as center gives 0 + 1 + 1 + 2 = 4
    assert metrics.objective_value(grid, QUADRANTS) == pytest.approx(16.0)
    rows = metrics.objective_value(grid, ROWS)  # a row of 4 from x=1: 1 + 0 + 1 + 4 = 6
    assert rows == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("objective", "expected"),
    [("inertia", 16.0), ("median", 4 * (0 + 1 + 1 + np.sqrt(2))), ("diameter", np.sqrt(2))],
)
def test_objectives(grid: DesignProblem, objective: str, expected: float) -> None:
    problem = grid.with_changes(objective=objective)
    assert metrics.objective_value(problem, QUADRANTS) == pytest.approx(expected)


def test_fixed_centers_are_used_as_given(grid: DesignProblem) -> None:
    centers = np.array([[0.5, 0.5], [2.5, 0.5], [0.5, 2.5], [2.5, 2.5]])
    problem = grid.with_changes(centers=centers)
    assert metrics.objective_value(problem, QUADRANTS) == pytest.approx(16 * 0.5)


def test_medoid_is_exact_on_small_territories(grid: DesignProblem) -> None:
    members = np.arange(16)
    # the weighted 1-median of the whole grid under inertia is one of the 4 middle cells
    assert metrics.territory_medoid(grid, members) in {5, 6, 9, 10}
    big = metrics.territory_medoid(grid, members, exact_limit=2, candidates=4)
    assert big in {5, 6, 9, 10}


def test_contiguity(grid: DesignProblem) -> None:
    problem = grid.with_changes(edges=grid_edges())
    assert metrics.territory_contiguity(problem, QUADRANTS).all()
    split = QUADRANTS.copy()
    split[[0, 15]] = split[[15, 0]]  # swap opposite corners: two territories fall apart
    flags = metrics.territory_contiguity(problem, split)
    assert flags.tolist() == [False, True, True, False]
    assert metrics.territory_contiguity(grid, QUADRANTS) is None


def test_moved_summary(grid: DesignProblem) -> None:
    problem = grid.with_changes(current=QUADRANTS)
    plan = QUADRANTS.copy()
    plan[[0, 1]] = 3
    assert metrics.moved_summary(problem, plan) == {"units": 2.0, "accounts": 2.0, "revenue": 20.0}


def test_validator_names_the_failing_constraints(grid: DesignProblem) -> None:
    locked = np.full(16, -1)
    locked[0] = 0
    problem = grid.with_changes(locked=locked, current=QUADRANTS, max_moves=0)
    bad = QUADRANTS.copy()
    bad[0] = 1
    failures = metrics.Validator().failures(problem, bad)
    names = [f.split(":")[0] for f in failures]
    assert names == ["locked_respected", "max_moves_respected", "within_balance"]
    assert "'r0c0'" in failures[0]
    assert "-25.00% of the mean (allowed ±0.00%)" in failures[2]
    assert metrics.Validator()(problem, QUADRANTS)


def test_segment_targets() -> None:
    problem = DesignProblem(
        unit_ids=np.array(list("abcd")), coords=np.zeros((4, 2)),
        measures=np.array([[1.0], [1.0], [10.0], [30.0]]), measure_names=("revenue",),
        n_territories=3, balance=(Balance("revenue", 0.5),), coord_kind="xy",
        segments=np.array([0, 0, 1, 1]), territory_segments=np.array([0, 1, 1]),
    )  # fmt: skip
    assert metrics.territory_targets(problem)[:, 0].tolist() == [2.0, 20.0, 20.0]
