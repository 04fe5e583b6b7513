"""The balanced heuristic: hand-checked grids, parametrized cases and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from _design_fixtures import random_book
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.design import metrics
from territorial.design.balanced import solve_balanced
from territorial.design.problem import Balance, DesignProblem


def test_grid_is_balanced_and_no_worse_than_the_quadrants(grid: DesignProblem) -> None:
    out = solve_balanced(grid, time_limit=30, seed=0)
    assert out.stats["balanced"]
    assert np.bincount(out.assignment, minlength=4).tolist() == [4, 4, 4, 4]
    # quadrants cost 16 (a corner as center: 0+1+1+2 each); four T-shapes cost 12
    assert 12.0 - 1e-9 <= out.objective <= 16.0 + 1e-9


def test_fixed_centers_bound_is_tight_on_the_grid(grid: DesignProblem) -> None:
    centers = np.array([[0.5, 0.5], [2.5, 0.5], [0.5, 2.5], [2.5, 2.5]])
    out = solve_balanced(grid.with_changes(centers=centers), time_limit=30, seed=0)
    assert out.objective == pytest.approx(8.0)
    assert out.lower_bound is not None
    assert out.lower_bound <= out.objective + 1e-9
    assert out.lower_bound == pytest.approx(8.0, rel=1e-6)


@pytest.mark.parametrize(
    ("n", "k", "tol", "centers"),
    [(200, 5, 0.05, False), (200, 5, 0.05, True), (500, 12, 0.1, False), (300, 3, 0.02, True)],
)
def test_random_books_are_balanced(n: int, k: int, tol: float, centers: bool) -> None:
    problem = random_book(n, k, seed=n + k, tol=tol, centers=centers)
    out = solve_balanced(problem, time_limit=30, seed=1)
    assert out.stats["balanced"], out.stats
    assert metrics.worst_deviation(problem, out.assignment) <= tol + 1e-9
    assert out.objective == pytest.approx(
        metrics.objective_value(problem, out.assignment, out.center_units)
    )
    if centers:
        assert out.lower_bound is not None and out.lower_bound <= out.objective * (1 + 1e-9)


def test_same_seed_same_plan() -> None:
    problem = random_book(300, 6, seed=3)
    a = solve_balanced(problem, time_limit=30, seed=7)
    b = solve_balanced(problem, time_limit=30, seed=7)
    assert np.array_equal(a.assignment, b.assignment)


def test_segments_never_share_a_territory() -> None:
    base = random_book(240, 6, seed=5)
    segments = (base.coords[:, 0] > 50).astype(np.int64)  # east and west books
    problem = base.with_changes(
        segments=segments, territory_segments=np.array([0, 0, 0, 1, 1, 1]), segment_names=("W", "E")
    )
    out = solve_balanced(problem, time_limit=30, seed=0)
    assert (problem.territory_segments[out.assignment] == segments).all()
    assert metrics.Validator()(problem, out.assignment), metrics.Validator().failures(
        problem, out.assignment
    )


def test_realignment_restores_balance_with_few_moves() -> None:
    problem = random_book(400, 8, seed=11, tol=0.05)
    first = solve_balanced(problem, time_limit=30, seed=0)
    # revenue grows 40% in the east: the old plan is now unbalanced
    grown = problem.measures.copy()
    grown[problem.coords[:, 0] > 70, 1] *= 1.4
    shifted = problem.with_changes(measures=grown, current=first.assignment, max_moves=60)
    assert not metrics.WITHIN_BALANCE(shifted, first.assignment)
    out = solve_balanced(shifted, time_limit=30, seed=0)
    assert out.stats["balanced"]
    assert metrics.moved_mask(shifted, out.assignment).sum() <= 60


def test_unreachable_balance_is_reported_not_hidden() -> None:
    # one huge account and a zero tolerance: the solver must say it failed
    problem = DesignProblem(
        unit_ids=np.array(list("abcd")), coords=np.array([[0, 0], [1, 0], [2, 0], [3, 0]], float),
        measures=np.array([[5.0], [1.0], [1.0], [1.0]]), measure_names=("revenue",),
        n_territories=2, balance=(Balance("revenue", 0.0),), coord_kind="xy",
    )  # fmt: skip
    out = solve_balanced(problem, time_limit=2, seed=0)
    assert not out.stats["balanced"]
    assert out.stats["violation"] > 0


@st.composite
def small_problems(draw: st.DrawFn) -> DesignProblem:
    n = draw(st.integers(8, 40))
    k = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, (n, 2))
    revenue = rng.integers(1, 5, n).astype(float)
    locked = np.full(n, -1)
    n_locked = draw(st.integers(0, 2))
    locked[:n_locked] = np.arange(n_locked) % k
    current = rng.integers(0, k, n) if draw(st.booleans()) else None
    if current is not None:  # locked units sit where they are locked (else moves are forced)
        current[locked >= 0] = locked[locked >= 0]
    max_moves = draw(st.integers(0, n)) if current is not None else None
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]), coords=xy,
        measures=np.column_stack([np.ones(n), revenue]), measure_names=("accounts", "revenue"),
        n_territories=k, balance=(Balance("revenue", 0.3),), coord_kind="xy",
        locked=locked, current=current, max_moves=max_moves,
        centers=xy[:k] + 0.1 if draw(st.booleans()) else None,
    )  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=small_problems(), seed=st.integers(0, 3))
def test_invariants(problem: DesignProblem, seed: int) -> None:
    out = solve_balanced(problem, time_limit=30, seed=seed)
    a = out.assignment
    assert a.shape == (problem.n_units,)
    assert ((a >= 0) & (a < problem.n_territories)).all()  # every unit exactly once
    assert metrics.LOCKED_RESPECTED(problem, a)
    assert metrics.MAX_MOVES_RESPECTED(problem, a)
    if out.stats["balanced"]:
        assert metrics.WITHIN_BALANCE(problem, a)
    again = solve_balanced(problem, time_limit=30, seed=seed)
    assert np.array_equal(a, again.assignment)
