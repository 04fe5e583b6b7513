"""Territory design: balanced, compact (and contiguous) territories from basic units.

Public API (stable for the CLI, the web workspace and notebooks)::

    from territorial.design import DesignProblem, Balance, design, problem_from_frames
    result = design(problem, time_limit=60, seed=0)
    result.plan, result.objective, result.lower_bound, result.to_report_dict()
"""

from territorial.design.engine import DesignResult, TerritoryDesigner, design
from territorial.design.plan import Plan, moved_units
from territorial.design.problem import (
    Balance,
    DesignProblem,
    Limit,
    balance_bounds,
    parse_balance,
)
from territorial.design.result import SolverOutcome


def __getattr__(name: str) -> object:
    # adapters pull in pandas; load them on first use
    if name in ("problem_from_frames", "problem_from_store"):
        from territorial.design import adapters

        return getattr(adapters, name)
    raise AttributeError(name)


__all__ = [
    "Balance",
    "DesignProblem",
    "DesignResult",
    "Limit",
    "Plan",
    "SolverOutcome",
    "TerritoryDesigner",
    "balance_bounds",
    "design",
    "moved_units",
    "parse_balance",
    "problem_from_frames",
    "problem_from_store",
]
