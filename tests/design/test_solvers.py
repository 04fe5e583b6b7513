"""Solvers as named parts: which solver ``auto`` runs, and why; the registry; refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from _design_fixtures import grid_problem_4, random_book
from _grids import grid_problem

from territorial.design import design, solvers
from territorial.design.balanced import HeuristicOptions
from territorial.design.problem import DesignProblem
from territorial.design.result import SolverOutcome
from territorial.errors import ConfigError


def _realign() -> DesignProblem:
    problem = random_book(300, 6, seed=1, tol=0.1, centers=True)
    current = np.arange(300) % 6
    return problem.with_changes(current=current, max_moves=30)


CASES = [
    ("diameter", lambda: grid_problem(3, 3, 3, objective="diameter"), "diameter"),
    ("realignment", _realign, "realign-lp"),
    (
        "many territories, fixed centers",
        lambda: random_book(2000, 400, seed=0, tol=0.5, centers=True),
        "lp-regions",
    ),
    ("small, free centers", grid_problem_4, "free-centres"),
    ("fixed centers", lambda: random_book(3000, 12, seed=0, centers=True), "fixed-lp"),
    ("contiguity", lambda: grid_problem(6, 6, 4), "contiguous"),
    ("large, free centers", lambda: random_book(3000, 12, seed=0), "free-centres"),
    ("huge, free centers", lambda: random_book(60_000, 20, seed=0, tol=0.5), "heuristic"),
]


@pytest.mark.parametrize(("case", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_auto_chooses_by_documented_rules(case: str, make, expected: str) -> None:  # type: ignore[no-untyped-def]
    name, reason = solvers.choose_solver(make())
    assert name == expected, (case, reason)
    assert reason  # every choice says why


def test_reasons_carry_the_numbers() -> None:
    _, reason = solvers.choose_solver(grid_problem_4(), exclude=("free-centres",))
    assert reason == (
        "small instance (16 units x 4 territories = 64 <= 20,000): the MIP can prove the optimum"
    )
    _, reason = solvers.choose_solver(random_book(2000, 400, seed=0, tol=0.5, centers=True))
    assert "400 territories (at least 400)" in reason


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: random_book(3000, 12, seed=0, centers=True), "heuristic"),
        (lambda: grid_problem(6, 6, 4), "contiguous"),
        (grid_problem_4, "heuristic"),
    ],
)
def test_method_heuristic_runs_no_lp_or_mip(make, expected: str) -> None:  # type: ignore[no-untyped-def]
    result = design(make(), method="heuristic", time_limit=10, seed=0)
    assert result.solver == expected
    assert result.solver_reason.startswith("method='heuristic'")


def test_the_run_says_which_solver_ran_and_why(grid: DesignProblem) -> None:
    result = design(grid, time_limit=20, seed=0)
    assert result.solver == "free-centres"
    report = result.to_report_dict()["solver"]
    assert report["name"] == "free-centres" and report["reason"].startswith("free centres")
    assert report["options"]["iterations"] == 3000
    assert report["fallbacks"] == [] and "checks" in report["timings"]


def test_a_named_solver_that_cannot_solve_the_problem_says_why(grid: DesignProblem) -> None:
    with pytest.raises(ConfigError, match="solver 'fixed-lp' cannot solve this problem: it "
                       "needs fixed centers"):  # fmt: skip
        design(grid, solver="fixed-lp", time_limit=5)
    with pytest.raises(ConfigError, match="unknown solver 'simplex'; choose auto or one of"):
        design(grid, solver="simplex", time_limit=5)
    with pytest.raises(ConfigError, match="takes HeuristicOptions options, got ExactOptions"):
        from territorial.design.exact import ExactOptions

        design(grid, solver="heuristic", options=ExactOptions(), time_limit=5)
    with pytest.raises(ConfigError, match="give the solver once"):
        design(grid, solver="heuristic", method="exact", time_limit=5)


def test_options_are_passed_not_patched(grid: DesignProblem) -> None:
    result = design(grid, solver="heuristic", options=HeuristicOptions(candidates=3), seed=0)
    assert result.solver_options["candidates"] == 3
    assert result.feasible


# --- plugging a solver in ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _RoundRobinOptions:
    offset: int = 0


class _RoundRobin(solvers.Solver[_RoundRobinOptions]):
    name = "round-robin-test"
    summary = "unit i goes to territory (i + offset) mod k (a test plug-in)"
    options_type = _RoundRobinOptions
    auto_priority = -1

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        return None if problem.n_units == 16 else "only the 16-unit grid"

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        return "the grid of the test"

    def solve(self, problem: DesignProblem, run: solvers.Run) -> SolverOutcome:
        k = problem.n_territories
        assignment = (np.arange(problem.n_units) + self.options.offset) % k
        return SolverOutcome(assignment=assignment.astype(np.int64), objective=0.0, method="rr")


@pytest.fixture
def plugged() -> Iterator[None]:
    solvers.register(_RoundRobin)
    yield
    solvers.unregister(_RoundRobin.name)


@pytest.mark.usefixtures("plugged")
def test_a_solver_plugs_in_with_one_class(grid: DesignProblem) -> None:
    assert "round-robin-test" in solvers.solver_names()
    assert solvers.choose_solver(grid) == ("round-robin-test", "the grid of the test")
    result = design(grid, solver="round-robin-test", options=_RoundRobinOptions(offset=1))
    assert result.solver == "round-robin-test" and result.assignment[0] == 1
    assert result.feasible  # every territory gets 4 units of the grid


def test_registering_checks_the_class() -> None:
    class Nameless(solvers.Solver[solvers.NoOptions]):
        def solve(self, problem: DesignProblem, run: solvers.Run) -> SolverOutcome:
            raise AssertionError

    with pytest.raises(TypeError, match="needs a non-empty class attribute 'name'"):
        solvers.register(Nameless)

    class Clash(_RoundRobin):
        name = "heuristic"

    with pytest.raises(TypeError, match="solver name 'heuristic' is taken"):
        solvers.register(Clash)


def test_no_catch_all_around_an_algorithm() -> None:
    """Only named solver conditions fall back; ``except Exception`` would hide bugs."""
    import ast
    from pathlib import Path

    import territorial.design as package

    offenders = []
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and (
                node.type is None
                or (
                    isinstance(node.type, ast.Name)
                    and node.type.id in ("Exception", "BaseException")
                )
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_a_bug_in_the_lp_path_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from territorial.design import lp_assign

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug in the LP path")

    monkeypatch.setattr(lp_assign, "lp_bound_and_plan", broken)
    with pytest.raises(RuntimeError, match="bug in the LP path"):
        design(random_book(3000, 12, seed=0, centers=True), time_limit=5, seed=0)


def test_a_named_lp_condition_falls_back_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from territorial.design import lp_assign

    def no_plan(problem: DesignProblem, **kwargs: object) -> tuple[None, None, float, dict]:
        return None, None, float("inf"), {}

    monkeypatch.setattr(lp_assign, "lp_bound_and_plan", no_plan)
    result = design(random_book(3000, 12, seed=0, centers=True), time_limit=5, seed=0, bound=False)
    assert result.solver == "fixed-lp"
    assert result.fallbacks == (
        "lp path: no rounded plan within its share of the budget -> heuristic",
    )
    assert result.to_report_dict()["solver"]["fallbacks"] == list(result.fallbacks)
