"""Fixed-center design through column generation: the LP bound and an LP-rounded plan.

With fixed centers (rep homes), no contiguity and an inertia/median objective, design
is a generalised assignment problem with two-sided balance rows::

    min sum_ij c_ij x_ij   s.t.  sum_j x_ij = 1,   lo_m <= sum_i a_im x_ij <= up_m,   x >= 0.

Its LP relaxation has ``n k`` columns (20 million at 100k accounts and 200 homes), far
too many to hand to an LP solver, but at the optimum almost every unit sits wholly in
one territory. The LP is solved by column generation in two levels:

1. **Groups.** Units are cut into compact groups of ~:data:`GROUP_SIZE` by recursive
   coordinate bisection on their balanced load. A group's cost to a territory is its
   weight times the distance from its centroid (for squared distances the spread inside
   the group adds the same constant to every territory, so it does not change the
   solution). The group LP starts from each group's nearest territories and the groups
   nearest each territory, and prices **every** territory each round until no column has
   a negative reduced cost. Its balance-row duals are the first multipliers.
2. **Units.** Every unit gets the columns its group uses in the group LP's solution
   (so the restricted LP is feasible: the group solution is one of its points) and its
   best territory under the multipliers. The restricted LP (HiGHS, ``scipy.optimize
   .linprog``; units with one column leave in presolve) gives new duals; an **exact scan
   of every unit against every allowed territory** (:func:`dual_bound`, numba) prices the
   columns, and units with a negative reduced cost get their best column. When none is
   left the restricted LP's optimum is the full LP's.
3. **Bound.** The dual function ``g(lam) = sum_i min_j (c_ij + lam_j . a_i) - sum_jm
   (lam+ up - lam- lo)`` at the balance-row duals, from the same exact scan with the true
   band ``1 +- t_m``, is a valid lower bound for any ``lam`` (weak duality); it never
   relies on the candidate restriction, and at the end of pricing it equals the LP.
4. **Plan.** A basic LP solution has at most ``2 k m`` fractional units: each goes to its
   largest share, then the balance repair and local search of
   :mod:`territorial.design.balanced` finish the plan. The heuristic runs in any time
   left and the better plan (and the larger bound) is kept.

Both LPs carry a slack per balance row: a restriction that cannot reach the band
first minimises its slack (phase 1, pricing the columns that bring load where it is
missing), then the true cost with the slack fixed at zero (phase 2).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from territorial.design import balanced
from territorial.design import distances as dist
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.design.solvers import Run, Solver, current_clock, register

log = logging.getLogger(__name__)

#: Share of the time limit the LP path takes (the heuristic gets the rest, if needed).
LP_SHARE = 0.85
#: An LP-path plan this close to the bound is returned without running the heuristic.
GOOD_GAP = 0.02
#: Column-generation rounds (each level).
PRICING_ROUNDS = 12
#: Stop pricing the unit LP once fewer than this share of units have a better column.
PRICING_STOP = 0.0002
#: ... or once the restricted LP (an upper value of the LP) is this close to the bound.
LP_GAP_STOP = 3e-4
#: Units per group in the group LP that gives the first multipliers.
GROUP_SIZE = 10
#: Largest dense group x territory matrix priced each round (entries).
MAX_GROUP_MATRIX = 40_000_000
#: New columns per group and pricing round.
GROUP_NEW = 3
#: The coarsest group level has at most this many columns (groups x territories).
DENSE_COLUMNS = 60_000
#: Each finer group level has this many times more groups.
LEVEL_FACTOR = 10


#: ``skip`` argument of :func:`_full_scan` that leaves no territory out.
NO_SKIP = np.zeros(0, dtype=np.int64)


@numba.njit(parallel=True, cache=True)
def _full_scan(unit_pts, center_pts, w, a, lam, power, sphere, radius, allowed, use_allowed,
               locked, skip, best_j, best_v):  # fmt: skip
    """``best_v[i] = min_j w_i d(i, j)^p + lam_j . a_i`` over every allowed territory.

    ``skip`` (empty, or a territory per unit, ``-1`` none) leaves one territory out.
    """
    n = unit_pts.shape[0]
    skipping = skip.shape[0] > 0
    k = center_pts.shape[0]
    mb = a.shape[1]
    dim = unit_pts.shape[1]
    for i in numba.prange(n):
        bv = np.inf
        bj = -1
        lo_j = 0
        hi_j = k
        if locked[i] >= 0:
            lo_j = locked[i]
            hi_j = locked[i] + 1
        for j in range(lo_j, hi_j):
            if use_allowed and locked[i] < 0 and not allowed[i, j]:
                continue
            if skipping and j == skip[i]:
                continue
            s = 0.0
            for q in range(dim):
                t = unit_pts[i, q] - center_pts[j, q]
                s += t * t
            d = np.sqrt(s)
            if sphere:
                d = 2.0 * radius * np.arcsin(min(d / 2.0, 1.0))
            c = w[i] * d if power == 1 else w[i] * d * d
            for m in range(mb):
                c += lam[j, m] * a[i, m]
            if c < bv:
                bv = c
                bj = j
        best_j[i] = bj
        best_v[i] = bv


def dual_bound(
    inst: balanced._Instance, cands: balanced._Candidates, lam: FloatArray
) -> tuple[float, IntArray, FloatArray]:
    """Exact dual value over all territories with the true band; (value, argmin, min)."""
    p = inst.problem
    n = p.n_units
    tol = np.array([b.tolerance for b in p.balance], dtype=np.float64)
    active = inst.up > 0  # measures with a positive mean
    lo = np.where(active, 1.0 - tol, 0.0)
    up = np.where(active, 1.0 + tol, 0.0)
    lam = np.where(active[None, :], lam, 0.0)
    best_j = np.empty(n, dtype=np.int64)
    best_v = np.empty(n)
    allowed = p.allowed if p.allowed is not None else np.ones((1, 1), dtype=bool)
    _full_scan(
        cands.unit_pts, cands.center_pts, cands.weights, inst.a, np.ascontiguousarray(lam),
        cands.power, cands.sphere, dist.EARTH_RADIUS_MI, np.ascontiguousarray(allowed),
        p.allowed is not None, inst.locked, NO_SKIP, best_j, best_v,
    )  # fmt: skip
    return balanced._dual_value(best_v, lam, lo, up), best_j, best_v


def _n_groups(problem: DesignProblem) -> int:
    n, k = problem.n_units, problem.n_territories
    return int(min(n, max(4 * k, n // GROUP_SIZE), MAX_GROUP_MATRIX // max(k, 1)))


def applicable(problem: DesignProblem) -> bool:
    """Fixed centers, inertia/median, geometric distances, no contiguity/segments/realign."""
    return (
        problem.centers is not None
        and problem.objective in ("inertia", "median")
        and not problem.contiguity
        and problem.distance != "graph"
        and problem.segments is None
        and problem.current is None
        and problem.max_moves is None
        and len(problem.balance) > 0
        and problem.n_territories > 1
    )


@dataclass
class _LPSolution:
    x: FloatArray  # per column
    lam: FloatArray  # (k, m) balance multipliers (upper minus lower duals)
    u: FloatArray  # per assignment row
    value: float  # restricted LP optimum (phase 1: the slack left)
    slack: float  # total elastic slack used


class _MasterLP:
    """A restricted master LP kept alive in HiGHS: columns are added, the basis is reused.

    Rows: one "columns sum to one" row per assignment row (units or groups), then one
    ranged balance row ``lo_m <= sum a_im x_ij <= up_m`` per territory and measure, each
    with two slack columns. **Phase 1** minimises the slack (every real column costs
    nothing) while pricing adds columns that restore feasibility; **phase 2** fixes the
    slack at zero and minimises the true cost (divided by ``scale``). No big-M price, so
    the duals of phase 2 are the LP's own.
    """

    def __init__(
        self,
        n_rows: int,
        inst: balanced._Instance,
        scale: float,
        *,
        feasible: bool = False,
        warm: bool = True,
        narrow: float = 0.0,
    ) -> None:
        """``feasible``: the first columns hold a solution (skip phase 1); ``warm``: re-solve
        by primal simplex from the last basis (else interior point every time); ``narrow``:
        the balance rows this share of the tolerance inside the band (see :meth:`narrow`).
        """
        import highspy

        self.k = inst.problem.n_territories
        self.mb = inst.a.shape[1]
        self.n_rows = n_rows
        self.scale = scale
        self.h = highspy.Highs()
        h = self.h
        h.setOptionValue("output_flag", False)
        # the first solve by interior point (+ crossover, for a basis), then warm simplex
        h.setOptionValue("solver", "ipm")
        nb = self.k * self.mb
        lower = np.concatenate([np.ones(n_rows), np.tile(inst.lo, self.k)])
        upper = np.concatenate([np.ones(n_rows), np.tile(inst.up, self.k)])
        h.addRows(
            n_rows + nb, lower, upper, 0, np.zeros(n_rows + nb, np.int32),
            np.zeros(0, np.int32), np.zeros(0),
        )  # fmt: skip
        idx = (n_rows + np.arange(nb)).astype(np.int32)
        for sign in (1.0, -1.0):
            h.addCols(
                nb, np.ones(nb), np.zeros(nb), np.full(nb, highspy.kHighsInf), nb,
                np.arange(nb, dtype=np.int32), idx, np.full(nb, sign),
            )  # fmt: skip
        self.n_slack = 2 * nb
        self.phase = 1
        self.warm = warm
        if narrow > 0:
            self.narrow(inst, narrow)
        self.row = np.zeros(0, dtype=np.int64)
        self.terr = np.zeros(0, dtype=np.int64)
        self.cost = np.zeros(0)
        if feasible:
            self.to_phase_two()

    def add(self, row: IntArray, terr: IntArray, cost: FloatArray, load: FloatArray) -> None:
        import highspy

        nc = len(row)
        if nc == 0:
            return
        per = 1 + self.mb
        index = np.empty((nc, per), dtype=np.int32)
        value = np.empty((nc, per))
        index[:, 0] = row
        value[:, 0] = 1.0
        for m in range(self.mb):
            index[:, 1 + m] = self.n_rows + terr * self.mb + m
            value[:, 1 + m] = load[:, m]
        scaled = cost / self.scale
        self.h.addCols(
            nc, scaled if self.phase == 2 else np.zeros(nc), np.zeros(nc),
            np.full(nc, highspy.kHighsInf), nc * per, (np.arange(nc) * per).astype(np.int32),
            index.ravel(), value.ravel(),
        )  # fmt: skip
        self.row = np.concatenate([self.row, row])
        self.terr = np.concatenate([self.terr, terr])
        self.cost = np.concatenate([self.cost, scaled])

    def to_phase_two(self) -> None:
        """Slack fixed at zero, true costs on every column."""
        ns, nc = self.n_slack, len(self.row)
        h = self.h
        h.changeColsBounds(ns, np.arange(ns, dtype=np.int32), np.zeros(ns), np.zeros(ns))
        h.changeColsCost(ns, np.arange(ns, dtype=np.int32), np.zeros(ns))
        h.changeColsCost(nc, np.arange(ns, ns + nc, dtype=np.int32), self.cost)
        self.phase = 2

    def to_phase_one(self) -> None:
        """Slack free at unit price, every real column free of cost."""
        import highspy

        ns, nc = self.n_slack, len(self.row)
        h = self.h
        h.changeColsBounds(
            ns, np.arange(ns, dtype=np.int32), np.zeros(ns), np.full(ns, highspy.kHighsInf)
        )
        h.changeColsCost(ns, np.arange(ns, dtype=np.int32), np.ones(ns))
        h.changeColsCost(nc, np.arange(ns, ns + nc, dtype=np.int32), np.zeros(nc))
        self.phase = 1

    def narrow(self, inst: balanced._Instance, share: float) -> None:
        """Balance rows ``share`` of the way in from the band (for a plan with room)."""
        nb = self.k * self.mb
        lo, up = (np.tile(b, self.k) for b in narrowed_band(inst, share))
        for r in range(nb):  # (no vector form for rows in highspy)
            self.h.changeRowBounds(self.n_rows + r, float(lo[r]), float(up[r]))

    def infeasible(self) -> bool:
        import highspy

        return bool(self.h.getModelStatus() == highspy.HighsModelStatus.kInfeasible)

    def solve(self, time_limit: float) -> _LPSolution | None:
        import highspy

        h = self.h
        clock = current_clock()
        clock.limit_highs(h, max(float(time_limit), 0.1))
        if not self.warm:
            # a fresh dual simplex after presolve (units with one column leave): on the
            # unit LP it beats both a warm primal simplex over every row and IPM+crossover
            h.clearSolver()
            h.setOptionValue("solver", "simplex")
        h.run()
        clock.charge_highs(h)
        if self.warm:
            # new columns leave the basis primal feasible: primal simplex resumes from it
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", 4)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            log.info("restricted LP not solved: %s", h.modelStatusToString(h.getModelStatus()))
            return None
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        scale = self.scale if self.phase == 2 else 1.0
        y = np.asarray(sol.row_dual) * scale
        return _LPSolution(
            x=x[self.n_slack :],
            lam=-y[self.n_rows :].reshape(self.k, self.mb),
            u=y[: self.n_rows],
            value=float(h.getInfo().objective_function_value) * scale,
            slack=float(x[: self.n_slack].sum()),
        )


#: Cost of putting units in territories: (units, territories) -> cost per pair.
CostOf = Callable[[IntArray, IntArray], FloatArray]
#: Pricing: (solution, phase) -> rows and territories of the columns to add.
Pricer = Callable[[_LPSolution, int], tuple[IntArray, IntArray, FloatArray]]


def _generate(
    lp: _MasterLP,
    pricer: Pricer,
    load_of: Callable[[IntArray], FloatArray],
    deadline: float,
    name: str,
    on_phase_two: Callable[[_LPSolution], bool] | None = None,
) -> tuple[_LPSolution, IntArray, IntArray] | None:
    """Column generation through phase 1 (feasibility) and phase 2 (cost).

    Returns the last phase-2 solution with the columns it was solved over, or ``None``
    when no feasible restricted LP was reached in time. ``on_phase_two`` sees every
    phase-2 solution and may stop the loop early (returning ``True``).
    """
    sol = None
    for rnd in range(4 * PRICING_ROUNDS):
        out = lp.solve(deadline - current_clock().now())
        if out is None and lp.phase == 2 and sol is None and lp.infeasible():
            lp.to_phase_one()  # the start was not feasible after all (rules, rounding)
            continue
        if out is None:
            break
        if lp.phase == 1 and out.slack <= 1e-9:
            lp.to_phase_two()
            continue
        if lp.phase == 2:
            sol = (out, lp.row.copy(), lp.terr.copy())
            if on_phase_two is not None and on_phase_two(out):
                break
        rows, terrs, costs = pricer(out, lp.phase)
        log.info(
            "%s LP round %d (phase %d): %d columns, value %.6g, slack %.3g, %d new",
            name, rnd, lp.phase, len(lp.row), out.value, out.slack, len(rows),
        )  # fmt: skip
        if rows.size == 0 or current_clock().now() > deadline:
            break
        lp.add(rows, terrs, costs, load_of(rows))
    return sol


def _unique_pairs(row: IntArray, terr: IntArray, k: int) -> tuple[IntArray, IntArray]:
    key = np.unique(row.astype(np.int64) * k + terr)
    return key // k, key % k


def _level_sizes(n: int, k: int) -> list[int]:
    """Group counts from coarsest (dense: every territory a column) to finest."""
    finest = int(min(n, max(4 * k, n // GROUP_SIZE), MAX_GROUP_MATRIX // max(k, 1)))
    sizes = [int(min(finest, max(DENSE_COLUMNS // max(k, 1), 1)))]
    while sizes[-1] * LEVEL_FACTOR < finest:
        sizes.append(sizes[-1] * LEVEL_FACTOR)
    if sizes[-1] < finest:
        sizes.append(finest)
    return sizes


def _nested_groups(points: FloatArray, load: FloatArray, sizes: list[int]) -> list[IntArray]:
    """Nested compact parts of equal load, finest first cut from the units.

    Returns, per level (coarsest first), the group of every unit; each level's groups are
    unions of the next level's (coordinate bisection of the finer groups' centroids), so a
    coarse solution split evenly over its parts is a solution of the finer level.
    """
    n = len(points)
    load = load if load.sum() > 0 else np.ones(n)
    unit_group = np.arange(n)
    pts: FloatArray = points
    ld: FloatArray = load
    out: list[IntArray] = []
    for g in reversed(sizes):
        parts: list[IntArray] = []
        balanced._bisect(pts, ld, np.arange(len(pts)), g, parts)
        of = np.empty(len(pts), dtype=np.int64)
        for q, members in enumerate(parts):
            of[members] = q
        unit_group = of[unit_group]
        out.append(unit_group)
        cnt = np.bincount(unit_group, minlength=g).astype(np.float64)
        pts = np.zeros((g, points.shape[1]))
        np.add.at(pts, unit_group, points)
        pts /= np.maximum(cnt, 1.0)[:, None]
        ld = np.bincount(unit_group, weights=load, minlength=g).astype(np.float64)
    return out[::-1]


def _aggregate(
    inst: balanced._Instance, cands: balanced._Candidates, group: IntArray
) -> tuple[FloatArray, FloatArray]:
    """(loads per group, group x territory cost) with disallowed pairs at infinity.

    A group's cost to a territory is its weight times the distance from its centroid: for
    squared distances the spread inside the group adds the same constant to every
    territory, so the group LP's solution does not depend on it.
    """
    p = inst.problem
    k = p.n_territories
    g = int(group.max()) + 1
    size = np.bincount(group, minlength=g).astype(np.float64)
    weight = np.bincount(group, weights=cands.weights, minlength=g)
    load = np.zeros((g, inst.a.shape[1]))
    np.add.at(load, group, inst.a)
    centroid = np.zeros((g, cands.unit_pts.shape[1]))
    np.add.at(centroid, group, cands.unit_pts)
    centroid /= np.maximum(size, 1.0)[:, None]
    chord = np.sqrt(((centroid[:, None, :] - cands.center_pts[None, :, :]) ** 2).sum(axis=2))
    d = dist.chord_to_miles(chord) if cands.sphere else chord
    full = weight[:, None] * d**cands.power
    if p.allowed is not None or (inst.locked >= 0).any():
        # a territory some member may not take is priced out of the group (multipliers only)
        ok = np.ones((g, k), dtype=bool)
        if p.allowed is not None:
            bad = np.zeros((g, k))
            np.add.at(bad, group, ~p.allowed)
            ok &= bad == 0
        li = np.flatnonzero(inst.locked >= 0)
        if li.size:
            lock = np.zeros((g, k), dtype=bool)
            lock[group[li], inst.locked[li]] = True
            ok &= ~lock.any(axis=1, keepdims=True) | lock
        full = np.where(ok, full, np.inf)
    return load, full


def _group_lp(
    inst: balanced._Instance,
    cands: balanced._Candidates,
    group: IntArray,
    start: tuple[IntArray, IntArray] | None,
    deadline: float,
    stats: dict[str, float],
    narrow: float = 0.0,
) -> tuple[_LPSolution, IntArray, IntArray] | None:
    """One group level priced over every territory; (solution, group per column, territory).

    ``start`` holds the columns inherited from the coarser level; without it every
    territory is a column (the coarsest level is small enough to be dense).
    """
    k = inst.problem.n_territories
    load, full = _aggregate(inst, cands, group)
    g = len(load)
    if start is None:
        row, terr = np.repeat(np.arange(g), k), np.tile(np.arange(k), g)
    else:
        row, terr = start
    keep = np.isfinite(full[row, terr])
    row, terr = row[keep], terr[keep]
    finite = full[row, terr]
    scale = float(np.median(finite[finite > 0])) if (finite > 0).any() else 1.0
    # dense, or the coarser level's solution: feasible from the start
    lp = _MasterLP(g, inst, scale, feasible=True, narrow=narrow)
    lp.add(row, terr, finite, load[row])
    allowed = np.isfinite(full)
    allowed[row, terr] = False  # present columns are never added twice
    q = min(GROUP_NEW, k - 1)

    def pricer(out: _LPSolution, phase: int) -> tuple[IntArray, IntArray, FloatArray]:
        reduced = load @ out.lam.T - out.u[:, None]
        if phase == 2:
            reduced += full
        reduced = np.where(allowed, reduced, np.inf)
        tol = 1e-7 * np.maximum(np.abs(out.u), 1.0)
        # up to GROUP_NEW columns per group, most negative reduced cost first
        best = np.argpartition(reduced, q, axis=1)[:, :q]
        val = np.take_along_axis(reduced, best, axis=1)
        gi, ci = np.nonzero(val < -tol[:, None])
        gj = best[gi, ci]
        allowed[gi, gj] = False
        stats["group_rounds"] = stats.get("group_rounds", 0) + 1
        return gi, gj, full[gi, gj]

    return _generate(lp, pricer, lambda r: load[r], deadline, f"group({g})")


def _inherit(
    coarse: IntArray, fine: IntArray, row: IntArray, terr: IntArray, x: FloatArray
) -> tuple[IntArray, IntArray]:
    """Columns of the finer level: every fine group takes the columns its coarse group uses.

    ``coarse`` and ``fine`` give each unit's group at the two levels (fine nests in coarse).
    """
    n_fine = int(fine.max()) + 1
    parent = np.empty(n_fine, dtype=np.int64)
    parent[fine] = coarse
    use = x > 1e-9
    ug, ut = row[use], terr[use]
    order = np.argsort(parent, kind="stable")
    start = np.searchsorted(parent[order], np.arange(int(coarse.max()) + 2))
    count = start[ug + 1] - start[ug]
    first = np.repeat(start[ug], count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return order[first + offset], np.repeat(ut, count)


#: Per territory, the rounding MIP frees this many members (cheapest way out) and this
#: many outsiders (cheapest way in), besides the LP's fractional units.
MIP_PER_TERRITORY = 8
#: Alternative territories per free unit in the rounding MIP (besides its LP ones).
MIP_COLUMNS = 3
#: Relative gap (on the whole plan's objective) at which the rounding MIP stops.
MIP_GAP = 1e-3
#: Slack on the rounding MIP's balance rows (the instance band is 1e-9 inside the true one).
ROOM = 1e-10
#: The plan's LP band is this share of the tolerance narrower than the true band.
NARROW = 0.1
#: ... and at most this share, however coarse the units (see :func:`plan_narrowing`).
MAX_NARROW = 0.5
#: Most subgradient steps that lift a bound from a narrowed LP's duals (lift_bound).
ASCENT_ITERATIONS = 300
#: ... run on a plan LP's bound when the plan is further than this from it.
LIFT_GAP = 0.005


def narrowed_band(inst: balanced._Instance, share: float) -> tuple[FloatArray, FloatArray]:
    """Per measure, the band ``share`` of the tolerance inside ``inst``'s on each side."""
    return 1.0 - (1.0 - inst.lo) * (1.0 - share), 1.0 + (inst.up - 1.0) * (1.0 - share)


def plan_narrowing(inst: balanced._Instance) -> float:
    """Share of the tolerance the plan's LP keeps inside the band.

    :data:`NARROW`, or, when units are coarse (aggregated cells or groups of a few
    percent of a territory each), about one large unit's load (the 90th percentile), so
    that rounding a territory's fractional units still fits the true band.
    """
    active = inst.up > 0
    if not active.any() or inst.a.shape[0] == 0:
        return NARROW
    tol = np.maximum(inst.up[active] - 1.0, 1e-9)
    unit = np.quantile(inst.a[:, active], 0.9, axis=0)
    return float(np.clip((unit / tol).max(), NARROW, MAX_NARROW))


def assignment_matrices(
    n_rows: int, row: IntArray, terr: IntArray, load: FloatArray, k: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Sparse rows of an assignment LP/MIP over columns ``(row, terr)`` with ``load`` each.

    ``a_eq`` (``n_rows x columns``): one "columns sum to one" row per assignment row;
    ``a_bal`` (``k m x columns``): the balance row of territory ``j`` and measure ``q`` is
    ``j m + q``.
    """
    nc = len(row)
    mb = load.shape[1]
    a_eq = sp.csr_matrix((np.ones(nc), (row, np.arange(nc))), shape=(n_rows, nc))
    rows = np.concatenate([terr * mb + m for m in range(mb)])
    vals = np.concatenate([load[:, m] for m in range(mb)])
    a_bal = sp.csr_matrix((vals, (rows, np.tile(np.arange(nc), mb))), shape=(k * mb, nc))
    return a_eq, a_bal


def _dedupe(
    row: IntArray, terr: IntArray, val: FloatArray, k: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """One entry per (row, territory) pair: the first one."""
    _, first = np.unique(row.astype(np.int64) * k + terr, return_index=True)
    return row[first], terr[first], val[first]


def _round_by_mip(
    inst: balanced._Instance,
    cands: balanced._Candidates,
    lp: _LPSolution,
    row: IntArray,
    terr: IntArray,
    cost: FloatArray,
    assignment: IntArray,
    share: FloatArray,
    *,
    time_limit: float,
    per_territory: int = 0,
) -> tuple[IntArray, int] | None:
    """Balanced integer plan next to the LP: a small MIP over the units the LP leaves open.

    Every unit whose LP share is whole stays put, except, per territory, the members with
    the cheapest alternative and the outsiders cheapest to bring in (reduced costs under
    the LP's duals, :data:`MIP_PER_TERRITORY` each); the free units choose among their LP
    columns, their cheapest alternatives and those ways in, with the balance rows
    holding (HiGHS branch and bound, ``scipy.optimize.milp``). ``None`` when the MIP
    finds no balanced plan in time (the repair of :mod:`.balanced` takes over).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    p = inst.problem
    n, k = p.n_units, p.n_territories
    mb = inst.a.shape[1]
    in_lp = lp.x > 1e-9
    frac = share < 1 - 1e-6
    # alternatives: the unit's nearest territories (the heuristic's candidate rows), priced
    # by the LP's duals: reduced cost c_ij + lam_j . a_i - u_i (>= 0 at the LP optimum)
    cand = cands.cand
    valid = (cand >= 0) & np.isfinite(cands.cost) & (cand != assignment[:, None])
    safe = np.maximum(cand, 0)
    rc_c = cands.cost + (inst.a[:, None, :] * lp.lam[safe]).sum(axis=2) - lp.u[:, None]
    rc_c = np.where(valid, np.maximum(rc_c, 0.0), np.inf)
    rc_c[inst.locked >= 0] = np.inf
    unit_alt = rc_c.min(axis=1)
    # freedom spread over every territory (a global threshold would free units only where
    # alternatives are cheap, the dense metros): per territory, its MIP_PER_TERRITORY
    # members with the cheapest way out and the outsiders with the cheapest way in
    ranked = np.lexsort((unit_alt, assignment))
    start = np.searchsorted(assignment[ranked], np.arange(k))
    rank = np.arange(n) - start[assignment[ranked]]
    per = per_territory or MIP_PER_TERRITORY
    out_units = ranked[(rank < per) & np.isfinite(unit_alt[ranked])]
    ii, cc = np.nonzero(np.isfinite(rc_c))
    tt = cand[ii, cc]
    order = np.lexsort((rc_c[ii, cc], tt))
    ii, cc, tt = ii[order], cc[order], tt[order]
    rank_in = np.arange(len(tt)) - np.searchsorted(tt, tt)
    pick = rank_in < per
    in_units, in_cols = ii[pick], cc[pick]
    free = frac.copy()
    free[out_units] = True
    free[in_units] = True
    # columns: the LP's own (with share), each free unit's cheapest alternatives, the ways in
    lp_take = free[row] & in_lp
    fu = np.flatnonzero(free)
    q = min(MIP_COLUMNS, rc_c.shape[1])
    alt_col = np.argsort(rc_c[fu], axis=1)[:, :q]
    alt_rc = np.take_along_axis(rc_c[fu], alt_col, axis=1)
    ok = np.isfinite(alt_rc)
    ai = np.repeat(fu, q).reshape(len(fu), q)[ok]
    c_row = np.concatenate([row[lp_take], ai, in_units])
    c_terr = np.concatenate([terr[lp_take], cand[ai, alt_col[ok]], cand[in_units, in_cols]])
    c_rc = np.concatenate([np.zeros(int(lp_take.sum())), alt_rc[ok], rc_c[in_units, in_cols]])
    c_row, c_terr, c_rc = _dedupe(c_row, c_terr, c_rc, p.n_territories)
    c_cost = cands.exact_cost(c_row, c_terr)
    units = np.flatnonzero(free)
    fixed = ~free
    base = np.zeros((k, mb))
    np.add.at(base, assignment[fixed], inst.a[fixed])
    local = np.full(n, -1, dtype=np.int64)
    local[units] = np.arange(len(units))
    nc = len(c_row)
    a_eq, a_bal = assignment_matrices(len(units), local[c_row], c_terr, inst.a[c_row], k)
    scale = float(np.median(c_cost[c_cost > 0])) if (c_cost > 0).any() else 1.0
    # room left by the fixed units; the LP holds its rows only to within the solver's
    # tolerance, so the rows get a hair (ROOM) of slack: a fixed load 1e-11 past the band
    # must leave zero room, not an infeasible negative one
    up_room = np.maximum(inst.up - base, 0.0) + ROOM
    lo_room = np.minimum(inst.lo - base, up_room) - ROOM
    # one more column fixed at 1 carries the fixed units' cost, so the relative gap is
    # measured on the whole plan's objective, not on the free units' share of it
    fixed_cost = float((cost * lp.x)[~free[row]].sum())
    # the LP was solved on a band inside the true one (plan_narrowing), so its rounding (every free
    # unit to its largest share) already fits the true band: the MIP starts feasible
    res = milp(
        np.concatenate([c_cost / scale, [fixed_cost / scale]]),
        constraints=[
            LinearConstraint(
                sp.hstack([a_eq, sp.csr_matrix((a_eq.shape[0], 1))], format="csr"), 1.0, 1.0
            ),
            LinearConstraint(
                sp.hstack([a_bal, sp.csr_matrix((k * mb, 1))], format="csr"),
                lo_room.ravel(),
                up_room.ravel(),
            ),
        ],
        integrality=np.ones(nc + 1),
        bounds=Bounds(np.r_[np.zeros(nc), 1.0], np.ones(nc + 1)),
        options={
            **current_clock().scipy_limits(
                max(time_limit, 0.1), nc + len(units) + k * mb, mip=True
            ),
            "mip_rel_gap": MIP_GAP,
            "presolve": True,
        },
    )
    current_clock().charge_scipy(res, nc + len(units) + k * mb)
    if res.x is None:
        log.info("rounding MIP: no plan (%s)", res.message)
        return None
    pick = res.x[:nc] > 0.5
    out = assignment.copy()
    out[c_row[pick]] = c_terr[pick]
    log.info("rounding MIP: %d free units, %d columns: %s", len(units), nc, res.message)
    return out, len(units)


@dataclass
class GroupStage:
    """The finest group level solved: its LP solution and columns, each unit's group."""

    solution: _LPSolution
    group: IntArray  # (n,) group of every unit
    row: IntArray  # group per column
    terr: IntArray  # territory per column


def group_stage(
    inst: balanced._Instance,
    cands: balanced._Candidates,
    deadline: float,
    stats: dict[str, float],
    *,
    narrow: float,
) -> GroupStage | None:
    """Solve the nested group levels, coarsest first, each within its share of the time."""
    t0 = current_clock().now()
    n, k = inst.problem.n_units, inst.problem.n_territories
    levels = _nested_groups(cands.unit_pts, inst.a.sum(axis=1), _level_sizes(n, k))
    start = None
    stage = None
    for depth, group in enumerate(levels):
        until = t0 + (deadline - t0) * (depth + 1) / len(levels)
        out = _group_lp(inst, cands, group, start, until, stats, narrow=narrow)
        if out is None:
            break
        stage = GroupStage(out[0], group, out[1], out[2])
        if depth + 1 < len(levels):
            start = _inherit(group, levels[depth + 1], stage.row, stage.terr, stage.solution.x)
    stats["group_seconds"] = stats.get("group_seconds", 0.0) + current_clock().now() - t0
    stats["group_levels"] = len(levels)
    return stage


@dataclass
class PathResult:
    """What the LP path found: a valid bound, a plan, its violation, the last multipliers."""

    bound: float | None
    assignment: IntArray | None
    violation: float
    stats: dict[str, float]
    lam: FloatArray | None = None


def lift_bound(inst: balanced._Instance, lam: FloatArray, upper: float, deadline: float) -> float:
    """Best dual value (a proven bound) of a subgradient ascent from ``lam``.

    ``upper`` (a plan's cost) steers the step; the ascent takes at most
    :data:`ASCENT_ITERATIONS` steps and, past ``deadline``, half a second.
    """
    dual, _ = balanced._lagrangian(
        inst, balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, None), lam,
        upper, ASCENT_ITERATIONS, max(deadline, current_clock().now() + 0.5),
    )  # fmt: skip
    return float(dual.best_value)


def lp_bound_and_plan(
    problem: DesignProblem,
    *,
    time_limit: float,
    seed: int = 0,
    plan: bool = True,
    regions: bool | None = None,
    region_territories: int = 100,
) -> tuple[float | None, IntArray | None, float, dict[str, float]]:
    """(valid lower bound, balanced-or-best plan, its violation, stats) by the LP path.

    Past :data:`lp_regions.REGIONS_FROM` territories the plan is made region by region
    (:mod:`territorial.design.lp_regions`); the bound stays the whole problem's.
    """
    from territorial.design import lp_regions

    if regions is None:
        regions = lp_regions.applicable(problem)
    if plan and regions:
        out = lp_regions.plan_by_regions(
            problem, time_limit=time_limit, seed=seed, region_territories=region_territories
        )
    else:
        out = lp_path(problem, balanced._instance(problem), time_limit=time_limit, seed=seed,
                      plan=plan)  # fmt: skip
    return out.bound, out.assignment, out.violation, out.stats


def lp_path(
    problem: DesignProblem,
    inst: balanced._Instance,
    *,
    time_limit: float,
    seed: int = 0,
    plan: bool = True,
) -> PathResult:
    """The LP path on ``inst`` (normally ``balanced._instance(problem)``; a region of a
    larger problem passes its own, normalised by the whole problem's means)."""
    t0 = current_clock().now()
    deadline = t0 + time_limit
    n, k = problem.n_units, problem.n_territories
    cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, None)
    stats: dict[str, float] = {}
    first = cands.cost[:, 0]
    typical = float(np.median(first[np.isfinite(first)])) if np.isfinite(first).any() else 1.0
    narrow = plan_narrowing(inst) if plan else 0.0
    stats["narrowing"] = narrow
    stage = group_stage(inst, cands, t0 + 0.4 * time_limit, stats, narrow=narrow)
    if stage is None:
        return PathResult(None, None, np.inf, stats)
    gsol, solved, g_row, g_terr = stage.solution, stage.group, stage.row, stage.terr
    bound, best_j, _ = dual_bound(inst, cands, gsol.lam)
    row, terr = _inherit(solved, np.arange(n), g_row, g_terr, gsol.x)
    row, terr = _unique_pairs(
        np.concatenate([row, np.arange(n)]), np.concatenate([terr, best_j]), k
    )
    # the scan's winners respect locks and allowed territories; the groups' columns may not
    allowed_ok = (
        np.ones(len(row), dtype=bool) if problem.allowed is None else problem.allowed[row, terr]
    )
    locked_ok = (inst.locked[row] < 0) | (inst.locked[row] == terr)
    row, terr = row[allowed_ok & locked_ok], terr[allowed_ok & locked_ok]
    # the group solution split over its units is a solution, unless rules dropped columns
    # (with ``plan`` every level solves the narrowed band, which the bound does not use)
    lp = _MasterLP(
        n, inst, max(typical, 1e-12), feasible=bool((allowed_ok & locked_ok).all()),
        warm=False, narrow=narrow,
    )  # fmt: skip
    lp.add(row, terr, cands.exact_cost(row, terr), inst.a[row])
    zero = np.zeros(n)
    allowed_m = problem.allowed if problem.allowed is not None else np.ones((1, 1), dtype=bool)

    def pricer(out: _LPSolution, phase: int) -> tuple[IntArray, IntArray, FloatArray]:
        nonlocal bound
        if phase == 1:  # cheapest way back into the band: zero-cost scan
            best_j, best_v = np.empty(n, dtype=np.int64), np.empty(n)
            _full_scan(
                cands.unit_pts, cands.center_pts, zero, inst.a, np.ascontiguousarray(out.lam),
                cands.power, cands.sphere, dist.EARTH_RADIUS_MI, allowed_m,
                problem.allowed is not None, inst.locked, NO_SKIP, best_j, best_v,
            )  # fmt: skip
        else:
            value, best_j, best_v = dual_bound(inst, cands, out.lam)
            bound = max(bound, value)
            stats.update(
                lp_value=out.value, lp_columns=len(lp.row), lp_seconds=current_clock().now() - t0
            )
        tol = 1e-7 * np.maximum(np.abs(out.u), 1.0)
        neg = np.flatnonzero(best_v < out.u - tol)
        stats["lp_rounds"] = stats.get("lp_rounds", 0) + 1
        stats["priced_columns"] = stats.get("priced_columns", 0) + len(neg)
        if phase == 2 and (
            neg.size <= PRICING_STOP * n
            or out.value - bound <= LP_GAP_STOP * abs(out.value)
            or deadline - current_clock().now() < (0.3 if plan else 0.05) * time_limit
        ):
            neg = neg[:0]
        return neg, best_j[neg], cands.exact_cost(neg, best_j[neg])

    sol = _generate(lp, pricer, lambda r: inst.a[r], deadline, "unit")
    if sol is None or not plan:
        return PathResult(bound, None, np.inf, stats, sol[0].lam if sol else gsol.lam)
    final, row, terr = sol
    order = np.argsort(final.x, kind="stable")  # the largest share, written last, wins
    assignment = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n)
    assignment[row[order]] = terr[order]
    share[row[order]] = final.x[order]
    missing = assignment < 0
    assignment[missing] = best_j[missing]
    stats["fractional_units"] = int((share < 1 - 1e-6).sum())
    left = deadline - current_clock().now()
    rounded = _round_by_mip(
        inst, cands, final, row, terr, cands.exact_cost(row, terr), assignment, share,
        time_limit=min(0.5 * left, 0.15 * time_limit),
    )  # fmt: skip
    if rounded is None and deadline - current_clock().now() > 0.1 * time_limit:
        # big units (a fractional one can be a good share of a territory) may need a wider
        # neighbourhood to fit the band once rounded
        rounded = _round_by_mip(
            inst, cands, final, row, terr, cands.exact_cost(row, terr), assignment, share,
            time_limit=min(0.5 * (deadline - current_clock().now()), 0.15 * time_limit),
            per_territory=4 * MIP_PER_TERRITORY,
        )  # fmt: skip
    if rounded is not None:
        assignment, stats["mip_free_units"] = rounded
        stats["mip_seconds"] = current_clock().now() - t0
    cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, assignment)
    col = balanced._col_of(cands, assignment)
    rng = np.random.default_rng(seed)
    col, viol, _ = balanced._improve(
        inst, cands, col, rng, repair_penalty=0.0, penalty=0.0, deadline=deadline,
        repair=rounded is None,
    )  # fmt: skip
    stats["lp_plan_seconds"] = current_clock().now() - t0
    upper = float(cands.cost[np.arange(n), col].sum())
    if narrow > NARROW and upper - bound > LIFT_GAP * upper:
        # coarse units: the band was narrowed well inside the true one and its duals
        # score lower on the true band; a subgradient ascent from them lifts the bound
        bound = max(bound, lift_bound(inst, final.lam, upper, deadline))
    return PathResult(bound, balanced._assignment_of(cands, col), viol, stats, final.lam)


def solve_fixed_centers(
    problem: DesignProblem,
    *,
    time_limit: float,
    seed: int = 0,
    progress=None,
    regions: bool | None = None,
    region_territories: int = 100,
) -> SolverOutcome:
    """LP path, then the heuristic in the time left; the better plan and larger bound."""
    from territorial.design import metrics

    t0 = current_clock().now()
    deadline = t0 + time_limit
    # a failure inside the LP path is a bug and raises; the named conditions (an LP not
    # solved in its share of the time, a rounding MIP without a plan) return no plan
    bound, assignment, viol, stats = lp_bound_and_plan(
        problem, time_limit=LP_SHARE * time_limit, seed=seed, regions=regions,
        region_territories=region_territories,
    )  # fmt: skip
    fallbacks: tuple[str, ...] = ()
    if assignment is None:
        fallbacks = ("lp path: no rounded plan within its share of the budget -> heuristic",)
    lp_out = None
    if assignment is not None:
        obj = metrics.objective_value(problem, assignment, None)
        ok = viol <= balanced.FEASIBLE and metrics.WITHIN_BALANCE(problem, assignment)
        lp_out = SolverOutcome(
            assignment=assignment, objective=obj, method="lp-rounding+local-search",
            lower_bound=bound, stats={**stats, "balanced": bool(ok), "violation": viol},
        )  # fmt: skip
        good = ok and bound is not None and obj - bound <= GOOD_GAP * obj
        # region by region (a thousand territories), the heuristic does not compete
        good = good or (ok and bool(stats.get("regions")))
        left = deadline - current_clock().now()
        if good or left < 0.15 * time_limit:
            if progress is not None:
                progress(1.0, "done")
            return lp_out
    left = max(deadline - current_clock().now(), 0.01)
    heur = balanced.solve_balanced(problem, time_limit=left, seed=seed, progress=progress)
    if lp_out is None:
        if bound is not None and (heur.lower_bound is None or bound > heur.lower_bound):
            heur = SolverOutcome(
                assignment=heur.assignment, objective=heur.objective, method=heur.method,
                lower_bound=bound, stats={**heur.stats, **stats}, fallbacks=fallbacks,
            )  # fmt: skip
        return dataclasses.replace(heur, fallbacks=(*heur.fallbacks, *fallbacks))
    heur_ok = bool(heur.stats.get("balanced"))
    lp_ok = bool(lp_out.stats["balanced"])
    best = (
        heur
        if (heur_ok and not lp_ok) or (heur_ok == lp_ok and heur.objective < lp_out.objective)
        else lp_out
    )
    bounds = [b for b in (bound, heur.lower_bound) if b is not None]
    return SolverOutcome(
        assignment=best.assignment, objective=best.objective, method=best.method,
        lower_bound=max(bounds) if bounds else None,
        stats={**heur.stats, **stats, "balanced": bool(best.stats.get("balanced"))},
    )  # fmt: skip


def lp_refusal(problem: DesignProblem) -> str | None:
    """Why the fixed-center LP path cannot solve ``problem`` (``None`` when it can)."""
    if problem.centers is None:
        return "it needs fixed centers (rep homes); this problem's centers are free"
    if problem.objective not in ("inertia", "median"):
        return f"it minimises inertia or median, not {problem.objective}"
    if problem.contiguity:
        return "it does not keep territories contiguous"
    if problem.distance == "graph":
        return "it needs geometric distances (great-circle or Euclidean), not graph distances"
    if problem.segments is not None:
        return "segments are solved by the heuristic, one segment at a time"
    if problem.max_moves is not None or problem.move_penalty > 0:
        return "a move budget or penalty is realignment (realign-lp)"
    if not problem.balance:
        return "there is no balanced measure (nothing for the LP's rows to hold)"
    if problem.n_territories < 2:
        return "one territory has nothing to decide"
    return None


@dataclass(frozen=True, slots=True)
class FixedLPOptions:
    """Tuning of the fixed-center LP path."""

    #: Share of the budget the LP path takes (the heuristic gets the rest, if needed).
    lp_share: float = LP_SHARE


@register
class FixedLPSolver(Solver[FixedLPOptions]):
    """Fixed centers: column-generation LP, rounding MIP, local search, and a proven bound."""

    name = "fixed-lp"
    summary = (
        "fixed centers: the assignment LP by column generation (nested group levels, then "
        "units), rounded by a small MIP and polished by local search; the LP dual is a "
        "proven lower bound"
    )
    options_type = FixedLPOptions
    auto_priority = 30

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        return lp_refusal(problem)

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        return (
            f"fixed centers (rep homes), {problem.objective}, {problem.n_territories} "
            "territories: the assignment LP gives a near-optimal rounded plan and a proven bound"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        return solve_fixed_centers(
            problem, time_limit=max(run.left(), 0.01), seed=run.seed, progress=run.progress,
            regions=False,
        )  # fmt: skip


__all__ = [
    "FixedLPOptions",
    "FixedLPSolver",
    "applicable",
    "dual_bound",
    "lp_bound_and_plan",
    "lp_refusal",
    "solve_fixed_centers",
]
