"""The LP path: its bound is the full LP optimum (never above the MIP), its plan is balanced."""

from __future__ import annotations

import numpy as np
import pytest
from _design_fixtures import random_book
from ortools.linear_solver import pywraplp
from scipy.optimize import linprog

from territorial.design import bounds, lp_assign, metrics
from territorial.design.problem import DesignProblem


def _dense(problem: DesignProblem):  # type: ignore[no-untyped-def]
    n, k = problem.n_units, problem.n_territories
    assert problem.centers is not None
    d2 = ((problem.coords[:, None, :] - problem.centers[None, :, :]) ** 2).sum(axis=2)
    c = problem.weights[:, None] * d2
    rows, rhs = [], []
    for b, m in zip(problem.balance, problem.balance_index, strict=True):
        mean = problem.measures[:, m].sum() / k
        for j in range(k):
            row = np.zeros((n, k))
            row[:, j] = problem.measures[:, m]
            rows += [row.ravel(), -row.ravel()]
            rhs += [mean * (1 + b.tolerance), -mean * (1 - b.tolerance)]
    return c, np.array(rows), np.array(rhs)


def _lp(problem: DesignProblem) -> float:
    n, k = problem.n_units, problem.n_territories
    c, a_ub, b_ub = _dense(problem)
    a_eq = np.kron(np.eye(n), np.ones((1, k)))
    res = linprog(c.ravel(), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1))
    assert res.status == 0
    return float(res.fun)


def _mip(problem: DesignProblem) -> float:
    n, k = problem.n_units, problem.n_territories
    c, a_ub, b_ub = _dense(problem)
    s = pywraplp.Solver.CreateSolver("SCIP") or pywraplp.Solver.CreateSolver("CBC")
    x = [[s.BoolVar(f"x{i}_{j}") for j in range(k)] for i in range(n)]
    for i in range(n):
        s.Add(sum(x[i]) == 1)
    flat = [x[i][j] for i in range(n) for j in range(k)]
    for row, r in zip(a_ub, b_ub, strict=True):
        nz = np.flatnonzero(row)
        s.Add(sum(float(row[t]) * flat[t] for t in nz) <= float(r))
    s.Minimize(sum(float(c[i, j]) * x[i][j] for i in range(n) for j in range(k)))
    assert s.Solve() == pywraplp.Solver.OPTIMAL
    return float(s.Objective().Value())


@pytest.mark.parametrize(("n", "k", "tol"), [(60, 3, 0.05), (120, 6, 0.1), (100, 4, 0.03)])
def test_lp_bound_is_the_full_lp_and_below_the_mip(n: int, k: int, tol: float) -> None:
    problem = random_book(n, k, seed=n, tol=tol, centers=True)
    bound, plan, viol, _ = lp_assign.lp_bound_and_plan(problem, time_limit=30, seed=0)
    assert bound is not None and plan is not None
    lp = _lp(problem)
    # the planning LP runs on a band NARROW inside the true one (room for the rounding);
    # its duals, scored on the true band, stay a valid bound a hair under the LP
    assert lp * (1 - 2e-3) <= bound <= lp * (1 + 1e-7)
    # asked for the bound only, the LP keeps the true band and reaches the LP optimum
    exact, _, _, _ = lp_assign.lp_bound_and_plan(problem, time_limit=30, seed=0, plan=False)
    assert exact == pytest.approx(lp, rel=1e-6)
    assert bound <= _mip(problem) * (1 + 1e-9)
    assert viol <= 1e-7 and metrics.WITHIN_BALANCE(problem, plan)
    obj = metrics.objective_value(problem, plan, None)
    assert bound <= obj * (1 + 1e-9)
    assert (obj - bound) / obj < 0.05
    # the bound-only path (fixed_center_bound) is that LP optimum too
    lag = bounds.fixed_center_bound(problem, time_limit=5)
    assert lag is not None and lag == pytest.approx(lp, rel=1e-6)


def test_bound_does_not_trust_the_candidates() -> None:
    # few candidates per unit: the exact scan over all territories keeps the bound valid
    problem = random_book(80, 8, seed=3, tol=0.05, centers=True)
    old = lp_assign.balanced.DEFAULT_CANDIDATES
    lp_assign.balanced.DEFAULT_CANDIDATES = 2
    try:
        bound, _, _, _ = lp_assign.lp_bound_and_plan(problem, time_limit=20, seed=0, plan=False)
    finally:
        lp_assign.balanced.DEFAULT_CANDIDATES = old
    assert bound is not None
    assert bound <= _lp(problem) * (1 + 1e-7)


def test_design_uses_the_lp_path_with_fixed_centers() -> None:
    from territorial.design import design

    problem = random_book(400, 8, seed=5, tol=0.05, centers=True)
    result = design(problem, method="heuristic", time_limit=20, seed=0)
    assert result.feasible
    assert result.lower_bound is not None
    assert result.lower_bound <= _lp(problem) * (1 + 1e-7)
    assert result.gap is not None and result.gap < 0.03


def test_plan_narrowing_makes_room_for_coarse_units() -> None:
    from territorial.design import balanced

    fine = random_book(4000, 4, seed=1, tol=0.05, centers=True)  # a unit: 0.1% of a territory
    assert lp_assign.plan_narrowing(balanced._instance(fine)) == lp_assign.NARROW
    coarse = random_book(200, 8, seed=1, tol=0.05, centers=True)  # a unit: ~4% of a territory
    share = lp_assign.plan_narrowing(balanced._instance(coarse))
    assert lp_assign.NARROW < share <= lp_assign.MAX_NARROW
    # and the plan of the coarse book still fits the true band
    bound, plan, viol, stats = lp_assign.lp_bound_and_plan(coarse, time_limit=20, seed=0)
    assert stats["narrowing"] == share
    assert plan is not None and viol <= 1e-7 and metrics.WITHIN_BALANCE(coarse, plan)
    assert bound is not None and bound <= _lp(coarse) * (1 + 1e-7)
