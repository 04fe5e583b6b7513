"""The public entry point of territory design: :func:`design`.

``design(problem)`` checks the request (:mod:`.feasibility`), picks solvers, keeps
the best plan and the best proven lower bound, measures the plan with the pure
functions of :mod:`.metrics` and returns a :class:`DesignResult`. The estimator
form, :class:`TerritoryDesigner`, stores its parameters unchanged and puts results
in attributes ending in ``_``.

Dispatch
--------
* contiguity or the diameter objective → ``territorial.design.contiguity.solve_contiguous``;
* otherwise the balanced heuristic (:func:`territorial.design.balanced.solve_balanced`);
* small instances (``n * k <= EXACT_SIZE``) with ``method`` "auto" or "exact" are then
  handed to ``territorial.design.exact.solve_exact`` seeded with the heuristic's plan;
  the better balanced plan and the larger bound are kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from territorial.design import metrics
from territorial.design.feasibility import check_feasibility
from territorial.design.plan import Plan
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.errors import ConfigError, InfeasibleError

log = logging.getLogger(__name__)

Method = Literal["auto", "heuristic", "exact"]
Progress = Callable[[float, str], None]

#: ``n * k`` up to which "auto" also runs the exact model.
EXACT_SIZE = 20_000
#: Share of the time limit the free-center lower bound may use.
BOUND_SHARE = 0.15


@dataclass(frozen=True, eq=False)
class DesignResult:
    """A designed plan and how good it is.

    Attributes
    ----------
    problem:
        The problem solved.
    plan:
        The plan (:class:`~territorial.design.plan.Plan`; parent is the current plan if any).
    center_units:
        ``(k,)`` unit index of every territory's center (``None`` with fixed centers
        or the diameter objective).
    totals:
        ``(k, m)`` totals of every measure per territory.
    deviations:
        ``(k, len(balance))`` deviation from the mean per balanced measure (fraction).
    objective:
        Objective value in ``objective_unit`` (without disruption penalties).
    lower_bound:
        Proven lower bound on the optimum, or ``None`` when none is computable.
    contiguous:
        ``(k,)`` contiguity flags, ``None`` without adjacency.
    moved:
        ``{"units": count, measure: moved total, ...}`` against the current plan.
    feasible:
        Every hard constraint holds; ``violations`` names those that do not.
    """

    problem: DesignProblem
    plan: Plan
    center_units: IntArray | None
    totals: FloatArray
    deviations: FloatArray
    objective: float
    lower_bound: float | None
    contiguous: np.ndarray | None
    moved: dict[str, float]
    feasible: bool
    violations: tuple[str, ...]
    method: str
    seed: int
    seconds: float
    proven_optimal: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def assignment(self) -> IntArray:
        return self.plan.assignment

    @property
    def objective_unit(self) -> str:
        return self.problem.objective_unit

    @property
    def gap(self) -> float | None:
        """``(objective - lower_bound) / objective`` (fraction), or ``None`` without a bound."""
        if self.lower_bound is None:
            return None
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.lower_bound) / self.objective)

    @property
    def worst_deviation(self) -> float:
        """Largest absolute deviation over territories and balanced measures (fraction)."""
        return float(np.abs(self.deviations).max()) if self.deviations.size else 0.0

    def territory_of_units(self) -> list[str]:
        """Territory id of every unit, in unit order."""
        tids = self.plan.territory_ids
        return [tids[j] for j in self.plan.assignment]

    def to_frame(self):
        """``pandas.DataFrame`` with columns ``id, territory`` (the PLAN.csv format)."""
        import pandas as pd

        return pd.DataFrame({"id": self.problem.unit_ids, "territory": self.territory_of_units()})

    def to_report_dict(self) -> dict[str, Any]:
        """The REPORT.json content (plain JSON types)."""
        from territorial.design.report import report_dict

        return report_dict(self)


def _run_contiguous(
    problem: DesignProblem, *, time_limit: float, seed: int, progress: Progress | None
) -> SolverOutcome:
    try:
        from territorial.design.contiguity import solve_contiguous
    except ImportError as exc:
        raise ConfigError(
            "contiguous/diameter design needs territorial.design.contiguity, which is not "
            f"available in this build ({exc})"
        ) from exc
    return solve_contiguous(
        problem, time_limit=time_limit, seed=seed, initial=None, progress=progress
    )


def _run_exact(
    problem: DesignProblem, *, time_limit: float, initial: SolverOutcome | None, seed: int
) -> SolverOutcome | None:
    try:
        from territorial.design.exact import solve_exact
    except ImportError:
        log.info("exact solver not available; keeping the heuristic plan")
        return None
    return solve_exact(problem, time_limit=time_limit, initial=initial, seed=seed)


def _balanced_ok(problem: DesignProblem, outcome: SolverOutcome) -> bool:
    return not metrics.Validator().failures(problem, outcome.assignment)


def _pick(problem: DesignProblem, a: SolverOutcome, b: SolverOutcome | None) -> SolverOutcome:
    """The better of two outcomes: feasible first, then lower objective; bound = the larger."""
    if b is None:
        return a
    fa, fb = _balanced_ok(problem, a), _balanced_ok(problem, b)
    best = b if (fb and not fa) or (fa == fb and b.objective < a.objective) else a
    bounds = [x.lower_bound for x in (a, b) if x.lower_bound is not None]
    bound = max(bounds) if bounds else None
    if bound is not None and fa == fb and bound > best.objective:
        bound = best.objective
    proven = a.proven_optimal or b.proven_optimal
    return SolverOutcome(
        assignment=best.assignment,
        objective=best.objective,
        method=best.method if best is a else f"{a.method}+{b.method}",
        center_units=best.center_units,
        lower_bound=bound,
        proven_optimal=proven and best is (b if b.proven_optimal else a),
        stats={**a.stats, **{f"exact_{k}": v for k, v in b.stats.items()}},
    )


def design(
    problem: DesignProblem,
    *,
    method: Method = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    progress: Progress | None = None,
    strict: bool = True,
    bound: bool = True,
) -> DesignResult:
    """Design territories for ``problem``.

    Parameters
    ----------
    method:
        ``"auto"`` (heuristic, plus the exact model on small instances), ``"heuristic"``
        or ``"exact"`` (always try the exact model after the heuristic).
    time_limit:
        Seconds for the whole run (solvers stop improving and return their best).
    seed:
        The only source of randomness: the same seed gives the same plan.
    progress:
        Called as ``progress(fraction_done, message)``.
    strict:
        When no plan meets every hard constraint, raise ``InfeasibleError`` naming the
        failed constraints and the best achieved deviation (``True``), or return the
        least-violating plan with ``feasible=False`` (``False``).
    bound:
        Compute a lower bound when the solver did not give one (free centers).

    Raises
    ------
    InfeasibleError
        The request has no plan (found by the pre-checks), or, with ``strict``, no
        plan meeting every hard constraint was found.
    """
    if method not in ("auto", "heuristic", "exact"):
        raise ConfigError(f"method must be auto, heuristic or exact, got {method!r}")
    if time_limit <= 0:
        raise ConfigError(f"time_limit must be positive seconds, got {time_limit}")
    t0 = time.monotonic()
    deadline = t0 + time_limit
    check_feasibility(problem)

    def remaining() -> float:
        return max(deadline - time.monotonic(), 0.01)

    if problem.contiguity or problem.objective == "diameter":
        outcome = _run_contiguous(problem, time_limit=time_limit, seed=seed, progress=progress)
    else:
        from territorial.design import lp_assign
        from territorial.design.balanced import solve_balanced

        share = 1.0 if problem.centers is not None or not bound else 1.0 - BOUND_SHARE
        from territorial.design import realign_lp

        # realignment: fewest-moves LP + rounding MIP (+ the heuristic); fixed centers:
        # column-generation LP (strong bound, LP-rounded plan) + the heuristic
        if realign_lp.applicable(problem):
            solver = realign_lp.solve_realign
        elif lp_assign.applicable(problem):
            solver = lp_assign.solve_fixed_centers
        else:
            solver = solve_balanced
        outcome = solver(problem, time_limit=time_limit * share, seed=seed, progress=progress)
    small = problem.n_units * problem.n_territories <= EXACT_SIZE
    if method == "exact" or (method == "auto" and small):
        exact = _run_exact(problem, time_limit=remaining(), initial=outcome, seed=seed)
        if exact is None and method == "exact":
            raise ConfigError("method='exact' but the exact solver is not available")
        outcome = _pick(problem, outcome, exact)
    lower = outcome.lower_bound
    stats = dict(outcome.stats)
    free = problem.centers is None and problem.objective != "diameter"
    if lower is None and bound and free:
        from territorial.design.bounds import fixed_center_bound, free_center_bound

        try:
            lower = free_center_bound(
                problem, upper=outcome.objective, time_limit=remaining() * 0.5
            )
            lower = lower if lower else None  # 0 is true but says nothing
            if outcome.center_units is not None and problem.distance != "graph":
                # not a bound on the design problem: how close the assignment is to the
                # best one for the centers the plan uses (the LP bound at those centers)
                at_centers = problem.with_changes(centers=problem.coords[outcome.center_units])
                stats["bound_at_centers"] = fixed_center_bound(at_centers, time_limit=remaining())
        except Exception:  # a bound is a bonus: never lose a plan over it
            log.exception("lower bound failed")
    outcome = SolverOutcome(
        assignment=outcome.assignment,
        objective=outcome.objective,
        method=outcome.method,
        center_units=outcome.center_units,
        lower_bound=outcome.lower_bound,
        proven_optimal=outcome.proven_optimal,
        stats=stats,
    )
    return _result(problem, outcome, lower, seed=seed, seconds=time.monotonic() - t0, strict=strict)


def _result(
    problem: DesignProblem,
    outcome: SolverOutcome,
    lower: float | None,
    *,
    seed: int,
    seconds: float,
    strict: bool,
) -> DesignResult:
    a = np.asarray(outcome.assignment, dtype=np.int64)
    failures = metrics.Validator().failures(problem, a)
    deviations = metrics.balance_deviation(problem, a)
    if failures and strict:
        worst = float(np.abs(deviations).max()) if deviations.size else 0.0
        raise InfeasibleError(
            "no plan meeting every constraint was found "
            f"(best plan: worst balance deviation {worst:.2%}); "
            + "; ".join(failures)
            + ". Loosen the tolerance, allow more moves, unlock units or give more time."
        )
    objective = (
        metrics.objective_value(problem, a, outcome.center_units)
        if problem.objective != "diameter" or outcome.objective is None
        else outcome.objective
    )
    if lower is not None and not failures and lower > objective:
        lower = objective  # floating noise of a tight bound
    parent = None
    if problem.current is not None and (problem.current >= 0).all():
        parent = Plan(problem.current, problem.territory_ids)
    plan = parent.with_assignment(a) if parent is not None else Plan(a, problem.territory_ids)
    return DesignResult(
        problem=problem,
        plan=plan,
        center_units=outcome.center_units,
        totals=metrics.territory_totals(problem, a),
        deviations=deviations,
        objective=float(objective),
        lower_bound=None if lower is None else float(lower),
        contiguous=metrics.territory_contiguity(problem, a),
        moved=metrics.moved_summary(problem, a),
        feasible=not failures,
        violations=tuple(failures),
        method=outcome.method,
        seed=seed,
        seconds=seconds,
        proven_optimal=outcome.proven_optimal and not failures,
        stats=dict(outcome.stats),
    )


class TerritoryDesigner:
    """Estimator form of :func:`design`.

    Parameters are stored unchanged and validated when :meth:`fit` runs; results land
    in ``result_``, ``plan_``, ``objective_``, ``lower_bound_``.
    """

    def __init__(
        self,
        *,
        method: Method = "auto",
        time_limit: float = 60.0,
        seed: int = 0,
        progress: Progress | None = None,
        strict: bool = True,
    ) -> None:
        self.method = method
        self.time_limit = time_limit
        self.seed = seed
        self.progress = progress
        self.strict = strict

    def fit(self, problem: DesignProblem) -> TerritoryDesigner:
        self.result_ = design(
            problem,
            method=self.method,
            time_limit=self.time_limit,
            seed=self.seed,
            progress=self.progress,
            strict=self.strict,
        )
        self.plan_ = self.result_.plan
        self.objective_ = self.result_.objective
        self.lower_bound_ = self.result_.lower_bound
        return self


__all__ = ["EXACT_SIZE", "DesignResult", "TerritoryDesigner", "design"]
