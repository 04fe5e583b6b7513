"""Realignment with the fewest moves: an LP over nearby territories, rounded by a MIP.

After a shift in the measures, "restore balance moving at most N accounts" is an
assignment problem whose cost is the number of moved units::

    min sum_ij m_ij x_ij   s.t.  sum_j x_ij = 1,   lo_m <= sum_i a_im x_ij <= up_m,   x >= 0,

``m_ij = 0`` for the unit's current territory and ``1 + eps d_ij`` otherwise (the small
distance term breaks ties towards near territories). Columns: the current territory and
the unit's nearest centers (the heuristic's candidate rows, which include the reverse
candidates that let remote territories fill up). The LP (HiGHS) is solved on a band
:data:`territorial.design.lp_assign.NARROW` inside the true one, so rounding each unit to
its largest share fits the true band; the rounding MIP of :mod:`.lp_assign` then
re-opens the fractional units and a few per territory with the true band as hard rows.
Finally the local search of :mod:`.balanced` improves compactness without spending more
moves than the budget allows.

The LP optimum over these columns is the fewest moves any plan restricted to nearby
territories needs (fractionally); it is reported as ``stats["lp_moves"]`` (not a bound on
the unrestricted problem).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from territorial.design import balanced, lp_assign, metrics
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome

log = logging.getLogger(__name__)

#: Weight of the distance tie-break in a move's cost (in moves per median candidate cost).
DISTANCE_WEIGHT = 1e-3
#: Nearest territories offered to each unit (besides its current one and reverse ones).
CANDIDATES = 12


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
    """Candidate rows whose cost is a move (0 to stay, 1 + eps distance to go)."""

    current: IntArray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dist_cost: FloatArray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    typical: float = 1.0

    def exact_cost(self, units: IntArray, terr: IntArray) -> FloatArray:
        d = super().exact_cost(units, terr)
        moved = terr != self.current[units]
        return np.where(moved, 1.0 + DISTANCE_WEIGHT * d / self.typical, 0.0)


def _move_candidates(inst: balanced._Instance, centers: IntArray | None) -> _MoveCandidates:
    p = inst.problem
    assert p.current is not None
    c = balanced._candidates(inst, centers, CANDIDATES, p.current)
    first = c.cost[:, 0]
    typical = (
        float(np.median(first[np.isfinite(first) & (first > 0)])) if (first > 0).any() else 1.0
    )
    fields = {f.name: getattr(c, f.name) for f in dataclasses.fields(balanced._Candidates)}
    out = _MoveCandidates(**fields, current=p.current, dist_cost=c.cost, typical=typical)
    moved = (c.cand >= 0) & (c.cand != p.current[:, None])
    out.cost = np.where(
        np.isfinite(c.cost), np.where(moved, 1.0 + DISTANCE_WEIGHT * c.cost / typical, 0.0), np.inf
    )
    return out


def _lp(
    inst: balanced._Instance, mc: _MoveCandidates, time_limit: float
) -> tuple[lp_assign._LPSolution, IntArray, IntArray] | None:
    """The fewest-moves LP over the candidate columns, on the narrowed band."""
    p = inst.problem
    n, k = p.n_units, p.n_territories
    mb = inst.a.shape[1]
    row, col = np.nonzero((mc.cand >= 0) & np.isfinite(mc.cost))
    terr = mc.cand[row, col]
    cost = mc.cost[row, col]
    share = lp_assign.NARROW
    lo = 1.0 - (1.0 - inst.lo) * (1.0 - share)
    up = 1.0 + (inst.up - 1.0) * (1.0 - share)
    a_eq, a_bal = lp_assign.assignment_matrices(n, row, terr, inst.a[row], k)
    res = linprog(
        cost,
        A_ub=sp.vstack([a_bal, -a_bal], format="csr"),
        b_ub=np.concatenate([np.tile(up, k), -np.tile(lo, k)]),
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, None),
        method="highs",
        options={"time_limit": max(time_limit, 0.1)},
    )
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


def solve_realign(
    problem: DesignProblem, *, time_limit: float, seed: int = 0, progress=None
) -> SolverOutcome:
    """Fewest-moves LP + rounding MIP, then local search within the budget.

    The heuristic runs in the time left and the better plan is kept (balanced first, then
    fewer moves beyond the budget, then objective, with any move penalty).
    """
    t0 = time.monotonic()
    deadline = t0 + time_limit
    stats: dict[str, float] = {}
    candidate: SolverOutcome | None = None
    try:
        candidate = _fewest_moves(problem, deadline=t0 + 0.75 * time_limit, seed=seed, stats=stats)
    except Exception:  # an accelerator: never lose the run over it
        log.exception("fewest-moves realignment failed; using the heuristic")
    left = max(deadline - time.monotonic(), 0.01)
    # the heuristic also proves the bound (fixed centers: the Lagrangian without the move
    # limit, a relaxation); the better plan is kept with the larger bound
    heur = balanced.solve_balanced(problem, time_limit=left, seed=seed, progress=progress)
    if candidate is None:
        return heur
    best = min((candidate, heur), key=lambda o: _rank(problem, o))
    found = [b for b in (candidate.lower_bound, heur.lower_bound) if b is not None]
    return dataclasses.replace(
        best,
        lower_bound=max(found) if found else None,
        stats={
            **heur.stats,
            **best.stats,
            # what balance costs in moves (a balanced plan found, over budget or not)
            "balanced_plan_moves": float(stats.get("rounded_moves", -1)),
        },
    )


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
    out = _lp(inst, mc, 0.7 * (deadline - time.monotonic()))
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
        time_limit=max(0.5 * (deadline - time.monotonic()), 0.1),
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


__all__ = ["applicable", "solve_realign"]
