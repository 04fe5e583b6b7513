"""What a solver hands back to the engine (:class:`SolverOutcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class SolverOutcome:
    """One solver's answer for a :class:`~territorial.design.problem.DesignProblem`.

    Decisions (is the plan feasible, which of two plans is better) never read
    ``stats``: the engine measures the plan itself (:mod:`territorial.design.ranking`).

    Attributes
    ----------
    assignment:
        ``(n,)`` territory index of every unit (``0..k-1``; no ``-1``).
    objective:
        Objective value as the solver computed it, in the problem's objective unit
        (without disruption penalties).
    method:
        The path that produced the plan, e.g. ``"lagrangian+local-search"`` or
        ``"lp-rounding+local-search"`` (the solver's *name* is set by the engine).
    center_units:
        ``(k,)`` index of the unit serving as each territory's center, or ``None``
        when the problem has fixed centers (or the objective has no centers).
    lower_bound:
        A proven lower bound on the optimal objective of the same problem, or ``None``.
    proven_optimal:
        The solver proved ``assignment`` optimal (gap closed within its tolerance).
    fallbacks:
        Every fallback taken, each ``"step: named condition -> what ran instead"``
        (a time limit, an LP status...). Empty when the planned path ran through.
    timings:
        Seconds (wall clock) per phase, for the report.
    stats:
        Counters for the report (iterations, columns, nodes...).
    bound_at_centers:
        Free centers only: the fixed-center LP bound at the centers the plan uses (how
        close the assignment is to the best for those centers; not a bound on the
        design problem).
    remote_moves:
        Realignment: moved units whose new territory is not among their nearest.
    """

    assignment: npt.NDArray[np.int64]
    objective: float
    method: str
    center_units: npt.NDArray[np.int64] | None = None
    lower_bound: float | None = None
    proven_optimal: bool = False
    fallbacks: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    bound_at_centers: float | None = None
    remote_moves: int | None = None
