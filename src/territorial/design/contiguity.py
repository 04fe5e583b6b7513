"""Contiguous territory design: every territory connected in the adjacency graph.

``solve_contiguous`` builds a balanced, contiguous plan and improves it until the
time limit:

1. **Construction.** Seeded multi-source region growing: ``k`` spread seeds
   (k-means++ on the distances), then the territory with the smallest load takes
   the nearest free unit on its border, so territories grow connected and about
   equally heavy. A given ``initial`` plan is repaired instead: the largest piece
   of every territory is kept and the cut-off pieces regrow from there.
2. **Local search.** Single-unit shifts and pair swaps across territory borders
   that keep *both* territories connected (a shift is allowed only when the unit
   is not an articulation point of its donor territory). The search minimises
   ``objective + lambda * balance violation``; ``lambda`` grows until every
   balanced measure is within its tolerance: balance is a hard constraint of the
   returned plan.
3. **Centers.** For unit-center objectives the search alternates assignment and
   re-centering (each territory's center is the member unit minimising its cost),
   as in Hess's location-allocation heuristic.
4. **Large-neighbourhood search.** A few neighbouring territories are dissolved
   and regrown from perturbed seeds, then re-optimised; better plans are kept.

The min-max diameter objective lives in :mod:`territorial.design.diameter`, which
builds on this module's arrays and construction.

Hot loops are numba-compiled; every random choice comes from ``seed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numba import njit

from territorial.design.bisection import (
    BisectionOptions,
    Refine,
    Target,
    bisection_plan,
    edge_list,
    is_connected,
    recut_unbalanced,
)
from territorial.design.distances import (
    graph_distances_from,
    graph_matrix,
    point_distance,
    snap_to_units,
)
from territorial.design.problem import BoolArray, DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.design.solvers import (
    WORK_PER_STEP,
    Run,
    Solver,
    current_clock,
    pair_work,
    register,
)
from territorial.errors import ConfigError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: Largest relative worsening the large-neighbourhood walk accepts (at the start).
ACCEPT_WORSE = 0.005
#: With a round cap, an unbalanced search may run this many times the cap before giving up.
INFEASIBLE_ROUNDS = 50
#: Work of one large-neighbourhood round, in (unit, candidate) pairs per unit of the map.
LNS_ROUND_PAIRS = 40
#: Python steps of one large-neighbourhood round (growing, checking, scoring).
LNS_ROUND_STEPS = 10

#: Above this many units the unit-to-unit distance matrix is not kept in memory.
FULL_MATRIX_UNITS = 4000
#: Above this many units a swap partner is sought within two steps of the unit, not
#: among all units (the full scan is quadratic in the map's size).
FULL_SWAP_UNITS = 1500
#: Passes of one descent on a map above :data:`FULL_SWAP_UNITS` units (the time limit is
#: checked between descents).
LARGE_MAP_PASSES = 25
#: Penalty (in territory mean costs per mean of excess) of the balance repair after a
#: bisection start.
REPAIR_PENALTY = 1000.0
#: Share of the time limit the balance repair after a bisection start may use.
REPAIR_SHARE = 0.85


# --------------------------------------------------------------------------------------
# Arrays the kernels read
# --------------------------------------------------------------------------------------
@dataclass
class SearchArrays:
    """The problem as flat arrays for the numba kernels.

    ``indptr``/``indices`` is the adjacency in CSR form, ``bal`` the balanced
    measures ``(n, m)`` with per-territory bounds ``lo``/``hi`` and ``scale`` (the
    mean, so violations are fractions of the mean), ``tolerance`` the balance tolerance
    of each row (``inf`` for a measure with limits only), ``allowed`` ``(n, k)`` merges
    the allowed matrix, segments and locks, ``locked`` is ``-1`` for free units.
    """

    n: int
    k: int
    indptr: IntArray
    indices: IntArray
    bal: FloatArray
    lo: FloatArray
    hi: FloatArray
    scale: FloatArray
    tolerance: FloatArray
    allowed: BoolArray
    locked: IntArray
    current: IntArray
    max_moves: int
    move_penalty: float
    contiguity: bool


def adjacency_csr(n: int, edges: IntArray | None) -> tuple[IntArray, IntArray]:
    """CSR ``(indptr, indices)`` of the undirected adjacency (duplicates and loops dropped)."""
    if edges is None or len(edges) == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    e = np.asarray(edges, dtype=np.int64)
    e = e[e[:, 0] != e[:, 1]]
    both = np.concatenate([e, e[:, ::-1]])
    both = np.unique(both, axis=0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, both[:, 0] + 1, 1)
    return np.cumsum(indptr), both[:, 1].copy()


def search_arrays(problem: DesignProblem) -> SearchArrays:
    """Flatten ``problem`` for the kernels (balance bounds, merged allowed matrix, locks)."""
    from territorial.design.metrics import territory_windows

    n, k = problem.n_units, problem.n_territories
    indptr, indices = adjacency_csr(n, problem.edges)
    # rows: the balanced measures (their bands, per segment), then measures that only
    # have absolute limits (a rep's capacity); each territory has its own window
    windows = territory_windows(problem)
    idx = list(windows.rows)
    bal = np.ascontiguousarray(problem.measures[:, idx], dtype=np.float64).reshape(n, len(idx))
    lo, hi = windows.lo, windows.hi
    scale = np.maximum(bal.sum(axis=0) / k, 1e-12) if len(idx) else np.ones(0)
    allowed = np.ones((n, k), dtype=bool) if problem.allowed is None else problem.allowed.copy()
    if problem.segments is not None and problem.territory_segments is not None:
        allowed &= problem.segments[:, None] == problem.territory_segments[None, :]
    locked = np.full(n, -1, dtype=np.int64) if problem.locked is None else problem.locked.copy()
    for i in np.flatnonzero(locked >= 0):
        allowed[i] = False
        allowed[i, locked[i]] = True
    current = np.full(n, -1, dtype=np.int64) if problem.current is None else problem.current
    return SearchArrays(
        n=n,
        k=k,
        indptr=indptr,
        indices=indices,
        bal=bal,
        lo=np.ascontiguousarray(lo),
        hi=np.ascontiguousarray(hi),
        scale=np.ascontiguousarray(scale, dtype=np.float64),
        tolerance=np.array(
            [b.tolerance for b in problem.balance] + [np.inf] * (len(idx) - len(problem.balance)),
            dtype=np.float64,
        ),
        allowed=np.ascontiguousarray(allowed),
        locked=locked,
        current=np.ascontiguousarray(current, dtype=np.int64),
        max_moves=-1 if problem.max_moves is None else int(problem.max_moves),
        move_penalty=float(problem.move_penalty),
        contiguity=bool(problem.contiguity),
    )


# --------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------
class DistanceOracle:
    """Rows of unit-to-unit distances, from a full matrix when it fits in memory."""

    def __init__(self, problem: DesignProblem, full: FloatArray | None = None) -> None:
        self.problem = problem
        self._graph = graph_matrix(problem) if problem.distance == "graph" else None
        n = problem.n_units
        if full is not None:
            self.full: FloatArray | None = np.asarray(full, dtype=np.float64)
        elif n <= FULL_MATRIX_UNITS:
            self.full = self._compute(np.arange(n))
        else:
            self.full = None

    def _compute(self, rows: IntArray) -> FloatArray:
        p = self.problem
        if self._graph is not None:
            d = graph_distances_from(p, rows, self._graph)
            finite = np.isfinite(d)
            big = d[finite].max() * 10 + 1 if finite.any() else 1.0
            return np.where(finite, d, big)
        return point_distance(p, p.coords[rows][:, None, :], p.coords[None, :, :])

    def rows(self, rows: IntArray) -> FloatArray:
        """``(len(rows), n)`` distances from the given units to every unit."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.full is not None:
            return self.full[rows]
        return self._compute(rows)

    def to_points(self, points: FloatArray) -> FloatArray:
        """``(n, len(points))`` distances from every unit to fixed center points."""
        p = self.problem
        if p.distance == "graph":
            snapped = snap_to_units(p, points)
            return self.rows(snapped).T.copy()
        return point_distance(p, p.coords[:, None, :], np.asarray(points)[None, :, :])


# --------------------------------------------------------------------------------------
# numba kernels: connectivity
# --------------------------------------------------------------------------------------
@njit(cache=True)
def _stays_connected(indptr, indices, assign, i, mark, stamp, queue):  # pragma: no cover
    """True when territory ``assign[i]`` without unit ``i`` is still connected.

    Breadth-first search from one same-territory neighbour of ``i``, never
    entering ``i``, stopping as soon as every same-territory neighbour of ``i`` has
    been reached. ``mark``/``stamp`` avoid clearing a visited array per call.
    """
    a = assign[i]
    first = -1
    need = 0
    for p in range(indptr[i], indptr[i + 1]):
        if assign[indices[p]] == a:
            need += 1
            if first < 0:
                first = indices[p]
    if need <= 1:
        return need == 1
    stamp[0] += 1
    s = stamp[0]
    # the neighbours to reach get the marker -s; visited ones get +s
    for p in range(indptr[i], indptr[i + 1]):
        if assign[indices[p]] == a:
            mark[indices[p]] = -s
    mark[i] = s
    head = 0
    tail = 0
    queue[tail] = first
    tail += 1
    mark[first] = s
    found = 1
    while head < tail:
        u = queue[head]
        head += 1
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if assign[v] != a or mark[v] == s:
                continue
            if mark[v] == -s:
                found += 1
                if found == need:
                    return True
            mark[v] = s
            queue[tail] = v
            tail += 1
    return False


@njit(cache=True)
def _territory_connected(
    indptr, indices, assign, t, start, size_t, mark, stamp, queue
):  # pragma: no cover
    """True when the ``size_t`` units of territory ``t`` (one of them ``start``) are connected."""
    if size_t <= 1:
        return True
    stamp[0] += 1
    s = stamp[0]
    head = 0
    tail = 0
    queue[tail] = start
    tail += 1
    mark[start] = s
    while head < tail:
        u = queue[head]
        head += 1
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if assign[v] == t and mark[v] != s:
                mark[v] = s
                queue[tail] = v
                tail += 1
    return tail == size_t


@njit(cache=True)
def _pen(x, lo, hi, scale, quad):  # pragma: no cover
    """Penalty of one total ``x``: excess over ``[lo, hi]`` in means, plus an optional
    pull ``quad x (deviation from the window's middle)^2`` that steers repairs."""
    v = 0.0
    if x > hi:
        v = (x - hi) / scale
    elif x < lo:
        v = (lo - x) / scale
    if quad > 0.0:
        dev = (x - 0.5 * (lo + hi)) / scale
        v += quad * dev * dev
    return v


@njit(cache=True)
def _violation(S, lo, hi, scale, t, quad=0.0):  # pragma: no cover
    """Balance violation of territory ``t``: sum over measures of the excess, in means."""
    v = 0.0
    for m in range(S.shape[1]):
        v += _pen(S[t, m], lo[t, m], hi[t, m], scale[m], quad)
    return v


@njit(cache=True)
def _violation_after(S, lo, hi, scale, t, bal, i, sign, quad=0.0):  # pragma: no cover
    """Violation of territory ``t`` after adding (``sign=+1``) or removing unit ``i``."""
    v = 0.0
    for m in range(S.shape[1]):
        v += _pen(S[t, m] + sign * bal[i, m], lo[t, m], hi[t, m], scale[m], quad)
    return v


# --------------------------------------------------------------------------------------
# numba kernels: construction
# --------------------------------------------------------------------------------------
@njit(cache=True)
def _grow(
    indptr, indices, assign, active, priority, bal, target, allowed, contiguity
):  # pragma: no cover
    """Assign every ``-1`` unit to an ``active`` territory by balanced region growing.

    Repeatedly the active territory with the smallest load (largest share of the
    target over the balanced measures) takes the free unit on its border with the
    smallest ``priority[u, t]`` (distance to its seed). Units no territory can
    reach by adjacency are given to an adjacent territory, else the best allowed.
    """
    n = assign.shape[0]
    k = active.shape[0]
    m = bal.shape[1]
    S = np.zeros((k, m))
    for i in range(n):
        if assign[i] >= 0:
            for c in range(m):
                S[assign[i], c] += bal[i, c]
    blocked = np.zeros(k, dtype=np.bool_)
    for t in range(k):
        if not active[t]:
            blocked[t] = True
    free = 0
    for i in range(n):
        if assign[i] < 0:
            free += 1
    while free > 0:
        # least loaded open territory
        best_t = -1
        best_load = np.inf
        for t in range(k):
            if blocked[t]:
                continue
            load = 0.0
            for c in range(m):
                if target[c] > 0:
                    load = max(load, S[t, c] / target[c])
            if load < best_load:
                best_load = load
                best_t = t
        if best_t < 0:
            break
        t = best_t
        # nearest free unit on its border (or anywhere without contiguity)
        best_u = -1
        best_p = np.inf
        for u in range(n):
            if assign[u] >= 0 or not allowed[u, t] or priority[u, t] >= best_p:
                continue
            if contiguity:
                touches = False
                for p in range(indptr[u], indptr[u + 1]):
                    if assign[indices[p]] == t:
                        touches = True
                        break
                if not touches:
                    continue
            best_p = priority[u, t]
            best_u = u
        if best_u < 0:
            blocked[t] = True
            continue
        assign[best_u] = t
        for c in range(m):
            S[t, c] += bal[best_u, c]
        free -= 1
    # leftovers: enclosed or only reachable through disallowed units
    changed = True
    while free > 0 and changed:
        changed = False
        for u in range(n):
            if assign[u] >= 0:
                continue
            for p in range(indptr[u], indptr[u + 1]):
                t = assign[indices[p]]
                if t >= 0 and active[t] and allowed[u, t]:
                    assign[u] = t
                    free -= 1
                    changed = True
                    break
    if free > 0:
        for u in range(n):
            if assign[u] >= 0:
                continue
            best_t = -1
            best_p = np.inf
            for t in range(k):
                if allowed[u, t] and priority[u, t] < best_p:
                    best_p = priority[u, t]
                    best_t = t
            if best_t < 0:
                for t in range(k):
                    if allowed[u, t]:
                        best_t = t
                        break
            assign[u] = best_t
    return assign


# --------------------------------------------------------------------------------------
# numba kernels: local search for assignment costs (inertia / median)
# --------------------------------------------------------------------------------------
@njit(cache=True)
def plan_totals(assign, bal, current, k):  # pragma: no cover
    """Per territory: balanced totals ``(k, m)`` and unit counts; units moved from ``current``."""
    n = assign.shape[0]
    m = bal.shape[1]
    S = np.zeros((k, m))
    size = np.zeros(k, dtype=np.int64)
    for i in range(n):
        size[assign[i]] += 1
        for c in range(m):
            S[assign[i], c] += bal[i, c]
    moved = 0
    for i in range(n):
        if current[i] >= 0 and assign[i] != current[i]:
            moved += 1
    return S, size, moved


@njit(cache=True)
def _descent(
    indptr,
    indices,
    assign,
    cost,
    bal,
    lo,
    hi,
    scale,
    lam,
    allowed,
    locked,
    current,
    max_moves,
    move_penalty,
    contiguity,
    order,
    use_swaps,
    quad,
    max_passes,
    near_swaps=False,
):  # pragma: no cover
    """Improve ``assign`` in place by connectivity-preserving shifts (and swaps).

    Minimises ``sum_i cost[i, assign[i]] + move_penalty * moved + lam * violation``.
    A swap trades unit ``i`` with a unit ``j`` of a neighbouring territory: any such
    ``j`` (a scan of all units), or with ``near_swaps`` only units within two steps
    of ``i`` (a scan of its neighbourhood, for large maps).
    Returns the number of moves made.
    """
    n = assign.shape[0]
    k = cost.shape[1]
    m = bal.shape[1]
    S, size, moved = plan_totals(assign, bal, current, k)
    mark = np.zeros(n, dtype=np.int64)
    stamp = np.zeros(1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    made = 0
    for _ in range(max_passes):
        improved = False
        for idx in range(n):
            i = order[idx]
            if locked[i] >= 0:
                continue
            a = assign[i]
            if size[a] <= 1:
                continue
            va = _violation(S, lo, hi, scale, a, quad)
            va2 = _violation_after(S, lo, hi, scale, a, bal, i, -1.0, quad)
            best_b = -1
            best_d = -1e-9 * (abs(cost[i, a]) + 1.0)
            nb = indptr[i + 1] - indptr[i] if contiguity else k
            for q in range(nb):
                b = assign[indices[indptr[i] + q]] if contiguity else q
                if b == a or not allowed[i, b]:
                    continue
                d = cost[i, b] - cost[i, a]
                if current[i] >= 0:
                    dm = (1 if b != current[i] else 0) - (1 if a != current[i] else 0)
                    if max_moves >= 0 and moved + dm > max_moves:
                        continue
                    d += move_penalty * dm
                vb = _violation(S, lo, hi, scale, b, quad)
                vb2 = _violation_after(S, lo, hi, scale, b, bal, i, 1.0, quad)
                d += lam * (va2 + vb2 - va - vb)
                if d < best_d:
                    best_d = d
                    best_b = b
            if best_b < 0:
                continue
            if contiguity and not _stays_connected(indptr, indices, assign, i, mark, stamp, queue):
                continue
            if current[i] >= 0:
                moved += (1 if best_b != current[i] else 0) - (1 if a != current[i] else 0)
            assign[i] = best_b
            size[a] -= 1
            size[best_b] += 1
            for c in range(m):
                S[a, c] -= bal[i, c]
                S[best_b, c] += bal[i, c]
            improved = True
            made += 1
        if improved or not use_swaps:
            if not improved:
                break
            continue
        # swaps: i (territory a) and j (territory b) trade places
        for idx in range(n):
            i = order[idx]
            if locked[i] >= 0:
                continue
            a = assign[i]
            for p in range(indptr[i], indptr[i + 1]):
                b = assign[indices[p]]
                if b == a or not allowed[i, b]:
                    continue
                va = _violation(S, lo, hi, scale, a, quad)
                vb = _violation(S, lo, hi, scale, b, quad)
                ncand = n
                if near_swaps:
                    ncand = 0
                    for q in range(indptr[i], indptr[i + 1]):
                        for r in range(indptr[indices[q]], indptr[indices[q] + 1]):
                            if ncand < n and assign[indices[r]] == b:
                                cand[ncand] = indices[r]
                                ncand += 1
                for jj in range(ncand):
                    j = cand[jj] if near_swaps else jj
                    if assign[j] != b or locked[j] >= 0 or not allowed[j, a]:
                        continue
                    if assign[i] != a:
                        break
                    touches = not contiguity
                    for r in range(indptr[j], indptr[j + 1]):
                        w = indices[r]
                        if assign[w] == a and w != i:
                            touches = True
                            break
                    if not touches:
                        continue
                    d = cost[i, b] - cost[i, a] + cost[j, a] - cost[j, b]
                    if current[i] >= 0 or current[j] >= 0:
                        dm = 0
                        if current[i] >= 0:
                            dm += (1 if b != current[i] else 0) - (1 if a != current[i] else 0)
                        if current[j] >= 0:
                            dm += (1 if a != current[j] else 0) - (1 if b != current[j] else 0)
                        if max_moves >= 0 and moved + dm > max_moves:
                            continue
                        d += move_penalty * dm
                    va2 = 0.0
                    vb2 = 0.0
                    for c in range(m):
                        xa = S[a, c] - bal[i, c] + bal[j, c]
                        xb = S[b, c] + bal[i, c] - bal[j, c]
                        va2 += _pen(xa, lo[a, c], hi[a, c], scale[c], quad)
                        vb2 += _pen(xb, lo[b, c], hi[b, c], scale[c], quad)
                    d += lam * (va2 + vb2 - va - vb)
                    if d >= -1e-9 * (abs(cost[i, a]) + abs(cost[j, b]) + 1.0):
                        continue
                    assign[i] = b
                    assign[j] = a
                    ok = True
                    if contiguity:
                        ok = _territory_connected(
                            indptr, indices, assign, a, j, size[a], mark, stamp, queue
                        ) and _territory_connected(
                            indptr, indices, assign, b, i, size[b], mark, stamp, queue
                        )
                    if not ok:
                        assign[i] = a
                        assign[j] = b
                        continue
                    for c in range(m):
                        S[a, c] += bal[j, c] - bal[i, c]
                        S[b, c] += bal[i, c] - bal[j, c]
                    if current[i] >= 0:
                        moved += (1 if b != current[i] else 0) - (1 if a != current[i] else 0)
                    if current[j] >= 0:
                        moved += (1 if a != current[j] else 0) - (1 if b != current[j] else 0)
                    improved = True
                    made += 1
                    break
        if not improved:
            break
    return made


# --------------------------------------------------------------------------------------
# Python-level helpers shared with diameter.py and exact.py
# --------------------------------------------------------------------------------------
def totals(arrays: SearchArrays, assign: IntArray) -> FloatArray:
    """``(k, m)`` totals of the balanced measures per territory."""
    S = np.zeros((arrays.k, arrays.bal.shape[1]))
    np.add.at(S, assign, arrays.bal)
    return S


def violation(arrays: SearchArrays, assign: IntArray) -> float:
    """Total balance violation of a plan, in means of the measures (0 when balanced)."""
    S = totals(arrays, assign)
    over = np.maximum(S - arrays.hi, 0.0) + np.maximum(arrays.lo - S, 0.0)
    return float((over / arrays.scale).sum()) if S.size else 0.0


def is_balanced(arrays: SearchArrays, assign: IntArray, rtol: float = 1e-9) -> bool:
    """Every balanced measure of every territory within its bounds."""
    S = totals(arrays, assign)
    slack = rtol * np.maximum(arrays.scale, 1.0)
    return bool(((arrays.lo - slack <= S) & (arrays.hi + slack >= S)).all())


def components(arrays: SearchArrays, assign: IntArray, t: int) -> list[IntArray]:
    """Connected pieces of territory ``t`` (unit index arrays), largest first."""
    members = np.flatnonzero(assign == t)
    seen: set[int] = set()
    pieces: list[IntArray] = []
    for s in members.tolist():
        if s in seen:
            continue
        seen.add(s)
        stack = [s]
        piece = [s]
        while stack:
            u = stack.pop()
            for v in arrays.indices[arrays.indptr[u] : arrays.indptr[u + 1]].tolist():
                if v not in seen and assign[v] == t:
                    seen.add(v)
                    stack.append(v)
                    piece.append(v)
        pieces.append(np.array(piece, dtype=np.int64))
    pieces.sort(key=len, reverse=True)
    return pieces


def is_contiguous(arrays: SearchArrays, assign: IntArray) -> bool:
    """Every non-empty territory is one connected piece."""
    return all(len(components(arrays, assign, t)) <= 1 for t in range(arrays.k))


def spread_seeds(
    oracle: DistanceOracle,
    weights: FloatArray,
    k: int,
    rng: np.random.Generator,
    candidates: IntArray | None = None,
) -> IntArray:
    """k-means++ seeds: each next seed drawn with probability ~ weight x distance^2."""
    pool = np.arange(oracle.problem.n_units) if candidates is None else candidates
    w = np.maximum(weights[pool], 0) + 1e-12
    first = int(rng.choice(pool, p=w / w.sum()))
    seeds = [first]
    dmin = oracle.rows(np.array([first]))[0][pool]
    for _ in range(1, k):
        p = w * dmin**2
        if p.sum() <= 0:
            p = np.ones_like(p)
        nxt = int(rng.choice(pool, p=p / p.sum()))
        seeds.append(nxt)
        dmin = np.minimum(dmin, oracle.rows(np.array([nxt]))[0][pool])
    return np.array(seeds, dtype=np.int64)


def grow_plan(
    arrays: SearchArrays,
    oracle: DistanceOracle,
    seeds: IntArray,
    *,
    assign: IntArray | None = None,
    active: BoolArray | None = None,
) -> IntArray:
    """Region-grow the free units (``-1``) of ``assign`` from ``seeds[t]`` for active ``t``."""
    n, k = arrays.n, arrays.k
    a = np.full(n, -1, dtype=np.int64) if assign is None else assign.copy()
    act = np.ones(k, dtype=bool) if active is None else active
    locked = arrays.locked >= 0
    a[locked] = arrays.locked[locked]
    seeds = np.asarray(seeds, dtype=np.int64).copy()
    for t in np.flatnonzero(act):
        mine = np.flatnonzero(a == t)
        if mine.size:
            # already holds (locked) units: grow from them
            if a[seeds[t]] != t:
                seeds[t] = int(mine[0])
            continue
        if a[seeds[t]] >= 0 or not arrays.allowed[seeds[t], t]:
            free = np.flatnonzero((a < 0) & arrays.allowed[:, t])
            if free.size == 0:
                continue
            seeds[t] = int(free[np.argmin(oracle.rows(seeds[t : t + 1])[0][free])])
        a[seeds[t]] = t
    priority = np.full((n, k), np.inf)
    rows = oracle.rows(seeds[act])
    priority[:, act] = rows.T
    target = arrays.bal.sum(axis=0) / k if arrays.bal.shape[1] else np.zeros(0)
    if arrays.bal.shape[1] == 0:
        # nothing to balance: grow by unit count
        bal = np.ones((n, 1))
        target = np.array([n / k])
    else:
        bal = arrays.bal
    return _grow(
        arrays.indptr,
        arrays.indices,
        a,
        act,
        np.ascontiguousarray(priority),
        bal,
        target,
        arrays.allowed,
        arrays.contiguity,
    )


def repair_plan(arrays: SearchArrays, oracle: DistanceOracle, plan: IntArray) -> IntArray:
    """Make a given plan contiguous: keep each territory's largest piece, regrow the rest."""
    a = np.asarray(plan, dtype=np.int64).copy()
    bad = (a < 0) | (a >= arrays.k)
    a[bad] = -1
    seeds = np.zeros(arrays.k, dtype=np.int64)
    for t in range(arrays.k):
        pieces = components(arrays, a, t) if arrays.contiguity else [np.flatnonzero(a == t)]
        if not pieces or len(pieces[0]) == 0:
            free = np.flatnonzero((a < 0) & arrays.allowed[:, t])
            seeds[t] = int(free[0]) if free.size else 0
            continue
        seeds[t] = int(pieces[0][0])
        for piece in pieces[1:]:
            drop = piece[arrays.locked[piece] < 0]
            a[drop] = -1
    return grow_plan(arrays, oracle, seeds, assign=a)


def balance_plan(
    arrays: SearchArrays, assign: IntArray, cost: FloatArray, rng: np.random.Generator
) -> IntArray:
    """Shift border units until every balanced measure is within its window (in place).

    Alternates plain violation descent with rounds that also pull every total to
    the middle of its window (which moves imbalance along chains of territories);
    ``cost`` (small, e.g. scaled distances to seeds) breaks ties toward compact plans.
    """
    lam = 1.0
    for step in range(60):
        if violation(arrays, assign) <= 1e-12:
            break
        quad = 0.0 if step % 2 == 0 else 200.0
        order = rng.permutation(arrays.n).astype(np.int64)
        _descent(
            arrays.indptr,
            arrays.indices,
            assign,
            cost,
            arrays.bal,
            arrays.lo,
            arrays.hi,
            arrays.scale,
            lam,
            arrays.allowed,
            arrays.locked,
            arrays.current,
            arrays.max_moves,
            arrays.move_penalty,
            arrays.contiguity,
            order,
            True,
            quad,
            200,
        )
        if step % 10 == 9:
            lam *= 2.0
    return assign


def moves_ok(arrays: SearchArrays, assign: IntArray) -> bool:
    """At most ``max_moves`` units differ from the current plan (when a limit is set)."""
    return arrays.max_moves < 0 or _moved(arrays, assign) <= arrays.max_moves


def connectivity_ok(arrays: SearchArrays, assign: IntArray) -> bool:
    return (not arrays.contiguity) or is_contiguous(arrays, assign)


# --------------------------------------------------------------------------------------
# Inertia / median search
# --------------------------------------------------------------------------------------
class _CostModel:
    """Assignment costs for inertia (``w d^2``) or median (``w d``) objectives."""

    def __init__(
        self, problem: DesignProblem, oracle: DistanceOracle, distances: FloatArray | None
    ) -> None:
        self.problem = problem
        self.oracle = oracle
        self.power = 2.0 if problem.objective == "inertia" else 1.0
        self.w = problem.weights
        self.fixed: FloatArray | None = None
        if problem.centers is not None:
            if distances is not None and distances.shape == (
                problem.n_units,
                problem.n_territories,
            ):
                dc = distances
            else:
                dc = oracle.to_points(problem.centers)
            self.fixed = np.ascontiguousarray(self.w[:, None] * dc**self.power)

    def centers(self, assign: IntArray) -> IntArray | None:
        """Best center unit per territory (argmin over members of the territory's cost)."""
        if self.fixed is not None:
            return None
        k = self.problem.n_territories
        out = np.zeros(k, dtype=np.int64)
        for t in range(k):
            members = np.flatnonzero(assign == t)
            if members.size == 0:
                continue
            cand = members
            if members.size > 400:
                # large territory: candidates near the weighted mean location
                d0 = self.oracle.rows(members[:1])[0]
                cand = members[np.argsort(d0[members])[:400]]
            rows = self.oracle.rows(cand)[:, members]  # (cand, members)
            c = (rows**self.power) @ self.w[members]
            out[t] = cand[int(np.argmin(c))]
        return out

    def matrix(self, centers: IntArray | None) -> FloatArray:
        """``(n, k)`` cost of each unit in each territory."""
        if self.fixed is not None:
            return self.fixed
        assert centers is not None
        d = self.oracle.rows(centers).T
        return np.ascontiguousarray(self.w[:, None] * d**self.power)

    def objective(self, assign: IntArray, centers: IntArray | None) -> float:
        cm = self.matrix(centers)
        return float(cm[np.arange(len(assign)), assign].sum())


def _moved(arrays: SearchArrays, assign: IntArray) -> int:
    cur = arrays.current
    return int(((cur >= 0) & (assign != cur)).sum())


class _Search:
    """Local search state for inertia/median (one instance per solve)."""

    def __init__(
        self,
        problem: DesignProblem,
        arrays: SearchArrays,
        oracle: DistanceOracle,
        model: _CostModel,
        rng: np.random.Generator,
    ) -> None:
        self.problem = problem
        self.arrays = arrays
        self.oracle = oracle
        self.model = model
        self.rng = rng
        self.lam = 1.0
        #: Clock reading after which the search stops at its next check (``inf``: none).
        self.deadline = np.inf

    def expired(self) -> bool:
        return bool(current_clock().now() >= self.deadline)

    def score(self, assign: IntArray, centers: IntArray | None) -> tuple[float, float]:
        """(violation, objective + move penalty)."""
        a = self.arrays
        obj = self.model.objective(assign, centers) + a.move_penalty * _moved(a, assign)
        return violation(a, assign), obj

    def _run(self, assign: IntArray, cost: FloatArray, lam: float, quad: float) -> None:
        a = self.arrays
        order = self.rng.permutation(a.n).astype(np.int64)
        _descent(
            a.indptr,
            a.indices,
            assign,
            cost,
            a.bal,
            a.lo,
            a.hi,
            a.scale,
            lam,
            a.allowed,
            a.locked,
            a.current,
            a.max_moves,
            a.move_penalty,
            a.contiguity,
            order,
            True,
            quad,
            200 if a.n <= FULL_SWAP_UNITS else LARGE_MAP_PASSES,
            a.n > FULL_SWAP_UNITS,
        )

    def make_feasible(self, assign: IntArray, cost: FloatArray, base: float) -> None:
        """Drive the balance violation to zero: growing penalty, then a pull to the mean."""
        a = self.arrays
        lam = base
        for step in range(30):
            if violation(a, assign) <= 1e-12 or self.expired():
                return
            # every other round pulls totals toward the middle of their window
            quad = 0.0 if step % 2 == 0 else 200.0
            self._run(assign, cost, lam, quad)
            lam = min(lam * 4.0, base * 1e8)
        self.lam = lam

    def improve(self, assign: IntArray) -> tuple[IntArray, IntArray | None]:
        """Descent with adaptive penalty, alternating with re-centering, to a local optimum."""
        a = self.arrays
        assign = assign.copy()
        centers = self.model.centers(assign)
        best_obj = np.inf
        for _ in range(50):
            if self.expired():
                break
            cost = self.model.matrix(centers)
            base = max(float(cost[np.arange(a.n), assign].sum()) / max(a.k, 1), 1e-9)
            # with a balanced start, a penalty of 10 x objective per mean of excess keeps
            # the descent inside the window; make_feasible raises it when needed
            self.make_feasible(assign, cost, base * 10)
            if self.expired():
                break
            self._run(assign, cost, max(self.lam, base * 1e3), 0.0)
            if violation(a, assign) > 1e-12:
                self.make_feasible(assign, cost, base * 10)
            new_centers = self.model.centers(assign)
            obj = self.model.objective(assign, new_centers)
            if new_centers is None or obj >= best_obj - 1e-9 * abs(obj):
                centers = new_centers
                break
            best_obj = obj
            centers = new_centers
        return assign, centers


def _better(s1: tuple[float, float], s2: tuple[float, float]) -> bool:
    """Compare (violation, objective) lexicographically with a tolerance on violation."""
    v1, o1 = s1
    v2, o2 = s2
    if (v1 > 1e-12 or v2 > 1e-12) and abs(v1 - v2) > 1e-12:
        return v1 < v2
    return o1 < o2 - 1e-9 * abs(o2)


def solve_contiguous(
    problem: DesignProblem,
    *,
    time_limit: float,
    seed: int,
    initial: IntArray | None = None,
    progress: Progress | None = None,
    distances: FloatArray | None = None,
    max_rounds: int | None = None,
    options: ContiguousOptions | None = None,
) -> SolverOutcome:
    """Balanced, contiguous territories minimising inertia, median or diameter.

    Parameters
    ----------
    problem:
        The design problem; with ``contiguity=False`` the same search runs without
        the connectivity checks.
    time_limit:
        Seconds of wall time to spend (the first plan is returned even if it
        takes longer).
    seed:
        Seed of every random choice. Iteration counts, not the clock, decide the
        path; the same seed gives the same plan whenever the search stops on its
        own (``max_rounds``, or no progress in ``1000 k`` rounds after 10 restarts)
        rather than on the clock.
    initial:
        Optional ``(n,)`` plan to start from (repaired when not contiguous).
    progress:
        Called as ``progress(fraction_done, message)``.
    distances:
        Optional precomputed ``(n, n)`` unit-to-unit distance matrix (or ``(n, k)``
        unit-to-fixed-center matrix) in the problem's distance unit, e.g. geodesic
        miles on the ellipsoid.
    max_rounds:
        Stop after this many large-neighbourhood rounds even if time is left.
    options:
        :class:`ContiguousOptions` (``max_rounds`` there is overridden by the argument
        when that is given).

    Returns
    -------
    SolverOutcome
        With ``stats["feasible"]`` telling whether balance and contiguity hold,
        ``stats["construction"]`` (``"bisection"``, ``"growing"`` or ``"repair"``) and
        ``stats["hit_time_limit"]`` (the clock, not convergence or the round cap,
        ended the search).
    """
    if problem.objective == "diameter":
        raise ConfigError("the diameter objective is solved by territorial.design.diameter")
    opts = options if options is not None else ContiguousOptions()
    if max_rounds is None:
        max_rounds = opts.max_rounds
    clock = current_clock()
    start = clock.now()
    deadline = start + time_limit
    rng = np.random.default_rng(seed)
    arrays = search_arrays(problem)
    full = distances if distances is not None and distances.shape[0] == distances.shape[1] else None
    oracle = DistanceOracle(problem, full=full)
    model = _CostModel(problem, oracle, distances)
    search = _Search(problem, arrays, oracle, model, rng)
    search.deadline = deadline
    weights = problem.weights
    stats: dict[str, Any] = {}

    # 1. construction
    refusal = bisection_refusal(problem, arrays)
    if opts.construction == "bisection" and refusal is not None:
        raise ConfigError(f"bisection cannot build this plan: {refusal}")
    if initial is not None:
        assign = repair_plan(arrays, oracle, np.asarray(initial))
        stats["construction"] = "repair"
    elif problem.current is not None and (problem.current >= 0).all():
        assign = repair_plan(arrays, oracle, problem.current)
        stats["construction"] = "repair"
    elif refusal is None and (
        opts.construction == "bisection"
        or (opts.construction == "auto" and arrays.n >= opts.bisection_min_units)
    ):
        t0 = clock.seconds
        assign = _bisection_start(arrays, model, rng, opts.bisection, search.expired, stats)
        stats["construction"] = "bisection"
        stats["bisection_seconds"] = clock.seconds - t0
    else:
        assign = grow_plan(arrays, oracle, spread_seeds(oracle, weights, arrays.k, rng))
        stats["construction"] = "growing"
        if refusal is not None:
            stats["bisection_refused"] = refusal
    if stats["construction"] == "bisection":
        # balance first: border moves alone may stall on two measures, so they
        # alternate with ReCom recuts; then the objective
        t0 = clock.seconds
        # the repair stops at REPAIR_SHARE of the budget: re-centering and the last
        # checks on thousands of units need the rest to end near the time limit
        search.deadline = start + REPAIR_SHARE * time_limit
        assign = _recut_and_repair(arrays, search, assign, rng, opts.bisection, stats)
        search.deadline = deadline
        stats["repair_seconds"] = clock.seconds - t0
    t0 = clock.seconds
    assign, centers = search.improve(assign)
    stats["first_improve_seconds"] = clock.seconds - t0
    best = (assign.copy(), centers)
    best_score = search.score(assign, centers)
    rounds = 0
    accepted = 0
    restarts = 0
    if progress:
        progress(0.0, f"first plan: objective {best_score[1]:.6g}")

    # 2. large-neighbourhood search: dissolve a few neighbouring territories, regrow
    k = arrays.k
    tadj = _territory_adjacency(arrays, assign)
    # the walk starts from the best plan; after a long run without progress it
    # restarts from a fresh construction (the overall best is kept)
    walk, walk_score = best, best_score
    since = 0
    since_best = 0
    stopped_by_clock = clock.now() >= deadline
    while k > 1:
        if clock.now() >= deadline:
            stopped_by_clock = True
            break
        # with a round cap, an unbalanced plan is not an answer: keep searching (still a
        # bounded, reproducible count of rounds) until the band holds
        if (
            max_rounds is not None
            and rounds >= max_rounds
            and (best_score[0] <= 1e-12 or rounds >= INFEASIBLE_ROUNDS * max_rounds)
        ):
            break
        if since_best > 1000 * k and restarts >= 10:
            break  # converged: stopping here keeps runs reproducible
        rounds += 1
        since += 1
        since_best += 1
        clock.charge(LNS_ROUND_STEPS * WORK_PER_STEP + pair_work(problem.n_units, LNS_ROUND_PAIRS))
        if since > 40 * k:
            since = 0
            fresh = grow_plan(arrays, oracle, spread_seeds(oracle, weights, k, rng))
            fresh_plan, fresh_centers = search.improve(fresh)
            walk, walk_score = (fresh_plan, fresh_centers), search.score(fresh_plan, fresh_centers)
            restarts += 1
        cur, cur_centers = walk
        tadj = _territory_adjacency(arrays, cur)
        t0 = int(rng.integers(k))
        group = [t0]
        neigh = list(np.flatnonzero(tadj[t0]))
        rng.shuffle(neigh)
        group += [int(t) for t in neigh[: int(rng.integers(1, 3))]]
        active = np.zeros(k, dtype=bool)
        active[group] = True
        trial = cur.copy()
        free = active[trial] & (arrays.locked < 0)
        trial[free] = -1
        seeds = np.zeros(k, dtype=np.int64)
        for t in group:
            members = np.flatnonzero(cur == t)
            if members.size == 0:
                continue
            if cur_centers is not None and rng.random() < 0.5:
                # a random member near the old center
                d = oracle.rows(cur_centers[t : t + 1])[0][members]
                near = members[np.argsort(d)[: max(1, len(members) // 3)]]
                seeds[t] = int(rng.choice(near))
            else:
                # heavy units make likely centers: draw proportionally to weight
                wm = np.maximum(weights[members], 0) + 1e-12
                seeds[t] = int(rng.choice(members, p=wm / wm.sum()))
        keep_locked = trial >= 0
        seeds_ok = all(trial[seeds[t]] in (-1, t) for t in group)
        if not seeds_ok:
            continue
        trial = grow_plan(
            arrays, oracle, seeds, assign=np.where(keep_locked, trial, -1), active=active
        )
        trial, trial_centers = search.improve(trial)
        score = search.score(trial, trial_centers)
        if not connectivity_ok(arrays, trial) or not moves_ok(arrays, trial):
            continue
        # threshold accepting: early on the walk may take a plan up to 0.5% worse
        # (the threshold shrinks to zero with the clock), which lets it leave the
        # basin of a local optimum; the best plan is kept apart
        elapsed = (current_clock().now() - start) / max(time_limit, 1e-9)
        threshold = ACCEPT_WORSE * max(0.0, 1.0 - elapsed)
        if _better(score, walk_score) or (
            score[0] <= 1e-12 and score[1] < walk_score[1] * (1.0 + threshold * rng.random())
        ):
            if _better(score, walk_score):
                since = 0
            walk, walk_score = (trial.copy(), trial_centers), score
        if _better(score, best_score):
            best = (trial.copy(), trial_centers)
            best_score = score
            accepted += 1
            since_best = 0
            if progress:
                frac = min(1.0, (current_clock().now() - start) / max(time_limit, 1e-9))
                progress(frac, f"objective {best_score[1]:.6g}")

    assign, centers = best
    feasible = (
        is_balanced(arrays, assign) and connectivity_ok(arrays, assign) and moves_ok(arrays, assign)
    )
    if not feasible:
        log.warning(
            "contiguous search ended with balance violation %.4g (in means) after %.1f s",
            best_score[0],
            current_clock().now() - start,
        )
    return SolverOutcome(
        assignment=assign.astype(np.int64),
        objective=float(model.objective(assign, centers)),
        method="contiguous-local-search+lns" if arrays.contiguity else "local-search+lns",
        center_units=centers,
        stats={
            **stats,
            "feasible": feasible,
            "lns_rounds": rounds,
            "lns_accepted": accepted,
            "restarts": restarts,
            "moved_units": _moved(arrays, assign),
            "seconds": current_clock().now() - start,
            "hit_time_limit": bool(stopped_by_clock),
        },
    )


# --------------------------------------------------------------------------------------
# Spanning-tree bisection as the first plan (territorial.design.bisection)
# --------------------------------------------------------------------------------------
def bisection_refusal(problem: DesignProblem, arrays: SearchArrays) -> str | None:
    """Why the bisection construction does not apply to ``problem`` (``None``: it does).

    It needs contiguity on a connected adjacency graph, balanced measures with the
    same tolerance band for every territory, and territories free to take any unit.
    Capacity limits (a rep's ``capacity_hours``, ``max_accounts``) are no reason to
    refuse: the pieces are cut to the band, matched to the territories whose limits
    they meet (:func:`match_pieces`), and the repair moves the rest.
    """
    if not arrays.contiguity:
        return "the problem does not ask for contiguity"
    if not problem.balance:
        return "no balanced measure to cut by"
    if problem.segments is not None:
        return "segments restrict which territory takes a unit"
    if (arrays.locked >= 0).any() or not arrays.allowed.all():
        return "locked units or restricted assignments"
    if arrays.n < arrays.k:
        return f"fewer units ({arrays.n}) than territories ({arrays.k})"
    nb = len(problem.balance)
    lo, hi = arrays.lo[:, :nb], arrays.hi[:, :nb]
    if (lo > hi + 1e-9 * np.maximum(np.abs(hi), 1.0)).any():
        t, r = np.argwhere(lo > hi + 1e-9 * np.maximum(np.abs(hi), 1.0))[0]
        measure = problem.balance[r].measure
        return (
            f"territory {problem.territory_ids[t]!r} has no room on {measure!r}: "
            f"it must hold at least {lo[t, r]:,.6g} and at most {hi[t, r]:,.6g}"
        )
    if not is_connected(arrays.n, edge_list(arrays.indptr, arrays.indices)):
        return "the adjacency graph is not connected"
    return None


def two_way_refiner(loads: FloatArray, scale: FloatArray, rng: np.random.Generator) -> Refine:
    """Border moves between the two sides of a cut, for :mod:`territorial.design.bisection`.

    The connectivity-keeping descent of this module (:func:`_descent`) on the region
    alone, with two territories whose windows are the sides' windows and no cost
    but the balance violation: shifts and pair swaps, alternating with rounds that
    pull both totals to the middle of their windows.
    """

    def refine(
        nodes: IntArray, local_edges: IntArray, side: BoolArray, win: FloatArray
    ) -> BoolArray:
        m = len(nodes)
        indptr, indices = adjacency_csr(m, local_edges)
        assign = np.where(side, 0, 1).astype(np.int64)
        bal = np.ascontiguousarray(loads[nodes])
        lo = np.ascontiguousarray(win[:, :, 0])
        hi = np.ascontiguousarray(win[:, :, 1])
        cost = np.zeros((m, 2))
        allowed = np.ones((m, 2), dtype=bool)
        free = np.full(m, -1, dtype=np.int64)
        for step in range(6):
            excess = 0.0
            for t in range(2):
                tot = bal[assign == t].sum(axis=0)
                excess += float((np.maximum(tot - hi[t], 0) + np.maximum(lo[t] - tot, 0)).sum())
            if excess <= 1e-12:
                break
            order = rng.permutation(m).astype(np.int64)
            quad = 0.0 if step % 2 == 0 else 200.0
            _descent(
                indptr, indices, assign, cost, bal, lo, hi, scale, 1.0, allowed, free, free,
                -1, 0.0, True, order, True, quad, 50, m > FULL_SWAP_UNITS,
            )  # fmt: skip
        return np.asarray(assign == 0)

    return refine


def _target(arrays: SearchArrays, nb: int) -> Target:
    """The tolerance band every piece is cut to: the mean total per territory and the
    tolerance of each balanced measure (before any territory's own limits)."""
    mean = arrays.bal[:, :nb].sum(axis=0) / max(arrays.k, 1)
    band = np.where(mean > 0, arrays.tolerance[:nb], 0.0)
    return Target(mean=mean, band=band)


def match_pieces(arrays: SearchArrays, assign: IntArray, fixed: FloatArray | None) -> IntArray:
    """Relabel the pieces of ``assign`` so each goes to a territory whose window it fits.

    The assignment of least cost (``scipy.optimize.linear_sum_assignment``): first the
    total excess of the piece's totals beyond the territory's window (capacity limits
    differ by rep), in means, then the objective at the territory's fixed center
    (``fixed``: ``(n, k)`` unit costs) when there is one.
    """
    from scipy.optimize import linear_sum_assignment

    k = arrays.k
    sums = np.zeros((k, arrays.bal.shape[1]))
    np.add.at(sums, assign, arrays.bal)  # (piece, row)
    scale = np.maximum(arrays.scale, 1e-12)
    over = np.maximum(sums[:, None, :] - arrays.hi[None, :, :], 0.0)
    under = np.maximum(arrays.lo[None, :, :] - sums[:, None, :], 0.0)
    excess = ((over + under) / scale).sum(axis=2)  # (piece, territory)
    cost = np.zeros((k, k))
    if fixed is not None:
        np.add.at(cost, assign, fixed)  # cost[piece, territory]
    if excess.any():
        # excess first: one mean of excess outweighs any difference of cost
        spread = float(cost.max() - cost.min()) if cost.size else 0.0
        cost = cost + excess * (spread * k + 1.0) * 1e3
    if not cost.any():
        return assign
    piece, territory = linear_sum_assignment(cost)
    relabel = np.empty(k, dtype=np.int64)
    relabel[piece] = territory
    return relabel[assign]


def _bisection_start(
    arrays: SearchArrays,
    model: _CostModel,
    rng: np.random.Generator,
    options: BisectionOptions,
    expired: Callable[[], bool],
    stats: dict[str, Any],
) -> IntArray:
    """First plan by recursive spanning-tree bisection, then ReCom recuts.

    With fixed centers (rep homes) or limits that differ by territory, the pieces are
    matched to the territories by :func:`match_pieces`.
    """
    nb = len(model.problem.balance)
    edges = edge_list(arrays.indptr, arrays.indices)
    loads = np.ascontiguousarray(arrays.bal[:, :nb])
    target = _target(arrays, nb)
    refine = two_way_refiner(loads, np.ascontiguousarray(arrays.scale[:nb]), rng)
    plan = bisection_plan(
        arrays.n, edges, loads, arrays.k, target, rng=rng, options=options, expired=expired,
        refine=refine,
    )  # fmt: skip
    assign = plan.assignment
    recut = recut_unbalanced(
        edges, loads, assign, target, rng=rng, options=options, expired=expired, refine=refine
    )
    assign = match_pieces(arrays, assign, model.fixed)
    stats.update(
        bisection_trees=plan.trees,
        bisection_splits_out_of_band=plan.splits_out_of_band,
        bisection_splits_refined=plan.splits_refined,
        recuts_tried=recut.tried,
        recuts_accepted=recut.accepted,
    )
    return assign


def _recut_and_repair(
    arrays: SearchArrays,
    search: _Search,
    assign: IntArray,
    rng: np.random.Generator,
    options: BisectionOptions,
    stats: dict[str, Any],
) -> IntArray:
    """Alternate penalised border moves and ReCom recuts until balanced (or time is up).

    The border moves' cost is the objective at the plan's centers, with a penalty of
    :data:`REPAIR_PENALTY` times a territory's mean cost per mean of excess (raised
    until balanced): balance comes first, the objective breaks ties.
    """
    nb = len(search.problem.balance)
    edges = edge_list(arrays.indptr, arrays.indices)
    loads = np.ascontiguousarray(arrays.bal[:, :nb])
    target = _target(arrays, nb)
    refine = two_way_refiner(loads, np.ascontiguousarray(arrays.scale[:nb]), rng)
    rounds = 0
    assign = assign.copy()
    while violation(arrays, assign) > 1e-12 and not search.expired() and rounds < 20:
        rounds += 1
        cost = search.model.matrix(search.model.centers(assign))
        base = max(float(cost[np.arange(arrays.n), assign].sum()) / max(arrays.k, 1), 1e-9)
        search.make_feasible(assign, cost, base * REPAIR_PENALTY)
        if violation(arrays, assign) <= 1e-12:
            break
        recut = recut_unbalanced(
            edges, loads, assign, target, rng=rng, options=options, expired=search.expired,
            refine=refine,
        )  # fmt: skip
        stats["recuts_tried"] = stats.get("recuts_tried", 0) + recut.tried
        stats["recuts_accepted"] = stats.get("recuts_accepted", 0) + recut.accepted
    stats["repair_rounds"] = rounds
    return assign


def _territory_adjacency(arrays: SearchArrays, assign: IntArray) -> BoolArray:
    """``(k, k)`` territories sharing a border (all pairs without adjacency data)."""
    k = arrays.k
    if len(arrays.indices) == 0:
        adj = np.ones((k, k), dtype=bool)
        np.fill_diagonal(adj, False)
        return adj
    src = np.repeat(np.arange(arrays.n), np.diff(arrays.indptr))
    ta, tb = assign[src], assign[arrays.indices]
    adj = np.zeros((k, k), dtype=bool)
    adj[ta, tb] = True
    np.fill_diagonal(adj, False)
    return adj


@dataclass(frozen=True, slots=True)
class ContiguousOptions:
    """Tuning of the contiguous local search and LNS."""

    #: Stop after this many large-neighbourhood rounds (``None``: the budget decides).
    max_rounds: int | None = None
    #: First plan: ``"auto"`` (spanning-tree bisection when it applies, see
    #: :func:`bisection_refusal`, on maps of at least ``bisection_min_units`` units; else
    #: region growing), ``"bisection"`` (refused with the reason when it does not apply)
    #: or ``"growing"``.
    construction: Literal["auto", "bisection", "growing"] = "auto"
    #: With ``"auto"``, maps of fewer units grow their first plan (region growing finds
    #: balance there; the bisection pays off on large maps of areas).
    bisection_min_units: int = 500
    #: Tuning of the bisection and the ReCom recuts.
    bisection: BisectionOptions = field(default_factory=BisectionOptions)

    def __post_init__(self) -> None:
        if self.construction not in ("auto", "bisection", "growing"):
            raise ConfigError(
                f"construction must be auto, bisection or growing, got {self.construction!r}"
            )


@register
class ContiguousSolver(Solver[ContiguousOptions]):
    """Contiguous territories: region growing, connectivity-keeping local search, LNS."""

    name = "contiguous"
    summary = (
        "region growing, border shifts and swaps that keep territories connected, "
        "re-centering and large-neighbourhood search (inertia or median; contiguity "
        "when the problem asks for it)"
    )
    options_type = ContiguousOptions
    auto_priority = 40
    heuristic = True

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        if problem.objective not in ("inertia", "median"):
            return f"it minimises inertia or median, not {problem.objective} (use diameter)"
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        if not problem.contiguity:
            return None
        return (
            f"contiguity on {problem.n_units:,} units: every move keeps both territories "
            "connected in the adjacency graph"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        return solve_contiguous(
            problem, time_limit=max(run.left(), 0.01), seed=run.seed, progress=run.progress,
            options=self.options,
        )  # fmt: skip


__all__ = [
    "ContiguousOptions",
    "ContiguousSolver",
    "DistanceOracle",
    "SearchArrays",
    "adjacency_csr",
    "balance_plan",
    "bisection_refusal",
    "components",
    "grow_plan",
    "is_balanced",
    "is_contiguous",
    "moves_ok",
    "repair_plan",
    "search_arrays",
    "solve_contiguous",
    "spread_seeds",
    "violation",
]
