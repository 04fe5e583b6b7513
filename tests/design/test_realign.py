"""Realignment under a move budget: chains of territories, locks, allowed, two measures."""

from __future__ import annotations

import numpy as np
import pytest
from _design_fixtures import random_book
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.design import metrics
from territorial.design.balanced import solve_balanced
from territorial.design.problem import Balance, DesignProblem


def _line(centers: bool) -> DesignProblem:
    """15 accounts of revenue 12 on a line, three territories, after a shift::

        x:         0 .. 5  | 6 .. 10 | 11 .. 14
        accounts:     6    |    5    |    4       -> revenue 72 | 60 | 48, mean 60, ±10%

    T1 must lose an account and T3 gain one; T1's accounts may not go to T3
    (``allowed``) and T1's boundary account (x=5) is locked. The fix is a chain: one T1
    account to T2 and one T2 account to T3 — two moves. No single move lowers the total
    violation (each one only passes the excess on), so a greedy repair is stuck.
    """
    n = 15
    x = np.arange(n, dtype=float)
    current = np.repeat([0, 1, 2], [6, 5, 4])
    allowed = np.ones((n, 3), dtype=bool)
    allowed[:6, 2] = False
    locked = np.full(n, -1)
    locked[5] = 0
    return DesignProblem(
        unit_ids=np.array([f"a{i}" for i in range(n)]),
        coords=np.column_stack([x, np.zeros(n)]),
        measures=np.full((n, 1), 12.0),
        measure_names=("revenue",),
        n_territories=3,
        balance=(Balance("revenue", 0.10),),
        coord_kind="xy",
        current=current,
        max_moves=2,
        locked=locked,
        allowed=allowed,
        centers=np.array([[2.5, 0.0], [8.0, 0.0], [12.5, 0.0]]) if centers else None,
    )


@pytest.mark.parametrize("centers", [False, True])
def test_chain_shift_is_fixed_within_the_budget(centers: bool) -> None:
    problem = _line(centers)
    assert not metrics.WITHIN_BALANCE(problem, problem.current)
    out = solve_balanced(problem, time_limit=10, seed=0)
    a = out.assignment
    assert out.stats["balanced"], out.stats
    assert metrics.WITHIN_BALANCE(problem, a)
    assert metrics.moved_mask(problem, a).sum() == 2
    assert a[5] == 0  # locked
    assert metrics.ALLOWED_RESPECTED(problem, a)


def test_two_measures_restored_with_few_moves() -> None:
    base = random_book(600, 10, seed=4, tol=0.05)
    first = solve_balanced(base, time_limit=20, seed=0)
    assert first.stats["balanced"]
    grown = base.measures.copy()
    grown[base.coords[:, 0] > 60, 1] *= 1.25  # revenue grows 25% in the east
    budget = 60  # 10% of the accounts
    shifted = base.with_changes(measures=grown, current=first.assignment, max_moves=budget)
    assert not metrics.WITHIN_BALANCE(shifted, first.assignment)
    out = solve_balanced(shifted, time_limit=20, seed=0)
    assert out.stats["balanced"], out.stats
    assert metrics.WITHIN_BALANCE(shifted, out.assignment)
    assert metrics.moved_mask(shifted, out.assignment).sum() <= budget


@st.composite
def shifted_plans(draw: st.DrawFn) -> DesignProblem:
    n = draw(st.integers(10, 60))
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    xy = rng.uniform(0, 10, (n, 2))
    revenue = rng.integers(1, 6, n).astype(float)
    current = rng.integers(0, k, n)
    locked = np.full(n, -1)
    n_locked = draw(st.integers(0, 3))
    locked[:n_locked] = current[:n_locked]
    allowed = rng.random((n, k)) < 0.8
    allowed[np.arange(n), current] = True
    two = draw(st.booleans())
    balance = (Balance("revenue", 0.2),) + ((Balance("accounts", 0.3),) if two else ())
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]), coords=xy,
        measures=np.column_stack([np.ones(n), revenue]), measure_names=("accounts", "revenue"),
        n_territories=k, balance=balance, coord_kind="xy", current=current,
        max_moves=draw(st.integers(0, n // 2)), locked=locked, allowed=allowed,
        move_penalty=draw(st.sampled_from([0.0, 0.5])),
        centers=xy[:k] + 0.1 if draw(st.booleans()) else None,
    )  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=shifted_plans(), seed=st.integers(0, 3))
def test_moves_never_exceed_the_budget(problem: DesignProblem, seed: int) -> None:
    out = solve_balanced(problem, time_limit=5, seed=seed)
    a = out.assignment
    assert ((a >= 0) & (a < problem.n_territories)).all()
    assert problem.max_moves is not None
    assert metrics.moved_mask(problem, a).sum() <= problem.max_moves
    assert metrics.LOCKED_RESPECTED(problem, a)
    assert metrics.ALLOWED_RESPECTED(problem, a)
    if out.stats["balanced"]:
        assert metrics.WITHIN_BALANCE(problem, a)
