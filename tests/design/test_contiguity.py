"""Contiguous local search: hand-drawn grids, brute force, properties."""

from __future__ import annotations

import numpy as np
import pytest
from _grids import grid_edges, grid_problem, inertia, partitions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.design.contiguity import (
    adjacency_csr,
    is_balanced,
    is_contiguous,
    search_arrays,
    solve_contiguous,
)


def _best_by_brute_force(problem, sizes, power):
    n = problem.n_units
    return min(
        inertia(problem, groups, power)
        for _, groups in partitions(n, problem.n_territories, problem.edges, sizes)
    )


@pytest.mark.parametrize(
    ("objective", "power", "weights"),
    [
        ("inertia", 2.0, None),
        ("median", 1.0, None),
        ("inertia", 2.0, [5, 1, 1, 1, 1, 1, 1, 1, 9]),
        ("median", 1.0, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ],
)
def test_3x3_grid_into_three_contiguous_triples_matches_brute_force(objective, power, weights):
    #  0 1 2
    #  3 4 5     three territories of exactly three units each
    #  6 7 8
    problem = grid_problem(3, 3, 3, objective=objective, weights=weights)
    out = solve_contiguous(problem, time_limit=20, seed=1, max_rounds=60)
    assert out.objective == pytest.approx(_best_by_brute_force(problem, (3, 3), power))
    arrays = search_arrays(problem)
    assert is_contiguous(arrays, out.assignment)
    assert is_balanced(arrays, out.assignment)


def test_4x4_grid_quadrants_are_optimal_for_inertia():
    #  0  1 |  2  3
    #  4  5 |  6  7      four territories of four: the 2x2 quadrants
    #  ---------------   minimise the moment of inertia (4 x (0 + 1 + 1 + 2) = 16)
    #  8  9 | 10 11
    # 12 13 | 14 15
    problem = grid_problem(4, 4, 4)
    out = solve_contiguous(problem, time_limit=20, seed=3, max_rounds=80)
    assert out.objective == pytest.approx(16.0)
    quadrant = {
        frozenset({0, 1, 4, 5}),
        frozenset({2, 3, 6, 7}),
        frozenset({8, 9, 12, 13}),
        frozenset({10, 11, 14, 15}),
    }
    got = {frozenset(np.flatnonzero(out.assignment == t).tolist()) for t in range(4)}
    assert got == quadrant


def test_same_seed_same_plan():
    problem = grid_problem(4, 5, 4, weights=np.arange(1, 21), size_tolerance=0.25)
    a = solve_contiguous(problem, time_limit=60, seed=7, max_rounds=30)
    b = solve_contiguous(problem, time_limit=60, seed=7, max_rounds=30)
    assert np.array_equal(a.assignment, b.assignment)


def test_locked_units_stay_and_plan_stays_contiguous():
    locked = np.full(16, -1)
    locked[0] = 2
    locked[15] = 0
    problem = grid_problem(4, 4, 4, locked=locked)
    out = solve_contiguous(problem, time_limit=20, seed=0, max_rounds=40)
    assert out.assignment[0] == 2 and out.assignment[15] == 0
    arrays = search_arrays(problem)
    assert is_contiguous(arrays, out.assignment) and is_balanced(arrays, out.assignment)


def test_max_moves_limits_changes_from_current_plan():
    current = np.array([0, 0, 1, 1] * 2 + [2, 2, 3, 3] * 2)  # already the quadrants
    current[5] = 1  # one unit off: 0 has 3 units, 1 has 5
    problem = grid_problem(4, 4, 4, current=current, max_moves=1, size_tolerance=0.25)
    out = solve_contiguous(problem, time_limit=20, seed=0, max_rounds=20)
    assert int((out.assignment != current).sum()) <= 1
    assert is_contiguous(search_arrays(problem), out.assignment)


def test_adjacency_csr_is_symmetric_without_duplicates():
    edges = np.array([[0, 1], [1, 0], [1, 2], [2, 2]])
    indptr, indices = adjacency_csr(3, edges)
    assert indptr.tolist() == [0, 1, 3, 4]
    assert indices.tolist() == [1, 0, 2, 1]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=st.lists(st.integers(1, 50), min_size=16, max_size=16),
    seed=st.integers(0, 10_000),
    k=st.sampled_from([2, 4]),
)
def test_plans_are_contiguous_balanced_and_complete(weights, seed, k):
    problem = grid_problem(4, 4, k, weights=np.array(weights))
    out = solve_contiguous(problem, time_limit=10, seed=seed, max_rounds=10)
    arrays = search_arrays(problem)
    assert out.assignment.shape == (16,)
    assert set(out.assignment.tolist()) == set(range(k))
    assert is_contiguous(arrays, out.assignment)
    assert is_balanced(arrays, out.assignment)
    assert out.stats["feasible"]


def test_grid_edges_fixture():
    assert len(grid_edges(3, 3)) == 12
