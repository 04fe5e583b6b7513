"""Capacity limits: absolute per-territory limits on measure totals."""

from __future__ import annotations

import numpy as np
import pytest

from territorial.design import metrics
from territorial.design.problem import Balance, DesignProblem, Limit
from territorial.errors import ConfigError


def line(n: int = 6, k: int = 2, **extra: object) -> DesignProblem:
    """``n`` units on a line, hours 1..n; ``k`` territories."""
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]),
        coords=np.column_stack([np.arange(n, dtype=float), np.zeros(n)]),
        coord_kind="xy",
        measures=np.column_stack([np.ones(n), np.arange(1.0, n + 1)]),
        measure_names=("accounts", "hours"),
        n_territories=k,
        **extra,  # type: ignore[arg-type]
    )


def test_a_number_becomes_one_limit_per_territory() -> None:
    problem = line(limits=(Limit("hours", upper=12.0),))
    (lim,) = problem.limits
    assert lim.lower is None
    assert np.array_equal(lim.upper, [12.0, 12.0])
    lower, upper = problem.limit_arrays()
    assert np.isnan(lower).all()
    assert np.array_equal(upper[:, 1], [12.0, 12.0]) and np.isnan(upper[:, 0]).all()


def test_per_territory_limits_with_nan_for_none() -> None:
    problem = line(
        limits=(Limit("hours", lower=np.array([2.0, np.nan]), upper=np.array([np.nan, 15.0])),),
        balance=(Balance("accounts", 0.5),),
    )
    lower, upper = problem.limit_arrays()
    assert lower[0, 1] == 2.0 and np.isnan(lower[1, 1])
    assert np.isnan(upper[0, 1]) and upper[1, 1] == 15.0


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (lambda: Limit("hours"), "neither a lower nor an upper"),
        (lambda: Limit("hours", upper=-1.0), "upper limit on 'hours' is -1.0"),
        (lambda: Limit("hours", lower=np.array([1.0, -2.0])), "is -2.0 (territory #2)"),
        (lambda: Limit("hours", lower=5.0, upper=4.0), "lower 5 is above upper 4"),
        (
            lambda: Limit("hours", lower=np.array([1.0, 9.0]), upper=np.array([3.0, 8.0])),
            "for territory #2: lower 9 is above upper 8",
        ),
        (lambda: Limit("hours", upper=np.ones((2, 2))), "got shape (2, 2)"),
    ],
)
def test_bad_limits_are_refused_with_numbers(limit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        limit()


def test_the_problem_checks_limits_against_its_measures_and_territories() -> None:
    with pytest.raises(ConfigError, match="cannot limit 'revenue'"):
        line(limits=(Limit("revenue", upper=1.0),))
    with pytest.raises(ConfigError, match="3 values for 2 territories"):
        line(limits=(Limit("hours", upper=np.array([1.0, 2.0, 3.0])),))
    with pytest.raises(ConfigError, match="two limits on 'hours'"):
        line(limits=(Limit("hours", upper=20.0), Limit("hours", lower=1.0)))


def test_positive_infinity_means_no_limit() -> None:
    problem = line(limits=(Limit("hours", upper=np.array([np.inf, 14.0])),))
    assert np.isnan(problem.limits[0].upper[0])  # type: ignore[index]


def test_the_validator_names_the_worst_territory_with_numbers() -> None:
    problem = line(limits=(Limit("hours", upper=12.0, lower=np.array([np.nan, 10.0])),))
    ok = np.array([0, 0, 0, 0, 1, 1])  # hours 10 | 11
    assert metrics.WITHIN_LIMITS(problem, ok)
    over = np.array([0, 0, 0, 1, 1, 1])  # hours 6 | 15
    why = metrics.WITHIN_LIMITS.explain(problem, over)
    assert why == "1 territories outside their limits; worst: 'T002' hours 15 above its maximum 12"
    under = np.array([0, 0, 0, 0, 0, 1])  # hours 15 | 6
    failures = metrics.Validator().failures(problem, under)
    assert failures == [
        "within_limits: 2 territories outside their limits; "
        "worst: 'T002' hours 6 below its minimum 10"
    ]
