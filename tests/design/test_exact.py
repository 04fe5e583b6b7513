"""Exact model: optimum and bound against brute force on tiny hand-drawn grids."""

from __future__ import annotations

import numpy as np
import pytest
from _grids import grid_problem, inertia, partitions

from territorial.design.contiguity import is_balanced, is_contiguous, search_arrays
from territorial.design.exact import solve_exact
from territorial.design.problem import Balance, DesignProblem
from territorial.errors import ConfigError, InfeasibleError


def _brute(problem, sizes, power, *, contiguous=True, keep=lambda assign: True):
    best = np.inf
    for assign, groups in partitions(problem.n_units, problem.n_territories, problem.edges, sizes):
        if keep(assign):
            best = min(best, inertia(problem, groups, power))
    return best


@pytest.mark.parametrize(
    ("objective", "power", "weights"),
    [
        ("inertia", 2.0, [5, 1, 1, 1, 1, 1, 1, 1, 9]),
        ("median", 1.0, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ],
)
def test_hess_model_matches_brute_force_on_3x3_grid(objective, power, weights):
    problem = grid_problem(3, 3, 3, objective=objective, weights=weights)
    out = solve_exact(problem, time_limit=20, heuristic_share=0.0)
    best = _brute(problem, (3, 3), power)
    assert out.objective == pytest.approx(best)
    assert out.proven_optimal
    assert out.lower_bound is not None and out.lower_bound <= best * (1 + 1e-9) + 1e-9
    arrays = search_arrays(problem)
    assert is_contiguous(arrays, out.assignment) and is_balanced(arrays, out.assignment)


def test_contiguity_cuts_are_needed_on_a_ring_of_weights():
    # heavy corners pull a non-contiguous optimum; the contiguous one must cost more or equal
    w = [9, 1, 9, 1, 1, 1, 9, 1, 9]
    free = solve_exact(
        grid_problem(3, 3, 3, weights=w, contiguity=False), time_limit=20, heuristic_share=0.0
    )
    tied = solve_exact(grid_problem(3, 3, 3, weights=w), time_limit=20, heuristic_share=0.0)
    assert tied.objective >= free.objective - 1e-9
    assert tied.objective == pytest.approx(_brute(grid_problem(3, 3, 3, weights=w), (3, 3), 2.0))


def test_bound_is_valid_when_time_is_short_and_incumbent_is_given():
    problem = grid_problem(3, 4, 3, weights=np.arange(1, 13), size_tolerance=0.0)
    out = solve_exact(problem, time_limit=20, heuristic_share=0.3)
    best = _brute(problem, (4, 4), 2.0)
    assert out.lower_bound is not None and out.lower_bound <= best + 1e-6
    assert out.objective == pytest.approx(best)


def test_locked_unit_uses_labelled_model():
    locked = np.full(9, -1)
    locked[4] = 1  # the middle unit must be in territory 1
    problem = grid_problem(3, 3, 3, weights=[5, 1, 1, 1, 1, 1, 1, 1, 9], locked=locked)
    out = solve_exact(problem, time_limit=20, heuristic_share=0.0)
    assert out.assignment[4] == 1
    assert out.objective == pytest.approx(_brute(problem, (3, 3), 2.0))


def test_fixed_centers_model():
    # two fixed centers at the ends of a 1x4 path; two units each
    problem = grid_problem(1, 4, 2, centers=np.array([[0.0, 0.0], [3.0, 0.0]]), size_tolerance=0.0)
    out = solve_exact(problem, time_limit=20, heuristic_share=0.0)
    assert out.assignment.tolist() == [0, 0, 1, 1]
    assert out.objective == pytest.approx(2.0)  # 0 + 1 + 1 + 0
    assert out.proven_optimal and out.center_units is None


def test_infeasible_balance_raises_with_numbers():
    # one unit holds 90% of the weight: two territories within ±1% cannot exist
    problem = DesignProblem(
        unit_ids=np.array(["a", "b", "c"]),
        coords=np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]),
        coord_kind="xy",
        measures=np.array([[90.0], [5.0], [5.0]]),
        measure_names=("potential",),
        n_territories=2,
        balance=(Balance("potential", 0.01),),
        edges=np.array([[0, 1], [1, 2]]),
        contiguity=True,
    )
    with pytest.raises(InfeasibleError, match="potential"):
        solve_exact(problem, time_limit=10, heuristic_share=0.0)


def test_diameter_objective_is_not_modelled():
    with pytest.raises(ConfigError):
        solve_exact(grid_problem(2, 2, 2, objective="diameter"), time_limit=1)


def test_current_plan_with_max_moves_and_move_penalty():
    # current plan: the 2x2 quadrants with unit 5 given to territory 1 (sizes 3 and 5);
    # one move must rebalance it, and the best single moves (unit 5 back, or unit 2 over)
    # give inertia 16 again
    current = np.array([0, 0, 1, 1, 0, 1, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3])
    problem = grid_problem(4, 4, 4, current=current, max_moves=1, move_penalty=0.5)
    out = solve_exact(problem, time_limit=30, heuristic_share=0.0)
    assert int((out.assignment != current).sum()) <= 1
    assert out.objective == pytest.approx(16.0)
    assert is_balanced(search_arrays(problem), out.assignment)
    # the model minimises inertia + 0.5 per moved unit; the bound is on that sum
    assert out.stats["penalized_objective"] == pytest.approx(16.5)
    assert out.lower_bound == pytest.approx(16.5) and out.proven_optimal
