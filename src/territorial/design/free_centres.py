"""Territories with free centres: a Lagrangian matheuristic for the capacitated p-median.

When no centres are given, each territory's centre is one of its own units (the unit
that minimises the territory's weighted distance sum: ``median`` with ``power = 1``,
Hess's ``inertia`` with ``power = 2``), and every territory's total of each limited
measure stays within ``[lower_m, upper_m]`` (absolute capacity limits and balance bands
alike). This module works on plain arrays (see :func:`solve_free_centres`); the adapter
from a :class:`~territorial.design.problem.DesignProblem` is
:func:`territorial.design.free_centres_solver.solve_problem`.

How it works (after Lorena & Senne's Lagrangian heuristics and Stefanello, de Araújo &
Müller's matheuristics for the capacitated p-median):

1. **Bound.** Subgradient ascent on the Lagrangian of the assignment rows
   (:mod:`territorial.design.pmedian_bound`): each candidate centre's fractional knapsack
   over the units near it; the sum of the ``p`` smallest plus the multipliers is a valid
   lower bound at every iteration, exact with candidate lists.
2. **Plans from the dual.** Every few iterations the ``p`` centres the dual picks are
   opened; units are assigned by regret (largest gap between their best and second-best
   centre first) within the limits, the limits are repaired (moves, then swaps), and a
   local search of shifts and swaps between neighbouring territories finishes; then each
   territory's centre moves to its best unit and the search repeats while it improves.
3. **Centre swaps.** One centre closes and another unit opens (Teitz & Bart's
   interchange): the swaps are ranked by their change of the uncapacitated cost and the
   most promising rebuilt within the limits as in step 2, first improvement, until a
   sweep finds none. The other moves keep each centre in its neighbourhood; this one
   moves territories across the map.
4. **Exact model on what is left.** With the best plan's cost ``UB`` and the best
   multipliers, every pair whose forced Lagrangian value exceeds ``UB`` is dropped
   (reduced-cost fixing, exact); when few pairs survive the whole model goes to HiGHS
   (proving optimality when it finishes), else HiGHS improves the plan territory group
   by territory group (a few neighbouring territories re-solved exactly with the rest
   fixed).

The same seed and the same ``work_limit`` (subgradient iterations) give the same plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from territorial.design import pmedian_bound as pb
from territorial.design.solvers import current_clock, pair_work

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class FreeCentreOptions:
    """Tuning of :func:`solve_free_centres` (every field has a sensible default).

    Attributes
    ----------
    time_limit:
        Seconds for the whole run (a safety cap; see ``iterations`` for determinism).
    iterations:
        Subgradient iterations of the bound (the work limit: with the time limit not
        reached, the same inputs and seed give the same plan).
    list_factor:
        Candidate lists hold ``list_factor * n / p`` nearest units (at least
        ``min_list``): long enough that the multipliers rarely reach their caps.
    min_list:
        Shortest candidate list.
    territory_candidates:
        Territories each unit may move to in the local search (its nearest centres).
    neighbours:
        Nearest units each unit tries to swap with.
    primal_every:
        Run the primal heuristic from the dual's centres every this many iterations.
    exact_pairs:
        Solve the whole model exactly when at most this many pairs survive reduced-cost
        fixing.
    exact_share:
        Share of the time limit the exact model may use.
    group_size:
        Largest group of the improvement phase is ``group_size + 2`` territories: each
        group is a territory and 1 to ``group_size + 1`` of its nearest territories,
        re-solved exactly (a small capacitated p-median MIP) with the rest fixed.
    group_time:
        Seconds (work units in deterministic mode) one group MIP may take: many small
        groups solved to optimality beat a few large ones stopped early.
    group_compact:
        Share of groups made of a territory and its nearest territories (the others
        draw their members among twice as many nearest territories).
    group_grow:
        How many sizes the largest group grows by when the search stalls before the plan
        is kicked instead (iterated local search; the best plan seen is kept).
    group_kicks:
        The group search stops after this many kicks in a row that found no better plan
        (or at the time limit).
    group_nearest:
        Possible centres per unit in a group MIP (its nearest units of the group).
    pair_neighbours:
        Each territory is re-solved with this many nearest territories, one pair at a time.
    pair_work:
        Budget (DP cells x centre pairs) of one sweep of pair re-optimisations; sets
        how many centres near the old ones each side tries.
    swap_candidates:
        Centre swaps (one centre closed, another unit opened) rebuilt within the limits
        per sweep of the swap search, the most promising by their change of the
        uncapacitated cost; 0 turns the swap search off.
    swap_work:
        Largest ``units x units`` for which the swap search runs (each sweep ranks every
        swap from all unit-to-unit distances).
    swap_share:
        Share of the time left after the bound that the first swap search may use (the
        rest goes to the MIPs; a stalled group search runs the swap search again).
    knapsack_work:
        Largest ``list length x capacity x units`` for which the bound solves 0-1
        knapsacks (dynamic programming) instead of fractional ones at every iteration.
    final_knapsack_work:
        Largest such product for which the best multipliers of a fractional ascent are
        evaluated once more with 0-1 knapsacks (one evaluation: a tighter, still valid
        bound at little cost).
    seed:
        Seed of the only random choices (order of group improvements).
    """

    time_limit: float = 60.0
    iterations: int = 3000
    list_factor: float = 3.0
    min_list: int = 24
    territory_candidates: int = 10
    neighbours: int = 16
    primal_every: int = 25
    exact_pairs: int = 60_000
    exact_share: float = 0.5
    group_size: int = 3
    group_time: float = 0.5
    group_compact: float = 0.5
    group_grow: int = 1
    group_kicks: int = 10
    group_nearest: int = 40
    pair_neighbours: int = 4
    pair_work: float = 2e8
    swap_candidates: int = 1500
    swap_work: float = 5e7
    swap_share: float = 0.8
    knapsack_work: float = 2e7
    final_knapsack_work: float = 2e9
    seed: int = 0


@dataclass
class FreeCentreResult:
    """What :func:`solve_free_centres` found.

    ``assignment[i]`` is a territory index ``0..p-1``; ``centres[t]`` the unit at the
    centre of territory ``t``; ``objective`` in the cost's unit; ``lower_bound`` valid
    for the whole problem; ``feasible`` whether every limit holds.
    """

    assignment: IntArray
    centres: IntArray
    objective: float
    lower_bound: float
    feasible: bool
    proven_optimal: bool
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Numba kernels of the primal side
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _unit_cost(points, weights, power, radius, i, c):  # pragma: no cover
    d = pb.point_distance(points, i, c, radius)
    return weights[i] * (d if power == 1 else d * d)


@numba.njit(cache=True)
def _violation(load, lower, upper, scale):  # pragma: no cover
    v = 0.0
    for t in range(load.shape[0]):
        for r in range(load.shape[1]):
            if load[t, r] > upper[r]:
                v += (load[t, r] - upper[r]) / scale[r]
            elif load[t, r] < lower[r]:
                v += (lower[r] - load[t, r]) / scale[r]
    return v


@numba.njit(cache=True)
def _row_violation(load_t, lower, upper, scale):  # pragma: no cover
    v = 0.0
    for r in range(load_t.shape[0]):
        if load_t[r] > upper[r]:
            v += (load_t[r] - upper[r]) / scale[r]
        elif load_t[r] < lower[r]:
            v += (lower[r] - load_t[r]) / scale[r]
    return v


@numba.njit(cache=True)
def _fits_after(load_t, a_in, a_out, lower, upper):  # pragma: no cover
    for r in range(load_t.shape[0]):
        x = load_t[r] + a_in[r] - a_out[r]
        if x > upper[r] + _EPS or x < lower[r] - _EPS:
            return False
    return True


@numba.njit(cache=True)
def _assign_regret(cand, ccost, loads, upper, centres, points, weights, power, radius, start):
    """Greedy assignment within the upper limits, largest regret first.

    Units with ``start[i] >= 0`` stay in that territory (``-1`` everywhere: a fresh
    assignment); every centre is in its own territory.
    """  # pragma: no cover
    n, c = cand.shape
    p = centres.shape[0]
    m = loads.shape[1]
    assign = start.copy()
    for t in range(p):
        assign[centres[t]] = t
    load = np.zeros((p, m))
    for i in range(n):
        if assign[i] >= 0:
            for r in range(m):
                load[assign[i], r] += loads[i, r]
    regret = np.empty(n)
    for i in range(n):
        regret[i] = (ccost[i, 1] - ccost[i, 0]) if c > 1 else 0.0
    order = np.argsort(-regret)
    zero = np.zeros(m)
    for q in range(n):
        i = order[q]
        if assign[i] >= 0:
            continue
        placed = False
        for s in range(c):
            t = cand[i, s]
            ok = True
            for r in range(m):
                if load[t, r] + loads[i, r] > upper[r] + _EPS:
                    ok = False
                    break
            if ok:
                assign[i] = t
                for r in range(m):
                    load[t, r] += loads[i, r]
                placed = True
                break
        if placed:
            continue
        # no listed territory has room: the cheapest territory with room, else the
        # one left least over its limits (repaired afterwards)
        best_t = -1
        best_c = np.inf
        least_t = 0
        least_v = np.inf
        for t in range(p):
            over = 0.0
            for r in range(m):
                x = load[t, r] + loads[i, r] - upper[r]
                if x > 0:
                    over += x / max(upper[r], 1e-12)
            cst = _unit_cost(points, weights, power, radius, i, centres[t])
            if over <= _EPS and cst < best_c:
                best_c = cst
                best_t = t
            if over < least_v:
                least_v = over
                least_t = t
        t = best_t if best_t >= 0 else least_t
        assign[i] = t
        for r in range(m):
            load[t, r] += loads[i, r]
    _ = zero
    return assign, load


@numba.njit(cache=True)
def _cost_to(points, weights, power, radius, i, t, centres, cand, ccost):  # pragma: no cover
    for s in range(cand.shape[1]):
        if cand[i, s] == t:
            return ccost[i, s]
    return _unit_cost(points, weights, power, radius, i, centres[t])


@numba.njit(cache=True)
def _repair(
    assign,
    load,
    centres,
    cand,
    ccost,
    nbr,
    loads,
    lower,
    upper,
    scale,
    points,
    weights,
    power,
    radius,
    max_passes,
):  # pragma: no cover
    """Move (then swap) units to bring every territory within its limits, cheaply."""
    n = assign.shape[0]
    p = centres.shape[0]
    is_centre = np.zeros(n, dtype=np.bool_)
    for t in range(p):
        is_centre[centres[t]] = True
    total = _violation(load, lower, upper, scale)
    for _ in range(max_passes):
        if total <= 1e-12:
            break
        before = total
        # moves: each unit of a violating territory, or next to one, to its best fix
        for i in range(n):
            if is_centre[i]:
                continue
            s = assign[i]
            ai = loads[i]
            cur = _cost_to(points, weights, power, radius, i, s, centres, cand, ccost)
            vs = _row_violation(load[s], lower, upper, scale)
            best_gain = 1e-12
            best_t = -1
            best_ratio = np.inf
            for q in range(cand.shape[1]):
                t = cand[i, q]
                if t == s:
                    continue
                vt = _row_violation(load[t], lower, upper, scale)
                if vs <= 0.0 and vt <= 0.0:
                    continue
                load[s] -= ai
                load[t] += ai
                nvs = _row_violation(load[s], lower, upper, scale)
                nvt = _row_violation(load[t], lower, upper, scale)
                load[s] += ai
                load[t] -= ai
                gain = (vs + vt) - (nvs + nvt)
                if gain > best_gain * 0.5:
                    dc = ccost[i, q] - cur
                    ratio = dc / gain
                    if ratio < best_ratio:
                        best_ratio = ratio
                        best_gain = gain
                        best_t = t
            if best_t >= 0:
                load[s] -= ai
                load[best_t] += ai
                assign[i] = best_t
                total -= best_gain
        # swaps with neighbouring units in other territories
        for i in range(n):
            if is_centre[i]:
                continue
            s = assign[i]
            vs = _row_violation(load[s], lower, upper, scale)
            if vs <= 0.0:
                continue
            ai = loads[i]
            for q in range(nbr.shape[1]):
                j = nbr[i, q]
                t = assign[j]
                if t == s or is_centre[j]:
                    continue
                aj = loads[j]
                vt = _row_violation(load[t], lower, upper, scale)
                load[s] += aj - ai
                load[t] += ai - aj
                gain = (vs + vt) - (
                    _row_violation(load[s], lower, upper, scale)
                    + _row_violation(load[t], lower, upper, scale)
                )
                if gain > 1e-12:
                    assign[i] = t
                    assign[j] = s
                    total -= gain
                    break
                load[s] -= aj - ai
                load[t] -= ai - aj
        total = _violation(load, lower, upper, scale)
        if total >= before - 1e-12:
            break
    return total


@numba.njit(cache=True)
def _local_search(
    assign,
    load,
    centres,
    cand,
    ccost,
    nbr,
    loads,
    lower,
    upper,
    points,
    weights,
    power,
    radius,
    max_passes,
):  # pragma: no cover
    """Improving shifts and swaps that keep every territory within its limits."""
    n = assign.shape[0]
    p = centres.shape[0]
    is_centre = np.zeros(n, dtype=np.bool_)
    for t in range(p):
        is_centre[centres[t]] = True
    gained = 0.0
    zero = np.zeros(loads.shape[1])
    for _ in range(max_passes):
        improved = 0.0
        for i in range(n):
            if is_centre[i]:
                continue
            s = assign[i]
            ai = loads[i]
            cur = _cost_to(points, weights, power, radius, i, s, centres, cand, ccost)
            # shift to the cheapest listed territory with room
            for q in range(cand.shape[1]):
                t = cand[i, q]
                d = ccost[i, q] - cur
                if d >= -1e-12:
                    break
                if t == s:
                    continue
                if _fits_after(load[t], ai, zero, lower, upper) and _fits_after(
                    load[s], zero, ai, lower, upper
                ):
                    load[t] += ai
                    load[s] -= ai
                    assign[i] = t
                    improved -= d
                    break
            s = assign[i]
            cur = _cost_to(points, weights, power, radius, i, s, centres, cand, ccost)
            # swap with a neighbouring unit of another territory
            for q in range(nbr.shape[1]):
                j = nbr[i, q]
                t = assign[j]
                if t == s or is_centre[j]:
                    continue
                cit = _cost_to(points, weights, power, radius, i, t, centres, cand, ccost)
                if cit >= cur:
                    continue
                cjs = _cost_to(points, weights, power, radius, j, s, centres, cand, ccost)
                cjt = _cost_to(points, weights, power, radius, j, t, centres, cand, ccost)
                d = cit + cjs - cur - cjt
                if d >= -1e-12:
                    continue
                aj = loads[j]
                if _fits_after(load[s], aj, ai, lower, upper) and _fits_after(
                    load[t], ai, aj, lower, upper
                ):
                    load[s] += aj - ai
                    load[t] += ai - aj
                    assign[i] = t
                    assign[j] = s
                    improved -= d
                    break
        gained += improved
        if improved <= 1e-9:
            break
    return gained


@numba.njit(cache=True)
def _medians(assign, p, points, weights, power, radius, exact_limit):  # pragma: no cover
    """Each territory's best centre among its units (exact up to ``exact_limit`` units)."""
    n = assign.shape[0]
    order = np.argsort(assign, kind="mergesort")
    start = np.zeros(p + 1, dtype=np.int64)
    for i in range(n):
        start[assign[i] + 1] += 1
    for t in range(p):
        start[t + 1] += start[t]
    out = np.full(p, -1, dtype=np.int64)
    dim = points.shape[1]
    for t in range(p):
        members = order[start[t] : start[t + 1]]
        s = members.shape[0]
        if s == 0:
            continue
        cands = members
        if s > exact_limit:
            # the units nearest the weighted mean (exact for Euclidean inertia)
            mean = np.zeros(dim)
            wsum = 0.0
            for q in range(s):
                i = members[q]
                for k in range(dim):
                    mean[k] += weights[i] * points[i, k]
                wsum += weights[i]
            if wsum <= 0:
                wsum = 1.0
            for k in range(dim):
                mean[k] /= wsum
            dd = np.empty(s)
            for q in range(s):
                i = members[q]
                acc = 0.0
                for k in range(dim):
                    acc += (points[i, k] - mean[k]) ** 2
                dd[q] = acc
            cands = members[np.argsort(dd)[: exact_limit // 8 + 16]]
        best = np.inf
        best_i = members[0]
        for q in range(cands.shape[0]):
            c = cands[q]
            tot = 0.0
            for r in range(s):
                tot += _unit_cost(points, weights, power, radius, members[r], c)
                if tot >= best:
                    break
            if tot < best:
                best = tot
                best_i = c
        out[t] = best_i
    return out


@numba.njit(cache=True)
def _swap_deltas(centres, points, weights, power, radius):  # pragma: no cover
    """``(p, n)`` change of the uncapacitated cost when centre ``t`` closes and unit ``b``
    opens (Whitaker's fast interchange: every unit to its nearest open centre).

    Closing ``t`` sends its units to their second-nearest centre (``loss[t]``); opening
    ``b`` draws every unit nearer to ``b`` than to its nearest centre (``gain``) and
    saves part of the loss of closing the nearest centre of units that ``b`` draws.
    """
    n = points.shape[0]
    p = centres.shape[0]
    d1 = np.empty(n)
    d2 = np.empty(n)
    c1 = np.empty(n, dtype=np.int64)
    for i in range(n):
        best = np.inf
        second = np.inf
        at = 0
        for t in range(p):
            d = _unit_cost(points, weights, power, radius, i, centres[t])
            if d < best:
                second = best
                best = d
                at = t
            elif d < second:
                second = d
        d1[i] = best
        d2[i] = second if p > 1 else best
        c1[i] = at
    loss = np.zeros(p)
    for i in range(n):
        loss[c1[i]] += d2[i] - d1[i]
    delta = np.empty((p, n))
    saved = np.empty(p)
    for b in range(n):
        gain = 0.0
        saved[:] = 0.0
        for i in range(n):
            d = _unit_cost(points, weights, power, radius, i, b)
            if d < d1[i]:
                gain += d1[i] - d
                saved[c1[i]] += d2[i] - d1[i]
            elif d < d2[i]:
                saved[c1[i]] += d2[i] - d
        for t in range(p):
            delta[t, b] = loss[t] - saved[t] - gain
    return delta


@numba.njit(cache=True)
def _plan_cost(assign, centres, points, weights, power, radius):  # pragma: no cover
    tot = 0.0
    for i in range(assign.shape[0]):
        tot += _unit_cost(points, weights, power, radius, i, centres[assign[i]])
    return tot


@numba.njit(cache=True)
def _pair_dp(members, ca, cb, points, weights, power, radius, ia, lo, up):  # pragma: no cover
    """Best split of ``members`` between centres ``ca`` and ``cb`` under one integer limit.

    ``ia`` are the members' integer loads (``ia`` indexed like ``members``). Returns
    ``(cost, side)`` with ``side[q]`` True when member ``q`` goes to ``ca`` (``inf`` cost
    when no split fits).
    """
    s = members.shape[0]
    qa = -1
    qb = -1
    for q in range(s):
        if members[q] == ca:
            qa = q
        if members[q] == cb:
            qb = q
    total = 0
    base = 0.0
    delta = np.empty(s)
    for q in range(s):
        if q == qa or q == qb:  # noqa: SIM109 (numba)
            delta[q] = 0.0
            continue
        i = members[q]
        c_a = _unit_cost(points, weights, power, radius, i, ca)
        c_b = _unit_cost(points, weights, power, radius, i, cb)
        base += c_b
        delta[q] = c_a - c_b
        total += ia[q]
    side = np.zeros(s, dtype=np.bool_)
    f = np.full(total + 1, np.inf)
    f[0] = 0.0
    take = np.zeros((s, total + 1), dtype=np.bool_)
    reach = 0
    for q in range(s):
        if q == qa or q == qb:  # noqa: SIM109 (numba)
            continue
        a = ia[q]
        d = delta[q]
        reach += a
        for w in range(reach, a - 1, -1):
            v = f[w - a] + d
            if v < f[w]:
                f[w] = v
                take[q, w] = True
    best = np.inf
    best_w = -1
    for w in range(total + 1):
        la = ia[qa] + w
        lb = ia[qb] + total - w
        if la > up or lb > up or la < lo or lb < lo:
            continue
        if f[w] < best:
            best = f[w]
            best_w = w
    if best_w < 0:
        return np.inf, side
    w = best_w
    for q in range(s - 1, -1, -1):
        if q == qa or q == qb:  # noqa: SIM109 (numba)
            continue
        if take[q, w]:
            side[q] = True
            w -= ia[q]
    side[qa] = True
    return base + best, side


@numba.njit(cache=True)
def _pair_sweep(
    assign, centres, pairs_a, pairs_b, points, weights, power, radius, iload, lo, up, n_cand
):  # pragma: no cover
    """Re-solve territory pairs exactly (centres near the old ones, DP split)."""
    n = assign.shape[0]
    gained = 0.0
    dim = points.shape[1]
    for e in range(pairs_a.shape[0]):
        ta = pairs_a[e]
        tb = pairs_b[e]
        cnt = 0
        for i in range(n):
            if assign[i] == ta or assign[i] == tb:
                cnt += 1
        members = np.empty(cnt, dtype=np.int64)
        q = 0
        for i in range(n):
            if assign[i] == ta or assign[i] == tb:
                members[q] = i
                q += 1
        ia = iload[members]
        old = 0.0
        for q in range(cnt):
            i = members[q]
            old += _unit_cost(points, weights, power, radius, i, centres[assign[i]])
        # candidate centres: the members nearest each old centre
        ka = min(n_cand, cnt)
        da = np.empty(cnt)
        db = np.empty(cnt)
        for q in range(cnt):
            i = members[q]
            sa = 0.0
            sb = 0.0
            for k in range(dim):
                sa += (points[i, k] - points[centres[ta], k]) ** 2
                sb += (points[i, k] - points[centres[tb], k]) ** 2
            da[q] = sa
            db[q] = sb
        cand_a = members[np.argsort(da)[:ka]]
        cand_b = members[np.argsort(db)[:ka]]
        best = old - 1e-9 * max(1.0, old)
        best_side = np.zeros(cnt, dtype=np.bool_)
        best_ca = -1
        best_cb = -1
        for x in range(ka):
            for y in range(ka):
                ca = cand_a[x]
                cb = cand_b[y]
                if ca == cb:
                    continue
                cost, side = _pair_dp(members, ca, cb, points, weights, power, radius, ia, lo, up)
                if cost < best:
                    best = cost
                    best_side = side
                    best_ca = ca
                    best_cb = cb
        if best_ca >= 0:
            for q in range(cnt):
                assign[members[q]] = ta if best_side[q] else tb
            centres[ta] = best_ca
            centres[tb] = best_cb
            gained += old - best
    return gained


# --------------------------------------------------------------------------------------
# The primal heuristic on arrays
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Instance:
    """Arrays of one free-centre problem (see :func:`solve_free_centres`)."""

    points: FloatArray
    radius: float
    weights: FloatArray
    power: int
    loads: FloatArray
    lower: FloatArray
    upper: FloatArray
    p: int

    @property
    def n(self) -> int:
        return int(self.points.shape[0])

    @property
    def scale(self) -> FloatArray:
        s = np.where(np.isfinite(self.upper), self.upper, self.loads.sum(axis=0) / self.p)
        return np.where(s > 0, s, 1.0)


@dataclass
class Plan:
    """A plan of the primal heuristic: assignment, centres, loads, cost, violation."""

    assign: IntArray
    centres: IntArray
    load: FloatArray
    cost: float
    violation: float

    @property
    def feasible(self) -> bool:
        return self.violation <= 1e-9

    def better_than(self, other: Plan | None) -> bool:
        if other is None:
            return True
        if self.feasible != other.feasible:
            return self.feasible
        if not self.feasible:
            return self.violation < other.violation - 1e-12
        return self.cost < other.cost - 1e-9 * max(1.0, abs(other.cost))


class Primal:
    """Plans from centres: assignment, repair, local search and re-centring."""

    def __init__(self, inst: Instance, options: FreeCentreOptions) -> None:
        self.inst = inst
        self.options = options
        n = inst.n
        kn = int(min(n - 1, options.neighbours))
        self.tree = cKDTree(inst.points)
        if kn > 0:
            _, nb = self.tree.query(inst.points, k=kn + 1)
            self.nbr = np.ascontiguousarray(np.asarray(nb, dtype=np.int64)[:, 1:])
        else:
            self.nbr = np.zeros((n, 0), dtype=np.int64)
        self.calls = 0
        self.swaps = 0  # centre sets tried by swap_improve
        self.swaps_taken = 0
        # pair re-optimisation needs exactly one limited measure with whole-number loads
        limited = np.flatnonzero(np.isfinite(inst.upper) | np.isfinite(inst.lower))
        self.iload: IntArray | None = None
        self.ilo = self.iup = 0
        if len(limited) == 1:
            col = inst.loads[:, limited[0]]
            if np.all(col == np.round(col)) and col.sum() < 5e6:
                self.iload = np.ascontiguousarray(col.astype(np.int64))
                lo_v, up_v = inst.lower[limited[0]], inst.upper[limited[0]]
                self.ilo = int(np.ceil(lo_v)) if np.isfinite(lo_v) else -(2**62)
                self.iup = int(np.floor(up_v)) if np.isfinite(up_v) else 2**62

    def _candidates(self, centres: IntArray) -> tuple[IntArray, FloatArray]:
        inst = self.inst
        c = int(min(len(centres), self.options.territory_candidates))
        dd, tt = cKDTree(inst.points[centres]).query(inst.points, k=c)
        dd = np.asarray(dd, dtype=np.float64).reshape(inst.n, c)
        tt = np.asarray(tt, dtype=np.int64).reshape(inst.n, c)
        cost = inst.weights[:, None] * pb.embedded_to_length(dd, inst.radius) ** inst.power
        return np.ascontiguousarray(tt), np.ascontiguousarray(cost)

    def improve(self, assign: IntArray, centres: IntArray, *, rounds: int = 8) -> Plan:
        """Repair, local search and re-centring from a start, until nothing improves."""
        inst = self.inst
        a = assign.copy()
        c = centres.copy()
        best: Plan | None = None
        for _ in range(rounds):
            cand, ccost = self._candidates(c)
            # repair, local search and medians: a few sweeps over every candidate pair
            current_clock().charge(pair_work(inst.n, 8 * cand.shape[1]))
            load = np.zeros((inst.p, inst.loads.shape[1]))
            np.add.at(load, a, inst.loads)
            viol = _repair(a, load, c, cand, ccost, self.nbr, inst.loads, inst.lower,
                           inst.upper, inst.scale, inst.points, inst.weights, inst.power,
                           inst.radius, 50)  # fmt: skip
            _local_search(a, load, c, cand, ccost, self.nbr, inst.loads, inst.lower,
                          inst.upper, inst.points, inst.weights, inst.power, inst.radius,
                          30)  # fmt: skip
            cost = float(_plan_cost(a, c, inst.points, inst.weights, inst.power, inst.radius))
            plan = Plan(a.copy(), c.copy(), load.copy(), cost, float(viol))
            if not plan.better_than(best):
                break
            best = plan
            new_c = _medians(a, inst.p, inst.points, inst.weights, inst.power, inst.radius, 2000)
            if np.array_equal(np.sort(new_c), np.sort(c)):
                break
            c = new_c
        assert best is not None
        return best

    def pair_improve(self, plan: Plan, *, rounds: int = 6, deadline: float | None = None) -> Plan:
        """Re-solve neighbouring territory pairs exactly (one integer limit only).

        For each pair of neighbouring territories, every split of their units between
        centres near the old ones is searched by dynamic programming over the limited
        measure (its loads must be whole numbers); the best split replaces the pair when
        it is cheaper. Local search and re-centring follow any gain.
        """
        inst = self.inst
        if self.iload is None or not plan.feasible or inst.p < 2:
            return plan
        best = plan
        g = int(min(inst.p - 1, self.options.pair_neighbours))
        for _ in range(rounds):
            if deadline is not None and current_clock().now() > deadline:
                break
            a = best.assign.copy()
            c = best.centres.copy()
            _, near = cKDTree(inst.points[c]).query(inst.points[c], k=g + 1)
            near = np.asarray(near, dtype=np.int64).reshape(inst.p, -1)[:, 1:]
            ta = np.repeat(np.arange(inst.p), near.shape[1])
            tb = near.ravel()
            keep = ta < tb
            pa, pb_ = np.ascontiguousarray(ta[keep]), np.ascontiguousarray(tb[keep])
            size = 2.0 * inst.n / inst.p
            width = 2.0 * float(self.iload.sum()) / inst.p
            per_pair = self.options.pair_work / max(len(pa), 1)
            n_cand = int(max(1, min(8, np.sqrt(per_pair / max(size * width, 1)))))
            gained = _pair_sweep(a, c, pa, pb_, inst.points, inst.weights, inst.power,
                                 inst.radius, self.iload, self.ilo, self.iup, n_cand)  # fmt: skip
            current_clock().charge(pair_work(len(pa), int(n_cand * n_cand * size * width)))
            if gained <= 1e-9 * max(1.0, best.cost):
                break
            cand = self.improve(a, c)
            if not cand.better_than(best):
                break
            best = cand
        return best

    def swap_improve(self, plan: Plan, *, deadline: float | None = None) -> Plan:
        """Move centres across the map: close one territory's centre, open another unit.

        Each sweep ranks every swap (centre ``t`` out, unit ``b`` in) by its change of
        the uncapacitated cost (:func:`_swap_deltas`), rebuilds the plan around the
        ``swap_candidates`` most promising centre sets within the limits
        (:meth:`from_swap`) and takes the first that is cheaper; it stops when a sweep
        finds none, or at the deadline (then pair re-optimisation, time permitting). The
        local moves of :meth:`improve` and the group MIPs keep every centre in its
        neighbourhood; this move fixes where the territories are.
        """
        inst = self.inst
        opts = self.options
        if not plan.feasible or inst.p < 2 or opts.swap_candidates < 1:
            return plan
        if float(inst.n) * inst.n > opts.swap_work:
            return plan
        best = plan
        tried: set[bytes] = set()
        while deadline is None or current_clock().now() < deadline:
            delta = _swap_deltas(best.centres, inst.points, inst.weights, inst.power,
                                 inst.radius)  # fmt: skip
            current_clock().charge(pair_work(inst.n, inst.n))
            delta[:, best.centres] = np.inf
            flat = delta.ravel()
            k = int(min(opts.swap_candidates, flat.size))
            order = np.argpartition(flat, k - 1)[:k]
            order = order[np.argsort(flat[order], kind="stable")]
            found = False
            for e in order.tolist():
                if not np.isfinite(flat[e]):
                    break
                if deadline is not None and current_clock().now() >= deadline:
                    break
                t, b = divmod(e, inst.n)
                centres = best.centres.copy()
                centres[t] = b
                key = np.sort(centres).tobytes()
                if key in tried:
                    continue
                tried.add(key)
                self.swaps += 1
                cand = self.from_swap(best, t, b)
                if cand.better_than(best):
                    best = cand
                    self.swaps_taken += 1
                    found = True
                    break
            if not found:
                break
        if best is not plan:
            best = self.pair_improve(best, deadline=deadline)
        return best

    def from_centres(self, centres: IntArray) -> Plan:
        """A plan around the given ``p`` centre units."""
        inst = self.inst
        self.calls += 1
        centres = np.asarray(centres, dtype=np.int64)
        cand, ccost = self._candidates(centres)
        a, _ = _assign_regret(cand, ccost, inst.loads, inst.upper, centres, inst.points,
                              inst.weights, inst.power, inst.radius,
                              np.full(inst.n, -1, dtype=np.int64))  # fmt: skip
        return self.improve(a, centres)

    def from_swap(self, plan: Plan, t: int, b: int) -> Plan:
        """``plan`` with territory ``t``'s centre closed and unit ``b`` opened instead.

        Only the closed territory's members and the units cheaper at ``b`` than at their
        centre are assigned again (by regret, within the limits); every other unit keeps
        its territory, so the rest of the plan keeps what earlier searches won, and the
        local search that follows has little to do.
        """
        inst = self.inst
        centres = plan.centres.copy()
        centres[t] = b
        cand, ccost = self._candidates(centres)
        start = plan.assign.copy()
        here = pb.embedded_to_length(
            np.sqrt(((inst.points - inst.points[plan.centres[start]]) ** 2).sum(axis=1)),
            inst.radius,
        )
        there = pb.embedded_to_length(
            np.sqrt(((inst.points - inst.points[b]) ** 2).sum(axis=1)), inst.radius
        )
        start[(start == t) | (there < here)] = -1
        a, _ = _assign_regret(cand, ccost, inst.loads, inst.upper, centres, inst.points,
                              inst.weights, inst.power, inst.radius, start)  # fmt: skip
        return self.improve(a, centres)


def plan_cost(inst: Instance, assign: IntArray, centres: IntArray) -> float:
    return float(_plan_cost(assign, centres, inst.points, inst.weights, inst.power, inst.radius))


# --------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------
def solve_free_centres(
    points: FloatArray,
    *,
    p: int,
    weights: FloatArray | None = None,
    power: int = 1,
    radius: float = 0.0,
    loads: FloatArray | None = None,
    lower: FloatArray | None = None,
    upper: FloatArray | None = None,
    options: FreeCentreOptions | None = None,
) -> FreeCentreResult:
    """Territories with free centres on arrays.

    Parameters
    ----------
    points:
        ``(n, d)`` unit locations: planar coordinates (``radius = 0``, Euclidean
        distances) or unit vectors on a sphere of ``radius`` (great-circle lengths in
        the radius' unit, e.g. miles).
    p:
        Number of territories.
    weights:
        ``(n,)`` distance weights (default ones).
    power:
        1 for the median objective (weighted distances), 2 for inertia.
    loads, lower, upper:
        ``(n, m)`` measures and ``(m,)`` per-territory limits on their totals (``-inf`` /
        ``inf`` or ``NaN`` for none). Without them the problem is the plain p-median.
    options:
        :class:`FreeCentreOptions`.
    """
    opts = options or FreeCentreOptions()
    t0 = current_clock().now()
    deadline = t0 + opts.time_limit
    points = np.ascontiguousarray(points, dtype=np.float64)
    n = points.shape[0]
    if not 1 <= p <= n:
        raise ValueError(f"p must be between 1 and the number of units ({n}), got {p}")
    w = np.ones(n) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    lo_arr = np.zeros((n, 0)) if loads is None else np.asarray(loads, dtype=np.float64)
    loads_ = np.ascontiguousarray(lo_arr.reshape(n, -1))
    m = loads_.shape[1]
    up = np.full(m, np.inf) if upper is None else np.asarray(upper, dtype=np.float64).copy()
    lw = np.full(m, -np.inf) if lower is None else np.asarray(lower, dtype=np.float64).copy()
    up[np.isnan(up)] = np.inf
    lw[np.isnan(lw)] = -np.inf
    inst = Instance(points, float(radius), w, int(power), loads_, lw, up, int(p))
    stats: dict[str, Any] = {}

    # rows of the knapsack: the limited measures with a finite upper limit
    rows = np.flatnonzero(np.isfinite(up))
    kn_loads = np.ascontiguousarray(loads_[:, rows])
    kn_cap = np.ascontiguousarray(up[rows])
    k_list = int(min(n, max(opts.min_list, np.ceil(opts.list_factor * n / p))))
    # 0-1 knapsacks when one measure is limited, its loads are whole numbers and the
    # dynamic programmes stay small (a stronger bound for small territories)
    whole = bool(
        len(rows) == 1
        and np.all(kn_loads == np.round(kn_loads))
        and np.all(kn_loads >= 0)
        and np.isfinite(kn_cap[0])
    )
    dp_cells = k_list * float(kn_cap[0]) * n if whole else np.inf
    integral = whole and dp_cells <= opts.knapsack_work
    lists = pb.candidate_lists(points, w, power=power, radius=radius, k_nearest=k_list)
    primal = Primal(inst, opts)

    best: Plan | None = None
    seen: set[bytes] = set()
    counter = [0]

    primal_seconds = [0.0]

    def on_iterate(state: pb.DualState) -> float | None:
        nonlocal best
        counter[0] += 1
        if counter[0] % opts.primal_every != 1:
            return None
        # plans may take at most half of the ascent's time (many territories: the
        # bound needs its iterations)
        if primal_seconds[0] > 0.5 * (current_clock().now() - t_ascent):
            return None
        started = current_clock().now()
        try:
            return _plan_from(state)
        finally:
            primal_seconds[0] += current_clock().now() - started

    def _plan_from(state: pb.DualState) -> float | None:
        nonlocal best
        key = np.sort(state.chosen).tobytes()
        if key in seen or not np.isfinite(state.rho[state.chosen]).all():
            return None
        seen.add(key)
        plan = primal.from_centres(state.chosen)
        if plan.better_than(best):
            plan = primal.pair_improve(plan, deadline=deadline)
            best = plan
            log.debug("free centres: plan %.6g (violation %.3g)", plan.cost, plan.violation)
        return best.cost if best is not None and best.feasible else None

    # a first plan from the cheapest-looking centres, to aim the steps
    first = pb.evaluate(lists, np.minimum(pb._second_cost(lists, n), lists.rest), kn_loads,
                        kn_cap, p)  # fmt: skip
    best = primal.from_centres(first.chosen)
    t_ascent = current_clock().now()
    ascent = pb.ascend(
        lists,
        kn_loads,
        kn_cap,
        p,
        upper=best.cost if best.feasible else None,
        iterations=opts.iterations,
        deadline=t0 + opts.time_limit * (1 - opts.exact_share),
        on_iterate=on_iterate,
        integral=integral,
    )
    assert best is not None
    bound = ascent.best.value
    if whole and not integral and dp_cells <= opts.final_knapsack_work:
        # the ascent used fractional knapsacks (too many DP cells per iteration); the
        # same multipliers with 0-1 knapsacks are a tighter bound (still valid: each
        # territory of a plan is a 0-1 point of its centre's knapsack)
        tight = pb.evaluate(lists, ascent.best.u, kn_loads, kn_cap, p, integral=True)
        current_clock().charge(pair_work(n, int(k_list * float(kn_cap[0]) / 10)))
        stats["final_knapsack_bound"] = tight.value
        bound = max(bound, tight.value)
    # the exact model's fixing needs the fractional knapsacks' critical ratios
    dual_for_fixing = (
        pb.evaluate(lists, ascent.best.u, kn_loads, kn_cap, p) if integral else ascent.best
    )
    stats.update(
        iterations=ascent.iterations,
        list_length=k_list,
        integer_knapsacks=integral,
        ascent_bound=ascent.best.value,
        multipliers_capped=ascent.capped,
        primal_runs=primal.calls,
        bound_seconds=current_clock().now() - t0,
    )
    # re-centre and polish the best plan once more from the best dual's centres
    plan = primal.from_centres(ascent.best.chosen)
    if plan.better_than(best):
        best = plan
    best = primal.pair_improve(best, rounds=20, deadline=deadline)
    # centre swaps across the map, before the MIPs (which keep centres where they are)
    started = current_clock().now()
    stats["plan_before_swaps"] = best.cost
    best = primal.swap_improve(best, deadline=started + opts.swap_share * (deadline - started))
    stats.update(
        plan_after_swaps=best.cost,
        swap_plans=primal.swaps,
        swap_moves=primal.swaps_taken,
        swap_seconds=current_clock().now() - started,
    )
    proven = False
    if best.feasible and current_clock().now() < deadline:
        from territorial.design import pmedian_exact

        exact = pmedian_exact.improve(
            inst, lists, dual_for_fixing, best, primal, options=opts, deadline=deadline
        )
        stats.update(exact.stats)
        if exact.plan.better_than(best):
            best = exact.plan
        bound = max(bound, exact.bound)
        proven = exact.proven
    if best.feasible:
        bound = min(bound, best.cost)
    stats["seconds"] = current_clock().now() - t0
    return FreeCentreResult(
        assignment=best.assign,
        centres=best.centres,
        objective=best.cost,
        lower_bound=float(bound),
        feasible=best.feasible,
        proven_optimal=proven,
        stats=stats,
    )


__all__ = ["FreeCentreOptions", "FreeCentreResult", "Instance", "Plan", "solve_free_centres"]
