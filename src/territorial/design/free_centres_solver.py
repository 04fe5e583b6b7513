"""The ``free-centres`` solver: :mod:`territorial.design.free_centres` for a design problem.

Builds the arrays from a :class:`~territorial.design.problem.DesignProblem` (points in
the KD-tree's embedding, weights, the per-territory lower/upper limits from the balance
bands and the absolute limits combined) and hands back a
:class:`~territorial.design.result.SolverOutcome` with the Lagrangian lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from territorial.design import distances as dist
from territorial.design.free_centres import FreeCentreOptions, solve_free_centres
from territorial.design.problem import DesignProblem, FloatArray, balance_bounds
from territorial.design.result import SolverOutcome
from territorial.design.solvers import Run, Solver, register


@dataclass(frozen=True, slots=True)
class FreeCentresOptions:
    """Options of the ``free-centres`` solver (see :class:`FreeCentreOptions`).

    ``max_list_entries`` caps the candidate lists (units x nearest units): beyond it
    ``auto`` leaves the problem to the balanced heuristic (the lists would not fit).
    ``group_size``, ``group_time`` and ``group_nearest`` shape the group MIPs of the
    improvement phase; ``knapsack_work`` and ``final_knapsack_work`` say when the bound
    uses 0-1 knapsacks (every iteration, or once at the best multipliers).
    ``swap_candidates``, ``swap_work`` and ``swap_share`` shape the centre swap search (0
    candidates turns it off).
    """

    iterations: int = 3000
    list_factor: float = 3.0
    min_list: int = 24
    territory_candidates: int = 10
    neighbours: int = 16
    exact_pairs: int = 60_000
    exact_share: float = 0.5
    group_size: int = 3
    group_time: float = 0.5
    group_compact: float = 0.5
    group_grow: int = 1
    group_kicks: int = 10
    group_nearest: int = 40
    swap_candidates: int = 1500
    swap_work: float = 5e7
    swap_share: float = 0.8
    knapsack_work: float = 2e7
    final_knapsack_work: float = 2e9
    max_list_entries: int = 12_000_000

    def __post_init__(self) -> None:
        if self.group_size < 1:
            raise ValueError(f"group_size must be at least 1, got {self.group_size}")
        if not self.group_time > 0:
            raise ValueError(f"group_time must be positive (seconds), got {self.group_time}")
        if not 0.0 <= self.swap_share <= 1.0:
            raise ValueError(f"swap_share must be a share in [0, 1], got {self.swap_share}")
        if not 0.0 <= self.group_compact <= 1.0:
            raise ValueError(f"group_compact must be a share in [0, 1], got {self.group_compact}")
        for name in ("group_grow", "group_kicks"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")
        if self.group_nearest < 1:
            raise ValueError(f"group_nearest must be at least 1, got {self.group_nearest}")
        for name in ("swap_candidates", "swap_work", "knapsack_work", "final_knapsack_work"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")


def problem_limits(problem: DesignProblem) -> tuple[FloatArray, FloatArray] | str:
    """``(m,)`` lower and upper limits on every territory's totals, or why there are none.

    Balance bands (``mean x (1 -+ tol)``) and absolute limits combine (the tighter side
    wins). Free centres make territories interchangeable, so the limits must be the
    same for every territory.
    """
    m = len(problem.measure_names)
    lower = np.full(m, -np.inf)
    upper = np.full(m, np.inf)
    if problem.balance:
        lo, up = balance_bounds(problem)
        for c, b_lo, b_up in zip(problem.balance_index, lo, up, strict=True):
            lower[c] = max(lower[c], b_lo)
            upper[c] = min(upper[c], b_up)
    if problem.limits:
        lim_lo, lim_up = problem.limit_arrays()
        for arr, side in ((lim_lo, "lower"), (lim_up, "upper")):
            for c in range(m):
                col = arr[:, c]
                if np.isnan(col).all():
                    continue
                if np.isnan(col).any() or not np.allclose(col, col[0]):
                    return (
                        f"the {side} limit on {problem.measure_names[c]!r} differs between "
                        "territories (free centres need the same limits for every territory)"
                    )
                if side == "lower":
                    lower[c] = max(lower[c], float(col[0]))
                else:
                    upper[c] = min(upper[c], float(col[0]))
    return lower, upper


def list_length(problem: DesignProblem, options: FreeCentresOptions) -> int:
    n, k = problem.n_units, problem.n_territories
    return int(min(n, max(options.min_list, math.ceil(options.list_factor * n / k))))


@register
class FreeCentresSolver(Solver[FreeCentresOptions]):
    """Capacitated p-median Lagrangian with plans from the dual and exact (MIP) polishing."""

    name = "free-centres"
    summary = (
        "free centres (each territory's centre is its best unit): Lagrangian bound of the "
        "capacitated p-median, plans from the dual with exact pair re-optimisation, then "
        "the exact model after reduced-cost fixing or group MIPs (HiGHS)"
    )
    options_type = FreeCentresOptions
    auto_priority = 20

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        if problem.centers is not None:
            return "the centres are given (fixed centres)"
        if problem.objective not in ("inertia", "median"):
            return f"it minimises inertia or median, not {problem.objective}"
        if problem.contiguity:
            return "it does not keep territories contiguous (use contiguous)"
        if problem.distance == "graph":
            return "it needs geometric distances, not graph distances"
        for name in ("current", "locked", "allowed", "segments"):
            if getattr(problem, name) is not None:
                return f"it does not handle {name} units (use heuristic)"
        limits = problem_limits(problem)
        if isinstance(limits, str):
            return limits
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        n, k = problem.n_units, problem.n_territories
        entries = n * list_length(problem, FreeCentresOptions())
        if entries > FreeCentresOptions().max_list_entries:
            return None
        return (
            f"free centres, {problem.objective}, {n:,} units x {k} territories "
            f"({entries:,} candidate pairs): the capacitated p-median Lagrangian gives a "
            "valid bound and its exact model can prove the optimum"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        limits = problem_limits(problem)
        assert not isinstance(limits, str)
        lower, upper = limits
        limited = np.flatnonzero(np.isfinite(lower) | np.isfinite(upper))
        o = self.options
        opts = FreeCentreOptions(
            time_limit=max(run.left(), 0.05),  # clock units: work units in deterministic mode
            iterations=o.iterations,
            list_factor=o.list_factor,
            min_list=o.min_list,
            territory_candidates=o.territory_candidates,
            neighbours=o.neighbours,
            exact_pairs=o.exact_pairs,
            exact_share=o.exact_share,
            group_size=o.group_size,
            group_time=o.group_time,
            group_compact=o.group_compact,
            group_grow=o.group_grow,
            group_kicks=o.group_kicks,
            group_nearest=o.group_nearest,
            swap_candidates=o.swap_candidates,
            swap_work=o.swap_work,
            swap_share=o.swap_share,
            knapsack_work=o.knapsack_work,
            final_knapsack_work=o.final_knapsack_work,
            seed=run.seed,
        )
        latlon = problem.coord_kind == "latlon"
        res = solve_free_centres(
            dist.embed(problem),
            p=problem.n_territories,
            weights=problem.weights,
            power=2 if problem.objective == "inertia" else 1,
            radius=dist.EARTH_RADIUS_MI if latlon else 0.0,
            loads=problem.measures[:, limited],
            lower=lower[limited],
            upper=upper[limited],
            options=opts,
        )
        stats = dict(res.stats)
        timings = {"total": float(stats.pop("seconds", 0.0))}
        if "bound_seconds" in stats:
            timings["bound"] = float(stats.pop("bound_seconds"))
        return SolverOutcome(
            assignment=res.assignment,
            objective=res.objective,
            method="lagrangian+pair-dp+mip" if res.proven_optimal else "lagrangian+pair-dp+lns",
            center_units=res.centres,
            lower_bound=res.lower_bound if res.feasible else None,
            proven_optimal=res.proven_optimal,
            timings=timings,
            stats=stats,
        )


__all__ = ["FreeCentresOptions", "FreeCentresSolver", "problem_limits"]
