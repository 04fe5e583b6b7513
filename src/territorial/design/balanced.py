"""The fast balanced, compact heuristic (inertia or median, no contiguity).

Model (one segment; ``c_ij = w_i d(i, center_j)^p``, ``p = 2`` inertia, ``1`` median;
``a_im`` balanced measure ``m`` of unit ``i`` divided by its mean per territory)::

    min  sum_ij c_ij x_ij
    s.t. sum_j x_ij = 1                          every unit in one territory
         1 - t_m <= sum_i a_im x_ij <= 1 + t_m   balance, every territory j, measure m
         x_ij = 0 unless j is allowed for i;  x_i,locked(i) = 1

Algorithm
---------
1. **Centers.** Fixed centers when given; else k-means++ seeding (seeded, weighted
   by the balanced measures so dense markets get more centers).
2. **Lagrangian assignment.** Relax the balance rows with multipliers ``lambda_jm``
   (free sign: positive pushes units out of an over-loaded territory, negative pulls
   them into an under-loaded one). Each unit independently takes
   ``argmin_j c_ij + sum_m lambda_jm a_im`` over its candidate territories (the
   ``C`` nearest centers plus its current/allowed ones: sparse, so 1M units x 1000
   territories fits). Multipliers follow Polyak subgradient steps. The same loop
   evaluates the Lagrangian dual, a proven lower bound with fixed centers
   (:mod:`territorial.design.bounds`).
3. **Repair.** Move boundary units out of over-loaded / into under-loaded
   territories, cheapest cost per unit of violation removed first, until every
   balanced measure is within tolerance (hard constraint).
4. **Local search.** Single moves and pair swaps that lower the objective and keep
   balance, locks, allowed territories and the move budget.
5. **Re-centering** (free centers): every territory's center becomes its medoid; repeat
   2-4 warm-started until the objective stops improving or time runs out.

Realignment (a current plan) starts from the current plan, charges a penalty per
moved unit and never exceeds ``max_moves``. Segments are solved one at a time with
their own territory count and balance means, then merged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from scipy.spatial import cKDTree

from territorial.design import distances as dist
from territorial.design import metrics
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.realign import flow_repair
from territorial.design.result import SolverOutcome
from territorial.design.solvers import Run, Solver, current_clock, pair_work, register
from territorial.errors import ConfigError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: Candidate territories per unit (nearest centers).
DEFAULT_CANDIDATES = 12
#: Extra columns per unit for territories whose center is near the unit but which are
#: not among the unit's nearest centers (so remote territories can fill up).
REVERSE_CANDIDATES = 4
#: The Lagrangian scans every territory (exact dual) once every this many iterations.
EXACT_EVERY = 10
#: Graph distances keep a dense ``k x n`` matrix; refuse beyond this many entries.
GRAPH_DENSE_LIMIT = 50_000_000
EPS = 1e-9
#: Total band violation (fractions of the mean) below which a plan counts as balanced.
FEASIBLE = 1e-7
TARGET = 1.05


# --- numba kernels -----------------------------------------------------------------------
@numba.njit(cache=True)
def _viol(load: float, lo: float, up: float) -> float:
    if load > up:
        return load - up
    if load < lo:
        return lo - load
    return 0.0


@numba.njit(cache=True)
def _pair_cost(unit_pts, center_pts, i, j, w, power, sphere, radius):
    """Exact ``w_i d(i, j)^p`` from embedded points (chord on the unit sphere, or x/y)."""
    s2 = 0.0
    for t in range(unit_pts.shape[1]):
        dx = unit_pts[i, t] - center_pts[j, t]
        s2 += dx * dx
    d = np.sqrt(s2)
    if sphere:
        d = 2.0 * radius * np.arcsin(min(d / 2.0, 1.0))
    return w[i] * d**power


@numba.njit(cache=True)
def _lagrange_assign(
    cand,
    cost,
    a,
    lam,
    rest,
    unit_pts,
    center_pts,
    w,
    power,
    sphere,
    radius,
    allowed,
    use_allowed,
    col_out,
    inner_out,
):
    """Each unit's cheapest territory under prices ``lam``, over **all** territories.

    The candidate row is scanned first; ``rest[i]`` (a lower bound on the cost of any
    territory outside the row's nearest ones) prunes the full scan, which runs only
    when a far territory's price could beat the row. A far winner is written into the
    row's last (dynamic) column. ``inner_out[i]`` is the unit's exact term of the dual.
    """
    n, cc = cand.shape
    k, mb = lam.shape
    dyn = cc - 1
    floor = np.empty(mb)
    for m in range(mb):
        floor[m] = np.inf
        for j in range(k):
            if lam[j, m] < floor[m]:
                floor[m] = lam[j, m]
    key = np.zeros(k)
    for j in range(k):
        if mb:
            key[j] = lam[j, 0]
            for m in range(1, mb):
                key[j] = min(key[j], lam[j, m])
    by_key = np.argsort(key)
    for i in range(n):
        best = np.inf
        bcol = -1
        for c in range(cc):
            j = cand[i, c]
            if j < 0:
                continue
            v = cost[i, c]
            for m in range(mb):
                v += lam[j, m] * a[i, m]
            if v < best:
                best = v
                bcol = c
        r = rest[i]
        if r < np.inf:
            lowest = r
            for m in range(mb):
                lowest += floor[m] * a[i, m]
            if lowest < best:
                bj = -1
                bcost = 0.0
                total_a = 0.0
                for m in range(mb):
                    total_a += a[i, m]
                # territories by their lowest price: sum_m lam_jm a_im >= key_j * sum_m a_im,
                # so once rest + key_j * total_a cannot beat the best, no later one can
                for t in range(k):
                    j = by_key[t]
                    if r + key[j] * total_a >= best:
                        break
                    if use_allowed and not allowed[i, j]:
                        continue
                    pr = 0.0
                    for m in range(mb):
                        pr += lam[j, m] * a[i, m]
                    if r + pr >= best:
                        continue
                    cj = _pair_cost(unit_pts, center_pts, i, j, w, power, sphere, radius)
                    if cj + pr < best:
                        best = cj + pr
                        bj = j
                        bcost = cj
                if bj >= 0:
                    found = -1
                    for c in range(cc):
                        if cand[i, c] == bj:
                            found = c
                    if found < 0:
                        cand[i, dyn] = bj
                        cost[i, dyn] = bcost
                        found = dyn
                    bcol = found
        col_out[i] = bcol
        inner_out[i] = best


@numba.njit(cache=True)
def _loads(cand, col, a, k):
    n = cand.shape[0]
    mb = a.shape[1]
    out = np.zeros((k, mb))
    for i in range(n):
        j = cand[i, col[i]]
        for m in range(mb):
            out[j, m] += a[i, m]
    return out


@numba.njit(cache=True)
def _move_delta_v(loads, j, j2, a, i, lo, up):
    dv = 0.0
    for m in range(a.shape[1]):
        x = a[i, m]
        if x == 0.0:
            continue
        dv += _viol(loads[j, m] - x, lo[m], up[m]) - _viol(loads[j, m], lo[m], up[m])
        dv += _viol(loads[j2, m] + x, lo[m], up[m]) - _viol(loads[j2, m], lo[m], up[m])
    return dv


@numba.njit(cache=True)
def _move_worsens(loads, j, j2, a, i, lo, up):
    """Does moving unit ``i`` from ``j`` to ``j2`` raise any territory's band violation?

    (Stricter than the total: an unbalanced plan must not pass its deficit around, which
    would make the worst territory worse. For a balanced plan the two are the same.)
    """
    for m in range(a.shape[1]):
        x = a[i, m]
        if x == 0.0:
            continue
        if _viol(loads[j, m] - x, lo[m], up[m]) > _viol(loads[j, m], lo[m], up[m]) + EPS:
            return True
        if _viol(loads[j2, m] + x, lo[m], up[m]) > _viol(loads[j2, m], lo[m], up[m]) + EPS:
            return True
    return False


@numba.njit(cache=True)
def _moved(j, cur):
    return 1 if (cur >= 0 and j != cur) else 0


@numba.njit(cache=True)
def _repair(cand, cost, a, col, loads, lo, up, movable, current, max_moves, moves, penalty, passes):
    """Greedy balance repair; returns (total violation left, moves used)."""
    n, cc = cand.shape
    k, mb = loads.shape
    ratio = np.empty(n)
    bestc = np.empty(n, dtype=np.int64)
    for _ in range(passes):
        total = 0.0
        for j in range(k):
            for m in range(mb):
                total += _viol(loads[j, m], lo[m], up[m])
        if total <= EPS:
            return total, moves
        for i in range(n):
            ratio[i] = np.inf
            bestc[i] = -1
            if not movable[i]:
                continue
            c0 = col[i]
            j = cand[i, c0]
            # only units touching a violated territory can help
            for c in range(cc):
                j2 = cand[i, c]
                if j2 < 0 or j2 == j:
                    continue
                dv = _move_delta_v(loads, j, j2, a, i, lo, up)
                if dv >= -EPS:
                    continue
                dm = _moved(j2, current[i]) - _moved(j, current[i])
                if max_moves >= 0 and moves + dm > max_moves:
                    continue
                r = (cost[i, c] - cost[i, c0] + penalty * dm) / (-dv)
                if r < ratio[i]:
                    ratio[i] = r
                    bestc[i] = c
        order = np.argsort(ratio)
        applied = 0
        for t in range(n):
            i = order[t]
            if ratio[i] == np.inf:
                break
            c = bestc[i]
            c0 = col[i]
            j = cand[i, c0]
            j2 = cand[i, c]
            dv = _move_delta_v(loads, j, j2, a, i, lo, up)
            if dv >= -EPS:
                continue
            dm = _moved(j2, current[i]) - _moved(j, current[i])
            if max_moves >= 0 and moves + dm > max_moves:
                continue
            for m in range(mb):
                loads[j, m] -= a[i, m]
                loads[j2, m] += a[i, m]
            col[i] = c
            moves += dm
            applied += 1
        if applied == 0:
            break
    total = 0.0
    for j in range(k):
        for m in range(mb):
            total += _viol(loads[j, m], lo[m], up[m])
    return total, moves


@numba.njit(cache=True)
def _spread(cand, cost, a, col, loads, lo, up, movable, current, max_moves, moves, penalty, limit):
    """Diffusion step when the repair is stuck: apply up to ``limit`` cheapest moves that
    lower ``Phi = sum_jm (load_jm - 1)^2`` without raising the band violation, so load can
    flow through in-band territories towards the ones with room. Returns (applied, moves).
    """
    n, cc = cand.shape
    mb = loads.shape[1]
    ratio = np.empty(n)
    bestc = np.empty(n, dtype=np.int64)
    for i in range(n):
        ratio[i] = np.inf
        bestc[i] = -1
        if not movable[i]:
            continue
        c0 = col[i]
        j = cand[i, c0]
        for c in range(cc):
            j2 = cand[i, c]
            if j2 < 0 or j2 == j:
                continue
            dphi = 0.0
            for m in range(mb):
                x = a[i, m]
                dphi += 2.0 * x * (loads[j2, m] - loads[j, m] + x)
            if dphi >= -EPS:
                continue
            dm = _moved(j2, current[i]) - _moved(j, current[i])
            if max_moves >= 0 and moves + dm > max_moves:
                continue
            r = (cost[i, c] - cost[i, c0] + penalty * dm) / (-dphi)
            if r < ratio[i]:
                ratio[i] = r
                bestc[i] = c
    order = np.argsort(ratio)
    applied = 0
    for t in range(n):
        if applied >= limit:
            break
        i = order[t]
        if ratio[i] == np.inf:
            break
        c = bestc[i]
        j = cand[i, col[i]]
        j2 = cand[i, c]
        dphi = 0.0
        for m in range(mb):
            x = a[i, m]
            dphi += 2.0 * x * (loads[j2, m] - loads[j, m] + x)
        if dphi >= -EPS:
            continue
        dm = _moved(j2, current[i]) - _moved(j, current[i])
        if max_moves >= 0 and moves + dm > max_moves:
            continue
        for m in range(mb):
            loads[j, m] -= a[i, m]
            loads[j2, m] += a[i, m]
        col[i] = c
        moves += dm
        applied += 1
    return applied, moves


@numba.njit(cache=True)
def _members(cand, col, k):
    """Counting sort of units by territory: ``(start (k+1,), members (n,))``."""
    n = cand.shape[0]
    start = np.zeros(k + 1, dtype=np.int64)
    for i in range(n):
        start[cand[i, col[i]] + 1] += 1
    for j in range(k):
        start[j + 1] += start[j]
    fill = start[:-1].copy()
    members = np.empty(n, dtype=np.int64)
    for i in range(n):
        j = cand[i, col[i]]
        members[fill[j]] = i
        fill[j] += 1
    return start, members


@numba.njit(cache=True)
def _repair_swaps(
    cand, cost, a, col, loads, lo, up, movable, current, max_moves, moves, penalty, passes
):
    """Balance repair by exchanging two units between neighbouring territories.

    A swap moves measure mix without moving a count (e.g. a large account for a small
    one), which single moves cannot do when one measure is over and another at its
    bound. For every violated territory the cheapest violation-reducing swap (cost per
    unit of violation removed) is applied. Returns (swaps applied, moves used).
    """
    cc = cand.shape[1]
    k, mb = loads.shape
    applied_total = 0
    for _ in range(passes):
        start, members = _members(cand, col, k)
        applied = 0
        for j in range(k):
            vj = 0.0
            for m in range(mb):
                vj += _viol(loads[j, m], lo[m], up[m])
            if vj <= EPS:
                continue
            best = np.inf
            bi = -1
            bi2 = -1
            bc = -1
            bc2 = -1
            for s in range(start[j], start[j + 1]):
                i = members[s]
                if not movable[i] or cand[i, col[i]] != j:
                    continue
                c0 = col[i]
                for c in range(cc):
                    j2 = cand[i, c]
                    if j2 < 0 or j2 == j:
                        continue
                    for s2 in range(start[j2], start[j2 + 1]):
                        i2 = members[s2]
                        if not movable[i2] or cand[i2, col[i2]] != j2:
                            continue
                        c2 = _find_col(cand, i2, j)
                        if c2 < 0:
                            continue
                        dv = 0.0
                        for m in range(mb):
                            dx = a[i, m] - a[i2, m]
                            if dx == 0.0:
                                continue
                            dv += _viol(loads[j, m] - dx, lo[m], up[m]) - _viol(
                                loads[j, m], lo[m], up[m]
                            )
                            dv += _viol(loads[j2, m] + dx, lo[m], up[m]) - _viol(
                                loads[j2, m], lo[m], up[m]
                            )
                        if dv >= -EPS:
                            continue
                        dm = (
                            _moved(j2, current[i])
                            - _moved(j, current[i])
                            + _moved(j, current[i2])
                            - _moved(j2, current[i2])
                        )
                        if max_moves >= 0 and moves + dm > max_moves:
                            continue
                        d = (
                            cost[i, c]
                            - cost[i, c0]
                            + cost[i2, c2]
                            - cost[i2, col[i2]]
                            + penalty * dm
                        )
                        r = d / (-dv)
                        if r < best:
                            best = r
                            bi = i
                            bi2 = i2
                            bc = c
                            bc2 = c2
            if bi >= 0:
                j2 = cand[bi, bc]
                for m in range(mb):
                    dx = a[bi, m] - a[bi2, m]
                    loads[j, m] -= dx
                    loads[j2, m] += dx
                moves += (
                    _moved(j2, current[bi])
                    - _moved(j, current[bi])
                    + _moved(j, current[bi2])
                    - _moved(j2, current[bi2])
                )
                col[bi] = bc
                col[bi2] = bc2
                applied += 1
        applied_total += applied
        if applied == 0:
            break
    return applied_total, moves


@numba.njit(cache=True)
def _penalty_sweep(
    cand, cost, a, col, loads, movable, current, max_moves, moves, penalty, rho, order, sweeps
):
    """Gauss-Seidel sweeps on ``cost + rho * sum_jm (load_jm - 1)^2`` (quadratic penalty).

    Every unit moves to the candidate territory that lowers the penalised objective
    most, with loads updated at once, so prices react immediately (unlike subgradient
    steps). Returns (moves applied, moves used).
    """
    n, cc = cand.shape
    mb = loads.shape[1]
    total = 0
    for _ in range(sweeps):
        applied = 0
        for t in range(n):
            i = order[t]
            if not movable[i]:
                continue
            c0 = col[i]
            j = cand[i, c0]
            best = -1e-12 * (1.0 + abs(cost[i, c0]))
            bc = -1
            for c in range(cc):
                j2 = cand[i, c]
                if j2 < 0 or j2 == j:
                    continue
                dm = _moved(j2, current[i]) - _moved(j, current[i])
                if max_moves >= 0 and moves + dm > max_moves:
                    continue
                dphi = 0.0
                for m in range(mb):
                    x = a[i, m]
                    dphi += 2.0 * x * (loads[j2, m] - loads[j, m] + x)
                d = cost[i, c] - cost[i, c0] + penalty * dm + rho * dphi
                if d < best:
                    best = d
                    bc = c
            if bc >= 0:
                j2 = cand[i, bc]
                for m in range(mb):
                    loads[j, m] -= a[i, m]
                    loads[j2, m] += a[i, m]
                moves += _moved(j2, current[i]) - _moved(j, current[i])
                col[i] = bc
                applied += 1
        total += applied
        if applied == 0:
            break
    return total, moves


@numba.njit(cache=True)
def _find_col(cand, i, j):
    for c in range(cand.shape[1]):
        if cand[i, c] == j:
            return c
    return -1


@numba.njit(cache=True)
def _local_search(
    cand,
    cost,
    a,
    col,
    loads,
    lo,
    up,
    movable,
    current,
    max_moves,
    moves,
    penalty,
    order,
    passes,
    swaps,
    swap_scan,
):
    """Improving moves and swaps that never increase the balance violation.

    Returns (total gain, moves used).
    """
    n, cc = cand.shape
    k, mb = loads.shape
    gain_total = 0.0
    for _ in range(passes):
        gain = 0.0
        # members of every territory (counting sort; may go stale within a pass)
        start = np.zeros(k + 1, dtype=np.int64)
        for i in range(n):
            start[cand[i, col[i]] + 1] += 1
        for j in range(k):
            start[j + 1] += start[j]
        fill = start[:-1].copy()
        members = np.empty(n, dtype=np.int64)
        for t in range(n):
            i = order[t]
            j = cand[i, col[i]]
            members[fill[j]] = i
            fill[j] += 1
        for t in range(n):
            i = order[t]
            if not movable[i]:
                continue
            c0 = col[i]
            j = cand[i, c0]
            best = -EPS * (1.0 + abs(cost[i, c0]))
            bc = -1
            blocked_c = -1
            blocked_gain = 0.0
            for c in range(cc):
                j2 = cand[i, c]
                if j2 < 0 or j2 == j:
                    continue
                dm = _moved(j2, current[i]) - _moved(j, current[i])
                d = cost[i, c] - cost[i, c0] + penalty * dm
                if d >= best and d >= blocked_gain:
                    continue
                if max_moves >= 0 and moves + dm > max_moves:
                    continue
                if _move_worsens(loads, j, j2, a, i, lo, up):
                    if d < blocked_gain:
                        blocked_gain = d
                        blocked_c = c
                    continue
                if d < best:
                    best = d
                    bc = c
            if bc >= 0:
                j2 = cand[i, bc]
                for m in range(mb):
                    loads[j, m] -= a[i, m]
                    loads[j2, m] += a[i, m]
                moves += _moved(j2, current[i]) - _moved(j, current[i])
                col[i] = bc
                gain -= best
                continue
            if not swaps or blocked_c < 0:
                continue
            # swap: i goes to j2, some unit i2 of j2 comes to j
            j2 = cand[i, blocked_c]
            lo_t = start[j2]
            hi_t = start[j2 + 1]
            cnt = hi_t - lo_t
            if cnt == 0:
                continue
            step = 1 if cnt <= swap_scan else cnt // swap_scan
            best_pair = -EPS * (1.0 + abs(cost[i, c0]))
            bi2 = -1
            bc2 = -1
            for s in range(lo_t, hi_t, step):
                i2 = members[s]
                if not movable[i2] or cand[i2, col[i2]] != j2:
                    continue
                c2 = _find_col(cand, i2, j)
                if c2 < 0:
                    continue
                dm = (
                    _moved(j2, current[i])
                    - _moved(j, current[i])
                    + _moved(j, current[i2])
                    - _moved(j2, current[i2])
                )
                if max_moves >= 0 and moves + dm > max_moves:
                    continue
                d = (
                    blocked_gain
                    - penalty * (_moved(j2, current[i]) - _moved(j, current[i]))
                    + cost[i2, c2]
                    - cost[i2, col[i2]]
                    + penalty * dm
                )
                if d >= best_pair:
                    continue
                ok = True
                for m in range(mb):
                    dx = a[i, m] - a[i2, m]
                    nj = loads[j, m] - dx
                    nj2 = loads[j2, m] + dx
                    if (
                        _viol(nj, lo[m], up[m]) > _viol(loads[j, m], lo[m], up[m]) + EPS
                        or _viol(nj2, lo[m], up[m]) > _viol(loads[j2, m], lo[m], up[m]) + EPS
                    ):
                        ok = False
                        break
                if ok:
                    best_pair = d
                    bi2 = i2
                    bc2 = c2
            if bi2 >= 0:
                i2 = bi2
                for m in range(mb):
                    dx = a[i, m] - a[i2, m]
                    loads[j, m] -= dx
                    loads[j2, m] += dx
                moves += (
                    _moved(j2, current[i])
                    - _moved(j, current[i])
                    + _moved(j, current[i2])
                    - _moved(j2, current[i2])
                )
                col[i] = blocked_c
                col[i2] = bc2
                gain -= best_pair
        gain_total += gain
        if gain <= 1e-12 * (1.0 + gain_total):
            break
    return gain_total, moves


# --- data of one segment -------------------------------------------------------------------
@dataclass
class _Instance:
    """Arrays of one segment, normalised for the kernels."""

    problem: DesignProblem
    power: int
    a: FloatArray  # (n, mb) balanced measures / mean per territory
    lo: FloatArray  # (mb,)
    up: FloatArray
    movable: np.ndarray
    current: IntArray
    locked: IntArray
    max_moves: int
    graph: object | None


def _instance(problem: DesignProblem) -> _Instance:
    n, k = problem.n_units, problem.n_territories
    idx = list(problem.balance_index)
    cols = problem.measures[:, idx]
    mean = cols.sum(axis=0) / k
    safe = np.where(mean > 0, mean, 1.0)
    a = np.ascontiguousarray(cols / safe)
    tol = np.array([b.tolerance for b in problem.balance], dtype=np.float64)
    # aim a hair inside the band so rounding never reports 5.0000001% for ±5%
    lo = np.where(mean > 0, 1.0 - tol * (1 - 1e-9), 0.0)
    up = np.where(mean > 0, 1.0 + tol * (1 - 1e-9), 0.0)
    locked = problem.locked if problem.locked is not None else np.full(n, -1, dtype=np.int64)
    current = problem.current if problem.current is not None else np.full(n, -1, dtype=np.int64)
    graph = dist.graph_matrix(problem) if problem.distance == "graph" else None
    return _Instance(
        problem=problem,
        power=2 if problem.objective == "inertia" else 1,
        a=a.reshape(n, len(idx)),
        lo=lo.astype(np.float64),
        up=up.astype(np.float64),
        movable=locked < 0,
        current=current.astype(np.int64),
        locked=locked.astype(np.int64),
        max_moves=-1 if problem.max_moves is None else int(problem.max_moves),
        graph=graph,
    )


@dataclass
class _Candidates:
    """Candidate rows: the ``C`` nearest territories, a kept one, a dynamic one."""

    cand: IntArray  # (n, C+2) territory per column, -1 empty
    cost: FloatArray  # (n, C+2) cost of that territory
    rest: FloatArray  # (n,) lower bound on the cost of any territory outside the C nearest
    unit_pts: FloatArray  # embedded points for exact scans
    center_pts: FloatArray
    weights: FloatArray
    power: int
    sphere: bool
    allowed: np.ndarray

    def exact_cost(self, units: IntArray, terr: IntArray) -> FloatArray:
        d = np.sqrt(((self.unit_pts[units] - self.center_pts[terr]) ** 2).sum(axis=1))
        if self.sphere:
            d = dist.chord_to_miles(d)
        return self.weights[units] * d**self.power


def _center_points(inst: _Instance, center_units: IntArray | None) -> FloatArray:
    p = inst.problem
    if center_units is None:
        assert p.centers is not None
        return p.centers
    return p.coords[center_units]


def _candidates(
    inst: _Instance, center_units: IntArray | None, n_cand: int, keep: IntArray | None
) -> _Candidates:
    """Nearest-center candidate rows; ``keep`` (a territory per unit) is always included.

    Graph distances use every territory as a candidate (a dense ``n x k`` matrix).
    """
    p = inst.problem
    n, k = p.n_units, p.n_territories
    w = p.weights
    if p.distance == "graph":
        if k * n > GRAPH_DENSE_LIMIT:
            raise ConfigError(
                f"graph distances for {n} units x {k} territories need a dense matrix of "
                f"{k * n:,} entries (limit {GRAPH_DENSE_LIMIT:,}); use great-circle distances"
            )
        sources = center_units if center_units is not None else dist.snap_to_units(p, p.centers)  # type: ignore[arg-type]
        full = dist.graph_distances_from(p, sources, inst.graph).T  # (n, k)
        # unreachable pairs get a prohibitive but finite cost
        full = np.where(np.isfinite(full), full, 1e12)
        full_cost = w[:, None] * full**inst.power
        cc = k
        jj = np.argsort(full_cost, axis=1)
        cc_cost = np.take_along_axis(full_cost, jj, axis=1)
        unit_pts = np.zeros((n, 1))
        center_pts = np.zeros((k, 1))
        sphere = False
    else:
        full_cost = None
        cc = min(n_cand, k)
        unit_pts = np.ascontiguousarray(dist.embed(p))
        center_pts = np.ascontiguousarray(dist.embed(p, _center_points(inst, center_units)))
        sphere = p.coord_kind == "latlon"
        q = min(cc + 1, k)
        dd, jj = cKDTree(center_pts).query(unit_pts, k=q)
        dd = np.asarray(dd).reshape(n, q)
        jj = np.asarray(jj).reshape(n, q)
        cc_cost = w[:, None] * dist.embedded_to_distance(p, dd) ** inst.power
    rest = cc_cost[:, cc].copy() if k > cc else np.full(n, np.inf)
    n_rev = REVERSE_CANDIDATES if k > cc else 0
    width = cc + n_rev + 2
    cand = np.full((n, width), -1, dtype=np.int64)
    cost = np.full((n, width), np.inf)
    cand[:, :cc] = jj[:, :cc]
    cost[:, :cc] = cc_cost[:, :cc]
    if n_rev:
        # reverse candidates: every territory is offered to the units nearest its center,
        # enough of them to fill it three times over, so remote centers can fill up
        reach = min(n, int(np.ceil(3.0 * n / k)) + 1)
        _, near = cKDTree(unit_pts).query(center_pts, k=reach)
        near = np.asarray(near).reshape(k, reach)
        terr = np.repeat(np.arange(k), reach)
        units = near.ravel()
        order = np.argsort(units, kind="stable")
        units, terr = units[order], terr[order]
        fresh = ~(cand[units, :cc] == terr[:, None]).any(axis=1)
        units, terr = units[fresh], terr[fresh]
        slot = np.arange(len(units)) - np.searchsorted(units, units)
        take = slot < n_rev
        units, terr, slot = units[take], terr[take], slot[take]
        cand[units, cc + slot] = terr
        cost[units, cc + slot] = w[units] * (
            dist.embedded_to_distance(
                p, np.sqrt(((unit_pts[units] - center_pts[terr]) ** 2).sum(axis=1))
            )
            ** inst.power
        )
    cc = cc + n_rev
    allowed = p.allowed if p.allowed is not None else np.ones((1, 1), dtype=bool)
    out = _Candidates(
        cand, cost, rest, unit_pts, center_pts, w, inst.power, sphere, np.ascontiguousarray(allowed)
    )

    def exact_cost(units: IntArray, terr: IntArray) -> FloatArray:
        if full_cost is not None:
            return full_cost[units, terr]
        return out.exact_cost(units, terr)

    # column cc: the unit's current/kept territory when it is not among the nearest
    if keep is not None:
        missing = np.flatnonzero((keep >= 0) & ~(cand[:, :cc] == keep[:, None]).any(axis=1))
        cand[missing, cc] = keep[missing]
        cost[missing, cc] = exact_cost(missing, keep[missing])
    # allowed territories: drop the others; units left with none get their nearest allowed
    if p.allowed is not None:
        valid = cand >= 0
        ok = np.zeros_like(valid)
        rows, cols_ = np.nonzero(valid)
        ok[rows, cols_] = p.allowed[rows, cand[rows, cols_]]
        cand[~ok] = -1
        cost[~ok] = np.inf
        for i in np.flatnonzero(~ok.any(axis=1)):
            js = np.flatnonzero(p.allowed[i])
            cst = exact_cost(np.full(len(js), i), js)
            pick = np.argsort(cst)[:cc]
            cand[i, : len(pick)] = js[pick]
            cost[i, : len(pick)] = cst[pick]
    # locked units: a single candidate, nothing else to scan
    li = np.flatnonzero(inst.locked >= 0)
    if li.size:
        cand[li] = -1
        cost[li] = np.inf
        cand[li, 0] = inst.locked[li]
        cost[li, 0] = exact_cost(li, inst.locked[li])
        rest[li] = np.inf
    return out


# --- seeding and re-centering -----------------------------------------------------------------
def _bisect(
    pts: FloatArray, load: FloatArray, units: IntArray, k: int, out: list[IntArray]
) -> None:
    """Recursive coordinate bisection: ``k`` parts of equal load, cut across the widest axis."""
    if k == 1 or len(units) <= 1:
        out.append(units)
        return
    k_left = k // 2
    sub = pts[units]
    axis = int(np.argmax(sub.max(axis=0) - sub.min(axis=0)))
    order = units[np.argsort(sub[:, axis], kind="stable")]
    cum = np.cumsum(load[order])
    cut = int(np.searchsorted(cum, cum[-1] * k_left / k))
    cut = min(max(cut, k_left), len(order) - (k - k_left))
    _bisect(pts, load, order[:cut], k_left, out)
    _bisect(pts, load, order[cut:], k - k_left, out)


def _seed_centers(inst: _Instance, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Initial centers and plan by recursive coordinate bisection on the balanced load.

    Parts have (nearly) equal combined balanced load and are compact boxes; each part's
    center is its medoid. Ties are broken by a seeded jitter so seeds give variety.
    """
    p = inst.problem
    n, k = p.n_units, p.n_territories
    load = inst.a.sum(axis=1) if inst.a.shape[1] else p.weights.copy()
    if load.sum() <= 0:
        load = np.ones(n)
    pts = dist.embed(p)
    span = pts.max(axis=0) - pts.min(axis=0)
    pts = pts + rng.normal(0.0, 1e-9, pts.shape) * np.maximum(span, 1e-12)
    parts: list[IntArray] = []
    _bisect(pts, load, np.arange(n), k, parts)
    assignment = np.empty(n, dtype=np.int64)
    for j, units in enumerate(parts):
        assignment[units] = j
    centers = metrics.best_center_units(p, assignment, exact_limit=400)
    return centers, assignment


def _recenter(inst: _Instance, assignment: IntArray, old: IntArray) -> IntArray:
    new = metrics.best_center_units(inst.problem, assignment, exact_limit=400)
    return np.where(new >= 0, new, old)


# --- the Lagrangian phase -------------------------------------------------------------------
@dataclass
class _Dual:
    lam: FloatArray
    best_value: float  # best exactly evaluated dual value: a proven lower bound
    best_lam: FloatArray


def _dual_value(inner: FloatArray, lam: FloatArray, lo: FloatArray, up: FloatArray) -> float:
    """``L(lam) = sum_i min_j (c_ij + lam_j . a_i) - sum_jm (lam+ up - lam- lo)``."""
    pos = np.maximum(lam, 0.0)
    neg = np.maximum(-lam, 0.0)
    return float(inner.sum() - (pos * up[None, :]).sum() + (neg * lo[None, :]).sum())


def _lagrangian(
    inst: _Instance,
    cands: _Candidates,
    lam0: FloatArray | None,
    ub: float,
    iters: int,
    deadline: float,
) -> tuple[_Dual, list[IntArray]]:
    """Subgradient ascent on the dual; returns it and promising assignments (column index)."""
    p = inst.problem
    n, k = p.n_units, p.n_territories
    mb = inst.a.shape[1]
    lam = np.zeros((k, mb)) if lam0 is None else lam0.copy()
    col = np.empty(n, dtype=np.int64)
    inner = np.empty(n)
    best_val = -np.inf
    best_lam = lam.copy()
    theta = 1.0
    stall = 0
    least_v = np.inf
    keep: dict[str, IntArray] = {}
    use_allowed = p.allowed is not None
    no_rest = np.full(n, np.inf)
    exact_best = -np.inf
    for it in range(iters + 1):
        # the exact scan (every territory) makes the value a proven bound; in between the
        # candidate rows (with the far winners found so far) steer the multipliers
        exact = it % EXACT_EVERY == 0 or it == iters
        _lagrange_assign(
            cands.cand, cands.cost, inst.a, lam, cands.rest if exact else no_rest,
            cands.unit_pts, cands.center_pts, cands.weights, cands.power, cands.sphere,
            dist.EARTH_RADIUS_MI, cands.allowed, use_allowed, col, inner,
        )  # fmt: skip
        current_clock().charge(pair_work(n, k if exact else cands.cand.shape[1]))
        val = _dual_value(inner, lam, inst.lo, inst.up)
        if exact:
            exact_best = max(exact_best, val)
        loads = _loads(cands.cand, col, inst.a, k)
        over = np.maximum(loads - inst.up, 0.0) - np.maximum(inst.lo - loads, 0.0)
        v = float(np.abs(over).sum())
        # supergradient of the concave dual: the active side of each two-sided row
        g = np.where(lam > 0, loads - inst.up, np.where(lam < 0, loads - inst.lo, over))
        if v < least_v - EPS:
            least_v = v
            keep["least"] = _assignment_of(cands, col)
        if val > best_val + 1e-12 * abs(val):
            best_val = val
            best_lam = lam.copy()
            keep["best"] = _assignment_of(cands, col)
            stall = 0
        else:
            stall += 1
            if stall >= 8:
                theta *= 0.5
                stall = 0
        if mb == 0 or v <= EPS or theta < 1e-4 or it == iters or current_clock().now() > deadline:
            if not exact:  # finish on an exact evaluation so the bound is proven
                _lagrange_assign(
                    cands.cand, cands.cost, inst.a, best_lam, cands.rest, cands.unit_pts,
                    cands.center_pts, cands.weights, cands.power, cands.sphere,
                    dist.EARTH_RADIUS_MI, cands.allowed, use_allowed, col, inner,
                )  # fmt: skip
                exact_best = max(exact_best, _dual_value(inner, best_lam, inst.lo, inst.up))
            break
        # subgradient at lambda=0 inside the band is zero: keep the natural direction
        target = ub if np.isfinite(ub) and ub > val else abs(best_val) * TARGET + 1.0
        step = theta * (target - val) / max(float((g * g).sum()), 1e-12)
        lam = lam + step * g
        log.debug("lagrangian it=%d dual=%.6g viol=%.4g theta=%.3g", it, val, v, theta)
    outs = [keep["best"]] if "best" in keep else []
    return _Dual(lam, exact_best, best_lam), outs


# --- one segment --------------------------------------------------------------------------
def _objective_of(cands: _Candidates, col: IntArray) -> float:
    return float(cands.cost[np.arange(len(col)), col].sum())


def _assignment_of(cands: _Candidates, col: IntArray) -> IntArray:
    return cands.cand[np.arange(len(col)), col].astype(np.int64)


def _col_of(cands: _Candidates, assignment: IntArray) -> IntArray:
    """Column of each unit's territory, written into the dynamic column when missing."""
    hit = cands.cand == assignment[:, None]
    col = np.argmax(hit, axis=1).astype(np.int64)
    missing = np.flatnonzero(~hit[np.arange(len(col)), col])
    if missing.size:
        dyn = cands.cand.shape[1] - 1
        cands.cand[missing, dyn] = assignment[missing]
        cands.cost[missing, dyn] = cands.exact_cost(missing, assignment[missing])
        col[missing] = dyn
    return col


def _respect_rules(inst: _Instance, cands: _Candidates, plan: IntArray) -> IntArray:
    """A start plan with locked units in place and every unit in an allowed territory."""
    p = inst.problem
    plan = plan.copy()
    li = inst.locked >= 0
    plan[li] = inst.locked[li]
    if p.allowed is not None:
        bad = ~p.allowed[np.arange(p.n_units), plan]
        plan[bad] = cands.cand[bad, 0]
    return plan


def _violation(loads: FloatArray, inst: _Instance) -> float:
    return float((np.maximum(loads - inst.up, 0.0) + np.maximum(inst.lo - loads, 0.0)).sum())


def _improve(
    inst: _Instance,
    cands: _Candidates,
    col: IntArray,
    rng: np.random.Generator,
    *,
    repair_penalty: float,
    penalty: float,
    deadline: float,
    realign: bool = False,
    passes: int = 30,
    spread_rounds: int = 200,
    repair: bool = True,
) -> tuple[IntArray, float, int]:
    """Repair balance then local search. Returns (col, violation left, moves used).

    ``repair=False`` only searches locally (a plan already balanced by an exact step).
    """
    p = inst.problem
    k = p.n_territories
    clock = current_clock()
    width = cands.cand.shape[1]
    t_start = clock.now()
    col = col.copy()
    loads = _loads(cands.cand, col, inst.a, k)
    moves = int(((inst.current >= 0) & (_assignment_of(cands, col) != inst.current)).sum())
    order = rng.permutation(p.n_units).astype(np.int64)
    viol = _violation(loads, inst)
    if viol > EPS and not realign and repair:
        # quadratic-penalty sweeps, penalty growing until the band holds or nothing moves
        finite = cands.cost[:, 0][np.isfinite(cands.cost[:, 0])]
        scale = float(np.median(finite)) if finite.size else 1.0
        tol = float(np.min(inst.up - 1.0)) if len(inst.up) else 0.05
        rho = max(scale, 1e-12) / max(float(inst.a.sum(axis=1).mean()) * max(tol, 1e-3), 1e-12)
        kept = (col.copy(), loads.copy(), moves, viol)
        for _ in range(40):
            applied, moves = _penalty_sweep(
                cands.cand, cands.cost, inst.a, col, loads, inst.movable, inst.current,
                inst.max_moves, moves, penalty, rho, order, 10,
            )  # fmt: skip
            clock.charge(pair_work(p.n_units, 10 * width))
            before, viol = viol, _violation(loads, inst)
            if viol <= EPS or applied == 0 or current_clock().now() > deadline:
                break
            if viol > 0.9 * before:
                rho *= 2.0  # slow progress: lean harder on balance
            rho *= 1.5
        if viol > kept[3]:  # the sweeps made it worse (a nearly balanced start): undo
            col, loads, moves, viol = kept[0], kept[1], kept[2], kept[3]
    if viol > EPS and realign and repair:
        # from the current plan: load travels along chains of territories (min-cost flow)
        moves = flow_repair(
            cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
            inst.current, inst.max_moves, moves, repair_penalty,
            moves_first=inst.max_moves >= 0 and penalty <= 0,
        )  # fmt: skip
    if repair:
        clock.charge(pair_work(p.n_units, 2 * width))
        viol, moves = _repair(
            cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
            inst.current, inst.max_moves, moves, repair_penalty, 200,
        )  # fmt: skip
    limit = max(1, p.n_units // 50)
    stalled = 0
    # balance is a hard constraint: the repair may run past the soft deadline
    hard_deadline = deadline + max(2.0, 0.2 * (deadline - t_start))
    for _ in range(spread_rounds if repair else 0):
        if viol <= EPS or current_clock().now() > hard_deadline or stalled >= 4:
            break
        before = viol
        clock.charge(pair_work(p.n_units, 4 * width))
        swapped, moves = _repair_swaps(
            cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
            inst.current, inst.max_moves, moves, repair_penalty, 1,
        )  # fmt: skip
        viol, moves = _repair(
            cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
            inst.current, inst.max_moves, moves, repair_penalty, 200,
        )  # fmt: skip
        if viol <= EPS:
            break
        if (swapped == 0 or viol > before * 0.98) and inst.max_moves < 0:
            # (not under a move budget: diffusion spends moves that fix no territory)
            # stuck: let load diffuse through in-band territories, then repair again
            _, moves = _spread(
                cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
                inst.current, inst.max_moves, moves, repair_penalty, limit,
            )  # fmt: skip
            viol, moves = _repair(
                cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
                inst.current, inst.max_moves, moves, repair_penalty, 200,
            )  # fmt: skip
        stalled = stalled + 1 if viol > before * 0.98 else 0
        log.debug("repair: violation %.4g (swaps %d)", viol, swapped)
    log.debug(
        "repair done: violation %.4g worst %.4g moves %d", viol,
        float(np.maximum(np.maximum(loads - inst.up, inst.lo - loads), 0).max()), moves,
    )  # fmt: skip
    for _ in range(passes):
        clock.charge(pair_work(p.n_units, width))
        gain, moves = _local_search(
            cands.cand, cands.cost, inst.a, col, loads, inst.lo, inst.up, inst.movable,
            inst.current, inst.max_moves, moves, penalty, order, 1, True, 64,
        )  # fmt: skip
        if (
            gain <= 1e-9 * max(abs(_objective_of(cands, col)), 1e-12)
            or current_clock().now() > deadline
        ):
            break
    viol = float((np.maximum(loads - inst.up, 0.0) + np.maximum(inst.lo - loads, 0.0)).sum())
    return col, viol, int(moves)


@dataclass
class _Solution:
    assignment: IntArray
    center_units: IntArray | None
    objective: float
    violation: float
    moves: int


def _better(a: _Solution | None, b: _Solution) -> bool:
    """Is ``b`` better than ``a``? Less violation first, then lower objective."""
    if a is None:
        return True
    if abs(a.violation - b.violation) > 1e-9:
        return b.violation < a.violation
    return b.objective < a.objective - 1e-12 * abs(a.objective)


def _solve_segment(
    problem: DesignProblem,
    *,
    deadline: float,
    rng: np.random.Generator,
    n_cand: int,
    progress: Progress | None,
    share: tuple[float, float],
) -> tuple[_Solution, float | None, dict[str, float]]:
    inst = _instance(problem)
    n = problem.n_units
    fixed = problem.centers is not None
    stats: dict[str, float] = {}

    def report(frac: float, msg: str) -> None:
        if progress is not None:
            progress(share[0] + (share[1] - share[0]) * min(frac, 1.0), msg)

    penalty = float(problem.move_penalty)
    realign = problem.current is not None and (
        problem.max_moves is not None or problem.move_penalty > 0
    )
    start_time = current_clock().now()
    total_time = max(deadline - start_time, 1e-3)

    def time_frac() -> float:
        return (current_clock().now() - start_time) / total_time

    starts0: list[IntArray] = []
    # centers
    if fixed:
        centers: IntArray | None = None
    elif problem.current is not None and (problem.current >= 0).any():
        cur = problem.current
        seeded, _ = _seed_centers(inst, rng)
        centers = metrics.best_center_units(problem, np.where(cur >= 0, cur, 0), exact_limit=400)
        centers = np.where(centers >= 0, centers, seeded)
    else:
        centers, seed_plan = _seed_centers(inst, rng)
        starts0.append(seed_plan)
    report(0.02, "candidates")

    best: _Solution | None = None
    bound: float | None = None
    lam: FloatArray | None = None
    prev_assign: IntArray | None = None
    rounds = 0
    while True:
        rounds += 1
        keep = prev_assign
        if problem.current is not None:
            keep = problem.current if keep is None else keep
        cands = _candidates(inst, centers, n_cand, keep)
        # typical cost: prices the repair's "one more moved unit" when moves are limited
        typical = float(np.median(cands.cost[:, 0][np.isfinite(cands.cost[:, 0])])) if n else 0.0
        repair_pen = penalty if penalty > 0 else (typical if realign else 0.0)
        starts: list[IntArray] = list(starts0) if rounds == 1 else []
        if problem.current is not None and prev_assign is None:
            cur = problem.current.copy()
            unassigned = cur < 0
            if unassigned.any():
                cur[unassigned] = cands.cand[unassigned, 0]
            starts.append(cur)
        if prev_assign is not None:
            starts.append(prev_assign)
        # with fixed centers the Lagrangian also proves the bound: give it time; with free
        # centers it only offers a second start, once
        # (realigning with fixed centers it runs for the bound only: dropping the move
        # limit is a relaxation, so the bound stays valid)
        run_lagrange = prev_assign is None and (fixed or not realign)
        if run_lagrange:
            ub = best.objective if best is not None and best.violation <= FEASIBLE else np.inf
            budget = start_time + (0.4 if fixed else 0.15) * total_time
            dual, outs = _lagrangian(
                inst, cands, lam, ub, iters=300 if fixed else 60, deadline=min(budget, deadline)
            )
            lam = dual.best_lam
            if not realign:
                starts.extend(outs)
            if fixed and np.isfinite(dual.best_value):
                bound = dual.best_value if bound is None else max(bound, dual.best_value)
        report(0.1 + 0.8 * time_frac(), f"round {rounds}: repair and local search")
        improved = False
        # with fixed centers keep a quarter of the time for the bound's second ascent
        soft = deadline - (0.25 * total_time if fixed and rounds == 1 else 0.0)
        for start_plan in starts:
            if best is not None and best.violation <= FEASIBLE and current_clock().now() > soft:
                break
            start_plan = _respect_rules(inst, cands, start_plan)
            col, viol, moves = _improve(
                inst,
                cands,
                _col_of(cands, start_plan),
                rng,
                repair_penalty=repair_pen,
                penalty=penalty,
                deadline=soft,
                realign=realign,
            )
            assign = _assignment_of(cands, col)
            sol = _Solution(assign, centers, _objective_of(cands, col), viol, moves)
            if _better(best, sol):
                best = sol
                improved = True
            if current_clock().now() > deadline:
                break
        assert best is not None
        if (
            fixed
            and best.violation <= FEASIBLE
            and current_clock().now() < deadline - 0.02 * total_time
        ):
            # a second ascent aimed at the known plan's cost: Polyak steps need an upper
            # value, and a proven one gives a much tighter bound and one more start
            dual, outs = _lagrangian(
                inst, cands, lam, best.objective, iters=400,
                deadline=min(deadline, current_clock().now() + 0.15 * total_time),
            )  # fmt: skip
            lam = dual.best_lam
            if np.isfinite(dual.best_value):
                bound = dual.best_value if bound is None else max(bound, dual.best_value)
            if not realign and current_clock().now() < deadline:
                for start_plan in outs:
                    if current_clock().now() > deadline:
                        break
                    start_plan = _respect_rules(inst, cands, start_plan)
                    col, viol, moves = _improve(
                        inst, cands, _col_of(cands, start_plan), rng,
                        repair_penalty=repair_pen, penalty=penalty, deadline=deadline,
                    )  # fmt: skip
                    sol = _Solution(
                        _assignment_of(cands, col), centers, _objective_of(cands, col), viol, moves
                    )
                    if _better(best, sol):
                        best = sol
        log.info(
            "segment round %d: objective %.6g violation %.3g moves %d",
            rounds, best.objective, best.violation, best.moves,
        )  # fmt: skip
        if fixed or current_clock().now() > deadline or rounds >= 30:
            break
        if not improved and rounds > 1:
            break
        # re-center on the best plan and go again, warm-started
        new_centers = _recenter(inst, best.assignment, best.center_units)  # type: ignore[arg-type]
        if best.center_units is not None and np.array_equal(new_centers, best.center_units):
            break
        centers = new_centers
        prev_assign = best.assignment
        # the same plan measured from the new centers (never worse than before)
        cands_new = _candidates(inst, centers, n_cand, prev_assign)
        obj_new = _objective_of(cands_new, _col_of(cands_new, prev_assign))
        best = _Solution(best.assignment, centers, obj_new, best.violation, best.moves)
    stats.update(rounds=rounds)
    return best, bound, stats


def _sub_problem(problem: DesignProblem, s: int) -> tuple[DesignProblem, IntArray, IntArray]:
    """Units and territories of segment ``s`` as a problem of their own."""
    assert problem.segments is not None and problem.territory_segments is not None
    units = np.flatnonzero(problem.segments == s)
    terrs = np.flatnonzero(problem.territory_segments == s)
    g2l = np.full(problem.n_territories, -1, dtype=np.int64)
    g2l[terrs] = np.arange(len(terrs))

    def remap(arr: IntArray | None) -> IntArray | None:
        if arr is None:
            return None
        sub = arr[units]
        return np.where(sub >= 0, g2l[np.maximum(sub, 0)], -1)

    sub = problem.with_changes(
        unit_ids=problem.unit_ids[units],
        coords=problem.coords[units],
        measures=problem.measures[units],
        n_territories=len(terrs),
        edges=None,
        edge_lengths=None,
        contiguity=False,
        distance=problem.distance if problem.distance != "graph" else None,
        centers=None if problem.centers is None else problem.centers[terrs],
        territory_ids=tuple(problem.territory_ids[j] for j in terrs),
        current=remap(problem.current),
        locked=remap(problem.locked),
        allowed=None if problem.allowed is None else problem.allowed[np.ix_(units, terrs)],
        segments=None,
        territory_segments=None,
        segment_names=(),
        limits=tuple(lim.subset(terrs) for lim in problem.limits),
    )
    return sub, units, terrs


def solve_balanced(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    progress: Progress | None = None,
    candidates: int = DEFAULT_CANDIDATES,
) -> SolverOutcome:
    """Balanced compact plan for an inertia/median problem without contiguity.

    Parameters
    ----------
    problem:
        The design problem (``objective`` must be ``"inertia"`` or ``"median"``).
    time_limit:
        Seconds; the run stops improving after it (it always returns a plan).
    seed:
        Seed of the only random generator used: the same seed gives the same plan.
    progress:
        Called as ``progress(fraction_done, message)``.
    candidates:
        Candidate territories per unit (nearest centers); more is slower and rarely better.

    Returns
    -------
    SolverOutcome
        ``stats["balanced"]`` says whether every balance row holds; when it is False
        the plan is the least unbalanced one found and ``stats["violation"]`` says by
        how much (sum of excess over tolerance, in fractions of the mean).
    """
    if problem.objective not in ("inertia", "median"):
        raise ConfigError(
            f"the balanced heuristic handles inertia and median, not {problem.objective!r}"
        )
    if problem.distance == "graph" and problem.segments is not None:
        raise ConfigError("graph distances with segments are not supported")
    t0 = current_clock().now()
    deadline = t0 + max(float(time_limit), 0.01)
    rng = np.random.default_rng(seed)
    n_cand = max(2, int(candidates))

    if problem.segments is None:
        sol, bound, stats = _solve_segment(
            problem, deadline=deadline, rng=rng, n_cand=n_cand, progress=progress, share=(0, 1)
        )
        assignment = sol.assignment
        center_units = sol.center_units
        violation = sol.violation
    else:
        assert problem.territory_segments is not None
        assignment = np.full(problem.n_units, -1, dtype=np.int64)
        center_units = (
            None
            if problem.centers is not None
            else np.full(problem.n_territories, -1, dtype=np.int64)
        )
        segs = np.unique(problem.segments)
        sizes = np.array([(problem.segments == s).sum() for s in segs], dtype=float)
        violation = 0.0
        bound_sum: float | None = 0.0
        done = 0.0
        stats = {"rounds": 0.0}
        for s, size in zip(segs, sizes, strict=True):
            sub, units, terrs = _sub_problem(problem, int(s))
            remaining = deadline - current_clock().now()
            share_t = remaining * size / max(sizes[segs >= s].sum(), 1)
            frac = size / sizes.sum()
            sol, b, st = _solve_segment(
                sub,
                deadline=current_clock().now() + max(share_t, 0.01),
                rng=rng,
                n_cand=n_cand,
                progress=progress,
                share=(done, done + frac),
            )
            done += frac
            assignment[units] = terrs[sol.assignment]
            if center_units is not None and sol.center_units is not None:
                center_units[terrs] = units[sol.center_units]
            violation += sol.violation
            bound_sum = None if (b is None or bound_sum is None) else bound_sum + b
            stats["rounds"] += st.get("rounds", 0)
        bound = bound_sum
    objective = metrics.objective_value(problem, assignment, center_units)
    if bound is not None and bound > objective:
        bound = objective  # rounding noise of a tight bound
    balanced = violation <= FEASIBLE and metrics.WITHIN_BALANCE(problem, assignment)
    stats = dict(stats)
    stats.update(
        balanced=balanced,
        violation=violation,
        seconds=current_clock().now() - t0,
        candidates=n_cand,
    )
    if progress is not None:
        progress(1.0, "done")
    return SolverOutcome(
        assignment=assignment,
        objective=objective,
        method="lagrangian+local-search",
        center_units=center_units,
        lower_bound=bound,
        proven_optimal=bool(bound is not None and objective - bound <= 1e-9 * max(1.0, objective)),
        stats=stats,
    )


# --- the registered solver ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HeuristicOptions:
    """Tuning of the balanced heuristic (:func:`solve_balanced`)."""

    #: Candidate territories per unit (its nearest centers); more is slower, rarely better.
    candidates: int = DEFAULT_CANDIDATES


@register
class HeuristicSolver(Solver[HeuristicOptions]):
    """The balanced heuristic: Lagrangian assignment, penalty sweeps, repair, local search."""

    name = "heuristic"
    summary = (
        "Lagrangian assignment, quadratic-penalty sweeps, balance repair and local search "
        "over each unit's nearest territories; re-centering for free centers (no contiguity)"
    )
    options_type = HeuristicOptions
    auto_priority = 90
    heuristic = True

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        if problem.objective not in ("inertia", "median"):
            return f"it minimises inertia or median, not {problem.objective}"
        if problem.contiguity:
            return "it does not keep territories contiguous (use contiguous)"
        if problem.distance == "graph" and problem.segments is not None:
            return "graph distances with segments are not supported"
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        centers = "fixed centers" if problem.centers is not None else "free centers"
        return (
            f"{problem.objective} without contiguity, {centers}, {problem.n_units:,} units x "
            f"{problem.n_territories} territories: no LP or exact path applies, the balanced "
            "heuristic scales to any size"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        return solve_balanced(
            problem,
            time_limit=max(run.left(), 0.01),
            seed=run.seed,
            progress=run.progress,
            candidates=self.options.candidates,
        )


__all__ = ["DEFAULT_CANDIDATES", "HeuristicOptions", "HeuristicSolver", "solve_balanced"]
