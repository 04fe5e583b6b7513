"""The one ranking of plans: feasibility, then the move budget, then violation, then cost.

Every place that keeps the better of two plans (the engine choosing between solver
runs, a solver between its starts, a search between its neighbours) compares
:class:`Rank` values; nothing else decides which plan wins.

Order (smaller is better), compared as a tuple:

1. ``infeasible``: a plan meeting every hard constraint beats one that does not;
2. ``over_budget``: moved units beyond ``max_moves`` (a hard limit the user set:
   among infeasible plans, one within the budget wins);
3. ``violation``: total excess of the territory totals beyond their balance band and
   limits, in means of the measures (0 for feasible plans);
4. ``cost``: the objective plus ``move_penalty`` per moved unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from territorial.design import metrics
from territorial.design.problem import DesignProblem, IntArray
from territorial.design.result import SolverOutcome

#: Band violation (in means) at or below which a search counts its plan as balanced:
#: floating-point noise of sums over many units, not a tolerance a user would see.
FEASIBLE = 1e-7


@dataclass(frozen=True, order=True, slots=True)
class Rank:
    """How good a plan is; compare with ``<`` (see the module docstring)."""

    infeasible: bool
    over_budget: int
    violation: float
    cost: float

    @classmethod
    def of(
        cls, violation: float, cost: float, *, over_budget: int = 0, broken: bool = False
    ) -> Rank:
        """A rank from a search's own numbers: ``violation`` in means; ``broken`` when a
        rule other than the band (locks, contiguity...) fails."""
        infeasible = broken or over_budget > 0 or violation > FEASIBLE
        return cls(infeasible, max(int(over_budget), 0), violation if infeasible else 0.0, cost)


def moved_units(problem: DesignProblem, assignment: IntArray) -> int:
    return int(metrics.moved_mask(problem, assignment).sum())


def rank(problem: DesignProblem, assignment: IntArray, objective: float) -> Rank:
    """The rank of a plan of ``problem`` with objective ``objective`` (measured here)."""
    a = np.asarray(assignment, dtype=np.int64)
    failures = metrics.Validator().failures(problem, a)
    moved = moved_units(problem, a)
    over = max(moved - problem.max_moves, 0) if problem.max_moves is not None else 0
    violation = (
        metrics.band_violation(problem, a)
        if not metrics.ALL_ASSIGNED.explain(problem, a)
        else np.inf
    )
    return Rank(
        bool(failures),
        over,
        float(violation) if failures else 0.0,
        float(objective) + float(problem.move_penalty) * moved,
    )


def outcome_rank(problem: DesignProblem, outcome: SolverOutcome) -> Rank:
    return rank(problem, outcome.assignment, outcome.objective)


def feasible(problem: DesignProblem, outcome: SolverOutcome) -> bool:
    """The outcome's plan meets every hard constraint of ``problem``."""
    return not metrics.Validator().failures(problem, outcome.assignment)


def best_of(problem: DesignProblem, *outcomes: SolverOutcome | None) -> SolverOutcome:
    """The best-ranked outcome, carrying the largest proven bound of them all.

    A bound above the best feasible plan's objective is floating noise of a tight bound
    and is clipped to it. ``proven_optimal`` survives only on the winner's own proof.
    """
    present = [o for o in outcomes if o is not None]
    if not present:
        raise ValueError("best_of needs at least one outcome")
    ranked = sorted(present, key=lambda o: outcome_rank(problem, o))
    best = ranked[0]
    bounds = [o.lower_bound for o in present if o.lower_bound is not None]
    bound = max(bounds) if bounds else None
    if bound is not None and not outcome_rank(problem, best).infeasible:
        bound = min(bound, best.objective)
    fallbacks = tuple(dict.fromkeys(f for o in present for f in o.fallbacks))
    return replace(best, lower_bound=bound, fallbacks=fallbacks)


__all__ = ["FEASIBLE", "Rank", "best_of", "feasible", "outcome_rank", "rank"]
