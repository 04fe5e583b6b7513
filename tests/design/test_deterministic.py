"""Same seed, same plan: a work limit makes every solver ``auto`` picks reproducible.

Each run below is made twice: on this machine, and on a simulated machine four times
slower (a wall clock that runs four times as fast). With a ``work_limit`` the plans,
the work charged and the solver's path must be identical; the ``time_limit`` is only a
safety cap and is never reached here.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from _design_fixtures import grid_problem_4, random_book
from _grids import grid_problem

import territorial.design as design_package
from territorial.design import design, solvers
from territorial.design.problem import DesignProblem


def _realign() -> DesignProblem:
    problem = random_book(300, 6, seed=1, tol=0.1, centers=True)
    return problem.with_changes(current=np.arange(300) % 6, max_moves=30)


#: One representative problem per solver ``auto`` picks (see test_solvers.CASES).
CASES: list[tuple[str, Callable[[], DesignProblem], str, float]] = [
    ("diameter", lambda: grid_problem(3, 3, 3, objective="diameter"), "diameter", 0.2),
    ("realignment", _realign, "realign-lp", 0.5),
    ("small, free centres", grid_problem_4, "free-centres", 0.5),
    ("fixed centres", lambda: random_book(3000, 8, seed=0, centers=True), "fixed-lp", 0.5),
    ("contiguity", lambda: grid_problem(6, 6, 4), "contiguous", 0.3),
    (
        "many territories",
        lambda: random_book(2000, 400, seed=0, tol=0.5, centers=True),
        "lp-regions",
        0.3,
    ),
    ("exact", lambda: random_book(200, 4, seed=0, centers=True), "exact", 0.5),
    (
        "free centres, heuristic",
        lambda: random_book(1500, 8, seed=0),
        "heuristic",
        0.3,
    ),
]


def _slow_clock(factor: float) -> Callable[[], float]:
    """A wall clock ``factor`` times as fast: this machine looks ``factor`` times slower."""
    start = time.monotonic()
    return lambda: start + factor * (time.monotonic() - start)


@pytest.mark.parametrize(("case", "make", "expected", "work"), CASES, ids=[c[0] for c in CASES])
def test_a_work_limit_gives_the_same_plan_on_a_slower_machine(
    case: str, make: Callable[[], DesignProblem], expected: str, work: float
) -> None:
    problem = make()
    solver = "heuristic" if expected == "heuristic" else "auto"
    runs = [
        design(
            problem,
            solver=solver,
            work_limit=work,
            time_limit=600,
            seed=3,
            strict=False,
            timer=_slow_clock(factor),
        )
        for factor in (1.0, 4.0)
    ]
    fast, slow = runs
    assert fast.solver == slow.solver == expected, case
    assert fast.deterministic and slow.deterministic, case
    np.testing.assert_array_equal(fast.assignment, slow.assignment)
    assert fast.objective == slow.objective
    assert fast.work == slow.work
    assert fast.method == slow.method and fast.fallbacks == slow.fallbacks
    report = fast.to_report_dict()["solver"]
    assert report["work_limit"] == work and report["deterministic"] is True


def test_without_a_work_limit_the_clock_is_the_wall_clock() -> None:
    clock = solvers.Clock(time_limit=10, timer=lambda: 5.0)
    assert not clock.deterministic and clock.now() == 0.0
    assert clock.pivot_limit(1.0, 1000) is None and clock.solver_seconds(2.0) == 2.0


def test_deterministic_clock_counts_work_not_seconds() -> None:
    now = [0.0]
    clock = solvers.Clock(time_limit=100, work_limit=2.0, timer=lambda: now[0])
    now[0] = 50.0  # seconds pass, no work done: the clock stands still
    assert clock.now() == 0.0
    clock.charge(solvers.pair_work(1000, 10))
    assert clock.now() == pytest.approx(solvers.WORK_PER_STEP + 1e4 * solvers.WORK_PER_PAIR)
    # external solvers get the rest of the safety cap, and counted limits
    assert clock.solver_seconds(0.5) == 50.0
    assert clock.pivot_limit(0.5, 10_000) == int(0.5 / solvers.pivot_work(1, 10_000))
    now[0] = 101.0
    assert clock.now() == float("inf") and clock.capped


def test_no_solver_module_reads_the_wall_clock() -> None:
    """Every stopping decision goes through the run's clock (solvers.current_clock)."""
    allowed = {"solvers.py"}  # the clock itself
    offenders = []
    for path in Path(design_package.__file__).parent.glob("*.py"):
        if path.name in allowed:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "time"
                and node.attr in ("monotonic", "perf_counter", "time", "process_time")
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
