"""Min-max diameter search on hand-drawn grids, checked by brute force."""

from __future__ import annotations

import numpy as np
import pytest
from _grids import graph_diameter, grid_problem, partitions

from territorial.design.contiguity import (
    is_balanced,
    is_contiguous,
    search_arrays,
    solve_contiguous,
)
from territorial.design.diameter import DiameterOptions, plan_diameters, solve_diameter
from territorial.design.engine import design
from territorial.errors import ConfigError


def _graph_distances(rows: int, cols: int) -> np.ndarray:
    """Shortest paths on a unit grid are Manhattan distances."""
    pts = np.array([[c, r] for r in range(rows) for c in range(cols)], dtype=float)
    return np.abs(pts[:, None, :] - pts[None, :, :]).sum(-1)


def test_plan_diameters_of_a_hand_drawn_plan():
    #  0 0 1
    #  0 0 1      territory 0 is a 2x2 block (diameter 2), territory 1 a column (2)
    #  2 2 1      territory 2 a pair (1)
    dist = _graph_distances(3, 3)
    assign = np.array([0, 0, 1, 0, 0, 1, 2, 2, 1])
    assert plan_diameters(dist, assign, 3).tolist() == [2.0, 2.0, 1.0]


@pytest.mark.parametrize(("rows", "cols", "k", "size"), [(3, 3, 3, 3), (2, 4, 2, 4), (3, 4, 3, 4)])
def test_grid_min_max_diameter_matches_brute_force(rows, cols, k, size):
    problem = grid_problem(rows, cols, k, objective="diameter")
    dist = _graph_distances(rows, cols)
    best = min(
        graph_diameter(dist, groups)
        for _, groups in partitions(rows * cols, k, problem.edges, (size, size))
    )
    out = solve_diameter(problem, time_limit=20, seed=0, max_rounds=40)
    assert out.objective == pytest.approx(best)
    arrays = search_arrays(problem)
    assert is_contiguous(arrays, out.assignment) and is_balanced(arrays, out.assignment)
    assert out.stats["feasible"]


def test_auto_runs_the_diameter_solver_and_it_respects_locks():
    locked = np.full(16, -1)
    locked[5] = 3
    problem = grid_problem(4, 4, 4, objective="diameter", locked=locked)
    result = design(problem, options=DiameterOptions(max_rounds=40), time_limit=20, seed=2)
    assert result.solver == "diameter" and "diameter" in result.solver_reason
    assert result.method == "diameter-threshold-tabu"
    assert result.assignment[5] == 3
    assert result.objective == pytest.approx(2.0)  # four 2x2 blocks


def test_the_contiguous_solver_refuses_the_diameter_objective():
    problem = grid_problem(2, 2, 2, objective="diameter")
    with pytest.raises(ConfigError, match="solver 'contiguous' cannot solve this problem"):
        design(problem, solver="contiguous", time_limit=5)
    with pytest.raises(ConfigError, match="diameter objective"):
        solve_contiguous(problem, time_limit=5, seed=0)


def test_same_seed_same_plan():
    problem = grid_problem(
        4, 5, 4, objective="diameter", weights=np.arange(1, 21), size_tolerance=0.25
    )
    a = solve_diameter(problem, time_limit=60, seed=5, max_rounds=15)
    b = solve_diameter(problem, time_limit=60, seed=5, max_rounds=15)
    assert np.array_equal(a.assignment, b.assignment)
