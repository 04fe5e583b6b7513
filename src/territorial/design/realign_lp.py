"""Realignment with the fewest moves: an LP over nearby territories, rounded by a MIP.

After a shift in the measures, "restore balance moving at most N accounts" is an
assignment problem whose cost is the number of moved units::

    min sum_ij m_ij x_ij   s.t.  sum_j x_ij = 1,   lo_m <= sum_i a_im x_ij <= up_m,   x >= 0,

``m_ij = 0`` for the unit's current territory and ``1 + eps d_ij`` otherwise (the small
distance term breaks ties towards near territories). Columns: the current territory and
the unit's nearest centers (the heuristic's candidate rows, which include the reverse
candidates that let remote territories fill up). The LP (HiGHS) is solved on a band
a little inside the true one (:func:`territorial.design.lp_assign.plan_narrowing`), so
rounding each unit to its largest share fits the true band; the rounding MIP of
:mod:`.lp_assign` then re-opens the fractional units and a few per territory with the
true band as hard rows. Finally the local search of :mod:`.balanced` improves
compactness without spending more moves than the budget allows.

The LP optimum over these columns is the fewest moves any plan restricted to nearby
territories needs (fractionally), ``stats["lp_moves_nearby"]``. When that is more than
the budget (a shift concentrated in a few regions makes load travel through chains of
territories, a move at every link), the LP is widened to every territory by column
generation (:func:`_fewest_moves_lp`): balance and the budget are hard limits and compactness is
the objective, so a unit may go straight to a remote territory that needs the load, and
the local search then spends whatever budget is left on making the plan compact again.
``remote_moves`` (on the outcome) counts the moved units whose new territory is not among their
nearest :data:`CANDIDATES`.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from territorial.design import balanced, lp_assign, metrics
from territorial.design import distances as dist
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.design.solvers import Run, Solver, current_clock, register

log = logging.getLogger(__name__)

#: Weight of the distance tie-break in a move's cost (in moves per median candidate cost).
DISTANCE_WEIGHT = 1e-3
#: Nearest territories offered to each unit (besides its current one and reverse ones).
CANDIDATES = 12
#: Under a move budget, at least this many of each territory's heaviest units may move.
MOVABLE_PER_TERRITORY = 30
#: Pricing rounds over every territory when the nearby LP needs more moves than allowed.
WIDE_ROUNDS = 8
#: Remote territories with room offered to each unit of an over-loaded territory.
DIRECT = 8
#: ... and units of over-loaded territories offered to each territory with room.
DIRECT_IN = 200


def applicable(problem: DesignProblem) -> bool:
    """A current plan and a move budget or penalty; inertia/median without contiguity."""
    return (
        problem.current is not None
        and bool((problem.current >= 0).all())
        and (problem.max_moves is not None or problem.move_penalty > 0)
        and problem.objective in ("inertia", "median")
        and not problem.contiguity
        and problem.distance != "graph"
        and problem.segments is None
        and len(problem.balance) > 0
        and problem.n_territories > 1
    )


@dataclasses.dataclass
class _MoveCandidates(balanced._Candidates):
    """Candidate rows whose cost is a move: 0 to stay, ``1 + eps w d / typical`` to go.

    The tie-break uses the plain (weighted) distance ``d`` whatever the objective: with
    squared distances a move across the country would cost as much as several near ones
    and the tie-break would decide the number of moves.
    """

    current: IntArray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    typical: float = 1.0

    def exact_cost(self, units: IntArray, terr: IntArray) -> FloatArray:
        d = super().exact_cost(units, terr)  # power 1: see the class
        moved = terr != self.current[units]
        return np.where(moved, 1.0 + DISTANCE_WEIGHT * d / self.typical, 0.0)


def _move_candidates(inst: balanced._Instance, centers: IntArray | None) -> _MoveCandidates:
    p = inst.problem
    assert p.current is not None
    c = balanced._candidates(inst, centers, CANDIDATES, p.current)
    fields = {f.name: getattr(c, f.name) for f in dataclasses.fields(balanced._Candidates)}
    fields["power"] = 1
    out = _MoveCandidates(**fields, current=p.current)
    rows, cols = np.nonzero((c.cand >= 0) & np.isfinite(c.cost))
    d = np.full(c.cost.shape, np.inf)
    d[rows, cols] = balanced._Candidates.exact_cost(out, rows, c.cand[rows, cols])
    first = d[:, 0][np.isfinite(d[:, 0]) & (d[:, 0] > 0)]
    out.typical = float(np.median(first)) if first.size else 1.0
    moved = c.cand != p.current[:, None]
    out.cost = np.where(
        moved, 1.0 + DISTANCE_WEIGHT * d / out.typical, np.where(d < np.inf, 0.0, d)
    )
    return out


def _lp(
    inst: balanced._Instance,
    mc: _MoveCandidates,
    time_limit: float,
    columns: tuple[IntArray, IntArray],
) -> tuple[lp_assign._LPSolution, IntArray, IntArray] | None:
    """The fewest-moves LP over ``columns`` (HiGHS through linprog), on the narrowed band."""
    p = inst.problem
    n, k = p.n_units, p.n_territories
    mb = inst.a.shape[1]
    row, terr = columns
    lo, up = lp_assign.narrowed_band(inst, lp_assign.plan_narrowing(inst))
    a_eq, a_bal = lp_assign.assignment_matrices(n, row, terr, inst.a[row], k)
    res = linprog(
        mc.exact_cost(row, terr),
        A_ub=sp.vstack([a_bal, -a_bal], format="csr"),
        b_ub=np.concatenate([np.tile(up, k), -np.tile(lo, k)]),
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, None),
        method="highs",
        options=current_clock().scipy_limits(max(time_limit, 0.1), n + 2 * k * mb + len(row)),
    )
    current_clock().charge_scipy(res, n + 2 * k * mb + len(row))
    if res.status != 0 or res.x is None:
        log.info("fewest-moves LP not solved: %s", res.message)
        return None
    marg = np.asarray(res.ineqlin.marginals)
    lam = -marg[: k * mb].reshape(k, mb) + marg[k * mb :].reshape(k, mb)
    sol = lp_assign._LPSolution(
        x=np.asarray(res.x),
        lam=lam,
        u=np.asarray(res.eqlin.marginals),
        value=float(res.fun),
        slack=0.0,
    )
    return sol, row, terr


def _loads(inst: balanced._Instance) -> FloatArray:
    p = inst.problem
    assert p.current is not None
    loads = np.zeros((p.n_territories, inst.a.shape[1]))
    np.add.at(loads, p.current, inst.a)
    return loads


def _rank_in_territory(key: FloatArray, territory: IntArray, k: int) -> IntArray:
    """Each unit's rank in its territory by ``key``, smallest first."""
    order = np.lexsort((key, territory))
    start = np.searchsorted(territory[order], np.arange(k + 1))
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - start[territory[order]]
    return rank


def _movable(inst: balanced._Instance) -> np.ndarray:
    """Units a budgeted LP may move: each territory's heaviest (and, with several
    measures, lightest in each measure).

    Fewest moves means moving big units (each carries more load), so with a budget of
    ``B`` moves over ``k`` territories a territory passing load on rarely needs more than
    its ``max(MOVABLE_PER_TERRITORY, 3 B / k)`` heaviest, and one over its band rarely more
    than its heavier half; the rest stay, which keeps the LP small. With several measures
    a territory that sheds heavy units may need light ones back (a count in band, the
    workload not), so the lightest in each measure may move too.
    """
    p = inst.problem
    assert p.current is not None and p.max_moves is not None
    k = p.n_territories
    per = max(MOVABLE_PER_TERRITORY, int(np.ceil(3 * p.max_moves / k)))
    load = inst.a.sum(axis=1)
    rank = _rank_in_territory(-load, p.current, k)
    size = np.bincount(p.current, minlength=k)
    over = np.asarray((_loads(inst) > inst.up).any(axis=1), dtype=bool)
    pick = (rank < per) | (over[p.current] & (rank < (size[p.current] + 1) // 2))
    if inst.a.shape[1] > 1:
        for m in range(inst.a.shape[1]):
            if np.ptp(inst.a[:, m]) > 0:  # (a count is the same for every unit: no order)
                pick |= _rank_in_territory(-inst.a[:, m], p.current, k) < per
                pick |= _rank_in_territory(inst.a[:, m], p.current, k) < per
    return inst.movable & pick


def _direct_columns(
    inst: balanced._Instance, mc: _MoveCandidates, movable: np.ndarray
) -> tuple[IntArray, IntArray]:
    """Columns straight between over-loaded territories and the nearest ones with room.

    Each movable unit of a territory over its band gets its :data:`DIRECT` nearest
    territories whose load is below the mean on every measure, however far, and each of
    those territories its :data:`DIRECT_IN` nearest such units: one move instead of a
    chain of moves through the territories in between. With several measures the same
    columns are offered the other way (units of territories with room to the over-loaded
    ones), so a territory that sheds heavy units can take light ones back.
    """
    p = inst.problem
    assert p.current is not None
    loads = _loads(inst)
    over = np.flatnonzero((loads > inst.up).any(axis=1))
    room = np.flatnonzero((loads < 1.0).all(axis=1))
    pairs = [(over, room)] + ([(room, over)] if inst.a.shape[1] > 1 else [])
    rows, terrs = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    is_source = np.zeros(p.n_territories, dtype=bool)
    for source, target in pairs:
        is_source[:] = False
        is_source[source] = True
        units = np.flatnonzero(movable & is_source[p.current])
        if units.size == 0 or target.size == 0:
            continue
        chord = ((mc.unit_pts[units, None, :] - mc.center_pts[None, target, :]) ** 2).sum(2)
        # each unit its nearest targets, each target its nearest units (a territory far
        # from every source is nobody's nearest)
        pick = np.zeros(chord.shape, dtype=bool)
        q = min(DIRECT, target.size)
        np.put_along_axis(pick, np.argpartition(chord, q - 1, axis=1)[:, :q], True, axis=1)
        q_in = min(DIRECT_IN, units.size)
        np.put_along_axis(pick, np.argpartition(chord, q_in - 1, axis=0)[:q_in, :], True, 0)
        ui, ti = np.nonzero(pick)
        rows.append(units[ui])
        terrs.append(target[ti])
    row, terr = np.concatenate(rows), np.concatenate(terrs)
    if p.allowed is not None:
        ok = p.allowed[row, terr]
        row, terr = row[ok], terr[ok]
    return row, terr


def _fewest_moves_lp(
    inst: balanced._Instance, mc: _MoveCandidates, deadline: float, stats: dict[str, float]
) -> tuple[lp_assign._LPSolution, IntArray, IntArray] | None:
    """The fewest-moves LP; under a budget it may send units to remote territories.

    Without a budget: every unit over its nearby columns. Under a budget, LPs over the
    heaviest units (:func:`_movable`), smallest first:

    1. nearby columns only (a compact plan, when that fits the budget);
    2. plus columns straight to remote territories with room (:func:`_direct_columns`),
       then pricing rounds over every territory: each prices every (movable unit, other
       territory) pair exactly (the numba scan of :mod:`.lp_assign`, leaving out the
       unit's current territory) and adds each unit's best column when its reduced cost
       is negative;
    3. when neither has a solution, every unit over its nearby columns.
    """
    p = inst.problem
    n = p.n_units
    ok = (mc.cand >= 0) & np.isfinite(mc.cost)

    def nearby(movable: np.ndarray) -> tuple[IntArray, IntArray]:
        """Candidate columns: every unit its current territory, movable units the rest."""
        row, col = np.nonzero(ok & (movable[:, None] | (mc.cand == mc.current[:, None])))
        return row, mc.cand[row, col]

    if p.max_moves is None:
        return _lp(inst, mc, deadline - current_clock().now(), nearby(inst.movable))
    movable = _movable(inst)
    near = nearby(movable)
    out = _lp(inst, mc, deadline - current_clock().now(), near)
    if out is not None:
        stats["lp_moves_nearby"] = out[0].value
        if out[0].value <= p.max_moves:
            return out
    d_row, d_terr = _direct_columns(inst, mc, movable)
    columns = lp_assign._unique_pairs(
        np.concatenate([near[0], d_row]), np.concatenate([near[1], d_terr]), p.n_territories
    )
    wide = _lp(inst, mc, deadline - current_clock().now(), columns)
    if wide is None:
        # every unit over its nearby columns (the heaviest were not enough)
        return out or _lp(inst, mc, deadline - current_clock().now(), nearby(inst.movable))
    allowed = np.ascontiguousarray(p.allowed if p.allowed is not None else np.ones((1, 1), bool))
    move_w = mc.weights * (DISTANCE_WEIGHT / mc.typical)
    best_j = np.empty(n, dtype=np.int64)
    best_v = np.empty(n)
    for _ in range(WIDE_ROUNDS):
        log.info("fewest moves, remote territories too: %.1f moves", wide[0].value)
        lp, row, terr = wide
        lp_assign._full_scan(
            mc.unit_pts, mc.center_pts, move_w, inst.a, np.ascontiguousarray(lp.lam),
            mc.power, mc.sphere, dist.EARTH_RADIUS_MI, allowed, p.allowed is not None,
            inst.locked, mc.current, best_j, best_v,
        )  # fmt: skip
        reduced = 1.0 + best_v - lp.u
        new = np.flatnonzero(movable & (best_j >= 0) & (reduced < -1e-7))
        if new.size == 0 or current_clock().now() > deadline:
            break
        wider = lp_assign._unique_pairs(
            np.concatenate([row, new]), np.concatenate([terr, best_j[new]]), p.n_territories
        )
        nxt = _lp(inst, mc, deadline - current_clock().now(), wider)
        if nxt is None:
            break
        gain = wide[0].value - nxt[0].value
        wide = nxt
        stats["wide_columns"] = stats.get("wide_columns", 0) + len(new)
        if gain < 0.01 * wide[0].value:
            break
    return wide


def solve_realign(
    problem: DesignProblem, *, time_limit: float, seed: int = 0, progress=None
) -> SolverOutcome:
    """Fewest-moves LP + rounding MIP, then local search within the budget.

    The heuristic runs in the time left and the better plan is kept (balanced first, then
    fewer moves beyond the budget, then objective, with any move penalty).
    """
    t0 = current_clock().now()
    deadline = t0 + time_limit
    stats: dict[str, float] = {}
    # a failure inside the LP path is a bug and raises; ``None`` is the named condition
    # (the LP or its rounding found no plan in its share of the budget)
    candidate = _fewest_moves(problem, deadline=t0 + 0.75 * time_limit, seed=seed, stats=stats)
    fallbacks: tuple[str, ...] = ()
    if candidate is None:
        fallbacks = ("fewest-moves lp: no plan within its share of the budget -> heuristic",)
    left = max(deadline - current_clock().now(), 0.01)
    # the heuristic also proves the bound (fixed centers: the Lagrangian without the move
    # limit, a relaxation); the better plan is kept with the larger bound
    heur = balanced.solve_balanced(problem, time_limit=left, seed=seed, progress=progress)
    best = heur if candidate is None else min((candidate, heur), key=lambda o: _rank(problem, o))
    found = [b for b in (best.lower_bound, heur.lower_bound) if b is not None]
    return dataclasses.replace(
        best,
        lower_bound=max(found) if found else None,
        fallbacks=(*best.fallbacks, *fallbacks),
        stats={
            **heur.stats,
            **best.stats,
            # what balance costs in moves (a balanced plan found, over budget or not)
            "balanced_plan_moves": float(stats.get("rounded_moves", -1)),
        },
        remote_moves=_remote_moves(problem, best),
    )


def _remote_moves(problem: DesignProblem, outcome: SolverOutcome) -> int:
    """Moved units whose new territory is not among their :data:`CANDIDATES` nearest
    (measured from the current plan's centers, as the fewest-moves LP sees them)."""
    assert problem.current is not None
    inst = balanced._instance(problem)
    centers = None
    if problem.centers is None:
        centers = metrics.best_center_units(problem, problem.current, exact_limit=400)
        if (centers < 0).any():
            return 0  # an empty territory: nothing to measure "near" from
    near = balanced._candidates(inst, centers, CANDIDATES, None).cand[:, :CANDIDATES]
    plan = outcome.assignment
    return int(((plan != problem.current) & ~(near == plan[:, None]).any(axis=1)).sum())


def _rank(problem: DesignProblem, outcome: SolverOutcome) -> tuple[int, int, float]:
    assert problem.current is not None
    moved = int((outcome.assignment != problem.current).sum())
    over = max(moved - problem.max_moves, 0) if problem.max_moves is not None else 0
    ok = bool(metrics.WITHIN_BALANCE(problem, outcome.assignment))
    cost = outcome.objective + problem.move_penalty * moved
    # the move budget is a hard limit: within it, balanced first, then the objective
    return (over, 0 if ok else 1, cost)


def _fewest_moves(
    problem: DesignProblem, *, deadline: float, seed: int, stats: dict[str, float]
) -> SolverOutcome | None:
    assert problem.current is not None
    inst = balanced._instance(problem)
    fixed = problem.centers is not None
    centers = (
        None if fixed else metrics.best_center_units(problem, problem.current, exact_limit=400)
    )
    if centers is not None and (centers < 0).any():
        return None  # an empty territory: no center to measure from
    mc = _move_candidates(inst, centers)
    out = _fewest_moves_lp(
        inst, mc, current_clock().now() + 0.6 * (deadline - current_clock().now()), stats
    )
    if out is None:
        return None
    lp, row, terr = out
    stats["lp_moves"] = lp.value
    n = problem.n_units
    order = np.argsort(lp.x, kind="stable")
    assignment = problem.current.copy()
    share = np.zeros(n)
    assignment[row[order]] = terr[order]
    share[row[order]] = lp.x[order]
    rounded = lp_assign._round_by_mip(
        inst, mc, lp, row, terr, mc.exact_cost(row, terr), assignment, share,
        time_limit=max(0.5 * (deadline - current_clock().now()), 0.1),
    )  # fmt: skip
    if rounded is not None:
        assignment = rounded[0]
    moved = int((assignment != problem.current).sum())
    if rounded is not None:
        stats["rounded_moves"] = moved
    # compactness within the budget (local search never spends more moves than allowed)
    budget = problem.max_moves if problem.max_moves is not None else -1
    inst_b = dataclasses.replace(inst, max_moves=max(budget, moved) if budget >= 0 else -1)
    cands = balanced._candidates(inst_b, centers, balanced.DEFAULT_CANDIDATES, assignment)
    col = balanced._col_of(cands, assignment)
    col, viol, moves = balanced._improve(
        inst_b, cands, col, np.random.default_rng(seed), repair_penalty=0.0,
        penalty=float(problem.move_penalty), deadline=deadline, realign=True,
        repair=rounded is None,
    )  # fmt: skip
    plan = balanced._assignment_of(cands, col)
    plan_centers = None if fixed else metrics.best_center_units(problem, plan, exact_limit=400)
    obj = metrics.objective_value(problem, plan, plan_centers)
    ok = viol <= balanced.FEASIBLE and bool(metrics.WITHIN_BALANCE(problem, plan))
    stats.update(moved_units=int(moves), balanced=ok, violation=viol)
    log.info(
        "fewest-moves realignment: LP %.1f moves, rounded %d, final %d, balanced %s",
        lp.value, moved, moves, ok,
    )  # fmt: skip
    return SolverOutcome(
        assignment=plan,
        objective=obj,
        method="fewest-moves-lp+mip+local-search",
        center_units=plan_centers,
        stats=dict(stats),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RealignOptions:
    """Tuning of the fewest-moves realignment."""

    #: Nearest territories offered to each unit (besides its current one and reverse ones).
    candidates: int = CANDIDATES


@register
class RealignSolver(Solver[RealignOptions]):
    """Realignment: fewest-moves LP and rounding MIP, then the heuristic; best plan kept."""

    name = "realign-lp"
    summary = (
        "realignment under a move budget or penalty: the fewest-moves LP (nearby, then "
        "remote territories by pricing) rounded by a MIP, local search within the budget, "
        "and the heuristic from the current plan; the better plan is kept"
    )
    options_type = RealignOptions
    auto_priority = 10

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        if problem.current is None or not bool((problem.current >= 0).all()):
            return "it needs a current plan covering every unit"
        if problem.max_moves is None and problem.move_penalty <= 0:
            return "it needs a move budget (max_moves) or a move penalty"
        if problem.objective not in ("inertia", "median"):
            return f"it minimises inertia or median, not {problem.objective}"
        if problem.contiguity:
            return "it does not keep territories contiguous"
        if problem.distance == "graph":
            return "it needs geometric distances, not graph distances"
        if problem.segments is not None:
            return "segments are solved by the heuristic, one segment at a time"
        if not problem.balance:
            return "there is no balanced measure to restore"
        if problem.n_territories < 2:
            return "one territory has nothing to decide"
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        budget = (
            f"at most {problem.max_moves:,} moves" if problem.max_moves is not None else
            f"a penalty of {problem.move_penalty:g} per move"
        )  # fmt: skip
        return (
            f"realignment of the current plan with {budget}: the fewest-moves LP finds "
            "which units to move"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        return solve_realign(
            problem, time_limit=max(run.left(), 0.01), seed=run.seed, progress=run.progress
        )


__all__ = ["RealignOptions", "RealignSolver", "applicable", "solve_realign"]
