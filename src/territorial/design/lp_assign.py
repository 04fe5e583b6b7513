"""Fixed-center design through a restricted LP: a strong bound and an LP-rounded plan.

With fixed centers (rep homes), no contiguity and an inertia/median objective, design
is a generalised assignment problem with two-sided balance rows::

    min sum_ij c_ij x_ij   s.t.  sum_j x_ij = 1,   lo_m <= sum_i a_im x_ij <= up_m,   x >= 0.

1. **Restricted LP.** Each unit keeps the candidate columns of the heuristic
   (:func:`territorial.design.balanced._candidates`: its ``C`` nearest centers, reverse
   candidates, locked/allowed rules). The sparse LP (``n C`` columns, ``n`` equality rows,
   ``2 k m`` balance rows) is solved by HiGHS (``scipy.optimize.linprog``).
2. **Bound on the full problem.** The balance-row duals are Lagrange multipliers; the
   dual function ``g(lam) = sum_i min_j (c_ij + lam_j . a_i) - sum_jm (lam+ up - lam- lo)``
   is evaluated **exactly over every allowed territory** (all ``n x k`` pairs, a numba
   scan) with the true band ``1 +- t_m``. Weak duality makes ``g`` a valid lower bound for
   any ``lam``: it never relies on the candidate restriction. Units whose full-scan winner
   is outside their candidates get that column and the LP is re-solved (column
   generation) while time allows; when no such unit is left, ``g`` equals the full LP.
3. **Plan.** Integral LP columns are kept; a basic solution has at most ``~2 k m``
   fractional units, rounded to their largest share; the balance repair and local search of
   :mod:`territorial.design.balanced` finish it. The heuristic runs in the time left and
   the better plan (and the larger bound) is kept.
"""

from __future__ import annotations

import logging
import time

import numba
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from territorial.design import balanced
from territorial.design import distances as dist
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome

log = logging.getLogger(__name__)

#: Column-generation rounds after the first LP.
PRICING_ROUNDS = 3
#: Stop pricing once fewer than this share of the units have a better column outside.
PRICING_STOP = 0.001
#: Largest number of LP columns (unit x candidate pairs) the LP path accepts: HiGHS
#: (interior point + crossover) takes ~10 s at 180k columns on 2 cores and did not finish
#: 1.8M columns (100k units x 18) in 120 s, so larger problems keep the heuristic.
LP_COLUMNS = 400_000
#: Price of one unit of balance slack (only when the restricted LP is infeasible),
#: in median unit costs per unit per territory.
ELASTIC_PRICE = 100.0


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
        and problem.n_units * min(balanced.DEFAULT_CANDIDATES + 6, problem.n_territories)
        <= LP_COLUMNS
    )


@numba.njit(parallel=True, cache=True)
def _full_scan(unit_pts, center_pts, w, a, lam, power, sphere, radius, allowed, use_allowed,
               locked, best_j, best_v):  # fmt: skip
    """``best_v[i] = min_j w_i d(i, j)^p + lam_j . a_i`` over every allowed territory."""
    n = unit_pts.shape[0]
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
        p.allowed is not None, inst.locked, best_j, best_v,
    )  # fmt: skip
    return balanced._dual_value(best_v, lam, lo, up), best_j, best_v


def _solve_lp(
    inst: balanced._Instance,
    cand: IntArray,
    cost: FloatArray,
    time_limit: float,
    elastic: bool = False,
) -> tuple[FloatArray, FloatArray, float, IntArray, IntArray] | None:
    """Restricted LP over the finite candidate columns; (x, lam, value, rows, cols)."""
    t_start = time.monotonic()
    n, k = inst.problem.n_units, inst.problem.n_territories
    mb = inst.a.shape[1]
    ii, tt = np.nonzero((cand >= 0) & np.isfinite(cost))
    jj = cand[ii, tt]
    nc = len(ii)
    c = cost[ii, tt]
    scale = float(np.median(np.abs(c))) or 1.0
    a_eq = sp.csr_matrix((np.ones(nc), (ii, np.arange(nc))), shape=(n, nc))
    rows, cols, vals = [], [], []
    for m in range(mb):
        am = inst.a[ii, m]
        rows += [jj * mb + m, k * mb + jj * mb + m]
        cols += [np.arange(nc)] * 2
        vals += [am, -am]
    a_ub = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(2 * k * mb, nc)
    )
    b_ub = np.concatenate([np.tile(inst.up, k), -np.tile(inst.lo, k)])
    # elastic rows: a slack per balance row at a steep price keeps a restricted LP feasible
    # (its duals are capped by the price; the bound is evaluated exactly anyway)
    nr = 2 * k * mb if elastic else 0
    c_all = c / scale
    if elastic:
        a_ub = sp.hstack([a_ub, -sp.identity(nr, format="csr")], format="csr")
        a_eq = sp.hstack([a_eq, sp.csr_matrix((n, nr))], format="csr")
        price = ELASTIC_PRICE * float(n) / max(k, 1)
        c_all = np.concatenate([c_all, np.full(nr, price)])
    res = linprog(
        c_all, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(n), bounds=(0, None),
        method="highs-ipm", options={"time_limit": max(time_limit, 0.1), "presolve": True},
    )  # fmt: skip
    if res.status == 2 and not elastic:  # infeasible restriction: price the slack
        left = time_limit - (time.monotonic() - t_start)
        return _solve_lp(inst, cand, cost, left, elastic=True) if left > 0.1 else None
    if res.status != 0 or res.x is None:
        log.info("restricted LP not solved: %s", res.message)
        return None
    if res.x[nc:].max(initial=0.0) > 1e-7:
        log.info("restricted LP needs elastic slack %.3g", float(res.x[nc:].max()))
    marg = np.asarray(res.ineqlin.marginals) * scale  # <= 0: d objective / d b_ub
    mu = -marg[: k * mb].reshape(k, mb)
    nu = -marg[k * mb :].reshape(k, mb)
    return np.asarray(res.x[:nc]), mu - nu, float(res.fun) * scale, ii, tt


def _add_columns(
    cands: balanced._Candidates, units: IntArray, terr: IntArray
) -> balanced._Candidates:
    """One more column per unit in ``units`` holding ``terr`` (widens the arrays)."""
    n = cands.cand.shape[0]
    extra_c = np.full((n, 1), -1, dtype=np.int64)
    extra_v = np.full((n, 1), np.inf)
    extra_c[units, 0] = terr
    extra_v[units, 0] = cands.exact_cost(units, terr)
    # keep the dynamic column last (balanced._col_of writes there)
    cands.cand = np.ascontiguousarray(np.hstack([cands.cand[:, :-1], extra_c, cands.cand[:, -1:]]))
    cands.cost = np.ascontiguousarray(np.hstack([cands.cost[:, :-1], extra_v, cands.cost[:, -1:]]))
    return cands


def lp_bound_and_plan(
    problem: DesignProblem, *, time_limit: float, seed: int = 0, plan: bool = True
) -> tuple[float | None, IntArray | None, float, dict[str, float]]:
    """(valid lower bound, balanced-or-best plan, its violation, stats) by the LP path."""
    t0 = time.monotonic()
    deadline = t0 + time_limit
    inst = balanced._instance(problem)
    cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, None)
    stats: dict[str, float] = {}
    bound: float | None = None
    sol = None
    n_cols = int(((cands.cand >= 0) & np.isfinite(cands.cost)).sum())
    if n_cols > LP_COLUMNS:
        return None, None, np.inf, stats
    for rnd in range(PRICING_ROUNDS + 1):
        left = deadline - time.monotonic()
        if left < 0.2 * time_limit and sol is not None:
            break
        out = _solve_lp(inst, cands.cand, cands.cost, left * (0.6 if plan else 0.9))
        if out is None:
            break
        sol = out
        lp_value = out[2]
        value, best_j, best_v = dual_bound(inst, cands, out[1])
        bound = value if bound is None else max(bound, value)
        stats.update(lp_rounds=rnd + 1, lp_value=lp_value, lp_seconds=time.monotonic() - t0)
        # pricing: units whose full-scan winner is not a candidate column
        in_cand = (cands.cand == best_j[:, None]).any(axis=1)
        # compare with the unit's best candidate value: only strictly better ones matter
        cand_v = np.where(
            cands.cand >= 0,
            cands.cost + (inst.a[:, None, :] * out[1][np.maximum(cands.cand, 0)]).sum(axis=2),
            np.inf,
        ).min(axis=1)
        missing = np.flatnonzero(~in_cand & (best_v < cand_v - 1e-9 * np.abs(cand_v)))
        stats["priced_columns"] = stats.get("priced_columns", 0) + len(missing)
        log.info(
            "LP round %d: restricted LP %.6g, full dual %.6g, %d new columns (%.1f s)",
            rnd, lp_value, value, len(missing), time.monotonic() - t0,
        )  # fmt: skip
        if missing.size <= PRICING_STOP * problem.n_units and rnd > 0:
            break  # a handful of columns left: the exact bound is already within a hair
        if missing.size == 0:
            break
        cands = _add_columns(cands, missing, best_j[missing])
    if sol is None:
        return None, None, np.inf, stats
    if not plan:
        return bound, None, np.inf, stats
    x, _, _, ii, tt = sol
    n = problem.n_units
    share = np.full(n, -1.0)
    pick = np.zeros(n, dtype=np.int64)
    order = np.argsort(x, kind="stable")  # largest share written last wins
    pick[ii[order]] = tt[order]
    share[ii[order]] = x[order]
    stats["fractional_units"] = int((share < 1 - 1e-6).sum())
    col = pick.astype(np.int64)
    rng = np.random.default_rng(seed)
    col, viol, _ = balanced._improve(
        inst, cands, col, rng, repair_penalty=0.0, penalty=0.0, deadline=deadline
    )
    assignment = balanced._assignment_of(cands, col)
    stats["lp_plan_seconds"] = time.monotonic() - t0
    return bound, assignment, viol, stats


def solve_fixed_centers(
    problem: DesignProblem, *, time_limit: float, seed: int = 0, progress=None
) -> SolverOutcome:
    """LP path, then the heuristic in the time left; the better plan and larger bound."""
    from territorial.design import metrics

    t0 = time.monotonic()
    deadline = t0 + time_limit
    try:
        bound, assignment, viol, stats = lp_bound_and_plan(
            problem, time_limit=0.75 * time_limit, seed=seed
        )
    except Exception:  # the LP path is an accelerator: never lose the run over it
        log.exception("LP assignment path failed; using the heuristic")
        bound, assignment, viol, stats = None, None, np.inf, {}
    lp_out = None
    if assignment is not None:
        obj = metrics.objective_value(problem, assignment, None)
        ok = viol <= balanced.FEASIBLE and metrics.WITHIN_BALANCE(problem, assignment)
        lp_out = SolverOutcome(
            assignment=assignment, objective=obj, method="lp-rounding+local-search",
            lower_bound=bound, stats={**stats, "balanced": bool(ok), "violation": viol},
        )  # fmt: skip
        good = ok and bound is not None and obj - bound <= 0.01 * obj
        left = deadline - time.monotonic()
        if good or left < 0.15 * time_limit:
            if progress is not None:
                progress(1.0, "done")
            return lp_out
    left = max(deadline - time.monotonic(), 0.01)
    heur = balanced.solve_balanced(problem, time_limit=left, seed=seed, progress=progress)
    if lp_out is None:
        if bound is not None and (heur.lower_bound is None or bound > heur.lower_bound):
            heur = SolverOutcome(
                assignment=heur.assignment, objective=heur.objective, method=heur.method,
                lower_bound=bound, stats={**heur.stats, **stats},
            )  # fmt: skip
        return heur
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


__all__ = ["applicable", "dual_bound", "lp_bound_and_plan", "solve_fixed_centers"]
