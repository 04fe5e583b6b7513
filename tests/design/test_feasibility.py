"""Impossible requests get an explanation with the numbers, not a crash."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from territorial.design.engine import design
from territorial.design.feasibility import DesignWarning, check_feasibility
from territorial.design.problem import Balance, DesignProblem
from territorial.errors import InfeasibleError


def _line(values: list[float], k: int, tol: float, **kw: object) -> DesignProblem:
    n = len(values)
    return DesignProblem(
        unit_ids=np.array([f"county{i}" for i in range(n)]),
        coords=np.column_stack([np.arange(n, dtype=float), np.zeros(n)]),
        measures=np.array(values, dtype=float)[:, None],
        measure_names=("potential",),
        n_territories=k,
        balance=(Balance("potential", tol),),
        coord_kind="xy",
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (
            _line([80, 10, 10, 10, 10, 10], 2, 0.05),
            r"unit 'county0' alone is 123\.1% of the mean.*above the \+5\.0% limit",
        ),
        (
            _line([1, 1, 1, 1, 1], 2, 0.05),
            r"whole numbers; the mean is 2\.50 per territory",
        ),
        (
            _line([10, 10, 10, 10], 2, 0.1, locked=np.array([0, 0, 0, -1])),
            r"locked to territory 'T001' already total 30.*150\.0% of the mean",
        ),
        (
            _line([10, 10, 10, 10], 2, 0.1, current=np.array([0, 0, 0, 1]), max_moves=0),
            r"max_moves is 0 but the current plan is not balanced",
        ),
        (
            _line([1, 2, 3, 4], 2, 0.9, edges=np.array([[0, 1]]), contiguity=True),
            r"3 separate pieces \(islands\) but only 2 territories",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::territorial.design.feasibility.DesignWarning")
def test_infeasible_requests_are_explained(problem: DesignProblem, message: str) -> None:
    with pytest.raises(InfeasibleError, match=message):
        check_feasibility(problem)


@pytest.mark.filterwarnings("ignore::territorial.design.feasibility.DesignWarning")
def test_design_raises_the_explanation_not_a_traceback() -> None:
    with pytest.raises(InfeasibleError, match="alone is"):
        design(_line([80, 10, 10, 10, 10, 10], 2, 0.05), time_limit=5)


def test_granularity_warning_names_the_unit() -> None:
    problem = _line([12, 10, 10, 10, 10, 8], 2, 0.05)
    with pytest.warns(
        DesignWarning, match=r"tighter than the largest unit: 'county0' alone is 40\.0%"
    ):
        check_feasibility(problem)


def test_clean_problem_passes_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_feasibility(_line([10] * 20, 4, 0.2))


def test_too_many_territories_for_a_segment() -> None:
    problem = _line([10] * 6, 4, 0.5).with_changes(
        segments=np.array([0, 0, 0, 0, 0, 1]), territory_segments=np.array([0, 0, 1, 1])
    )
    with pytest.raises(InfeasibleError, match=r"2 territories in segment '1' but only 1 units"):
        check_feasibility(problem)
