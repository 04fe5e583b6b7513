"""Proven lower bounds on the inertia/median objective.

Fixed centers (rep home bases)
------------------------------
With the centers fixed, design is a generalised assignment problem with two-sided
balance rows (``a_im`` the balanced measure over its mean per territory,
``c_ij = w_i d(i, j)^p``)::

    min sum_ij c_ij x_ij   s.t.  sum_j x_ij = 1,   lo_m <= sum_i a_im x_ij <= up_m,   x >= 0.

Relaxing the balance rows with free-sign multipliers ``lambda_jm`` gives the dual
function::

    L(lambda) = sum_i min_{j allowed for i} (c_ij + sum_m lambda_jm a_im)
                - sum_jm (max(lambda_jm, 0) up_m - max(-lambda_jm, 0) lo_m)

For **every** ``lambda`` and every balanced plan ``x``, ``L(lambda) <= cost(x)``:
each balance row contributes ``lambda_jm (load_jm - up_m) <= 0`` or
``-lambda_jm (load_jm - lo_m) <= 0``, and each unit's minimum is at most its cost in
``x``. ``L`` is concave; its maximum equals the LP relaxation's optimum. The minimum is
taken over **all** territories (the heuristic's nearest-center rows are only a
pruning device: a territory outside them is scanned whenever a lower bound on its
cost plus price could beat the row), so the bound never relies on the heuristic's
restriction. Locked units contribute only their territory.

The multipliers come from HiGHS instead of the ascent where it can: the balance-row duals
of the column-generation LP (:mod:`territorial.design.lp_assign`), scored by the same
exact full scan, with pricing until the value is the full LP optimum or time is up; the
ascent is the fallback.

Free centers (centers are units of their territory)
---------------------------------------------------
A capacitated p-median Lagrangian. Relax "every unit in exactly one territory" with
multipliers ``u_i``::

    L(u) = sum_i u_i + (sum of the k smallest rho_j(u)),
    rho_j(u) = min { sum_i (c_ij - u_i) x_i : 0 <= x <= 1, sum_i a_im x_i <= up_m }

where ``c_ij = w_i d(i, j)^p`` is the cost of serving unit ``i`` from a center at unit
``j``. Dropping rows only lowers a minimum, so ``rho_j`` is bounded below by the
fractional knapsack over any single balance row (we take the best such row) and
``L(u)`` stays a valid lower bound. To stay sparse only the ``N`` nearest units of
each unit are listed; we keep ``u_i <= r_i``, the cost of the first unlisted one, so
every unlisted pair has ``c_ij - u_i >= 0`` and cannot lower ``rho_j``: the sparse
value equals the dense one. Lower balance bounds, locks, allowed territories and
move limits are relaxed (dropped), which keeps the bound valid but weaker; with few
units per territory it is tight, with hundreds per territory it is loose.

No bound is reported (``None``) for the diameter objective or graph distances with
free centers.
"""

from __future__ import annotations

import logging

import numba
import numpy as np
from scipy.spatial import cKDTree

from territorial.design import distances as dist
from territorial.design.problem import DesignProblem, FloatArray
from territorial.design.solvers import current_clock, pair_work

log = logging.getLogger(__name__)

#: Neighbour lists of the free-center bound hold at most this many entries in total.
MAX_LIST_ENTRIES = 20_000_000


def fixed_center_bound(
    problem: DesignProblem, *, time_limit: float = 10.0, iterations: int = 300, seed: int = 0
) -> float | None:
    """Lagrangian (= LP) lower bound with fixed centers, in the objective's unit.

    ``None`` when the problem has no fixed centers or its objective is the diameter.
    Segments are bounded one at a time and added up.
    """
    from territorial.design import balanced

    if problem.centers is None or problem.objective == "diameter":
        return None
    deadline = current_clock().now() + max(time_limit, 0.01)
    subs = _segments(problem)
    total = 0.0
    for sub in subs:
        lp = _lp_bound(sub, deadline)
        if lp is not None:
            total += lp
            continue
        inst = balanced._instance(sub)
        cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, None)
        dual, _ = balanced._lagrangian(inst, cands, None, np.inf, iterations, deadline)
        if not np.isfinite(dual.best_value):
            return None
        total += dual.best_value
    return float(total)


def _lp_bound(problem: DesignProblem, deadline: float) -> float | None:
    """Full-scan dual value at the column-generation LP's duals (:mod:`.lp_assign`).

    Valid for any multipliers; when pricing finishes it is the full LP optimum. ``None``
    for graph distances or when the LP is not solved in time (the ascent is used).
    """
    from territorial.design import lp_assign

    if problem.distance == "graph" or problem.n_territories < 2:
        return None
    if problem.objective not in ("inertia", "median") or not problem.balance:
        return None  # (the LP has no balance rows to price: the ascent bounds it)
    left = deadline - current_clock().now()
    # ``None`` is the LP's named condition (not solved in time); anything else is a bug
    bound, _, _, _ = lp_assign.lp_bound_and_plan(problem, time_limit=left, plan=False)
    return bound


def _segments(problem: DesignProblem) -> list[DesignProblem]:
    if problem.segments is None:
        return [problem]
    from territorial.design.balanced import _sub_problem

    return [_sub_problem(problem, int(s))[0] for s in np.unique(problem.segments)]


@numba.njit(cache=True)
def _free_dual(nbr, ncost, a, up, u, k, x_out):
    """Value of the free-center dual at ``u`` and the fractional service ``x_out``.

    ``nbr[i, t]`` is the ``t``-th nearest unit of ``i`` (a potential center) and
    ``ncost[i, t]`` the cost of serving ``i`` from it. Returns (L(u), coverage per unit).
    """
    n, nn = nbr.shape
    mb = a.shape[1]
    # reverse lists: for each potential center j the (unit, slot) pairs it can serve
    count = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        for t in range(nn):
            count[nbr[i, t] + 1] += 1
    for j in range(n):
        count[j + 1] += count[j]
    fill = count[:-1].copy()
    who = np.empty(n * nn, dtype=np.int64)
    slot = np.empty(n * nn, dtype=np.int64)
    for i in range(n):
        for t in range(nn):
            j = nbr[i, t]
            who[fill[j]] = i
            slot[fill[j]] = t
            fill[j] += 1
    rho = np.zeros(n)
    best_row = np.zeros(n, dtype=np.int64)
    for j in range(n):
        lo_t = count[j]
        hi_t = count[j + 1]
        m_items = hi_t - lo_t
        vals = np.empty(m_items)
        for q in range(m_items):
            e = lo_t + q
            vals[q] = ncost[who[e], slot[e]] - u[who[e]]
        if mb == 0:
            r = 0.0
            for q in range(m_items):
                if vals[q] < 0:
                    r += vals[q]
            rho[j] = r
            continue
        best_r = -np.inf
        for m in range(mb):
            # fractional knapsack on row m: most negative value per unit of measure first
            keys = np.empty(m_items)
            for q in range(m_items):
                am = a[who[lo_t + q], m]
                keys[q] = vals[q] / am if am > 0 else -np.inf
            order = np.argsort(keys)
            cap = up[m]
            r = 0.0
            for q in order:
                v = vals[q]
                if v >= 0:
                    break
                am = a[who[lo_t + q], m]
                if am <= cap:
                    r += v
                    cap -= am
                else:
                    r += v * cap / am
                    cap = 0.0
                    break
            if r > best_r:
                best_r = r
                best_row[j] = m
        rho[j] = best_r
    chosen = np.argsort(rho)[:k]
    value = u.sum()
    for j in chosen:
        value += rho[j]
    # coverage of every unit by the chosen centers (for the subgradient)
    cover = np.zeros(n)
    for j in chosen:
        lo_t = count[j]
        hi_t = count[j + 1]
        m_items = hi_t - lo_t
        if m_items == 0:
            continue
        vals = np.empty(m_items)
        keys = np.empty(m_items)
        m = best_row[j]
        for q in range(m_items):
            e = lo_t + q
            vals[q] = ncost[who[e], slot[e]] - u[who[e]]
            if mb:
                am = a[who[e], m]
                keys[q] = vals[q] / am if am > 0 else -np.inf
            else:
                keys[q] = vals[q]
        order = np.argsort(keys)
        cap = up[m] if mb else np.inf
        for q in order:
            if vals[q] >= 0:
                break
            i = who[lo_t + q]
            am = a[i, m] if mb else 0.0
            if am <= cap:
                cover[i] += 1.0
                cap -= am
            else:
                cover[i] += cap / am
                break
    x_out[:] = cover
    return value


def free_center_bound(
    problem: DesignProblem,
    *,
    upper: float | None = None,
    time_limit: float = 10.0,
    iterations: int = 150,
    neighbors: int | None = None,
    plan_costs: FloatArray | None = None,
) -> float | None:
    """Capacitated p-median Lagrangian lower bound when centers are free units.

    ``upper`` (a known plan's objective) steers the Polyak steps; ``plan_costs`` (each
    unit's cost in that plan, ``(n,)``) starts the multipliers there (a strong start
    for the radius lists, see :func:`pmedian_bound.ascend_radius`). Returns ``None``
    for the diameter objective, graph distances or fixed centers. Segments are
    bounded one at a time and added up.
    """
    if (
        problem.objective == "diameter"
        or problem.distance == "graph"
        or problem.centers is not None
    ):
        return None
    deadline = current_clock().now() + max(time_limit, 0.01)
    total = 0.0
    subs = _segments(problem)
    start = plan_costs if len(subs) == 1 else None
    for sub in subs:
        share = upper * sub.n_units / problem.n_units if upper is not None else None
        b = _free_bound_one(sub, share, deadline, iterations, neighbors, start)
        if b is None:
            return None
        total += b
    return float(total)


def _free_bound_one(
    problem: DesignProblem,
    upper: float | None,
    deadline: float,
    iterations: int,
    neighbors: int | None,
    plan_costs: FloatArray | None = None,
) -> float | None:
    n, k = problem.n_units, problem.n_territories
    if k >= n:
        return 0.0
    power = 2 if problem.objective == "inertia" else 1
    nn = neighbors or 32
    nn = int(min(nn, n - 1, max(2, MAX_LIST_ENTRIES // n)))
    if nn < n - 1 and neighbors is None:
        # nearest-unit lists cap every multiplier at the cost of the unit's first unlisted
        # unit (the bound can never pass the sum of those caps): after a short ascent on
        # them (cheap, and a floor when little time is left), list by radius, every pair
        # that can matter for the multipliers; both values are valid, the larger counts
        # (the radius ascent needs the time: 0.1 of it for the floor)
        now = current_clock().now()
        listed = _free_bound_one(
            problem, upper, now + 0.1 * max(deadline - now, 0.0), iterations, nn, None
        )
        radial = _free_bound_radius(problem, upper, deadline, plan_costs)
        values = [v for v in (listed, radial) if v is not None]
        return max(values) if values else None
    pts = dist.embed(problem)
    dd, jj = cKDTree(pts).query(pts, k=nn + 1)
    dd = np.asarray(dd).reshape(n, nn + 1)
    jj = np.asarray(jj).reshape(n, nn + 1)
    w = problem.weights
    cost = w[:, None] * dist.embedded_to_distance(problem, dd) ** power
    nbr = np.ascontiguousarray(jj[:, :nn])
    ncost = np.ascontiguousarray(cost[:, :nn])
    rest = cost[:, nn]  # cost from the first unlisted unit: caps u_i
    idx = list(problem.balance_index)
    cols = problem.measures[:, idx]
    mean = cols.sum(axis=0) / k
    a = np.ascontiguousarray(np.where(mean > 0, cols / np.where(mean > 0, mean, 1.0), 0.0))
    a = a.reshape(n, len(idx))
    up = np.array([1.0 + b.tolerance for b in problem.balance], dtype=np.float64)
    up = np.where(mean > 0, up, np.inf)
    u = rest.copy()
    x = np.empty(n)
    best = -np.inf
    theta = 1.0
    stall = 0
    for it in range(iterations):
        val = float(_free_dual(nbr, ncost, a, up, u, k, x))
        current_clock().charge(pair_work(n, nn))
        if val > best + 1e-12 * abs(best if np.isfinite(best) else 1.0):
            best = val
            stall = 0
        else:
            stall += 1
            if stall >= 5:
                theta *= 0.5
                stall = 0
        if current_clock().now() > deadline or theta < 1e-3:
            break
        g = 1.0 - x
        gg = float((g * g).sum())
        if gg <= 1e-12:
            break
        target = upper if upper is not None and upper > val else abs(val) * 1.1 + 1.0
        u = np.minimum(u + theta * (target - val) / gg * g, rest)
        log.debug("free bound it=%d value=%.6g theta=%.3g", it, val, theta)
    # any plan costs at least 0: a negative dual value says nothing
    return max(float(best), 0.0) if np.isfinite(best) else None


def _free_bound_radius(
    problem: DesignProblem,
    upper: float | None,
    deadline: float,
    plan_costs: FloatArray | None,
) -> float | None:
    """The capacitated p-median Lagrangian with lists by radius (no cap below the plan),
    its multipliers found on coarse copies first (:func:`pmedian_bound.ascend_coarse_to_fine`)."""
    from territorial.design import pmedian_bound as pb

    n, k = problem.n_units, problem.n_territories
    power = 2 if problem.objective == "inertia" else 1
    pts = np.ascontiguousarray(dist.embed(problem), dtype=np.float64)
    radius = dist.EARTH_RADIUS_MI if problem.coord_kind == "latlon" else 0.0
    w = np.ascontiguousarray(problem.weights, dtype=np.float64)
    idx = list(problem.balance_index)
    cols = problem.measures[:, idx].reshape(n, len(idx))
    mean = cols.sum(axis=0) / k
    keep = mean > 0  # a measure with no total limits nothing
    a = np.ascontiguousarray(cols[:, keep] / mean[keep])
    up = np.array([1.0 + b.tolerance for b in problem.balance], dtype=np.float64)[keep]
    if plan_costs is not None and len(plan_costs) == n and np.isfinite(plan_costs).all():
        # benchmarks/free_centres_bound_probe.py at 20k/40: L(0.05 x costs) = 0.3M,
        # L(0.5 x costs) = -19.3M (candidates between two centres take the far members
        # of both territories); the coarse levels start from the former
        u0 = 0.05 * np.asarray(plan_costs, dtype=np.float64)
    else:
        # no plan: each unit's cost to its (n / 2p)-th nearest unit
        q = int(min(n - 1, max(1, n // (2 * k))))
        dd, _ = cKDTree(pts).query(pts, k=q + 1)
        u0 = w * dist.embedded_to_distance(problem, np.asarray(dd)[:, -1]) ** power
    res = pb.ascend_coarse_to_fine(
        pts, w, a, up, k, power=power, radius=radius, u0=u0, upper=upper, deadline=deadline
    )  # fmt: skip
    return None if res is None else max(float(res.best.value), 0.0)


def lower_bound(
    problem: DesignProblem, *, upper: float | None = None, time_limit: float = 10.0
) -> float | None:
    """The best proven lower bound this module can compute for ``problem`` (or ``None``)."""
    if problem.objective == "diameter":
        return None
    if problem.centers is not None:
        return fixed_center_bound(problem, time_limit=time_limit)
    return free_center_bound(problem, upper=upper, time_limit=time_limit)


__all__ = ["fixed_center_bound", "free_center_bound", "lower_bound"]
