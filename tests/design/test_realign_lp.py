"""Fewest-moves realignment: close to the true minimum of moves, never over the budget."""

from __future__ import annotations

import numpy as np
import pytest
from _design_fixtures import random_book
from ortools.linear_solver import pywraplp

from territorial.design import design, metrics, realign_lp
from territorial.design.problem import Balance, DesignProblem
from territorial.design.report import report_dict


def _shifted(n: int, k: int, seed: int) -> tuple[DesignProblem, np.ndarray]:
    """A balanced plan, then revenue grows 40% in the left third of the plane."""
    problem = random_book(n, k, seed=seed, tol=0.05)
    first = design(problem, method="heuristic", time_limit=10, seed=seed)
    assert first.feasible
    measures = problem.measures.copy()
    left = problem.coords[:, 0] < 33
    measures[left, 1] *= 1.4
    return problem.with_changes(measures=measures), first.assignment


def _fewest_moves(problem: DesignProblem, current: np.ndarray) -> int:
    """The true minimum number of moves back into the band (exact MIP, every territory)."""
    n, k = problem.n_units, problem.n_territories
    s = pywraplp.Solver.CreateSolver("SCIP")
    x = [[s.BoolVar(f"x{i}_{j}") for j in range(k)] for i in range(n)]
    for i in range(n):
        s.Add(sum(x[i]) == 1)
    for b, m in zip(problem.balance, problem.balance_index, strict=True):
        col = problem.measures[:, m]
        mean = col.sum() / k
        for j in range(k):
            load = sum(float(col[i]) * x[i][j] for i in range(n))
            s.Add(load <= mean * (1 + b.tolerance))
            s.Add(load >= mean * (1 - b.tolerance))
    s.Minimize(sum(x[i][j] for i in range(n) for j in range(k) if j != current[i]))
    s.SetTimeLimit(60_000)
    assert s.Solve() == pywraplp.Solver.OPTIMAL
    return round(s.Objective().Value())


@pytest.mark.parametrize("seed", [1, 2])
def test_restores_balance_with_close_to_the_fewest_moves(seed: int) -> None:
    problem, current = _shifted(150, 5, seed)
    assert not metrics.WITHIN_BALANCE(problem, current)
    fewest = _fewest_moves(problem, current)
    realign = problem.with_changes(current=current, max_moves=int(1.5 * fewest) + 3)
    assert realign_lp.applicable(realign)
    out = realign_lp.solve_realign(realign, time_limit=20, seed=0)
    moved = int((out.assignment != current).sum())
    assert metrics.WITHIN_BALANCE(realign, out.assignment)
    assert fewest <= moved <= int(1.5 * fewest) + 3


def test_a_budget_below_the_minimum_is_still_respected() -> None:
    problem, current = _shifted(150, 5, 3)
    fewest = _fewest_moves(problem, current)
    budget = max(fewest // 2, 1)
    out = realign_lp.solve_realign(
        problem.with_changes(current=current, max_moves=budget), time_limit=15, seed=0
    )
    assert int((out.assignment != current).sum()) <= budget
    # what balance would take is reported
    assert out.stats.get("balanced_plan_moves", -1) >= fewest


def test_design_routes_realignment_through_the_fewest_moves_path() -> None:
    problem, current = _shifted(150, 5, 4)
    fewest = _fewest_moves(problem, current)
    result = design(
        problem.with_changes(current=current, max_moves=int(1.5 * fewest) + 3),
        time_limit=20,
        seed=0,
    )
    assert result.solver == "realign-lp" and "realignment" in result.solver_reason
    assert result.feasible
    assert int(result.moved["units"]) <= int(1.5 * fewest) + 3
    # the report says how many of the moved units went to a remote territory
    remote = report_dict(result)["moved"]["remote_units"]
    assert remote is not None and 0 <= remote <= result.moved["units"]


def test_goes_to_remote_territories_when_nearby_chains_need_more_than_the_budget() -> None:
    # a strip of 20 territories: the west end grows, the east end shrinks; through
    # neighbours the load would pass every territory in between (a move per link)
    rng = np.random.default_rng(5)
    n, k = 400, 20
    xy = np.column_stack([rng.uniform(0, 200, n), rng.uniform(0, 10, n)])
    revenue = rng.lognormal(3.0, 0.4, n)
    problem = DesignProblem(
        unit_ids=np.array([f"a{i}" for i in range(n)]),
        coords=xy,
        measures=revenue[:, None],
        measure_names=("revenue",),
        n_territories=k,
        balance=(Balance("revenue", 0.05),),
        coord_kind="xy",
    )
    first = design(problem, method="heuristic", time_limit=10, seed=0)
    assert first.feasible
    shifted = revenue.copy()
    shifted[xy[:, 0] < 20] *= 1.3
    shifted[xy[:, 0] > 180] *= 0.7
    moved_problem = problem.with_changes(measures=shifted[:, None])
    fewest = _fewest_moves(moved_problem, first.assignment)
    budget = int(1.3 * fewest) + 2
    out = realign_lp.solve_realign(
        moved_problem.with_changes(current=first.assignment, max_moves=budget),
        time_limit=30,
        seed=0,
    )
    nearby = out.stats.get("lp_moves_nearby")
    assert nearby is None or nearby > budget  # nearby chains alone do not fit
    assert int((out.assignment != first.assignment).sum()) <= budget
    assert metrics.WITHIN_BALANCE(moved_problem, out.assignment)
    assert out.remote_moves is not None and out.remote_moves > 0
