"""Metrics of a plan: pure functions of ``(problem, assignment[, centers])``.

Nothing here changes its inputs or keeps state. Constraint checks at the bottom
combine and name themselves when they fail (GerryChain's ``Validator`` style).

Formulas (``x_i`` territory of unit ``i``, ``w_i`` weight, ``a_im`` measure ``m``):

* total ``T_jm = sum_{i: x_i = j} a_im``;
* target ``mu_jm = sum_{i in seg(j)} a_im / k_seg(j)`` (the mean over the territory's segment);
* deviation ``dev_jm = T_jm / mu_jm - 1`` (fraction; 0.05 is 5% above the mean);
* inertia ``sum_i w_i d(i, c_{x_i})^2``; median ``sum_i w_i d(i, c_{x_i})``; diameter
  ``max_j max_{i, i' in j} d(i, i')``. The center ``c_j`` is the fixed center when the
  problem has them, else the territory's best unit (weighted 1-median, "medoid").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, cKDTree

from territorial.design import distances as dist
from territorial.design.problem import DesignProblem, FloatArray, IntArray

#: Territories up to this many units get an exact medoid (all pairs); larger ones
#: evaluate the units nearest to the weighted mean (exact for Euclidean inertia).
EXACT_MEDOID_LIMIT = 1500


# --- balance --------------------------------------------------------------------------
def territory_totals(problem: DesignProblem, assignment: IntArray) -> FloatArray:
    """``(k, m)`` total of every measure per territory."""
    k = problem.n_territories
    out = np.zeros((k, problem.measures.shape[1]))
    np.add.at(out, np.asarray(assignment), problem.measures)
    return out


def territory_targets(problem: DesignProblem) -> FloatArray:
    """``(k, len(balance))`` mean total per territory of each balanced measure.

    With segments the mean is taken within the territory's segment.
    """
    return _segment_means(problem, list(problem.balance_index))


@dataclass(frozen=True)
class Windows:
    """Every territory's allowed window on each constrained measure.

    ``rows`` are measure indices: the balanced measures (``balance`` order), then the
    measures with a :class:`~territorial.design.problem.Limit` but no balance. ``lo``,
    ``hi`` and ``mean`` are ``(k, len(rows))`` in the measure's own unit: the balance band
    around the territory's segment mean intersected with its limits (``hi`` is
    ``inf`` and ``lo`` 0 where nothing constrains that side); ``mean`` is the mean
    total per territory of the territory's segment. ``balanced[r]`` says row ``r`` has a
    balance band (else it only has limits).
    """

    rows: tuple[int, ...]
    lo: FloatArray
    hi: FloatArray
    mean: FloatArray
    balanced: np.ndarray


def territory_windows(problem: DesignProblem) -> Windows:
    """The window of every territory on every balanced or limited measure (see :class:`Windows`)."""
    k = problem.n_territories
    balanced = list(problem.balance_index)
    limited = [problem.measure_names.index(lim.measure) for lim in problem.limits]
    rows = balanced + [c for c in limited if c not in balanced]
    lo = np.zeros((k, len(rows)))
    hi = np.full((k, len(rows)), np.inf)
    mean = _segment_means(problem, rows)
    tol = np.array([b.tolerance for b in problem.balance])
    nb = len(balanced)
    lo[:, :nb] = mean[:, :nb] * (1.0 - tol)
    hi[:, :nb] = mean[:, :nb] * (1.0 + tol)
    lower, upper = problem.limit_arrays()
    for r, c in enumerate(rows):
        lo[:, r] = np.fmax(lo[:, r], lower[:, c])
        hi[:, r] = np.fmin(hi[:, r], upper[:, c])
    flags = np.zeros(len(rows), dtype=bool)
    flags[:nb] = True
    return Windows(tuple(rows), lo, hi, mean, flags)


def _segment_means(problem: DesignProblem, rows: Sequence[int]) -> FloatArray:
    """``(k, len(rows))`` mean total per territory of its segment, per measure."""
    k = problem.n_territories
    cols = problem.measures[:, list(rows)]
    if problem.segments is None or problem.territory_segments is None:
        return np.broadcast_to(cols.sum(axis=0) / k, (k, len(rows))).copy()
    out = np.zeros((k, len(rows)))
    for s in np.unique(problem.territory_segments):
        tmask = problem.territory_segments == s
        out[tmask] = cols[problem.segments == s].sum(axis=0) / tmask.sum()
    return out


def band_violation(problem: DesignProblem, assignment: IntArray) -> float:
    """Total excess of the territory totals beyond their windows, in means (0: all inside).

    Sums, over territories and balanced or limited measures, how far the total lies
    outside its window (:func:`territory_windows`) divided by the measure's mean total
    per territory.
    """
    win = territory_windows(problem)
    if not win.rows:
        return 0.0
    totals = territory_totals(problem, assignment)[:, list(win.rows)]
    excess = np.maximum(totals - win.hi, 0.0) + np.maximum(win.lo - totals, 0.0)
    scale = np.where(win.mean > 0, win.mean, 1.0)
    return float((excess / scale).sum())


def balance_deviation(problem: DesignProblem, assignment: IntArray) -> FloatArray:
    """``(k, len(balance))`` deviation of each territory's total from its target, as a fraction."""
    idx = list(problem.balance_index)
    totals = territory_totals(problem, assignment)[:, idx]
    targets = territory_targets(problem)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(targets > 0, totals / targets - 1.0, 0.0)
    return dev


def worst_deviation(problem: DesignProblem, assignment: IntArray) -> float:
    """Largest absolute deviation over territories and balanced measures (fraction)."""
    if not problem.balance:
        return 0.0
    return float(np.abs(balance_deviation(problem, assignment)).max())


def coefficient_of_variation(problem: DesignProblem, assignment: IntArray) -> FloatArray:
    """``(m,)`` standard deviation / mean of the territory totals of every measure."""
    totals = territory_totals(problem, assignment)
    mean = totals.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, totals.std(axis=0) / mean, 0.0)


# --- compactness ----------------------------------------------------------------------
def _power(problem: DesignProblem) -> int:
    return 2 if problem.objective == "inertia" else 1


def _member_cost_dense(problem: DesignProblem, members: IntArray, power: int) -> FloatArray:
    """Cost of serving ``members`` from each of them: ``(len(members),)``."""
    w = problem.weights[members]
    cost = np.zeros(len(members))
    for sl, block in dist.distances_to_points(problem, members, problem.coords[members]):
        cost += (w[sl, None] * block**power).sum(axis=0)
    return cost


def territory_medoid(
    problem: DesignProblem,
    members: IntArray,
    *,
    exact_limit: int = EXACT_MEDOID_LIMIT,
    candidates: int = 32,
    graph: object | None = None,
) -> int:
    """The unit of ``members`` that minimises the weighted inertia/median to it.

    Exact for territories up to ``exact_limit`` units. Larger territories evaluate
    exactly the ``candidates`` units nearest to the weighted mean (for the median
    objective, nearest to the Weiszfeld point): exact for Euclidean inertia, a close
    approximation otherwise.
    """
    power = _power(problem)
    members = np.asarray(members, dtype=np.int64)
    if len(members) == 1:
        return int(members[0])
    w = problem.weights[members]
    if w.sum() <= 0:
        w = np.ones(len(members))
    if problem.distance == "graph":
        pts = problem.coords[members]
        mean = (pts * w[:, None]).sum(axis=0) / w.sum()
        order = np.argsort(((pts - mean) ** 2).sum(axis=1))[: min(len(members), 16)]
        cand = members[order]
        d = dist.graph_distances_from(problem, cand, graph)[:, members]
        cost = (w[None, :] * d**power).sum(axis=1)
        return int(cand[int(np.argmin(cost))])
    if len(members) <= exact_limit:
        cost = _member_cost_dense(problem, members, power)
        return int(members[int(np.argmin(cost))])
    pts = dist.embed(problem, problem.coords[members])
    center = (pts * w[:, None]).sum(axis=0) / w.sum()
    if power == 1:  # a few Weiszfeld steps towards the geometric median
        for _ in range(20):
            d = np.sqrt(((pts - center) ** 2).sum(axis=1)) + 1e-12
            center = (pts * (w / d)[:, None]).sum(axis=0) / (w / d).sum()
    _, order = cKDTree(pts).query(center, k=min(candidates, len(members)))
    cand = members[np.atleast_1d(order)]
    cost = np.zeros(len(cand))
    for sl, block in dist.distances_to_points(problem, members, problem.coords[cand]):
        cost += (w[sl, None] * block**power).sum(axis=0)
    return int(cand[int(np.argmin(cost))])


def best_center_units(
    problem: DesignProblem, assignment: IntArray, *, exact_limit: int = EXACT_MEDOID_LIMIT
) -> IntArray:
    """``(k,)`` medoid unit of every territory (``-1`` for an empty territory)."""
    graph = dist.graph_matrix(problem) if problem.distance == "graph" else None
    out = np.full(problem.n_territories, -1, dtype=np.int64)
    order = np.argsort(assignment, kind="stable")
    bounds = np.searchsorted(assignment[order], np.arange(problem.n_territories + 1))
    for j in range(problem.n_territories):
        members = order[bounds[j] : bounds[j + 1]]
        if len(members):
            out[j] = territory_medoid(problem, members, exact_limit=exact_limit, graph=graph)
    return out


def territory_diameters(problem: DesignProblem, assignment: IntArray) -> FloatArray:
    """``(k,)`` largest distance between two units of each territory (0 for one unit)."""
    k = problem.n_territories
    out = np.zeros(k)
    graph = dist.graph_matrix(problem) if problem.distance == "graph" else None
    for j in range(k):
        members = np.flatnonzero(assignment == j)
        if len(members) < 2:
            continue
        if problem.distance == "graph":
            d = dist.graph_distances_from(problem, members, graph)[:, members]
            out[j] = float(d.max())
            continue
        if problem.coord_kind == "xy" and len(members) > 3:
            # the farthest pair of a planar set lies on its convex hull; collinear points
            # make qhull fail, and then all pairs are compared
            with contextlib.suppress(Exception):
                members = members[ConvexHull(problem.coords[members]).vertices]
        best = 0.0
        for _, block in dist.distances_to_points(problem, members, problem.coords[members]):
            best = max(best, float(block.max()))
        out[j] = best
    return out


def objective_value(
    problem: DesignProblem,
    assignment: IntArray,
    center_units: IntArray | None = None,
) -> float:
    """Objective of a plan in ``problem.objective_unit``.

    For inertia/median the centers are the fixed centers, else ``center_units``
    when given, else each territory's medoid (:func:`best_center_units`).
    """
    assignment = np.asarray(assignment, dtype=np.int64)
    if problem.objective == "diameter":
        return float(territory_diameters(problem, assignment).max())
    if problem.centers is None and center_units is None:
        center_units = best_center_units(problem, assignment)
    d = dist.unit_to_center_distance(problem, assignment, center_units=center_units)
    return float((problem.weights * d ** _power(problem)).sum())


# --- contiguity -----------------------------------------------------------------------
def territory_contiguity(problem: DesignProblem, assignment: IntArray) -> np.ndarray | None:
    """``(k,)`` True where a territory is connected in the adjacency graph; None without edges.

    A territory's units are connected when the subgraph induced by them has one
    connected component (``scipy.sparse.csgraph.connected_components``). An empty
    territory counts as contiguous.
    """
    if problem.edges is None:
        return None
    n = problem.n_units
    e = problem.edges
    a = np.asarray(assignment)
    inside = a[e[:, 0]] == a[e[:, 1]]
    ee = e[inside]
    g = coo_matrix((np.ones(len(ee)), (ee[:, 0], ee[:, 1])), shape=(n, n)).tocsr()
    _, labels = connected_components(g, directed=False)
    pairs = np.unique(np.column_stack([a, labels]), axis=0)
    pieces = np.bincount(pairs[:, 0], minlength=problem.n_territories)
    return pieces <= 1


# --- disruption -----------------------------------------------------------------------
def moved_mask(problem: DesignProblem, assignment: IntArray) -> np.ndarray:
    """``(n,)`` True for units whose territory differs from the current plan (not new ones)."""
    if problem.current is None:
        return np.zeros(problem.n_units, dtype=bool)
    cur = problem.current
    return (cur >= 0) & (np.asarray(assignment) != cur)


def moved_summary(problem: DesignProblem, assignment: IntArray) -> dict[str, float]:
    """Units moved and the total of every measure they carry: ``{"units": .., measure: ..}``."""
    mask = moved_mask(problem, assignment)
    out: dict[str, float] = {"units": float(mask.sum())}
    moved_totals = problem.measures[mask].sum(axis=0)
    for name, value in zip(problem.measure_names, moved_totals, strict=True):
        out[name] = float(value)
    return out


# --- constraints ----------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    """A named check of a plan; ``explain`` says what is wrong (``None`` when it holds)."""

    name: str
    explain: Callable[[DesignProblem, IntArray], str | None]

    def __call__(self, problem: DesignProblem, assignment: IntArray) -> bool:
        return self.explain(problem, assignment) is None


def _all_assigned(problem: DesignProblem, a: IntArray) -> str | None:
    a = np.asarray(a)
    if a.shape != (problem.n_units,):
        return f"assignment has shape {a.shape}, expected ({problem.n_units},)"
    bad = np.flatnonzero((a < 0) | (a >= problem.n_territories))
    if bad.size:
        return f"{bad.size} units have no territory, e.g. {str(problem.unit_ids[bad[0]])!r}"
    return None


def _within_balance(problem: DesignProblem, a: IntArray, slack: float = 1e-9) -> str | None:
    if not problem.balance:
        return None
    dev = balance_deviation(problem, a)
    tol = np.array([b.tolerance for b in problem.balance])
    over = np.abs(dev) - tol[None, :]
    if (over <= slack).all():
        return None
    j, m = np.unravel_index(int(np.argmax(over)), over.shape)
    nbad = int((over > slack).any(axis=1).sum())
    return (
        f"{nbad} territories out of balance; worst: {problem.territory_ids[j]!r} "
        f"{problem.balance[m].measure} is {dev[j, m]:+.2%} of the mean "
        f"(allowed ±{tol[m]:.2%})"
    )


def _within_limits(problem: DesignProblem, a: IntArray, slack: float = 1e-9) -> str | None:
    if not problem.limits:
        return None
    totals = territory_totals(problem, a)
    lower, upper = problem.limit_arrays()
    # excess beyond each limit, relative to the limit (so measures of any size compare)
    with np.errstate(invalid="ignore"):
        over = np.where(np.isnan(upper), 0.0, totals - upper)
        under = np.where(np.isnan(lower), 0.0, lower - totals)
        tol = slack * np.maximum(np.nan_to_num(np.fmax(upper, lower), nan=1.0), 1.0)
    bad_over = over > tol
    bad_under = under > tol
    if not (bad_over.any() or bad_under.any()):
        return None
    nbad = int((bad_over | bad_under).any(axis=1).sum())
    ratio = np.where(bad_over, over, 0.0) + np.where(bad_under, under, 0.0)
    j, c = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    name = problem.measure_names[c]
    if bad_over[j, c]:
        worst = f"{name} {totals[j, c]:,.6g} above its maximum {upper[j, c]:,.6g}"
    else:
        worst = f"{name} {totals[j, c]:,.6g} below its minimum {lower[j, c]:,.6g}"
    return f"{nbad} territories outside their limits; worst: {problem.territory_ids[j]!r} {worst}"


def _locked_respected(problem: DesignProblem, a: IntArray) -> str | None:
    if problem.locked is None:
        return None
    li = np.flatnonzero(problem.locked >= 0)
    bad = li[np.asarray(a)[li] != problem.locked[li]]
    if bad.size:
        return f"{bad.size} locked units moved, e.g. {str(problem.unit_ids[bad[0]])!r}"
    return None


def _allowed_respected(problem: DesignProblem, a: IntArray) -> str | None:
    if problem.allowed is None:
        return None
    bad = np.flatnonzero(~problem.allowed[np.arange(problem.n_units), np.asarray(a)])
    if bad.size:
        example = str(problem.unit_ids[bad[0]])
        return f"{bad.size} units in a territory they are not allowed in, e.g. {example!r}"
    return None


def _segments_respected(problem: DesignProblem, a: IntArray) -> str | None:
    if problem.segments is None or problem.territory_segments is None:
        return None
    bad = np.flatnonzero(problem.territory_segments[np.asarray(a)] != problem.segments)
    if bad.size:
        example = str(problem.unit_ids[bad[0]])
        return f"{bad.size} units in a territory of another segment, e.g. {example!r}"
    return None


def _max_moves_respected(problem: DesignProblem, a: IntArray) -> str | None:
    if problem.max_moves is None:
        return None
    moved = int(moved_mask(problem, a).sum())
    if moved > problem.max_moves:
        return f"{moved} units moved, more than the {problem.max_moves} allowed"
    return None


def _contiguous(problem: DesignProblem, a: IntArray) -> str | None:
    if not problem.contiguity:
        return None
    flags = territory_contiguity(problem, a)
    assert flags is not None
    if flags.all():
        return None
    bad = np.flatnonzero(~flags)
    return f"{bad.size} territories are not contiguous, e.g. {problem.territory_ids[bad[0]]!r}"


ALL_ASSIGNED = Constraint("all_assigned", _all_assigned)
WITHIN_BALANCE = Constraint("within_balance", _within_balance)
WITHIN_LIMITS = Constraint("within_limits", _within_limits)
LOCKED_RESPECTED = Constraint("locked_respected", _locked_respected)
ALLOWED_RESPECTED = Constraint("allowed_respected", _allowed_respected)
SEGMENTS_RESPECTED = Constraint("segments_respected", _segments_respected)
MAX_MOVES_RESPECTED = Constraint("max_moves_respected", _max_moves_respected)
CONTIGUOUS = Constraint("contiguous", _contiguous)

#: Every hard constraint of a :class:`DesignProblem`, in the order they are checked.
HARD_CONSTRAINTS: tuple[Constraint, ...] = (
    ALL_ASSIGNED,
    LOCKED_RESPECTED,
    ALLOWED_RESPECTED,
    SEGMENTS_RESPECTED,
    MAX_MOVES_RESPECTED,
    WITHIN_BALANCE,
    WITHIN_LIMITS,
    CONTIGUOUS,
)


class Validator:
    """All of ``constraints`` together; :meth:`failures` names the ones that fail and why."""

    def __init__(self, constraints: Sequence[Constraint] = HARD_CONSTRAINTS) -> None:
        self.constraints = tuple(constraints)

    def failures(self, problem: DesignProblem, assignment: IntArray) -> list[str]:
        """``"name: explanation"`` for every failing constraint (empty when all hold)."""
        out = []
        for c in self.constraints:
            why = c.explain(problem, assignment)
            if why is not None:
                out.append(f"{c.name}: {why}")
                if c is ALL_ASSIGNED:
                    break  # the other checks cannot run on a broken assignment
        return out

    def __call__(self, problem: DesignProblem, assignment: IntArray) -> bool:
        return not self.failures(problem, assignment)
