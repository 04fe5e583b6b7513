"""Lagrangian lower bound for territories with free centres (capacitated p-median).

The problem
-----------
``n`` units, ``p`` territories; each territory's centre is one of its own units.
``c_ij = w_i d(i, j)^power`` is the cost of unit ``i`` in a territory centred at unit
``j`` (``power`` 1: median, 2: inertia). Every territory's total of each limited
measure ``a_im`` must stay within ``[lower_m, upper_m]`` (capacity limits and balance
bands alike)::

    min  sum_ij c_ij x_ij
    s.t. sum_j x_ij = 1            every unit in one territory     (multiplier u_i)
         x_jj = y_j                 a centre belongs to its territory
         sum_j y_j = p
         lower_m y_j <= sum_i a_im x_ij <= upper_m y_j
         x_ij in {0, 1}

Relaxing the assignment rows gives, for any ``u``::

    L(u) = sum_i u_i + (sum of the p smallest rho_j(u))
    rho_j(u) = -u_j + min { sum_{i != j} (c_ij - u_i) x_i :
                            0 <= x <= 1,  sum_i a_im x_i <= upper_m - a_jm }

``L(u) <= cost(x)`` for every feasible plan: each relaxed row contributes
``u_i (1 - sum_j x_ij) = 0``, the ``p`` territories of the plan are ``p`` candidates,
and each territory's members are a feasible point of its centre's knapsack. Dropping
the lower rows and all but one upper row only lowers each minimum, so
``rho_j`` is taken as the best (largest) single-row fractional knapsack. With the
``p`` smallest values instead of ``p`` times the smallest, the maximum of ``L`` is
the linear relaxation with ``y_j <= 1`` (Lorena & Senne's Lagrangian for the
capacitated p-median; the surrogate/knapsack view is theirs).

Exact with candidate lists
--------------------------
Listing every pair is ``n^2``. Each unit lists its ``K`` nearest units (itself
included) as possible centres; ``rest_i`` is the cost of its first unlisted unit.
Keeping ``u_i <= rest_i`` makes every unlisted pair's value ``c_ij - u_i >= 0``: such
an item never enters a minimising knapsack, so the listed value **equals** the full
one and the bound stays exact. When many ``u_i`` sit at their cap the lists are too
short for the territory size (the caller lengthens them).

Reduced-cost fixing (for the exact model): forcing ``x_ij = 1`` raises ``L`` by at
least ``max(0, rho_j - rho_(p)) + max(0, c_ij - u_i + pi_j a_i)``, where ``pi_j >= 0``
is the knapsack's critical ratio on its binding row; a pair whose forced value
exceeds a known plan's cost can be dropped from the exact model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numba
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from territorial.design.solvers import current_clock, pair_work

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------------------
# Geometry shared with the primal side
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def point_distance(points: FloatArray, i: int, j: int, radius: float) -> float:
    """Distance between points ``i`` and ``j``: Euclidean, or on a sphere of ``radius``.

    With ``radius > 0`` the points are unit vectors and the distance is the great-circle
    length ``2 R asin(chord / 2)``; else the plain Euclidean distance.
    """
    s = 0.0
    for k in range(points.shape[1]):
        d = points[i, k] - points[j, k]
        s += d * d
    chord = np.sqrt(s)
    if radius > 0.0:
        h = chord / 2.0
        if h > 1.0:
            h = 1.0
        return 2.0 * radius * np.arcsin(h)
    return chord


def embedded_to_length(chord: FloatArray, radius: float) -> FloatArray:
    """KD-tree distances in the embedding to lengths (see :func:`point_distance`)."""
    if radius > 0.0:
        return 2.0 * radius * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
    return chord


@dataclass(frozen=True, eq=False)
class CandidateLists:
    """Each unit's ``K`` nearest units as possible centres, by candidate centre (CSR).

    ``ptr[j]:ptr[j+1]`` are the entries of candidate centre ``j``: unit ``who[e]`` at
    cost ``cost[e]`` (``c_ij``); ``rest[i]`` is unit ``i``'s cost to its first unlisted
    unit (``inf`` when every unit is listed).
    """

    ptr: IntArray
    who: IntArray
    cost: FloatArray
    rest: FloatArray
    k_nearest: int

    @property
    def entries(self) -> int:
        return int(self.who.shape[0])


def candidate_lists(
    points: FloatArray, weights: FloatArray, *, power: int, radius: float, k_nearest: int
) -> CandidateLists:
    """Build :class:`CandidateLists` with ``k_nearest`` units per unit (KD-tree)."""
    n = points.shape[0]
    k = int(min(max(k_nearest, 1), n))
    dd, jj = cKDTree(points).query(points, k=min(k + 1, n))
    dd = np.asarray(dd, dtype=np.float64).reshape(n, -1)
    jj = np.asarray(jj, dtype=np.int64).reshape(n, -1)
    lengths = embedded_to_length(dd, radius)
    cost = weights[:, None] * lengths**power
    if k < n:
        rest = cost[:, k].copy()
        cost, jj = cost[:, :k], jj[:, :k]
    else:
        rest = np.full(n, np.inf)
    # every unit lists itself (ties at distance 0 may have pushed it out of column 0)
    has_self = (jj == np.arange(n)[:, None]).any(axis=1)
    if not has_self.all():
        bad = np.flatnonzero(~has_self)
        jj[bad, -1] = bad
        cost[bad, -1] = 0.0
    order = np.argsort(jj.ravel(), kind="stable")
    who = np.repeat(np.arange(n, dtype=np.int64), jj.shape[1])[order]
    flat_cost = cost.ravel()[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(jj.ravel(), minlength=n), out=ptr[1:])
    return CandidateLists(ptr, who, np.ascontiguousarray(flat_cost), rest, k)


# --------------------------------------------------------------------------------------
# Lists by radius: every pair that can matter for multipliers up to a cap
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _grid_pairs(
    points,
    weights,
    power,
    radius,
    cap,
    search,
    lo,
    h,
    dims,
    cell_start,
    order,
    fill_ptr,
    who,
    cost,
    count_only,
    row_count,
):  # pragma: no cover
    """Scan the grid: for every unit ``i`` every unit ``j`` with ``c_ij < cap[i]``.

    ``search[i]`` is the embedded (chord or Euclidean) radius that contains every such
    ``j``; the exact cost decides. With ``count_only`` only ``row_count[j]`` (entries of
    candidate centre ``j``) is filled; else ``who``/``cost`` at ``fill_ptr[j]`` onwards.
    """
    n, d = points.shape
    lo_c = np.empty(d, dtype=np.int64)
    hi_c = np.empty(d, dtype=np.int64)
    cur = np.empty(d, dtype=np.int64)
    for i in range(n):
        if not cap[i] > 0.0:
            continue
        s = search[i]
        for k in range(d):
            a = int(np.floor((points[i, k] - s - lo[k]) / h))
            b = int(np.floor((points[i, k] + s - lo[k]) / h))
            lo_c[k] = max(a, 0)
            hi_c[k] = min(b, dims[k] - 1)
            cur[k] = lo_c[k]
        empty = False
        for k in range(d):
            if lo_c[k] > hi_c[k]:
                empty = True
        if empty:
            continue
        while True:
            cell = 0
            for k in range(d):
                cell = cell * dims[k] + cur[k]
            for q in range(cell_start[cell], cell_start[cell + 1]):
                j = order[q]
                c = weights[i] * point_distance(points, i, j, radius) ** power
                if c < cap[i]:
                    if count_only:
                        row_count[j] += 1
                    else:
                        e = fill_ptr[j]
                        who[e] = i
                        cost[e] = c
                        fill_ptr[j] = e + 1
            # next cell (odometer over the box)
            k = d - 1
            while k >= 0:
                cur[k] += 1
                if cur[k] <= hi_c[k]:
                    break
                cur[k] = lo_c[k]
                k -= 1
            if k < 0:
                break


def radius_lists(
    points: FloatArray, weights: FloatArray, cap: FloatArray, *, power: int, radius: float
) -> CandidateLists:
    """Lists holding, for each unit ``i``, **every** unit ``j`` with ``c_ij < cap[i]``.

    ``rest = cap``: every unlisted pair costs at least its unit's cap, so
    :func:`evaluate` at any ``u <= cap`` equals the full (all-pairs) dual function.
    Pairs come from a uniform grid over the embedded points (Euclidean ``x, y``, or unit
    vectors with chord radii on a sphere of ``radius``); the exact cost
    (:func:`point_distance`) decides membership. ``cap`` must be finite.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    n, d = points.shape
    w = np.ascontiguousarray(weights, dtype=np.float64)
    cap = np.ascontiguousarray(np.maximum(np.asarray(cap, dtype=np.float64), 0.0))
    if not np.isfinite(cap).all():
        raise ValueError("radius_lists needs finite caps")
    # length within which c_ij < cap_i is possible (zero weight: every unit costs 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        length = np.where(w > 0, (cap / np.where(w > 0, w, 1.0)) ** (1.0 / power), np.inf)
    length = np.where(cap > 0, length, 0.0)
    if radius > 0.0:
        half = length / (2.0 * radius)
        search = np.where(half < np.pi / 2, 2.0 * np.sin(np.minimum(half, np.pi / 2)), 2.0)
    else:
        search = length
    lo = points.min(axis=0) if n else np.zeros(d)
    span = np.maximum(points.max(axis=0) - lo, 0.0) if n else np.zeros(d)
    extent = float(span.max()) if n else 0.0
    finite = search[np.isfinite(search)]
    # cell size: the typical search radius, but no more than ~4 cells per unit
    h = max(float(np.median(finite)) if finite.size else extent, extent / 4096.0, 1e-12)
    while float(np.prod(np.floor(span / h) + 1.0)) > 4.0 * n + 64:
        h *= 1.25
    search = np.minimum(search, extent + h) * (1.0 + 1e-9) + 1e-12
    dims = (np.floor(span / h).astype(np.int64) + 1).astype(np.int64)
    idx = np.minimum(np.floor((points - lo) / h).astype(np.int64), dims - 1)
    flat = np.zeros(n, dtype=np.int64)
    for k in range(d):
        flat = flat * dims[k] + idx[:, k]
    n_cells = int(np.prod(dims))
    order = np.argsort(flat, kind="stable").astype(np.int64)
    cell_start = np.zeros(n_cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat, minlength=n_cells), out=cell_start[1:])
    row_count = np.zeros(n, dtype=np.int64)
    dummy_i = np.zeros(0, dtype=np.int64)
    dummy_f = np.zeros(0, dtype=np.float64)
    args = (points, w, int(power), float(radius), cap, search, lo, h, dims, cell_start, order)
    _grid_pairs(*args, dummy_i, dummy_i, dummy_f, True, row_count)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_count, out=ptr[1:])
    who = np.empty(int(ptr[-1]), dtype=np.int64)
    cost = np.empty(int(ptr[-1]), dtype=np.float64)
    fill = ptr[:-1].copy()
    _grid_pairs(*args, fill, who, cost, False, row_count)
    k_avg = int(np.ceil(ptr[-1] / max(n, 1)))
    return CandidateLists(ptr, who, cost, cap.copy(), max(k_avg, 1))


# --------------------------------------------------------------------------------------
# The dual function
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _rho_one(
    j, ptr, who, cost, u, loads, cap, rho, pi, row_of, xfrac, integral
):  # pragma: no cover
    """``rho_j(u)``, its critical ratio and the knapsack's shares for one candidate."""
    m = loads.shape[1]
    lo_e = ptr[j]
    hi_e = ptr[j + 1]
    base = -u[j]
    feasible = True
    for r in range(m):
        if loads[j, r] > cap[r] + 1e-9:
            feasible = False
    for e in range(lo_e, hi_e):
        xfrac[e] = 0.0
    if not feasible:
        rho[j] = np.inf
        pi[j] = 0.0
        row_of[j] = -1
        return
    # items: other units with a negative value
    cnt = 0
    for e in range(lo_e, hi_e):
        if who[e] != j and cost[e] - u[who[e]] < 0.0:
            cnt += 1
    items = np.empty(cnt, dtype=np.int64)
    q = 0
    for e in range(lo_e, hi_e):
        if who[e] != j and cost[e] - u[who[e]] < 0.0:
            items[q] = e
            q += 1
    if m == 0:
        total = 0.0
        for q in range(cnt):
            e = items[q]
            total += cost[e] - u[who[e]]
            xfrac[e] = 1.0
        rho[j] = base + total
        pi[j] = 0.0
        row_of[j] = -1
        return
    best = -np.inf
    best_r = 0
    best_pi = 0.0
    keys = np.empty(cnt)
    best_order = np.empty(0, dtype=np.int64)
    every = np.arange(cnt)
    sum_v = 0.0
    for q in range(cnt):
        e = items[q]
        sum_v += cost[e] - u[who[e]]
    for r in range(m):
        room = cap[r] - loads[j, r]
        need = 0.0
        for q in range(cnt):
            need += loads[who[items[q]], r]
        if need <= room:
            # every item fits: no order needed (the row's value is the sum of them all)
            if sum_v > best:
                best = sum_v
                best_r = r
                best_pi = 0.0
                best_order = every
            continue
        for q in range(cnt):
            e = items[q]
            ar = loads[who[e], r]
            v = cost[e] - u[who[e]]
            keys[q] = v / ar if ar > 0.0 else -np.inf
        order = np.argsort(keys)
        total = 0.0
        crit = 0.0
        for q in order:
            e = items[q]
            ar = loads[who[e], r]
            v = cost[e] - u[who[e]]
            if ar <= room:
                total += v
                room -= ar
            else:
                total += v * room / ar
                crit = -v / ar
                room = 0.0
                break
        if total > best:
            best = total
            best_r = r
            best_pi = crit
            best_order = order
    if integral and m == 1:
        # 0-1 knapsack by dynamic programming over whole-number loads
        room_i = int(np.floor(cap[0] - loads[j, 0] + 1e-9))
        f = np.zeros(room_i + 1)
        take = np.zeros((cnt, room_i + 1), dtype=np.bool_)
        for q in range(cnt):
            e = items[q]
            ar = int(loads[who[e], 0] + 0.5)
            v = cost[e] - u[who[e]]
            for w in range(room_i, ar - 1, -1):
                nv = f[w - ar] + v
                if nv < f[w]:
                    f[w] = nv
                    take[q, w] = True
        w = room_i
        for q in range(cnt - 1, -1, -1):
            if take[q, w]:
                xfrac[items[q]] = 1.0
                w -= int(loads[who[items[q]], 0] + 0.5)
        rho[j] = base + f[room_i]
        pi[j] = best_pi
        row_of[j] = 0
        return
    rho[j] = base + best
    pi[j] = best_pi
    row_of[j] = best_r
    # the shares of the best row's knapsack (for the subgradient), in that row's order
    room = cap[best_r] - loads[j, best_r]
    for pick in best_order:
        e = items[pick]
        ar = loads[who[e], best_r]
        if ar <= room:
            xfrac[e] = 1.0
            room -= ar
        else:
            xfrac[e] = room / ar
            break


@numba.njit(cache=True)
def _rho_all(ptr, who, cost, u, loads, cap, rho, pi, row_of, xfrac, integral):  # pragma: no cover
    """``rho_j(u)`` for every candidate, its critical ratio and the knapsack's shares."""
    n = ptr.shape[0] - 1
    for j in range(n):
        _rho_one(j, ptr, who, cost, u, loads, cap, rho, pi, row_of, xfrac, integral)


@numba.njit(cache=True)
def _rho_pruned(
    ptr, who, cost, u, loads, cap, p, rho, pi, row_of, xfrac, price
):  # pragma: no cover
    """The ``p`` smallest ``rho_j(u)`` exactly, the others left at ``inf``.

    ``rho_j >= -u_j + max(sum of every negative value, max_r ratio_r x room_r)`` (the
    knapsack without its row, or every unit of room at the row's best value ratio), and
    for any price ``price_j >= 0`` of a unit of room ``rho_j >= -u_j + max_r (sum_i
    min(0, v_i + price_j a_ir) - price_j room_r)`` (weak duality of the row's linear
    knapsack; tight when ``price_j`` is the row's critical ratio, e.g. the last one
    found for ``j``). Candidates are solved in the order of that floor until it reaches
    the ``p``-th smallest value solved so far: no candidate left can be among the ``p``
    smallest.
    """
    n = ptr.shape[0] - 1
    m = loads.shape[1]
    floor = np.empty(n)
    ratio = np.empty(m)
    priced = np.empty(m)
    for j in range(n):
        ok = True
        for r in range(m):
            if loads[j, r] > cap[r] + 1e-9:
                ok = False
        if not ok:
            floor[j] = np.inf
            continue
        t = 0.0
        pj = max(price[j], 0.0)
        for r in range(m):
            ratio[r] = 0.0
            priced[r] = 0.0
        for e in range(ptr[j], ptr[j + 1]):
            if who[e] != j:
                v = cost[e] - u[who[e]]
                if v < 0.0:
                    t += v
                    for r in range(m):
                        ar = loads[who[e], r]
                        q = v / ar if ar > 0.0 else -np.inf
                        if q < ratio[r]:
                            ratio[r] = q
                        g = v + pj * ar
                        if g < 0.0:
                            priced[r] += g
        # each unit of room on row r is worth at most ratio[r]: the row's knapsack is at
        # least ratio[r] x room; rho takes the best row
        best = t
        for r in range(m):
            room = cap[r] - loads[j, r]
            f = ratio[r] * room if ratio[r] > -np.inf else -np.inf
            if f > best:
                best = f
            f = priced[r] - pj * room
            if f > best:
                best = f
        floor[j] = -u[j] + best
    for j in range(n):
        rho[j] = np.inf
        pi[j] = 0.0
        row_of[j] = -1
    order = np.argsort(floor)
    solved = np.empty(n)
    count = 0
    thresh = np.inf
    for q in range(n):
        j = order[q]
        if floor[j] >= thresh or not np.isfinite(floor[j]):
            break
        _rho_one(j, ptr, who, cost, u, loads, cap, rho, pi, row_of, xfrac, False)
        solved[count] = rho[j]
        count += 1
        if count >= p and (count == p or count % p == 0):
            thresh = np.partition(solved[:count], p - 1)[p - 1]
    return count


@numba.njit(cache=True)
def _coverage(ptr, who, xfrac, chosen, n):  # pragma: no cover
    cover = np.zeros(n)
    for t in range(chosen.shape[0]):
        j = chosen[t]
        cover[j] += 1.0
        for e in range(ptr[j], ptr[j + 1]):
            if who[e] != j:
                cover[who[e]] += xfrac[e]
    return cover


@dataclass
class DualState:
    """The dual function at one multiplier vector."""

    value: float
    u: FloatArray
    rho: FloatArray
    pi: FloatArray
    row_of: IntArray
    chosen: IntArray
    cover: FloatArray


def evaluate(
    lists: CandidateLists,
    u: FloatArray,
    loads: FloatArray,
    cap: FloatArray,
    p: int,
    *,
    integral: bool = False,
) -> DualState:
    """``L(u)`` and what it is made of. ``u`` must satisfy ``u <= lists.rest``.

    With ``integral`` (one limited measure with whole-number loads) each candidate's
    knapsack is solved as a 0-1 knapsack (dynamic programming): a stronger, still valid
    bound. ``pi`` then stays the fractional knapsack's critical ratio (valid for fixing
    only with a fractional state, see :func:`forced_pair_increase`).
    """
    rho, pi, row_of, xfrac = _work_arrays(lists, u)
    _rho_all(lists.ptr, lists.who, lists.cost, u, loads, cap, rho, pi, row_of, xfrac, integral)
    return _dual_state(lists, u, p, rho, pi, row_of, xfrac)


def evaluate_smallest(
    lists: CandidateLists,
    u: FloatArray,
    loads: FloatArray,
    cap: FloatArray,
    p: int,
    *,
    price: FloatArray | None = None,
) -> DualState:
    """``L(u)`` as :func:`evaluate` (fractional knapsacks), solving only the knapsacks
    that can be among the ``p`` smallest (see :func:`_rho_pruned`); the others' ``rho``
    is ``inf``. The value, the chosen centres and the coverage are those of
    :func:`evaluate` (up to ties between equal values). ``price`` (``(n,)``, ``>= 0``,
    e.g. the critical ratios ``pi`` of an earlier evaluation) only sharpens the pruning."""
    rho, pi, row_of, xfrac = _work_arrays(lists, u)
    guess = np.zeros(u.shape[0]) if price is None else np.ascontiguousarray(price, dtype=float)
    _rho_pruned(lists.ptr, lists.who, lists.cost, u, loads, cap, p, rho, pi, row_of, xfrac, guess)
    return _dual_state(lists, u, p, rho, pi, row_of, xfrac)


def _work_arrays(
    lists: CandidateLists, u: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """Output arrays of the knapsack kernels: rho, pi, row_of (per unit), xfrac (per entry)."""
    n = u.shape[0]
    return np.empty(n), np.empty(n), np.empty(n, dtype=np.int64), np.empty(lists.entries)


def _dual_state(
    lists: CandidateLists,
    u: FloatArray,
    p: int,
    rho: FloatArray,
    pi: FloatArray,
    row_of: IntArray,
    xfrac: FloatArray,
) -> DualState:
    """``L(u)`` from the knapsack values: the ``p`` smallest ``rho`` and their coverage."""
    n = u.shape[0]
    chosen = np.argpartition(rho, p - 1)[:p] if p < n else np.arange(n)
    value = float(u.sum() + rho[chosen].sum())
    cover = _coverage(lists.ptr, lists.who, xfrac, chosen.astype(np.int64), n)
    return DualState(value, u.copy(), rho, pi, row_of, chosen.astype(np.int64), cover)


@dataclass
class AscentResult:
    """Best dual state found by :func:`ascend` and how it went."""

    best: DualState
    iterations: int
    capped: float  # share of units whose multiplier sits at its list cap
    history: list[float] = field(default_factory=list)
    price: FloatArray | None = None  # last critical ratio of each candidate (pruning)


def ascend(
    lists: CandidateLists,
    loads: FloatArray,
    cap: FloatArray,
    p: int,
    *,
    u0: FloatArray | None = None,
    upper: float | None = None,
    iterations: int = 300,
    deadline: float | None = None,
    theta: float = 1.0,
    on_iterate: object | None = None,
    integral: bool = False,
) -> AscentResult:
    """Subgradient ascent (Polyak steps towards ``upper``) on ``L(u)``.

    ``u`` starts at ``u0`` (clipped to the list caps) or at each unit's cost to its
    nearest other unit. The step halves after 20 iterations without progress.
    ``on_iterate(state)`` (if given) is called every iteration, e.g. to start primal
    heuristics from the dual's centres; it may return a better known plan cost to aim at.
    """
    n = loads.shape[0]
    clock = current_clock()
    rest = lists.rest
    if u0 is None:
        u = np.minimum(_second_cost(lists, n), rest)
    else:
        u = np.minimum(np.asarray(u0, dtype=np.float64), rest)
    best: DualState | None = None
    stall = 0
    history: list[float] = []
    it = 0
    for it in range(1, iterations + 1):  # noqa: B007 - the count is reported
        state = evaluate(lists, u, loads, cap, p, integral=integral)
        clock.charge(pair_work(n, lists.k_nearest))
        history.append(state.value)
        if best is None or state.value > best.value + 1e-12 * max(1.0, abs(best.value)):
            best = state
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                theta *= 0.5
                stall = 0
        if on_iterate is not None:
            got = on_iterate(state)  # type: ignore[operator]
            if got is not None and (upper is None or got < upper):
                upper = float(got)
        if theta < 1e-4 or (deadline is not None and clock.now() > deadline):
            break
        g = 1.0 - state.cover
        gg = float((g * g).sum())
        if gg <= 1e-12:
            break  # the relaxed solution is a plan: the bound is its cost
        target = upper if upper is not None and upper > state.value else abs(state.value) * 1.05
        step = theta * (target - state.value) / gg
        u = np.minimum(u + step * g, rest)
    assert best is not None
    capped = float(np.mean(best.u >= rest * (1 - 1e-9))) if np.isfinite(rest).any() else 0.0
    return AscentResult(best, it, capped, history)


def ascend_radius(
    points: FloatArray,
    weights: FloatArray,
    loads: FloatArray,
    cap: FloatArray,
    p: int,
    *,
    power: int,
    radius: float,
    u0: FloatArray,
    upper: float | None = None,
    iterations: int = 300,
    deadline: float | None = None,
    slack: float = 1.0,
    rebuild_every: int = 10,
    max_entries: int = 60_000_000,
    theta: float = 1.0,
    deflection: float = 0.7,
    aim: float = 0.2,
    price0: FloatArray | None = None,
) -> AscentResult:
    """Deflected subgradient ascent on ``L(u)`` with lists by radius instead of nearest units.

    A unit ``i`` can only enter centre ``j``'s knapsack when ``c_ij < u_i``. The lists
    hold every pair with ``c_ij < cap_i`` (:func:`radius_lists`), ``cap_i`` is the
    multiplier times ``1 + slack`` when the lists are built, and ``u_i`` stays at most
    ``cap_i`` until the next rebuild (at most every ``rebuild_every`` iterations, when
    more than 2% of the multipliers sit at their caps, else every ``4 rebuild_every``):
    every evaluation equals the all-pairs dual function, so every value is a valid bound
    and the multipliers are not held below the plan's costs. ``u0`` is the start, e.g.
    half of each unit's cost in a known plan (measured at 20k/40: 25.0M after 40 s from
    there, 3.1M after 15 s from the full costs, whose first value is -56.6M). Lists
    larger than ``max_entries`` stop the caps from growing.

    Each step follows ``d = g + deflection d_prev`` (Camerini, Fratta & Maffioli's
    deflected subgradient: the plain subgradient zig-zags between the candidates that
    share units) towards ``best + aim (upper - best)`` (a target short of the known plan
    cost, which the ascent cannot reach while the gap is wide); the step shrinks by 0.7
    after 10 iterations without progress. Measured at 20k/40
    (``benchmarks/free_centres_bound_probe.py``, load 1.3, 25 s each): 26.2M from
    0.05 x the plan's costs instead of 18.0M with plain Polyak steps towards the plan
    cost, 27.4M instead of 23.8M from 0.5 x. Every ``u`` gives a valid bound, so the
    step rule changes only how fast it rises. ``price0`` (``(n,)``) guesses each candidate's
    critical ratio for the first evaluation's pruning (see :func:`evaluate_smallest`).
    """
    n = loads.shape[0]
    clock = current_clock()
    w = np.asarray(weights, dtype=np.float64)
    u = np.asarray(u0, dtype=np.float64).copy()
    pos = u[u > 0]
    floor = 0.25 * float(np.median(pos)) if pos.size else 0.0

    def build(u_now: FloatArray, growth: float) -> CandidateLists:
        caps = np.maximum(u_now, floor) * growth
        caps[w <= 0] = 0.0
        return radius_lists(points, w, caps, power=power, radius=radius)

    lists = build(u, 1.0 + slack)
    u = np.minimum(u, lists.rest)
    best: DualState | None = None
    stall = 0
    history: list[float] = []
    since = 0
    it = 0
    direction: FloatArray | None = None
    # last critical ratio of each candidate: sharper pruning
    price = np.zeros(n) if price0 is None else np.maximum(np.asarray(price0, dtype=float), 0.0)
    for it in range(1, iterations + 1):
        state = evaluate_smallest(lists, u, loads, cap, p, price=price)
        solved = np.isfinite(state.rho)
        price[solved] = state.pi[solved]
        if it == 1 and price0 is None:
            price[~solved] = float(np.median(state.pi[state.chosen]))
        clock.charge(pair_work(n, lists.k_nearest))
        history.append(state.value)
        if best is None or state.value > best.value + 1e-12 * max(1.0, abs(best.value)):
            best = state
            stall = 0
        else:
            stall += 1
            if stall >= 10:
                theta *= 0.7
                stall = 0
        if theta < 1e-4 or (deadline is not None and clock.now() > deadline):
            break
        g = 1.0 - state.cover
        if float((g * g).sum()) <= 1e-12:
            break
        direction = g if direction is None else g + deflection * direction
        dd = float((direction * direction).sum())
        top = best.value
        if upper is not None and upper > top:
            target = top + aim * (upper - top)
        else:
            target = abs(state.value) * 1.05
        step = theta * max(target - state.value, 0.0) / dd
        u = np.maximum(u + step * direction, 0.0)
        since += 1
        at_cap = float(np.mean(u >= lists.rest))
        if since >= rebuild_every and (at_cap > 0.02 or since >= 4 * rebuild_every):
            grown = build(u, 1.0 + slack)
            if grown.entries <= max_entries:
                lists = grown
            since = 0
        u = np.minimum(u, lists.rest)
    assert best is not None
    capped = float(np.mean(best.u >= lists.rest * (1 - 1e-9)))
    log.debug("radius ascent: %d iterations, %d entries, bound %.6g", it, lists.entries,
              best.value)  # fmt: skip
    return AscentResult(best, it, capped, history, price)


@dataclass(frozen=True, eq=False)
class Aggregate:
    """Units grouped around seed units (each unit joins its nearest seed).

    ``label[i]`` is unit ``i``'s group; ``points``, ``weights`` and ``loads`` are the
    groups' weighted centroids (renormalised to unit vectors on a sphere), summed
    weights and summed loads. Used only to find multipliers, never for a bound value.
    """

    label: IntArray
    points: FloatArray
    weights: FloatArray
    loads: FloatArray

    def gather(self, u: FloatArray) -> FloatArray:
        """A group's multiplier: the sum of its units' multipliers."""
        return np.bincount(self.label, u, minlength=self.weights.shape[0]).astype(np.float64)

    def scatter(self, group_u: FloatArray, unit_weights: FloatArray) -> FloatArray:
        """Each unit's multiplier: its group's, shared in proportion to the weights
        (every cost ``c_ij`` is proportional to unit ``i``'s weight)."""
        share = np.where(
            self.weights > 0, group_u / np.where(self.weights > 0, self.weights, 1.0), 0.0
        )
        return share[self.label] * unit_weights


def aggregate(
    points: FloatArray,
    weights: FloatArray,
    loads: FloatArray,
    groups: int,
    *,
    radius: float,
    seed: int = 0,
) -> Aggregate:
    """About ``groups`` groups: seeds drawn at random (so dense places get more
    groups, like the territories), each unit joining its nearest seed."""
    n = points.shape[0]
    m = int(min(max(groups, 1), n))
    seeds = np.sort(np.random.default_rng(seed).choice(n, m, replace=False))
    _, label = cKDTree(points[seeds]).query(points)
    label = np.asarray(label, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    size = np.bincount(label, minlength=m).astype(np.float64)
    total_w = np.bincount(label, w, minlength=m).astype(np.float64)
    # weighted centroids (plain means for groups of zero weight)
    by = np.where(total_w > 0, total_w, size)
    mass = np.where((total_w > 0)[label], w, 1.0)
    centre = (
        np.column_stack(
            [np.bincount(label, mass * points[:, d], minlength=m) for d in range(points.shape[1])]
        )
        / by[:, None]
    )
    if radius > 0.0:
        centre /= np.maximum(np.linalg.norm(centre, axis=1), 1e-300)[:, None]
    group_loads = np.column_stack(
        [np.bincount(label, loads[:, r], minlength=m) for r in range(loads.shape[1])]
    ).reshape(m, loads.shape[1])
    return Aggregate(
        label, np.ascontiguousarray(centre), total_w, np.ascontiguousarray(group_loads)
    )


#: Margin on the units' first-pass time extrapolated from a coarse level's first pass.
UNIT_PASS_SAFETY = 1.5


def ascend_coarse_to_fine(
    points: FloatArray,
    weights: FloatArray,
    loads: FloatArray,
    cap: FloatArray,
    p: int,
    *,
    power: int,
    radius: float,
    u0: FloatArray,
    upper: float | None = None,
    deadline: float,
    group_sizes: tuple[float, ...] = (20.0, 5.0),
    level_shares: tuple[float, ...] = (0.35, 0.35),
    seed: int = 0,
) -> AscentResult | None:
    """:func:`ascend_radius` on coarse copies of the problem first, then on the units.

    The ascent on ``n`` units needs hundreds of iterations and each costs a pass over
    millions of pairs; on groups of about ``group_sizes[0]`` units (summed weights and
    loads at their centroids) one iteration is cheap and the multipliers settle in a
    few seconds. Each level starts from the previous one's best multipliers (a group's
    is the sum of its units'; a unit's is its group's shared by weight) and may run
    until ``level_shares[l]`` of the time left at its start is used; the units' ascent
    has the rest. Only the units' values are bounds: a coarse value is not (a group
    must stay whole and its spread costs nothing), so the coarse levels only choose
    where the units' ascent starts. Measured at 20k/40
    (``benchmarks/free_centres_bound_probe.py``, load 1.3): 42.0M in 25 s (36.4M at the
    first evaluation on the units), where the units' ascent alone reaches 26-27M.

    The units' first pass cannot stop half-way and is the only valid value, so time is
    kept for it: each level's first pass is timed and scaled by the square of the units
    per group (times :data:`UNIT_PASS_SAFETY`); the coarse levels stop before that
    reserve, and when the reserve does not fit in the time left the function returns
    ``None`` (no bound from this path) rather than run past ``deadline``.
    """
    if len(level_shares) != len(group_sizes):
        raise ValueError(
            f"one time share per level: {len(group_sizes)} sizes, {len(level_shares)} shares"
        )
    n = loads.shape[0]
    clock = current_clock()
    w = np.asarray(weights, dtype=np.float64)
    u = np.asarray(u0, dtype=np.float64).copy()
    price: FloatArray | None = None  # each unit's guess of its critical ratio
    reserve = 0.0  # seconds the units' first pass is expected to take
    for level, (size, share) in enumerate(zip(group_sizes, level_shares, strict=True)):
        groups = int(n / size)
        if groups <= p or groups >= n:
            continue
        agg = aggregate(points, w, loads, groups, radius=radius, seed=seed + level)
        size_of = np.bincount(agg.label, minlength=groups).astype(np.float64)
        started = clock.now()
        common = dict(power=power, radius=radius, upper=upper)
        first = ascend_radius(
            agg.points, agg.weights, agg.loads, cap, p, u0=agg.gather(u), iterations=1,
            price0=None if price is None else agg.gather(price) / np.maximum(size_of, 1.0),
            **common,
        )  # fmt: skip
        # a pass costs about its pairs, which grow with the square of the units per
        # group: the units' first pass (lists and one evaluation) is kept time for
        reserve = UNIT_PASS_SAFETY * (clock.now() - started) * (n / groups) ** 2
        left = max(deadline - reserve - clock.now(), 0.0)
        coarse = first
        if left > 0.0:
            more = ascend_radius(
                agg.points, agg.weights, agg.loads, cap, p, u0=first.best.u,
                iterations=1_000_000, deadline=clock.now() + share * left, price0=first.price,
                **common,
            )  # fmt: skip
            if more.best.value > first.best.value:
                coarse = more
        u = agg.scatter(coarse.best.u, w)
        # a critical ratio is per unit of load on both levels: each unit takes its group's
        price = None if coarse.price is None else coarse.price[agg.label]
        log.debug("coarse ascent on %d groups: %d iterations, value %.6g; units' pass "
                  "expected to take %.1f s", groups, coarse.iterations, coarse.best.value,
                  reserve)  # fmt: skip
    if clock.now() + reserve > deadline:
        # the units' pass (the only valid values) would end well past the deadline
        log.info("free-centre bound: the units' pass (about %.1f s) does not fit in the "
                 "%.1f s left", reserve, max(deadline - clock.now(), 0.0))  # fmt: skip
        return None
    # the units: the first evaluation is at the coarse multipliers (lists little longer
    # than needed: at 100k/200 the units' first evaluation is most of the time), later
    # ones climb from there
    return ascend_radius(
        points, w, loads, cap, p, power=power, radius=radius, u0=u, upper=upper,
        iterations=1_000_000, deadline=deadline, slack=0.1, price0=price,
    )  # fmt: skip


def _second_cost(lists: CandidateLists, n: int) -> FloatArray:
    """Each unit's cost to its nearest other listed unit (a start for ``u``)."""
    out = np.full(n, np.inf)
    mask = lists.who != np.repeat(np.arange(n), np.diff(lists.ptr))
    np.minimum.at(out, lists.who[mask], lists.cost[mask])
    return np.where(np.isfinite(out), out, 0.0)


def forced_pair_increase(state: DualState, lists: CandidateLists, loads: FloatArray, p: int):
    """Per list entry: a lower bound on how much ``L`` rises when ``x_ij`` is forced to 1.

    ``state`` must come from a fractional evaluation (``integral=False``).
    Returns ``(open_increase (n,), pair_increase (entries,))``: forcing ``y_j = 1`` costs
    ``open_increase[j] = max(0, rho_j - rho_(p))``; forcing unit ``who[e]`` into centre
    ``j``'s territory costs ``open_increase[j] + pair_increase[e]``.
    """
    n = state.rho.shape[0]
    kth = np.partition(state.rho, p - 1)[p - 1] if p < n else np.inf
    open_inc = np.maximum(0.0, state.rho - kth)
    owner = np.repeat(np.arange(n), np.diff(lists.ptr))
    v = lists.cost - state.u[lists.who]
    row = state.row_of[owner]
    a = np.where(row >= 0, loads[lists.who, np.maximum(row, 0)], 0.0) if loads.shape[1] else 0.0
    pair = np.maximum(0.0, v + state.pi[owner] * a)
    pair[lists.who == owner] = 0.0
    return open_inc, pair


__all__ = [
    "Aggregate",
    "AscentResult",
    "CandidateLists",
    "DualState",
    "aggregate",
    "ascend",
    "ascend_coarse_to_fine",
    "ascend_radius",
    "candidate_lists",
    "evaluate",
    "evaluate_smallest",
    "forced_pair_increase",
    "point_distance",
    "radius_lists",
]
