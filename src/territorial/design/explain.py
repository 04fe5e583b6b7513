"""Why each unit went where it went: one short reason per assignment.

A pure function of a design result (:func:`assignment_reasons`), written to PLAN.csv's
``reason`` column and to ``plan_assignments.reason``. In order of precedence:

* ``locked to T``: the unit was locked there;
* ``kept from the current plan``: realignment left it in its current territory;
* ``restricted by specialty|segment|allowed list to N territories; ...``: the unit could
  only go to some territories (the rest of the reason says which of those it got);
* ``nearest territory``: the closest centre (rep home or the territory's centre, as the
  crow flies, also when the design measured distances along the map's borders);
* ``k-th nearest; nearest T does not border it (territories in one piece)``: on a
  contiguous design, the nearest territory is not a neighbour;
* ``k-th nearest territory; nearest T is over on MEASURE by x% (balance)`` or
  ``...; nearest T is at its MEASURE limit (capacity)``: it was moved away from its
  nearest territory, which would otherwise be over its balance band or its limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from territorial.design.distances import distances_to_points
from territorial.design.metrics import Windows, territory_windows

if TYPE_CHECKING:
    from territorial.design.engine import DesignResult
    from territorial.design.problem import DesignProblem


def _ordinal(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def _why_not_nearest(result: DesignResult, windows: Windows, j: int, unit: int) -> str:
    """Why unit ``unit`` is not in its nearest territory ``j``: the measure on which ``j``
    (with the unit added) would be furthest beyond its window."""
    problem = result.problem
    if not windows.rows:
        return "compactness of the whole plan"
    with_unit = result.totals[j, list(windows.rows)] + problem.measures[unit, list(windows.rows)]
    scale = np.maximum(windows.mean[j], 1e-12)
    over = (with_unit - windows.hi[j]) / scale
    r = int(np.argmax(over))
    name = problem.measure_names[windows.rows[r]]
    tid = problem.territory_ids[j]
    if over[r] <= 0:
        return f"nearest {tid!r} kept for the plan's compactness and balance as a whole"
    if windows.balanced[r]:
        dev = with_unit[r] / scale[r] - 1.0
        return f"nearest {tid!r} would be {dev:+.1%} on {name} (balance)"
    return f"nearest {tid!r} would pass its {name} limit {windows.hi[j, r]:,.6g} (capacity)"


def _neighbour_territories(problem: DesignProblem, assignment: np.ndarray) -> list[set[int]]:
    """The territories each unit borders (its own included) on the adjacency graph."""
    out: list[set[int]] = [{int(t)} for t in assignment]
    if problem.edges is not None:
        for u, v in problem.edges:
            out[int(u)].add(int(assignment[v]))
            out[int(v)].add(int(assignment[u]))
    return out


def assignment_reasons(
    result: DesignResult, *, restricted: Mapping[str, np.ndarray] | None = None
) -> list[str]:
    """One reason per unit (in unit order) for the territory ``result`` gave it.

    ``restricted`` names why some units' territories were narrowed (``{"specialty":
    (n,) bool, "allowed": (n,) bool}``, from the store adapter); without it a narrowed
    unit is said to be restricted by the allowed list.
    """
    problem = result.problem
    n, k = problem.n_units, problem.n_territories
    a = np.asarray(result.assignment)
    tids = problem.territory_ids
    reasons = [""] * n
    # rank of the assigned territory among the centres by distance (1 = nearest)
    rank = np.zeros(n, dtype=np.int64)
    nearest = np.full(n, -1, dtype=np.int64)
    # centres: rep homes, the plan's centre units, else each territory's weighted centroid;
    # ranks are straight-line (great-circle) distances, also on graph-distance problems
    if problem.centers is not None:
        points = problem.centers
    elif result.center_units is not None:
        points = problem.coords[result.center_units]
    else:
        w = np.maximum(problem.weights, 0.0) + 1e-12
        mass = np.bincount(a, weights=w, minlength=k)
        points = (
            np.column_stack(
                [np.bincount(a, weights=w * problem.coords[:, c], minlength=k) for c in (0, 1)]
            )
            / np.maximum(mass, 1e-300)[:, None]
        )
    borders = _neighbour_territories(problem, a) if problem.contiguity else None
    allowed = np.ones((n, k), dtype=bool) if problem.allowed is None else problem.allowed
    if problem.segments is not None and problem.territory_segments is not None:
        allowed = allowed & (problem.segments[:, None] == problem.territory_segments[None, :])
    if len(points):
        units = np.arange(n)
        for sl, block in distances_to_points(problem, units, points):
            own = block[np.arange(block.shape[0]), a[sl]]
            masked = np.where(allowed[sl], block, np.inf)
            rank[sl] = (masked < own[:, None]).sum(axis=1) + 1
            nearest[sl] = np.argmin(masked, axis=1)
    kinds = dict(restricted or {})
    windows = territory_windows(problem)
    for i in range(n):
        j = int(a[i])
        if problem.locked is not None and problem.locked[i] >= 0:
            reasons[i] = f"locked to {tids[j]!r}"
            continue
        if problem.current is not None and problem.current[i] == j:
            reasons[i] = "kept from the current plan"
            continue
        parts = []
        narrowed = int(allowed[i].sum())
        if narrowed < k:
            why = next((name for name, mask in kinds.items() if mask[i]), None)
            if why is None:
                why = (
                    "segment"
                    if problem.segments is not None and problem.allowed is None
                    else "allowed list"
                )
            parts.append(f"restricted by {why} to {narrowed} territories")
        if rank[i] <= 1:
            parts.append("nearest territory" if narrowed == k else "nearest of those")
        elif borders is not None and int(nearest[i]) not in borders[i]:
            parts.append(
                f"{_ordinal(int(rank[i]))} nearest; nearest {tids[int(nearest[i])]!r} does "
                "not border it (territories in one piece)"
            )
        else:
            parts.append(
                f"{_ordinal(int(rank[i]))} nearest; "
                + _why_not_nearest(result, windows, int(nearest[i]), i)
            )
        if problem.current is not None and problem.current[i] >= 0:
            parts.append(f"moved from {tids[int(problem.current[i])]!r}")
        reasons[i] = "; ".join(parts)
    return reasons


__all__ = ["assignment_reasons"]
