"""The public entry point of territory design: :func:`design`.

``design(problem)`` checks the request (:mod:`.feasibility`), runs one named solver
(:mod:`.solvers`: the one the caller names, or the one :func:`~.solvers.choose_solver`
picks for ``"auto"``), adds a lower bound when the solver gave none and one is
computable, measures the plan with the pure functions of :mod:`.metrics` and returns
a :class:`DesignResult` that says which solver ran, why, and every fallback it took.
The estimator form, :class:`TerritoryDesigner`, stores its parameters unchanged and
puts results in attributes ending in ``_``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from territorial.design import metrics, solvers
from territorial.design.feasibility import check_feasibility
from territorial.design.plan import Plan
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.errors import ConfigError, InfeasibleError

if TYPE_CHECKING:
    import pandas as pd


log = logging.getLogger(__name__)

Method = Literal["auto", "heuristic", "exact"]
Progress = solvers.Progress

#: Share of the budget the free-center lower bound may use after the solver (at 100k/200
#: the heuristic takes all it is given: with 0.15 the bound had 7 s of 60).
BOUND_SHARE = 0.3
#: Share of the time left after the solver that the valid free-center bound may use (the
#: bound at the plan's own centers, which bounds only that assignment, has the rest).
FREE_BOUND_SHARE = 0.9


@dataclass(frozen=True, eq=False)
class DesignResult:
    """A designed plan, how good it is, and how it was made.

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
        Every hard constraint holds; ``violations`` names those that do not, with numbers.
    method:
        The path inside the solver that produced the plan (e.g. ``"lp-rounding+local-search"``).
    solver, solver_reason:
        The registered solver that ran and why (``auto``'s rule, or "asked for by name").
    fallbacks:
        Every fallback taken (``"step: condition -> what ran instead"``).
    timings:
        Wall seconds per phase.
    work:
        Work units charged (see :class:`~territorial.design.solvers.Clock`).
    deterministic:
        The run stopped on a work limit, not the clock: the same inputs and seed give
        the same plan on any machine (``False`` when the safety time limit cut it).
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
    solver: str = ""
    solver_reason: str = ""
    solver_options: dict[str, Any] = field(default_factory=dict)
    fallbacks: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    work: float = 0.0
    work_limit: float | None = None
    deterministic: bool = False
    bound_at_centers: float | None = None
    remote_moves: int | None = None
    #: Why each unit went where it went (:mod:`territorial.design.explain`); computed
    #: from the plan when not given.
    reasons: tuple[str, ...] | None = None

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

    def to_frame(self) -> pd.DataFrame:
        """``pandas.DataFrame`` with columns ``id, territory, reason`` (the PLAN.csv
        contract; ``reason`` says why the unit went there)."""
        import pandas as pd

        from territorial.design.explain import assignment_reasons

        reasons = self.reasons if self.reasons is not None else assignment_reasons(self)
        return pd.DataFrame(
            {
                "id": self.problem.unit_ids,
                "territory": self.territory_of_units(),
                "reason": list(reasons),
            }
        )

    def to_report_dict(self) -> dict[str, Any]:
        """The REPORT.json content (plain JSON types)."""
        from territorial.design.report import report_dict

        return report_dict(self)


def resolve_solver(
    problem: DesignProblem, solver: str = "auto", method: Method | None = None
) -> tuple[str, str]:
    """The solver to run and why: ``(name, reason)``.

    ``solver="auto"`` asks :func:`~territorial.design.solvers.choose_solver`; a name is
    checked against what that solver accepts (``ConfigError`` with its reason when it
    refuses). ``method`` is the older spelling: ``"auto"`` is ``solver="auto"``,
    ``"heuristic"`` runs only a heuristic solver (no LP, no MIP) chosen by the same
    rules, ``"exact"`` is ``solver="exact"``.
    """
    if method is not None:
        if method not in ("auto", "heuristic", "exact"):
            raise ConfigError(f"method must be auto, heuristic or exact, got {method!r}")
        if solver != "auto":
            raise ConfigError(
                f"give the solver once: method={method!r} and solver={solver!r} (method is "
                "the older name of solver)"
            )
        if method == "heuristic":
            name, reason = solvers.choose_solver(problem, heuristic_only=True)
            return name, f"method='heuristic' (no LP or MIP): {reason}"
        solver = method
    if solver == "auto":
        return solvers.choose_solver(problem)
    cls = solvers.get_solver(solver)
    refusal = cls.refuses(problem)
    if refusal is not None:
        raise ConfigError(f"solver {solver!r} cannot solve this problem: {refusal}")
    return solver, "asked for by name"


def design(
    problem: DesignProblem,
    *,
    solver: str = "auto",
    options: Any = None,
    method: Method | None = None,
    time_limit: float = 60.0,
    work_limit: float | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    strict: bool = True,
    bound: bool = True,
    timer: Callable[[], float] | None = None,
) -> DesignResult:
    """Design territories for ``problem``.

    Parameters
    ----------
    solver:
        ``"auto"`` (:func:`~territorial.design.solvers.choose_solver` picks and says
        why) or a registered solver's name (:func:`~territorial.design.solvers.solver_names`).
    options:
        The solver's options dataclass (e.g. ``HeuristicOptions(candidates=16)``);
        default: the solver's defaults. Needs a named solver.
    method:
        Older name of ``solver``: ``"auto"``, ``"heuristic"`` (a heuristic solver only)
        or ``"exact"``.
    time_limit:
        Seconds for the whole run. With ``work_limit`` it is only a safety cap.
    work_limit:
        Deterministic mode: stop on counted work (iterations, pivots, nodes; about a
        second of computation per unit on the reference machine), so the same inputs
        and seed give the same plan on any machine and under any load.
    seed:
        The only source of randomness.
    progress:
        Called as ``progress(fraction_done, message)``.
    strict:
        When no plan meets every hard constraint, raise ``InfeasibleError`` naming the
        failed constraints and the best achieved deviation (``True``), or return the
        least-violating plan with ``feasible=False`` (``False``).
    bound:
        Compute a lower bound when the solver did not give one (free centers).
    timer:
        The wall clock in seconds (default: the monotonic clock); tests pass a slow one to
        show that a ``work_limit`` run does not depend on the machine's speed.

    Raises
    ------
    InfeasibleError
        The request has no plan (found by the pre-checks), or, with ``strict``, no
        plan meeting every hard constraint was found.
    ConfigError
        An unknown solver, options of the wrong type, or a solver that refuses the problem.
    """
    name, reason = resolve_solver(problem, solver, method)
    instance = solvers.make_solver(name, options)
    clock = solvers.Clock(time_limit=time_limit, work_limit=work_limit, timer=timer)
    with clock.active():
        return _design(problem, name, reason, instance, clock, seed, progress, strict, bound)


def _design(
    problem: DesignProblem,
    name: str,
    reason: str,
    instance: solvers.Solver[Any],
    clock: solvers.Clock,
    seed: int,
    progress: Progress | None,
    strict: bool,
    bound: bool,
) -> DesignResult:
    t0 = clock.seconds
    check_feasibility(problem)
    timings: dict[str, float] = {"checks": clock.seconds - t0}
    free = problem.centers is None and problem.objective != "diameter"
    want_bound = bound and free
    run = solvers.Run(
        clock=clock,
        seed=seed,
        progress=progress,
        limit=clock.limit * ((1.0 - BOUND_SHARE) if want_bound else 1.0),
        span=(0.0, 0.95 if want_bound else 1.0),
    )
    log.info("design: solver %s (%s)", name, reason)
    t1 = clock.seconds
    outcome = instance.solve(problem, run)
    timings.update({f"solve.{k}": v for k, v in outcome.timings.items()})
    timings["solve"] = clock.seconds - t1
    bound_at_centers = outcome.bound_at_centers
    if outcome.lower_bound is None and want_bound:
        t2 = clock.seconds
        lower, at_centers = _free_center_bounds(problem, outcome, solvers.Run(clock=clock))
        outcome = replace(outcome, lower_bound=lower)
        bound_at_centers = at_centers if at_centers is not None else bound_at_centers
        timings["bound"] = clock.seconds - t2
    t3 = clock.seconds
    result = _result(
        problem,
        outcome,
        seed=seed,
        seconds=clock.seconds - t0,
        strict=strict,
        solver=name,
        reason=reason,
        options=solvers.options_dict(instance.options),
        clock=clock,
        bound_at_centers=bound_at_centers,
    )
    timings["report"] = clock.seconds - t3
    object.__setattr__(result, "timings", timings)
    if progress is not None:
        progress(1.0, "done")
    return result


def _free_center_bounds(
    problem: DesignProblem, outcome: SolverOutcome, run: solvers.Run
) -> tuple[float | None, float | None]:
    """(valid lower bound, LP bound at the plan's centers) for free centers.

    The first bounds the design problem (the capacitated p-median Lagrangian); the
    second only the assignment given the centers the plan uses.
    """
    from territorial.design.bounds import fixed_center_bound, free_center_bound

    plan_costs = None
    if outcome.center_units is not None and problem.distance != "graph":
        from territorial.design import distances as dist

        a = np.asarray(outcome.assignment, dtype=np.int64)
        at = problem.coords[np.asarray(outcome.center_units)[a]]
        power = 2 if problem.objective == "inertia" else 1
        plan_costs = problem.weights * dist.point_distance(problem, problem.coords, at) ** power
    lower = free_center_bound(
        problem,
        upper=outcome.objective,
        time_limit=run.left() * FREE_BOUND_SHARE,
        plan_costs=plan_costs,
    )
    lower = lower if lower else None  # 0 is true but says nothing
    at_centers = None
    if outcome.center_units is not None and problem.distance != "graph":
        at_centers_problem = problem.with_changes(centers=problem.coords[outcome.center_units])
        at_centers = fixed_center_bound(at_centers_problem, time_limit=max(run.left(), 0.01))
    return lower, at_centers


def _result(
    problem: DesignProblem,
    outcome: SolverOutcome,
    *,
    seed: int,
    seconds: float,
    strict: bool,
    solver: str,
    reason: str,
    options: dict[str, Any],
    clock: solvers.Clock,
    bound_at_centers: float | None,
) -> DesignResult:
    a = np.asarray(outcome.assignment, dtype=np.int64)
    failures = metrics.Validator().failures(problem, a)
    deviations = metrics.balance_deviation(problem, a)
    if failures and strict:
        worst = float(np.abs(deviations).max()) if deviations.size else 0.0
        raise InfeasibleError(
            f"no plan meeting every constraint was found by solver {solver!r} "
            f"(best plan: worst balance deviation {worst:.2%}); "
            + "; ".join(failures)
            + ". Loosen the tolerance or limits, allow more moves, unlock units or give "
            "more time."
        )
    objective = (
        metrics.objective_value(problem, a, outcome.center_units)
        if problem.objective != "diameter" or outcome.objective is None
        else outcome.objective
    )
    lower = outcome.lower_bound
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
        solver=solver,
        solver_reason=reason,
        solver_options=options,
        fallbacks=outcome.fallbacks,
        work=clock.work,
        work_limit=clock.work_limit,
        deterministic=clock.deterministic and not clock.capped,
        bound_at_centers=bound_at_centers,
        remote_moves=outcome.remote_moves,
    )


class TerritoryDesigner:
    """Estimator form of :func:`design`.

    Parameters are stored unchanged and validated when :meth:`fit` runs; results land
    in ``result_``, ``plan_``, ``objective_``, ``lower_bound_``, ``solver_``.
    """

    def __init__(
        self,
        *,
        solver: str = "auto",
        options: Any = None,
        method: Method | None = None,
        time_limit: float = 60.0,
        work_limit: float | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        strict: bool = True,
    ) -> None:
        self.solver = solver
        self.options = options
        self.method = method
        self.time_limit = time_limit
        self.work_limit = work_limit
        self.seed = seed
        self.progress = progress
        self.strict = strict

    def fit(self, problem: DesignProblem) -> TerritoryDesigner:
        self.result_ = design(
            problem,
            solver=self.solver,
            options=self.options,
            method=self.method,
            time_limit=self.time_limit,
            work_limit=self.work_limit,
            seed=self.seed,
            progress=self.progress,
            strict=self.strict,
        )
        self.plan_ = self.result_.plan
        self.objective_ = self.result_.objective
        self.lower_bound_ = self.result_.lower_bound
        self.solver_ = self.result_.solver
        return self


__all__ = ["DesignResult", "TerritoryDesigner", "design", "resolve_solver"]
