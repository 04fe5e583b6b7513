"""Min-max diameter territories (the delivery territory design problem, DTDP).

The diameter of a territory is the largest distance between two of its units
(shortest-path distance over the whole graph when ``distance == "graph"``); the
objective is the largest diameter over the territories. Balance is hard (every
balanced measure within its tolerance) and, with ``contiguity``, every territory
is connected.

Method: **threshold tabu search.** A min-max objective is flat (almost every move
leaves the maximum unchanged), so the search does not minimise it directly.
Given a target ``T`` (the best diameter found so far), two units of the same
territory *conflict* when their distance is at least ``T``. Tabu search over
border shifts minimises

    F = conflicts + lambda x balance violation (percent of the mean)

with ``conf[i, t]`` = number of units of territory ``t`` conflicting with unit
``i`` kept up to date in O(n) per move, so a shift of ``i`` from ``a`` to ``b``
is priced in O(1): ``conf[i, b] - conf[i, a]``. A plan with ``F = 0`` has every
diameter below ``T``: it becomes the incumbent and ``T`` drops to its diameter.
``lambda`` oscillates (up while unbalanced, down while balanced). Donor
connectivity is checked with articulation points of the two territories touched
by the last move (Tarjan, recomputed only for them). When the search stalls it
restarts from the incumbent with a random kick.

The all-pairs distance matrix is computed once (``scipy.sparse.csgraph``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numba import njit

from territorial.design.contiguity import (
    DistanceOracle,
    Progress,
    SearchArrays,
    balance_plan,
    grow_plan,
    is_balanced,
    is_contiguous,
    moves_ok,
    plan_totals,
    repair_plan,
    search_arrays,
    violation,
)
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.design.solvers import Run, Solver, current_clock, register

log = logging.getLogger(__name__)

#: Cap of the balance weight in the tabu objective (conflicts + weight x % violation).
LAM_MAX = 50.0
#: Work units of one tabu iteration (about 20,000 iterations a second).
TABU_ITERATION_WORK = 5.0e-5


def plan_diameters(dist: FloatArray, assign: IntArray, k: int) -> FloatArray:
    """``(k,)`` diameter of every territory: the largest distance between two members."""
    out = np.zeros(k)
    for t in range(k):
        members = np.flatnonzero(assign == t)
        if members.size > 1:
            out[t] = dist[np.ix_(members, members)].max()
    return out


@njit(cache=True)
def _articulation(
    indptr, indices, assign, t, start, is_art, disc, low, parent, stack_u, stack_p, stamp
):  # pragma: no cover
    """Mark the articulation points of territory ``t`` (iterative Tarjan from ``start``)."""
    stamp[0] += 1
    base = stamp[0] * 1_000_000
    # disc[u] > base means visited in this call
    timer = 0
    sp = 0
    stack_u[0] = start
    stack_p[0] = indptr[start]
    disc[start] = base + timer
    low[start] = base + timer
    parent[start] = -1
    timer += 1
    is_art[start] = False
    root_children = 0
    while sp >= 0:
        u = stack_u[sp]
        p = stack_p[sp]
        if p < indptr[u + 1]:
            stack_p[sp] = p + 1
            v = indices[p]
            if assign[v] != t:
                continue
            if disc[v] < base:
                parent[v] = u
                disc[v] = base + timer
                low[v] = base + timer
                timer += 1
                is_art[v] = False
                sp += 1
                stack_u[sp] = v
                stack_p[sp] = indptr[v]
                if u == start:
                    root_children += 1
            elif v != parent[u] and disc[v] < low[u]:
                low[u] = disc[v]
        else:
            sp -= 1
            if sp >= 0:
                w = stack_u[sp]
                if low[u] < low[w]:
                    low[w] = low[u]
                if w != start and low[u] >= disc[w]:
                    is_art[w] = True
    is_art[start] = root_children > 1


@njit(cache=True)
def _conflicts(dist, assign, T, k):  # pragma: no cover
    n = assign.shape[0]
    conf = np.zeros((n, k), dtype=np.int32)
    for i in range(n):
        for j in range(n):
            if dist[i, j] >= T:
                conf[i, assign[j]] += 1
    return conf


@njit(cache=True)
def _shift(
    i,
    b,
    dist,
    T,
    assign,
    conf,
    S,
    bal,
    size,
    indptr,
    indices,
    contiguity,
    is_art,
    disc,
    low,
    parent,
    stack_u,
    stack_p,
    stamp,
):  # pragma: no cover
    """Move unit ``i`` to territory ``b``; keep conflicts, totals and articulation points.

    Returns the change in the number of conflicting pairs.
    """
    n = assign.shape[0]
    a = assign[i]
    dC = conf[i, b] - conf[i, a]
    for u in range(n):
        if u != i and dist[u, i] >= T:
            conf[u, a] -= 1
            conf[u, b] += 1
    for c in range(S.shape[1]):
        S[a, c] -= bal[i, c]
        S[b, c] += bal[i, c]
    assign[i] = b
    size[a] -= 1
    size[b] += 1
    if contiguity:
        # articulation points change only in the two territories touched
        for p in range(indptr[i], indptr[i + 1]):
            if assign[indices[p]] == a:
                _articulation(
                    indptr,
                    indices,
                    assign,
                    a,
                    indices[p],
                    is_art,
                    disc,
                    low,
                    parent,
                    stack_u,
                    stack_p,
                    stamp,
                )
                break
        _articulation(
            indptr, indices, assign, b, i, is_art, disc, low, parent, stack_u, stack_p, stamp
        )
    return dC


@njit(cache=True)
def _window_excess(x, lo, hi, scale):  # pragma: no cover
    if x > hi:
        return (x - hi) / scale * 100.0
    if x < lo:
        return (lo - x) / scale * 100.0
    return 0.0


@njit(cache=True)
def _tabu(
    dist,
    indptr,
    indices,
    assign,
    bal,
    lo,
    hi,
    scale,
    allowed,
    locked,
    current,
    max_moves,
    contiguity,
    T,
    max_iters,
    seed,
    lam0,
    lam_max,
):  # pragma: no cover
    """Tabu search for a balanced (contiguous) plan with no pair at distance >= ``T``.

    Returns ``(found, lam, iterations)``; when found, ``assign`` holds the plan.
    """
    np.random.seed(seed)
    n = assign.shape[0]
    k = allowed.shape[1]
    m = bal.shape[1]
    conf = _conflicts(dist, assign, T, k)
    S, size, moved = plan_totals(assign, bal, current, k)
    C = 0
    for i in range(n):
        C += conf[i, assign[i]]
    C //= 2
    V = 0.0
    for t in range(k):
        for c in range(m):
            x = S[t, c]
            if x > hi[t, c]:
                V += (x - hi[t, c]) / scale[c] * 100.0
            elif x < lo[t, c]:
                V += (lo[t, c] - x) / scale[c] * 100.0
    lam = lam0
    is_art = np.zeros(n, dtype=np.bool_)
    disc = np.zeros(n, dtype=np.int64)
    low = np.zeros(n, dtype=np.int64)
    parent = np.zeros(n, dtype=np.int64)
    stack_u = np.zeros(n + 1, dtype=np.int64)
    stack_p = np.zeros(n + 1, dtype=np.int64)
    stamp = np.zeros(1, dtype=np.int64)
    first = np.full(k, -1, dtype=np.int64)
    for i in range(n):
        first[assign[i]] = i
    if contiguity:
        for t in range(k):
            if first[t] >= 0:
                _articulation(
                    indptr,
                    indices,
                    assign,
                    t,
                    first[t],
                    is_art,
                    disc,
                    low,
                    parent,
                    stack_u,
                    stack_p,
                    stamp,
                )
    tabu = np.zeros((n, k), dtype=np.int64)
    best_F = C + lam * V
    infeasible_run = 0
    feasible_run = 0
    for it in range(max_iters):
        if C == 0 and V <= 1e-9:
            return True, lam, it
        F = C + lam * V
        best_d = np.inf
        bi = -1
        bb = -1
        ties = 0
        for i in range(n):
            if locked[i] >= 0:
                continue
            a = assign[i]
            if size[a] <= 1:
                continue
            if contiguity and is_art[i]:
                continue
            # cost of leaving a
            dva = 0.0
            for c in range(m):
                x = S[a, c]
                y = x - bal[i, c]
                before = (
                    (x - hi[a, c]) if x > hi[a, c] else ((lo[a, c] - x) if x < lo[a, c] else 0.0)
                )
                after = (
                    (y - hi[a, c]) if y > hi[a, c] else ((lo[a, c] - y) if y < lo[a, c] else 0.0)
                )
                dva += (after - before) / scale[c] * 100.0
            nb = indptr[i + 1] - indptr[i] if contiguity else k
            for q in range(nb):
                b = assign[indices[indptr[i] + q]] if contiguity else q
                if b == a or not allowed[i, b]:
                    continue
                if current[i] >= 0 and max_moves >= 0:
                    dm = (1 if b != current[i] else 0) - (1 if a != current[i] else 0)
                    if moved + dm > max_moves:
                        continue
                dvb = 0.0
                for c in range(m):
                    x = S[b, c]
                    y = x + bal[i, c]
                    before = (
                        (x - hi[b, c])
                        if x > hi[b, c]
                        else ((lo[b, c] - x) if x < lo[b, c] else 0.0)
                    )
                    after = (
                        (y - hi[b, c])
                        if y > hi[b, c]
                        else ((lo[b, c] - y) if y < lo[b, c] else 0.0)
                    )
                    dvb += (after - before) / scale[c] * 100.0
                d = (conf[i, b] - conf[i, a]) + lam * (dva + dvb)
                if tabu[i, b] > it and F + d >= best_F - 1e-9:
                    continue
                if d < best_d - 1e-9:
                    best_d = d
                    bi = i
                    bb = b
                    ties = 1
                elif d <= best_d + 1e-9:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bi = i
                        bb = b
        # swaps (i in a unbalanced territory <-> j in a neighbouring one) while off balance
        si = -1
        sj = -1
        if V > 1e-9 and contiguity:
            for i in range(n):
                a = assign[i]
                if locked[i] >= 0 or is_art[i]:
                    continue
                va = 0.0
                for c in range(m):
                    va += _window_excess(S[a, c], lo[a, c], hi[a, c], scale[c])
                if va <= 0.0:
                    continue
                for q in range(indptr[i], indptr[i + 1]):
                    b = assign[indices[q]]
                    if b == a or not allowed[i, b]:
                        continue
                    vb = 0.0
                    for c in range(m):
                        vb += _window_excess(S[b, c], lo[b, c], hi[b, c], scale[c])
                    for q1 in range(indptr[i], indptr[i + 1]):
                        hop = indices[q1]
                        if assign[hop] != b:
                            continue
                        for q2 in range(-1, indptr[hop + 1] - indptr[hop]):
                            # partners: the neighbour ``hop`` itself, then its neighbours
                            j = hop if q2 < 0 else indices[indptr[hop] + q2]
                            if assign[j] != b or locked[j] >= 0 or is_art[j] or not allowed[j, a]:
                                continue
                            # j must touch a without i, and i must touch b without j
                            ok_j = False
                            for r in range(indptr[j], indptr[j + 1]):
                                w = indices[r]
                                if w != i and assign[w] == a:
                                    ok_j = True
                                    break
                            if not ok_j:
                                continue
                            ok_i = False
                            for r in range(indptr[i], indptr[i + 1]):
                                w = indices[r]
                                if w != j and assign[w] == b:
                                    ok_i = True
                                    break
                            if not ok_i:
                                continue
                            dv = -va - vb
                            for c in range(m):
                                dv += _window_excess(
                                    S[a, c] - bal[i, c] + bal[j, c], lo[a, c], hi[a, c], scale[c]
                                )
                                dv += _window_excess(
                                    S[b, c] + bal[i, c] - bal[j, c], lo[b, c], hi[b, c], scale[c]
                                )
                            pair = 1 if dist[i, j] >= T else 0
                            d = (
                                conf[i, b] + conf[j, a] - 2 * pair - conf[i, a] - conf[j, b]
                            ) + lam * dv
                            if (tabu[i, b] > it or tabu[j, a] > it) and F + d >= best_F - 1e-9:
                                continue
                            if d < best_d - 1e-9:
                                best_d = d
                                si = i
                                sj = j
        if si >= 0:
            a = assign[si]
            b = assign[sj]
            C += _shift(
                si,
                b,
                dist,
                T,
                assign,
                conf,
                S,
                bal,
                size,
                indptr,
                indices,
                contiguity,
                is_art,
                disc,
                low,
                parent,
                stack_u,
                stack_p,
                stamp,
            )
            C += _shift(
                sj,
                a,
                dist,
                T,
                assign,
                conf,
                S,
                bal,
                size,
                indptr,
                indices,
                contiguity,
                is_art,
                disc,
                low,
                parent,
                stack_u,
                stack_p,
                stamp,
            )
            if current[si] >= 0:
                moved += (1 if b != current[si] else 0) - (1 if a != current[si] else 0)
            if current[sj] >= 0:
                moved += (1 if a != current[sj] else 0) - (1 if b != current[sj] else 0)
            tabu[si, a] = it + 5 + np.random.randint(10) + (size[a] // 10)
            tabu[sj, b] = it + 5 + np.random.randint(10) + (size[b] // 10)
        elif bi < 0:
            # everything tabu: forget the tabu list
            tabu[:, :] = 0
            continue
        else:
            i = bi
            a = assign[i]
            b = bb
            if current[i] >= 0:
                moved += (1 if b != current[i] else 0) - (1 if a != current[i] else 0)
            C += _shift(
                i,
                b,
                dist,
                T,
                assign,
                conf,
                S,
                bal,
                size,
                indptr,
                indices,
                contiguity,
                is_art,
                disc,
                low,
                parent,
                stack_u,
                stack_p,
                stamp,
            )
            tabu[i, a] = it + 5 + np.random.randint(10) + (size[a] // 10)
        V = 0.0
        for t in range(k):
            for c in range(m):
                V += _window_excess(S[t, c], lo[t, c], hi[t, c], scale[c])
        # strategic oscillation of the balance weight
        if V > 1e-9:
            infeasible_run += 1
            feasible_run = 0
            if infeasible_run >= 10:
                lam = min(lam * 1.1, lam_max)
                infeasible_run = 0
        else:
            feasible_run += 1
            infeasible_run = 0
            if feasible_run >= 10:
                lam = max(lam / 1.1, 0.05)
                feasible_run = 0
        F = C + lam * V
        if best_F > F:
            best_F = F
    return (C == 0 and V <= 1e-9), lam, max_iters


@njit(cache=True)
def _kick(
    indptr, indices, assign, locked, allowed, size, n_moves, seed, contiguity
):  # pragma: no cover
    """Random border shifts (keeping connectivity when asked), used to escape a stall."""
    np.random.seed(seed)
    n = assign.shape[0]
    mark = np.zeros(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    done = 0
    for _ in range(n_moves * 50):
        if done >= n_moves:
            break
        i = np.random.randint(n)
        if locked[i] >= 0:
            continue
        a = assign[i]
        if size[a] <= 1:
            continue
        deg = indptr[i + 1] - indptr[i]
        if deg == 0:
            continue
        b = assign[indices[indptr[i] + np.random.randint(deg)]]
        if b == a or not allowed[i, b]:
            continue
        if contiguity:
            # is i an articulation point of a? BFS from one neighbour
            first = -1
            need = 0
            for p in range(indptr[i], indptr[i + 1]):
                if assign[indices[p]] == a:
                    need += 1
                    if first < 0:
                        first = indices[p]
            if need == 0:
                continue
            for u in range(n):
                mark[u] = 0
            mark[i] = 1
            mark[first] = 1
            head = 0
            tail = 1
            queue[0] = first
            while head < tail:
                u = queue[head]
                head += 1
                for p in range(indptr[u], indptr[u + 1]):
                    v = indices[p]
                    if assign[v] == a and mark[v] == 0:
                        mark[v] = 1
                        queue[tail] = v
                        tail += 1
            if tail != size[a] - 1:
                continue
        assign[i] = b
        size[a] -= 1
        size[b] += 1
        done += 1


def _all_pairs(problem: DesignProblem, distances: FloatArray | None) -> FloatArray:
    """The full distance matrix, made exactly symmetric.

    Shortest-path lengths computed from either end can differ in the last bit;
    the conflict counts need ``d(i, j) == d(j, i)`` to count every pair twice.
    """
    if distances is not None:
        d = np.asarray(distances, dtype=np.float64)
    else:
        oracle = DistanceOracle(problem)
        assert oracle.full is not None, "diameter search needs the full distance matrix"
        d = oracle.full
    return np.ascontiguousarray(np.minimum(d, d.T))


def solve_diameter(
    problem: DesignProblem,
    *,
    time_limit: float,
    seed: int,
    initial: IntArray | None = None,
    progress: Progress | None = None,
    distances: FloatArray | None = None,
    max_rounds: int | None = None,
) -> SolverOutcome:
    """Balanced (contiguous) plan minimising the largest territory diameter.

    ``distances`` may give the ``(n, n)`` distance matrix; otherwise it is computed
    (all-pairs shortest paths for graph distances). The objective is in the
    problem's distance unit. ``move_penalty`` is not used by this objective;
    ``max_moves`` is respected. ``stats["feasible"]`` tells whether balance and
    contiguity hold. ``max_rounds`` caps the tabu rounds (for reproducible runs:
    the same seed gives the same plan when the rounds, not the clock, stop it).
    """
    clock = current_clock()
    start = clock.now()
    deadline = start + time_limit
    rng = np.random.default_rng(seed)
    arrays: SearchArrays = search_arrays(problem)
    dist = _all_pairs(problem, distances)
    oracle = DistanceOracle(problem, full=dist)
    k = arrays.k

    if initial is not None:
        assign = repair_plan(arrays, oracle, np.asarray(initial))
    elif problem.current is not None and (problem.current >= 0).all():
        assign = repair_plan(arrays, oracle, problem.current)
    else:
        seeds = _spread_centers(dist, k, rng)
        assign = grow_plan(arrays, oracle, seeds)
        # tiny distance-to-seed costs keep the balancing shifts compact
        scale = float(dist[np.isfinite(dist)].max()) * arrays.n
        balance_plan(arrays, assign, np.ascontiguousarray(dist[:, seeds] / scale), rng)

    def feasible(a: IntArray) -> bool:
        return (
            is_balanced(arrays, a)
            and (not arrays.contiguity or is_contiguous(arrays, a))
            and moves_ok(arrays, a)
        )

    best: IntArray | None = assign.copy() if feasible(assign) else None
    best_obj = float(plan_diameters(dist, assign, k).max()) if best is not None else np.inf
    T = float(plan_diameters(dist, assign, k).max())
    if best is None:
        T *= 1.0  # aim at the start plan's diameter, with balance to be repaired
    lam = 1.0
    work = assign.copy()
    iters = 2000
    rate = 20000.0  # tabu iterations per second, re-measured every round
    stalls = 0
    rounds = 0
    improvements = 0
    while clock.now() < deadline:
        if max_rounds is not None and rounds >= max_rounds:
            break
        rounds += 1
        # never run far past the deadline: cap the round by the measured iteration rate
        left = deadline - clock.now()
        run = int(min(iters, max(50, left * rate)))
        t_round = clock.now()
        found, lam, done = _tabu(
            dist,
            arrays.indptr,
            arrays.indices,
            work,
            arrays.bal,
            arrays.lo,
            arrays.hi,
            arrays.scale,
            arrays.allowed,
            arrays.locked,
            arrays.current,
            arrays.max_moves,
            arrays.contiguity,
            T,
            run,
            int(rng.integers(2**31 - 1)),
            lam,
            LAM_MAX,
        )
        clock.charge(done * TABU_ITERATION_WORK)
        spent = clock.now() - t_round
        if spent > 0.02 and done > 0:
            rate = 0.5 * rate + 0.5 * done / spent
        obj = float(plan_diameters(dist, work, k).max()) if found else np.inf
        if found and obj < T and feasible(work):
            if obj < best_obj:
                best_obj = obj
                best = work.copy()
                improvements += 1
                if progress:
                    frac = min(1.0, (current_clock().now() - start) / max(time_limit, 1e-9))
                    progress(frac, f"max diameter {best_obj:.6g}")
            T = obj
            stalls = 0
            iters = 2000
            continue
        stalls += 1
        if violation(arrays, work) > 1e-12:
            # the tabu walk is stuck off balance: repair balance with shifts and swaps,
            # preferring moves that create few conflicts at the current target
            onehot = np.zeros((arrays.n, k))
            onehot[np.arange(arrays.n), work] = 1.0
            conflicts = (dist >= T).astype(np.float64) @ onehot
            balance_plan(arrays, work, np.ascontiguousarray(conflicts * 1e-4), rng)
        if best is None and stalls % 5 == 0:
            # no balanced plan yet at this target: aim a little higher
            T *= 1.02
        if stalls % 3 == 0 and best is not None:
            # restart from the incumbent with a random kick
            work = best.copy()
            size = np.bincount(work, minlength=k).astype(np.int64)
            _kick(
                arrays.indptr,
                arrays.indices,
                work,
                arrays.locked,
                arrays.allowed,
                size,
                int(rng.integers(1, 4 + arrays.n // 20)),
                int(rng.integers(2**31 - 1)),
                arrays.contiguity,
            )
        iters = min(iters * 2, 20000)

    if best is None:
        log.warning("diameter search found no balanced plan in %.1f s", time_limit)
        best = work
    diam = plan_diameters(dist, best, k)
    return SolverOutcome(
        assignment=best.astype(np.int64),
        objective=float(diam.max()),
        method="diameter-threshold-tabu",
        stats={
            "feasible": feasible(best),
            "rounds": rounds,
            "improvements": improvements,
            "diameters": diam.tolist(),
            "seconds": current_clock().now() - start,
        },
    )


def _spread_centers(dist: FloatArray, k: int, rng: np.random.Generator) -> IntArray:
    """Greedy k-center seeds (farthest point first) from a random start."""
    n = dist.shape[0]
    seeds = [int(rng.integers(n))]
    dmin = dist[seeds[0]].copy()
    for _ in range(1, k):
        nxt = int(np.argmax(dmin))
        seeds.append(nxt)
        dmin = np.minimum(dmin, dist[nxt])
    return np.array(seeds, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class DiameterOptions:
    """Tuning of the threshold tabu search."""

    #: Stop after this many tabu rounds (``None``: the budget decides).
    max_rounds: int | None = None


@register
class DiameterSolver(Solver[DiameterOptions]):
    """Min-max diameter: threshold tabu search over border shifts."""

    name = "diameter"
    summary = (
        "min-max diameter (DTDP): threshold tabu search over border shifts with an "
        "oscillating balance weight and restarts from the incumbent"
    )
    options_type = DiameterOptions
    auto_priority = 0
    heuristic = True

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        if problem.objective != "diameter":
            return f"it minimises the largest diameter, not {problem.objective}"
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        return "the objective is the largest territory diameter"

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        return solve_diameter(
            problem, time_limit=max(run.left(), 0.01), seed=run.seed, progress=run.progress,
            max_rounds=self.options.max_rounds,
        )  # fmt: skip


__all__ = ["DiameterOptions", "DiameterSolver", "plan_diameters", "solve_diameter"]
