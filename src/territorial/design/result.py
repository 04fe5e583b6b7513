"""What a solver hands back to the engine (``SolverOutcome``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class SolverOutcome:
    """One solver's answer for a :class:`~territorial.design.problem.DesignProblem`.

    Attributes
    ----------
    assignment:
        ``(n,)`` territory index of every unit (``0..k-1``; no ``-1``).
    center_units:
        ``(k,)`` index of the unit serving as each territory's center, or ``None``
        when the problem has fixed centers (or the objective has no centers).
    objective:
        Objective value as the solver computed it, in the problem's objective unit
        (without disruption penalties).
    lower_bound:
        A proven lower bound on the optimal objective of the same problem, or ``None``.
    proven_optimal:
        The solver proved ``assignment`` optimal (gap closed within its tolerance).
    method:
        Short name of what produced the plan, e.g. ``"lagrangian+local-search"`` or
        ``"mip-hess-cbc"``.
    stats:
        Free-form counters for the report (iterations, moves tried, nodes...).
    """

    assignment: npt.NDArray[np.int64]
    objective: float
    method: str
    center_units: npt.NDArray[np.int64] | None = None
    lower_bound: float | None = None
    proven_optimal: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
