"""Exact model of the free-centre problem after Lagrangian reduced-cost fixing (HiGHS).

Given a plan of cost ``UB`` and multipliers ``u`` with Lagrangian value ``L``
(:mod:`territorial.design.pmedian_bound`), a pair "unit ``i`` in the territory centred
at ``j``" whose forced value ``L + open_increase[j] + pair_increase[i, j]`` exceeds
``UB`` belongs to no plan cheaper than ``UB``. Unlisted pairs cost at least
``rest_i - u_i`` more, so a unit with ``L + rest_i - u_i > UB`` keeps only listed pairs;
for the others every centre within reach is added from the coordinates. The model on
the surviving pairs (data -> variables -> constraints -> objective)::

    y_j                       unit j is a centre                (binary)
    x_ij                      unit i in j's territory, i != j   (binary)
    y_i + sum_j x_ij = 1      every unit once (as a centre or a member)
    sum_j y_j = p
    lower_r y_j <= a_jr y_j + sum_i a_ir x_ij <= upper_r y_j
    x_ij <= y_j
    min sum_ij c_ij x_ij

Every plan cheaper than ``UB`` lives in this model, so its optimum (or, when stopped
early, its dual bound ``B``) gives the global statement ``optimum >= min(UB, B)``.

When too many pairs survive for the whole model, the plan is improved group by group:
a territory and its nearest ``group_size - 1`` neighbours are re-solved exactly with
the same model restricted to their units, everything else fixed, warm-started from the
current plan (a large-neighbourhood search whose neighbourhoods are solved by MIP).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from territorial.design import pmedian_bound as pb
from territorial.design.solvers import current_clock

if TYPE_CHECKING:
    from territorial.design.free_centres import FreeCentreOptions, Instance, Plan, Primal

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class ExactOutcome:
    plan: Plan
    bound: float
    proven: bool
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Pairs:
    """Surviving pairs: member ``unit[e]`` in the territory centred at ``centre[e]``."""

    unit: IntArray
    centre: IntArray
    cost: FloatArray
    open_ok: npt.NDArray[np.bool_]  # (n,) unit may be a centre


def surviving_pairs(
    inst: Instance, lists: pb.CandidateLists, state: pb.DualState, ub: float, *, limit: int
) -> Pairs | None:
    """Pairs that may appear in a plan cheaper than ``ub`` (``None`` when over ``limit``)."""
    n = inst.n
    kn_rows = np.flatnonzero(np.isfinite(inst.upper))
    open_inc, pair_inc = pb.forced_pair_increase(state, lists, inst.loads[:, kn_rows], inst.p)
    slack = ub * (1 + 1e-9) + 1e-9 - state.value
    open_ok = open_inc <= slack
    owner = np.repeat(np.arange(n), np.diff(lists.ptr))
    keep = (open_inc[owner] + pair_inc <= slack) & (lists.who != owner)
    unit = lists.who[keep]
    centre = owner[keep]
    cost = lists.cost[keep]
    # units whose unlisted pairs are not all ruled out: add every centre within reach
    reach = slack + state.u - np.where(np.isfinite(lists.rest), lists.rest, np.inf)
    open_units = np.flatnonzero(reach >= 0)
    if open_units.size:
        extra_u: list[IntArray] = []
        extra_c: list[IntArray] = []
        tree = cKDTree(inst.points)
        listed = set(zip(unit.tolist(), centre.tolist(), strict=True))
        for i in open_units:
            # c_ij - u_i <= slack  <=>  d(i, j) <= ((slack + u_i) / w_i)^(1/power)
            wi = max(float(inst.weights[i]), 1e-300)
            length = ((slack + state.u[i]) / wi) ** (1.0 / inst.power)
            radius = _length_to_embedded(length, inst.radius)
            js = np.asarray(tree.query_ball_point(inst.points[i], radius), dtype=np.int64)
            js = js[(js != i) & open_ok[js]]
            new = [j for j in js.tolist() if (int(i), j) not in listed]
            if len(unit) + sum(len(x) for x in extra_u) + len(new) > limit:
                return None
            if new:
                extra_u.append(np.full(len(new), i, dtype=np.int64))
                extra_c.append(np.asarray(new, dtype=np.int64))
        if extra_u:
            eu = np.concatenate(extra_u)
            ec = np.concatenate(extra_c)
            length = _lengths(inst, eu, ec)
            unit = np.concatenate([unit, eu])
            centre = np.concatenate([centre, ec])
            cost = np.concatenate([cost, inst.weights[eu] * length**inst.power])
    if len(unit) > limit:
        return None
    keep2 = open_ok[centre]
    return Pairs(unit[keep2], centre[keep2], cost[keep2], open_ok)


def _length_to_embedded(length: float, radius: float) -> float:
    if radius > 0:
        return float(2.0 * np.sin(min(length / (2.0 * radius), np.pi / 2)))
    return float(length)


def _lengths(inst: Instance, a: IntArray, b: IntArray) -> FloatArray:
    chord = np.sqrt(((inst.points[a] - inst.points[b]) ** 2).sum(axis=1))
    return pb.embedded_to_length(chord, inst.radius)


@dataclass
class MipAnswer:
    assign: IntArray | None  # (len(units),) centre unit of each unit, or None
    value: float
    bound: float
    optimal: bool


def solve_mip(
    inst: Instance,
    units: IntArray,
    pairs: Pairs,
    p: int,
    *,
    time_limit: float,
    start: IntArray | None = None,
    gap: float = 1e-6,
) -> MipAnswer:
    """The model above on ``units`` (global indices) with ``p`` centres among them.

    ``pairs`` must only join units of ``units``. ``start[q]`` (optional) is the centre
    unit of ``units[q]`` in a known plan (a centre is its own centre).
    """
    import highspy

    nu = len(units)
    pos = np.full(inst.n, -1, dtype=np.int64)
    pos[units] = np.arange(nu)
    centres = np.flatnonzero(pairs.open_ok[units])  # local indices of possible centres
    ny = len(centres)
    ycol = np.full(nu, -1, dtype=np.int64)
    ycol[centres] = np.arange(ny)
    pu = pos[pairs.unit]
    pc = pos[pairs.centre]
    ok = (pu >= 0) & (pc >= 0) & (ycol[np.maximum(pc, 0)] >= 0)
    pu, pc, pcost = pu[ok], pc[ok], pairs.cost[ok]
    nx = len(pu)
    rows_limit = np.flatnonzero(np.isfinite(inst.upper) | np.isfinite(inst.lower))
    m = len(rows_limit)
    loads = inst.loads[units][:, rows_limit]
    lo = inst.lower[rows_limit]
    up = inst.upper[rows_limit]
    # rows: [0, nu) assignment; nu: count; then per centre and limit row 2 rows
    # (upper, lower); then nx linking rows
    r_count = nu
    r_lim = nu + 1
    r_link = r_lim + 2 * ny * m
    n_rows = r_link + nx
    cols_i: list[npt.NDArray[np.int64]] = []
    rows_i: list[npt.NDArray[np.int64]] = []
    vals: list[FloatArray] = []
    # y columns (0..ny): assignment of the centre unit itself, count, limits, links
    ycols = np.arange(ny)
    cols_i += [ycols, ycols]
    rows_i += [centres, np.full(ny, r_count)]
    vals += [np.ones(ny), np.ones(ny)]
    for k in range(m):
        base = r_lim + 2 * (ycols * m + k)
        a_self = loads[centres, k]
        up_k = up[k] if np.isfinite(up[k]) else 0.0
        lo_k = lo[k] if np.isfinite(lo[k]) else 0.0
        cols_i += [ycols, ycols]
        rows_i += [base, base + 1]
        vals += [a_self - up_k, a_self - lo_k]
    # x columns (ny..ny+nx)
    xcols = ny + np.arange(nx)
    cols_i += [xcols]
    rows_i += [pu]
    vals += [np.ones(nx)]
    yc = ycol[pc]
    for k in range(m):
        base = r_lim + 2 * (yc * m + k)
        cols_i += [xcols, xcols]
        rows_i += [base, base + 1]
        vals += [loads[pu, k], loads[pu, k]]
    link_rows = r_link + np.arange(nx)
    cols_i += [xcols, yc]
    rows_i += [link_rows, link_rows]
    vals += [np.ones(nx), -np.ones(nx)]
    col = np.concatenate(cols_i)
    row = np.concatenate(rows_i)
    val = np.concatenate(vals)
    order = np.lexsort((row, col))
    col, row, val = col[order], row[order], val[order]
    n_cols = ny + nx
    start_ptr = np.zeros(n_cols + 1, dtype=np.int32)
    np.cumsum(np.bincount(col, minlength=n_cols), out=start_ptr[1:])

    inf = highspy.kHighsInf
    row_lo = np.empty(n_rows)
    row_up = np.empty(n_rows)
    row_lo[:nu] = 1.0
    row_up[:nu] = 1.0
    row_lo[r_count] = row_up[r_count] = float(p)
    for k in range(m):
        idx = r_lim + 2 * (np.arange(ny) * m + k)
        row_lo[idx] = -inf
        row_up[idx] = 0.0 if np.isfinite(up[k]) else inf
        row_lo[idx + 1] = 0.0 if np.isfinite(lo[k]) else -inf
        row_up[idx + 1] = inf
    row_lo[r_link:] = -inf
    row_up[r_link:] = 0.0

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate([np.zeros(ny), pcost])
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = np.ones(n_cols)
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_up
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start_ptr
    lp.a_matrix_.index_ = row.astype(np.int32)
    lp.a_matrix_.value_ = val.astype(np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    clock = current_clock()
    clock.limit_highs(h, max(float(time_limit), 0.05), mip=True)
    if start is not None:
        sc = pos[start]
        x0 = np.zeros(n_cols)
        is_c = sc == np.arange(nu)
        good = ycol[sc] >= 0
        if good.all():
            x0[ycol[np.flatnonzero(is_c)]] = 1.0
            key = {(int(a), int(b)): q for q, (a, b) in enumerate(zip(pu, pc, strict=True))}
            complete = True
            for q in np.flatnonzero(~is_c):
                e = key.get((int(q), int(sc[q])))
                if e is None:
                    complete = False
                    break
                x0[ny + e] = 1.0
            if complete:
                sol = highspy.HighsSolution()
                sol.col_value = x0.tolist()
                sol.value_valid = True
                h.setSolution(sol)
    h.run()
    clock.charge_highs(h)
    status = h.getModelStatus()
    info = h.getInfo()
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else -np.inf
    if info.primal_solution_status != 2:  # no feasible point
        optimal = status == highspy.HighsModelStatus.kInfeasible
        return MipAnswer(None, np.inf, np.inf if optimal else bound, optimal)
    xv = np.asarray(h.getSolution().col_value)
    assign = np.full(nu, -1, dtype=np.int64)
    assign[centres[xv[:ny] > 0.5]] = units[centres[xv[:ny] > 0.5]]
    chosen = np.flatnonzero(xv[ny:] > 0.5)
    assign[pu[chosen]] = units[pc[chosen]]
    optimal = status == highspy.HighsModelStatus.kOptimal
    return MipAnswer(assign, float(info.objective_function_value), bound, optimal)


def _plan_from_centres_of(inst: Instance, centre_of: IntArray) -> Plan:
    from territorial.design.free_centres import Plan, plan_cost

    centres = np.unique(centre_of)
    tpos = np.full(inst.n, -1, dtype=np.int64)
    tpos[centres] = np.arange(len(centres))
    assign = tpos[centre_of]
    load = np.zeros((len(centres), inst.loads.shape[1]))
    np.add.at(load, assign, inst.loads)
    cost = plan_cost(inst, assign, centres)
    over = np.maximum(load - inst.upper, 0) + np.maximum(inst.lower - load, 0)
    return Plan(assign, centres, load, cost, float((over / inst.scale).sum()))


def improve(
    inst: Instance,
    lists: pb.CandidateLists,
    state: pb.DualState,
    plan: Plan,
    primal: Primal,
    *,
    options: FreeCentreOptions,
    deadline: float,
) -> ExactOutcome:
    """Prove or improve ``plan``: the whole exact model when small, else group MIPs."""
    t0 = current_clock().now()
    stats: dict[str, Any] = {}
    pairs = surviving_pairs(inst, lists, state, plan.cost, limit=options.exact_pairs)
    if pairs is not None:
        stats["exact_pairs"] = len(pairs.unit)
        units = np.arange(inst.n)
        start = plan.centres[plan.assign]
        ans = solve_mip(
            inst, units, pairs, inst.p, time_limit=deadline - current_clock().now(), start=start
        )
        stats["exact_seconds"] = current_clock().now() - t0
        stats["exact_status"] = "optimal" if ans.optimal else "stopped"
        best = plan
        if ans.assign is not None and ans.value < plan.cost - 1e-9 * max(1.0, plan.cost):
            cand = _plan_from_centres_of(inst, ans.assign)
            best = primal.improve(cand.assign, cand.centres)
            if not best.better_than(cand):
                best = cand
        bound = min(plan.cost, ans.bound) if np.isfinite(ans.bound) else state.value
        if ans.optimal:
            bound = min(plan.cost, ans.value) if ans.assign is not None else plan.cost
        return ExactOutcome(best, max(bound, state.value), ans.optimal, stats)
    return _improve_by_groups(inst, lists, state, plan, primal, options, deadline, stats)


def _improve_by_groups(
    inst: Instance,
    lists: pb.CandidateLists,
    state: pb.DualState,
    plan: Plan,
    primal: Primal,
    options: FreeCentreOptions,
    deadline: float,
    stats: dict[str, Any],
) -> ExactOutcome:
    rng = np.random.default_rng(options.seed)
    t0 = current_clock().now()
    best = cur = plan
    # groups of 2 .. largest territories; the largest grows by one whenever 3p groups in
    # a row bring nothing (the plan is a local optimum for groups of that size) and falls
    # back after an improvement; past ``group_grow`` sizes the plan is kicked (a few
    # neighbouring territories get random centres among their units, the plan is rebuilt
    # around them) and the search goes on from there: an iterated local search that
    # keeps the best plan seen and stops after ``group_kicks`` kicks in a row that did
    # not lead to a better plan; before each kick the centre swap search runs again
    base = int(min(options.group_size + 2, inst.p))
    largest = base
    largest_seen = base
    solved = improved = stopped = kicks = fruitless = 0
    tried: set[bytes] = set()
    stall = 0
    while current_clock().now() < deadline - 0.05:
        if stall >= 3 * inst.p:
            stall = 0
            tried.clear()
            if largest < min(base + options.group_grow, inst.p):
                largest += 1
                largest_seen = max(largest_seen, largest)
                continue
            if inst.p < 3 or fruitless >= options.group_kicks:
                break
            fruitless += 1
            largest = base
            # centre swaps across the map first; a random kick when they find nothing
            swapped = primal.swap_improve(cur, deadline=deadline)
            if swapped.better_than(cur):
                cur = swapped
                if cur.better_than(best):
                    best = cur
                    fruitless = 0
                continue
            kicked = _kick(inst, cur, primal, rng)
            kicks += 1
            largest = base
            if kicked is not None:
                cur = kicked
                if cur.better_than(best):
                    best = cur
                    fruitless = 0
            continue
        ctree = cKDTree(inst.points[cur.centres])
        t = int(rng.integers(inst.p))
        size = int(rng.integers(2, largest + 1)) if inst.p > 2 else inst.p
        size = min(size, inst.p)
        _, near = ctree.query(inst.points[cur.centres[t]], k=min(inst.p, 2 * size))
        near = np.atleast_1d(np.asarray(near, dtype=np.int64))
        if rng.random() < options.group_compact:
            others = near[1:size]  # the nearest territories: a compact group
        else:
            others = rng.choice(near[1:], size=size - 1, replace=False) if size > 1 else near[:0]
        group = np.sort(np.concatenate([[t], others]).astype(np.int64))
        key = group.tobytes() + cur.centres[group].tobytes()
        if key in tried:
            stall += 1
            continue
        tried.add(key)
        units = np.flatnonzero(np.isin(cur.assign, group))
        # every pair inside the group (small: a few territories)
        start = cur.centres[cur.assign[units]]
        sub = _group_pairs(inst, units, start=start, nearest=options.group_nearest)
        left = deadline - current_clock().now()
        ans = solve_mip(
            inst, units, sub, len(group), time_limit=min(left, options.group_time), start=start
        )
        solved += 1
        stopped += not ans.optimal
        if ans.assign is None:
            stall += 1
            continue
        old = float((inst.weights[units] * _lengths(inst, units, start) ** inst.power).sum())
        if ans.value < old - 1e-9 * max(1.0, old):
            centre_of = cur.centres[cur.assign].copy()
            centre_of[units] = ans.assign
            cand = _plan_from_centres_of(inst, centre_of)
            if cand.better_than(cur):
                cur = cand
                if cur.better_than(best):
                    best = cur
                    improved += 1
                    fruitless = 0
                stall = 0
                largest = base
                tried.clear()
                continue
        stall += 1
    stats.update(
        group_mips=solved,
        group_improvements=improved,
        group_stopped=stopped,
        group_kicks=kicks,
        group_largest=largest_seen,
        group_seconds=current_clock().now() - t0,
    )
    if improved:
        polished = primal.improve(best.assign, best.centres)
        if polished.better_than(best):
            best = polished
    return ExactOutcome(best, state.value, False, stats)


def _kick(inst: Instance, plan: Plan, primal: Primal, rng: np.random.Generator) -> Plan | None:
    """``plan`` with a territory and its 3 nearest territories re-centred at random units
    of theirs, rebuilt around the new centres (``None`` when that is infeasible)."""
    size = int(min(4, inst.p))
    t = int(rng.integers(inst.p))
    _, near = cKDTree(inst.points[plan.centres]).query(inst.points[plan.centres[t]], k=size)
    group = np.atleast_1d(np.asarray(near, dtype=np.int64))
    members = np.flatnonzero(np.isin(plan.assign, group))
    centres = plan.centres.copy()
    centres[group] = rng.choice(members, size=len(group), replace=False)
    kicked = primal.from_centres(centres)
    return kicked if kicked.feasible else None


def _group_pairs(
    inst: Instance,
    units: IntArray,
    *,
    start: IntArray | None,
    nearest: int,
) -> Pairs:
    """Pairs among ``units`` (a few territories), as :class:`Pairs`.

    Every pair when the group is small; otherwise each unit's ``nearest`` units of the
    group as possible centres (plus its centre in ``start``, so the known plan stays a
    solution): the MIP stays small (units x ``nearest`` columns) and far centres are
    never a unit's best anyway.
    """
    m = len(units)
    if m * (m - 1) <= m * nearest or m <= nearest + 1:
        a = np.repeat(units, m)
        b = np.tile(units, m)
    else:
        _, near = cKDTree(inst.points[units]).query(inst.points[units], k=nearest + 1)
        near = np.asarray(near, dtype=np.int64).reshape(m, nearest + 1)
        a = np.repeat(units, nearest + 1)
        b = units[near.ravel()]
        if start is not None:
            a = np.concatenate([a, units])
            b = np.concatenate([b, np.asarray(start, dtype=np.int64)])
        key = np.unique(a * inst.n + b)
        a, b = key // inst.n, key % inst.n
    keep = a != b
    a, b = a[keep], b[keep]
    length = _lengths(inst, a, b)
    open_ok = np.ones(inst.n, dtype=bool)
    return Pairs(a, b, inst.weights[a] * length**inst.power, open_ok)


__all__ = ["ExactOutcome", "Pairs", "improve", "solve_mip", "surviving_pairs"]
