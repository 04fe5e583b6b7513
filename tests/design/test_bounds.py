"""Lower bounds are never above a feasible plan, and the fixed-center one is the LP bound."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _design_fixtures import random_book
from scipy.optimize import linprog

from territorial.design import bounds, metrics
from territorial.design.balanced import solve_balanced
from territorial.design.problem import Balance, DesignProblem


def _lp_bound(problem: DesignProblem) -> float:
    """The LP relaxation of the fixed-center balanced assignment, solved densely."""
    n, k = problem.n_units, problem.n_territories
    assert problem.centers is not None
    d2 = ((problem.coords[:, None, :] - problem.centers[None, :, :]) ** 2).sum(axis=2)
    c = (problem.weights[:, None] * d2).ravel()
    a_eq = np.zeros((n, n * k))
    for i in range(n):
        a_eq[i, i * k : (i + 1) * k] = 1
    rows, rhs = [], []
    for b, m in zip(problem.balance, problem.balance_index, strict=True):
        mean = problem.measures[:, m].sum() / k
        for j in range(k):
            row = np.zeros(n * k)
            row[j::k] = problem.measures[:, m]
            rows += [row, -row]
            rhs += [mean * (1 + b.tolerance), -mean * (1 - b.tolerance)]
    res = linprog(c, A_ub=np.array(rows), b_ub=rhs, A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1))
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize(("n", "k", "tol"), [(60, 3, 0.05), (120, 6, 0.1), (100, 4, 0.03)])
def test_fixed_center_bound_reaches_the_lp_bound(n: int, k: int, tol: float) -> None:
    problem = random_book(n, k, seed=n, tol=tol, centers=True)
    lp = _lp_bound(problem)
    lagrangian = bounds.fixed_center_bound(problem, time_limit=20, iterations=2000)
    assert lagrangian is not None
    assert lagrangian <= lp * (1 + 1e-7)  # a valid bound never exceeds the LP optimum
    assert lagrangian >= lp * (1 - 0.02)  # and the ascent gets close to it
    plan = solve_balanced(problem, time_limit=30, seed=0)
    assert plan.stats["balanced"]
    assert lagrangian <= plan.objective * (1 + 1e-9)


def test_fixed_center_bound_does_not_trust_the_candidate_rows() -> None:
    # with only 2 candidate rows per unit the bound must still be the dense LP bound
    problem = random_book(80, 8, seed=3, tol=0.05, centers=True)
    from territorial.design import balanced

    inst = balanced._instance(problem)
    cands = balanced._candidates(inst, None, 2, None)
    dual, _ = balanced._lagrangian(inst, cands, None, np.inf, 1000, deadline=1e18)
    assert dual.best_value <= _lp_bound(problem) * (1 + 1e-7)


def _brute_force(problem: DesignProblem) -> float:
    """Optimal free-center objective by enumerating all balanced plans (tiny n only)."""
    best = np.inf
    for plan in itertools.product(range(problem.n_territories), repeat=problem.n_units):
        a = np.array(plan)
        if len(set(plan)) < problem.n_territories or not metrics.WITHIN_BALANCE(problem, a):
            continue
        best = min(best, metrics.objective_value(problem, a))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_free_center_bound_is_below_the_true_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 8
    problem = DesignProblem(
        unit_ids=np.arange(n).astype(str), coords=rng.uniform(0, 10, (n, 2)),
        measures=np.column_stack([np.ones(n), rng.uniform(1, 3, n)]),
        measure_names=("accounts", "revenue"), n_territories=2,
        balance=(Balance("accounts", 0.0), Balance("revenue", 0.3)), coord_kind="xy",
    )  # fmt: skip
    optimum = _brute_force(problem)
    bound = bounds.free_center_bound(problem, upper=optimum, time_limit=10, neighbors=5)
    assert bound is not None
    assert 0.0 <= bound <= optimum * (1 + 1e-9)


def test_no_bound_for_the_diameter() -> None:
    problem = random_book(20, 2).with_changes(objective="diameter")
    assert bounds.lower_bound(problem) is None
