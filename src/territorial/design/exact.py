"""Exact territory design: a mixed-integer model with a proven lower bound.

Two models, both solved with OR-Tools' MIP interface (SCIP by default):

**Hess model** (inertia/median, centers chosen among the units)::

    data       c[i, j] = w_i * d(i, j)^p        p = 2 (inertia) or 1 (median)
               a[i, m] balanced measures, window [L_m, U_m] per territory
    variables  x[i, j] in {0, 1}   unit i belongs to the territory centered at unit j
               (y_j = x[j, j]: unit j is a center)
    min        sum_ij c[i, j] x[i, j]
    s.t.       sum_j x[i, j] = 1                        every unit in one territory
               x[i, j] <= x[j, j]                       only to open centers
               sum_j x[j, j] = k                        k territories
               L_m x[j, j] <= sum_i a[i, m] x[i, j] <= U_m x[j, j]     balance

**Fixed-center model** (territory t has a given center point)::

    variables  x[i, t] in {0, 1}
    min        sum_it c[i, t] x[i, t]
    s.t.       sum_t x[i, t] = 1,   L_m <= sum_i a[i, m] x[i, t] <= U_m

**Contiguity** (when required) is enforced with vertex-separator cuts added in
rounds (solve, find disconnected territories, cut, resolve). For a piece ``S`` of
the territory of center ``j`` that does not contain ``j`` and a set ``C`` that
separates ``S`` from ``j`` (the neighbours of ``S`` that still reach ``j``)::

    x[i, j] <= sum_{c in C} x[c, j]          for every i in S

and from the start the cheapest such cut, ``C = N(i)``: a non-center unit needs a
neighbour in its territory. Each round's model is a relaxation of the contiguous
problem, so its proven bound is a valid lower bound.

**Locks, allowed territories, current plan** (Hess model): territories get labels
through ``z[j, t] = 1`` when center ``j`` serves territory ``t``
(``sum_t z[j, t] = x[j, j]``, ``sum_j z[j, t] = 1``); a unit locked to ``t`` has
``x[i, j] <= z[j, t]``, a unit not allowed in ``t`` has ``x[i, j] + z[j, t] <= 1``,
and ``stay_i = sum_j s[i, j]`` with ``s[i, j] <= x[i, j]``, ``s[i, j] <= z[j, cur_i]``
counts units that stay (``moves = n - sum stay <= max_moves``, objective
``+ move_penalty * moves``).

**Pruning (reduced-cost fixing, exact).** With an incumbent of cost ``UB`` and the
LP relaxation's optimum ``z_LP`` with reduced costs ``r[i, j]``, any plan using
``x[i, j] = 1`` costs at least ``z_LP + r[i, j]``; variables with
``z_LP + r[i, j] > UB`` cannot be in a plan better than the incumbent and are
dropped. The reported bound is then ``min(UB, bound of the pruned model)``, which
is still valid. No heuristic pruning is done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from ortools.linear_solver import pywraplp

from territorial.design.contiguity import (
    DistanceOracle,
    SearchArrays,
    components,
    is_balanced,
    is_contiguous,
    search_arrays,
    solve_contiguous,
)
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.ranking import best_of
from territorial.design.result import SolverOutcome
from territorial.design.solvers import (
    Run,
    Solver,
    choose_solver,
    current_clock,
    make_solver,
    node_work,
    pivot_work,
    register,
)
from territorial.errors import ConfigError, InfeasibleError

log = logging.getLogger(__name__)


def _cost_matrix(
    problem: DesignProblem, oracle: DistanceOracle, distances: FloatArray | None
) -> FloatArray:
    """``c[i, j] = w_i d(i, j)^p`` to candidate center units ``j`` or fixed centers ``j``."""
    p = 2.0 if problem.objective == "inertia" else 1.0
    w = problem.weights
    if problem.centers is not None:
        if distances is not None and distances.shape == (problem.n_units, problem.n_territories):
            d = distances
        else:
            d = oracle.to_points(problem.centers)
    else:
        d = distances if distances is not None else oracle.rows(np.arange(problem.n_units))
    return w[:, None] * np.asarray(d, dtype=np.float64) ** p


def _columns(assign: IntArray, centers: IntArray | None) -> IntArray:
    """Model column of each unit: its territory (fixed centers) or its center unit."""
    return assign if centers is None else centers[assign]


def _plan_cost(cost: FloatArray, assign: IntArray, centers: IntArray | None) -> float:
    n = len(assign)
    cols = assign if centers is None else centers[assign]
    return float(cost[np.arange(n), cols].sum())


def _best_centers(cost: FloatArray, assign: IntArray, k: int) -> IntArray:
    out = np.zeros(k, dtype=np.int64)
    for t in range(k):
        members = np.flatnonzero(assign == t)
        out[t] = members[int(np.argmin(cost[np.ix_(members, members)].sum(axis=0)))]
    return out


def _separator(arrays: SearchArrays, piece: set[int], target: int) -> list[int]:
    """Neighbours of ``piece`` from which ``target`` is reachable without entering ``piece``."""
    indptr, indices = arrays.indptr, arrays.indices
    boundary = {
        int(v) for u in piece for v in indices[indptr[u] : indptr[u + 1]] if int(v) not in piece
    }
    seen = {target}
    stack = [target]
    while stack:
        u = stack.pop()
        for v in indices[indptr[u] : indptr[u + 1]].tolist():
            if v in piece or v in seen:
                continue
            seen.add(v)
            if v not in boundary:
                stack.append(v)
    return sorted(boundary & seen)


def solve_exact(
    problem: DesignProblem,
    *,
    time_limit: float,
    initial: SolverOutcome | None = None,
    distances: FloatArray | None = None,
    solver: str = "SCIP",
    heuristic_share: float = 0.15,
    seed: int = 0,
) -> SolverOutcome | None:
    """Optimal plan (or the best found in ``time_limit`` seconds) with a proven lower bound.

    Parameters
    ----------
    problem:
        An ``inertia`` or ``median`` problem (the diameter objective is not modelled).
    time_limit:
        Seconds of wall time for everything (heuristic start, LP, MIP rounds).
    initial:
        A known plan (e.g. from the heuristic); it seeds the incumbent used for
        pruning and is returned if the MIP finds nothing better.
    distances:
        Optional precomputed ``(n, n)`` unit-to-unit (or ``(n, k)`` unit-to-center)
        distances in the problem's distance unit.
    solver:
        OR-Tools MIP backend: ``"SCIP"`` (default), ``"CBC"`` or ``"HIGHS"``.
    heuristic_share:
        Share of ``time_limit`` spent on :func:`solve_contiguous` for a first
        incumbent when ``initial`` is not given.

    Returns
    -------
    SolverOutcome or None
        ``None`` when the MIP found no plan in the time and ``initial`` gave none either.
        ``lower_bound`` is the proven bound, ``proven_optimal`` whether it meets
        the objective; ``stats`` has the rounds, cuts and pruned variables. With a
        ``move_penalty`` the model minimises ``objective + move_penalty x moved
        units``; ``lower_bound`` then bounds that sum, given as
        ``stats["penalized_objective"]``.

    Raises
    ------
    InfeasibleError
        When the model (with every cut so far) has no solution.
    ConfigError
        For the diameter objective or an unknown backend.
    """
    if problem.objective == "diameter":
        raise ConfigError("the exact model covers inertia and median, not the diameter objective")
    clock = current_clock()
    start = clock.now()
    deadline = start + time_limit
    arrays = search_arrays(problem)
    n, k = arrays.n, arrays.k
    full = distances if distances is not None and distances.shape == (n, n) else None
    oracle = DistanceOracle(problem, full=full)
    cost = _cost_matrix(problem, oracle, distances)
    fixed = problem.centers is not None

    # ---- incumbent ---------------------------------------------------------------------
    incumbent: IntArray | None = None
    inc_centers: IntArray | None = None
    if initial is None and heuristic_share > 0:
        initial = solve_contiguous(
            problem, time_limit=heuristic_share * time_limit, seed=seed, distances=distances
        )
    if initial is not None:
        a0 = np.asarray(initial.assignment, dtype=np.int64)
        if is_balanced(arrays, a0) and (not problem.contiguity or is_contiguous(arrays, a0)):
            incumbent = a0
            inc_centers = None if fixed else _best_centers(cost, a0, k)
    penalty = arrays.move_penalty

    def total(assign: IntArray, centers: IntArray | None) -> float:
        moved = int(((arrays.current >= 0) & (assign != arrays.current)).sum())
        return _plan_cost(cost, assign, centers) + penalty * moved

    ub = total(incumbent, inc_centers) if incumbent is not None else np.inf

    # the model sees costs in units of about one unit's share of the incumbent, which
    # keeps LP pivots well conditioned (bounds and values are scaled back)
    unit_scale = float(ub / n) if np.isfinite(ub) and ub > 0 else float(max(cost.mean(), 1e-12))
    scaled = cost / unit_scale
    penalty_scaled = penalty / unit_scale

    labels = not fixed and bool(not arrays.allowed.all() or (arrays.current >= 0).any())
    mp_solver = pywraplp.Solver.CreateSolver(solver)
    if mp_solver is None:
        raise ConfigError(f"OR-Tools MIP backend {solver!r} is not available")

    # ---- pruning by reduced costs of the LP relaxation -------------------------------
    lp_bound = -np.inf  # the LP relaxation's optimum is a valid bound by itself
    keep = np.ones(cost.shape, dtype=bool)
    if fixed:
        keep &= arrays.allowed
    pruned = 0
    if np.isfinite(ub) and not labels:
        lp = pywraplp.Solver.CreateSolver("CLP") or pywraplp.Solver.CreateSolver("GLOP")
        lp_model = _build(
            lp, problem, arrays, scaled, keep, relax=True, labels=False, move_penalty=penalty_scaled
        )
        lp.SetTimeLimit(int(max(1.0, clock.solver_seconds(deadline - clock.now())) * 1000))
        lp_status = lp.Solve()
        clock.charge(pivot_work(lp.iterations(), lp.NumConstraints() + lp.NumVariables()))
        if lp_status == pywraplp.Solver.OPTIMAL:
            z = lp.Objective().Value() * unit_scale
            lp_bound = z
            rc = np.full(cost.shape, -np.inf)
            for (i, j), var in lp_model["x"].items():
                rc[i, j] = var.reduced_cost() * unit_scale
            drop = keep & (z + rc > ub + 1e-6 * abs(ub))
            if incumbent is not None:  # never drop the incumbent's own variables
                cols = _columns(incumbent, inc_centers)
                drop[np.arange(n), cols] = False
                if not fixed:
                    drop[inc_centers, inc_centers] = False
            pruned = int(drop.sum())
            keep &= ~drop
            log.info(
                "LP bound %.6g, incumbent %.6g: %d of %d variables pruned", z, ub, pruned, keep.size
            )

    # ---- the MIP -------------------------------------------------------------------------
    model = _build(
        mp_solver,
        problem,
        arrays,
        scaled,
        keep,
        relax=False,
        labels=labels,
        move_penalty=penalty_scaled,
    )
    x = model["x"]
    if incumbent is not None:
        cols = _columns(incumbent, inc_centers)
        hint_vars = [x[(i, j)] for (i, j) in x]
        hint_vals = [1.0 if cols[i] == j else 0.0 for (i, j) in x]
        mp_solver.SetHint(hint_vars, hint_vals)
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, 1e-9)

    lower = lp_bound
    rounds = 0
    cuts = 0
    status_name = "not run"
    proven = False
    while True:
        left = deadline - clock.now()
        if left <= 0.05:
            break
        rounds += 1
        mp_solver.SetTimeLimit(int(clock.solver_seconds(left) * 1000))
        size = mp_solver.NumConstraints() + mp_solver.NumVariables()
        nodes = clock.node_limit(left, size)
        if nodes is not None and solver.upper() == "SCIP":
            # deterministic mode: a node limit, not the clock, stops the search
            mp_solver.SetSolverSpecificParametersAsString(f"limits/nodes = {nodes}\n")
        status = mp_solver.Solve(params)
        # nodes, not LP iterations: SCIP's iteration count varies from run to run
        clock.charge(node_work(max(mp_solver.nodes(), 1), size))
        status_name = {
            pywraplp.Solver.OPTIMAL: "optimal",
            pywraplp.Solver.FEASIBLE: "feasible",
            pywraplp.Solver.INFEASIBLE: "infeasible",
            pywraplp.Solver.NOT_SOLVED: "not solved",
        }.get(status, str(status))
        if status == pywraplp.Solver.INFEASIBLE:
            if incumbent is not None and pruned:
                # nothing better than the incumbent exists: it is optimal
                lower = ub
                proven = True
                break
            raise InfeasibleError(_infeasible_message(problem, arrays, rounds, cuts))
        # the solver's dual bound is valid even when time ran out before any solution
        # (SCIP's dual bound); a non-finite value just means "no bound yet"
        bound = mp_solver.Objective().BestBound() * unit_scale
        if not np.isfinite(bound) or (
            status == pywraplp.Solver.NOT_SOLVED and solver.upper() != "SCIP"
        ):
            bound = -np.inf
        if status == pywraplp.Solver.OPTIMAL:
            bound = mp_solver.Objective().Value() * unit_scale
        lower = max(lower, bound)
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            break
        assign, centers = _read(model, n, k, fixed, labels)
        new_cuts = (
            _cuts(mp_solver, model, arrays, assign, centers, fixed) if problem.contiguity else 0
        )
        cuts += new_cuts
        if new_cuts == 0:
            value = total(assign, centers)
            if value < ub:
                ub, incumbent, inc_centers = value, assign, centers
            if status == pywraplp.Solver.OPTIMAL:
                proven = True
                break
            break  # time ran out with a contiguous incumbent
        if status != pywraplp.Solver.OPTIMAL:
            break  # out of time mid-way: keep the bound of this relaxation

    if incumbent is None:
        # a named condition, not an error: the MIP ran out of time before any plan
        log.info("MIP: no plan within %.3g s (last status: %s)", time_limit, status_name)
        return None
    lb = min(ub, lower) if np.isfinite(lower) else (ub if proven else None)
    if lb is not None and lb >= ub - 1e-9 * abs(ub):
        proven = True
    objective = _plan_cost(cost, incumbent, inc_centers)
    return SolverOutcome(
        assignment=incumbent.astype(np.int64),
        objective=objective,
        method=f"mip-{'fixed' if fixed else 'hess'}-{solver.lower()}",
        center_units=inc_centers,
        lower_bound=None if lb is None else float(lb),
        proven_optimal=proven,
        stats={
            "rounds": rounds,
            "cuts": cuts,
            "pruned_variables": pruned,
            "variables": len(x),
            "status": status_name,
            # with a move penalty the model minimises objective + penalty x moved units,
            # and lower_bound bounds that sum (compare it with this value)
            "penalized_objective": total(incumbent, inc_centers),
            "seconds": clock.now() - start,
        },
    )


def _infeasible_message(
    problem: DesignProblem, arrays: SearchArrays, rounds: int, cuts: int
) -> str:
    parts = []
    for b, col in zip(problem.balance, range(arrays.bal.shape[1]), strict=False):
        biggest = float(arrays.bal[:, col].max())
        mean = float(arrays.scale[col])
        parts.append(
            f"{b.measure} ±{b.tolerance:.2%} "
            f"(window {arrays.lo[0, col]:,.6g}..{arrays.hi[0, col]:,.6g}, "
            f"largest unit {biggest:,.6g} = {biggest / mean:.1%} of the mean)"
        )
    what = "; ".join(parts) or "no balance rows"
    extra = f" after {cuts} contiguity cuts" if cuts else ""
    return (
        f"no plan of {problem.n_territories} territories meets the constraints{extra} "
        f"(MIP round {rounds}): {what}"
    )


def _build(
    solver: pywraplp.Solver,
    problem: DesignProblem,
    arrays: SearchArrays,
    cost: FloatArray,
    keep: np.ndarray,
    *,
    relax: bool,
    labels: bool,
    move_penalty: float,
) -> dict:
    """Variables, constraints and objective of the Hess or fixed-center model."""
    n, k = arrays.n, arrays.k
    fixed = problem.centers is not None

    def var(name: str):
        return solver.NumVar(0, 1, name) if relax else solver.BoolVar(name)

    # variables: x[i, j] for the pairs kept after pruning
    x = {(i, j): var(f"x_{i}_{j}") for i, j in zip(*np.nonzero(keep), strict=True)}
    by_unit: dict[int, list[int]] = {i: [] for i in range(n)}
    by_col: dict[int, list[int]] = {}
    for i, j in x:
        by_unit[i].append(j)
        by_col.setdefault(j, []).append(i)
    model: dict = {"x": x, "by_col": by_col}
    bal = arrays.bal
    m = bal.shape[1]
    objective = solver.Objective()
    for (i, j), v in x.items():
        objective.SetCoefficient(v, float(cost[i, j]))
    objective.SetMinimization()

    # sum_j x[i, j] = 1: every unit in exactly one territory
    for i in range(n):
        if not by_unit[i]:
            raise InfeasibleError(f"unit {problem.unit_ids[i]!r} has no territory left")
        _row(solver, 1.0, 1.0, [(x[i, j], 1.0) for j in by_unit[i]])

    if fixed:
        # L_m <= sum_i a[i, m] x[i, t] <= U_m
        for t, members in by_col.items():
            for c in range(m):
                terms = [(x[i, t], float(bal[i, c])) for i in members]
                _row(solver, float(arrays.lo[t, c]), float(arrays.hi[t, c]), terms)
        # move penalty / max moves: moved_i = 1 - x[i, cur_i]
        cur = arrays.current
        movers = [i for i in range(n) if cur[i] >= 0]
        if movers:
            stay = [x[i, cur[i]] for i in movers if (i, cur[i]) in x]
            # moves = |movers| - sum stay <= max_moves
            if problem.max_moves is not None:
                _row(solver, len(movers) - problem.max_moves, np.inf, [(v, 1.0) for v in stay])
            # + move_penalty * moves
            if move_penalty:
                objective.SetOffset(move_penalty * len(movers))
                for v in stay:
                    objective.SetCoefficient(v, objective.GetCoefficient(v) - move_penalty)
        return model

    centers = [j for j in by_col if (j, j) in x]
    model["centers"] = centers
    # x[i, j] <= x[j, j]: only open centers serve units
    for (i, j), v in x.items():
        if i != j:
            if (j, j) in x:
                _row(solver, -np.inf, 0.0, [(v, 1.0), (x[j, j], -1.0)])
            else:
                v.SetUb(0.0)
    # sum_j x[j, j] = k
    _row(solver, k, k, [(x[j, j], 1.0) for j in centers])
    z: dict[tuple[int, int], pywraplp.Variable] = {}
    if labels:
        # z[j, t]: center j serves territory t; sum_t z = x[j, j]; sum_j z = 1
        for j in centers:
            for t in range(k):
                if arrays.allowed[j, t]:
                    z[j, t] = var(f"z_{j}_{t}")
            solver.Add(sum(z[j, t] for t in range(k) if (j, t) in z) == x[j, j])
        for t in range(k):
            solver.Add(sum(z[j, t] for j in centers if (j, t) in z) == 1)
        # locks and allowed territories: x[i, j] <= z[j, t] / x[i, j] + z[j, t] <= 1
        for (i, j), v in x.items():
            if arrays.locked[i] >= 0:
                t = int(arrays.locked[i])
                solver.Add(v <= z.get((j, t), 0))
            else:
                for t in range(k):
                    if not arrays.allowed[i, t] and (j, t) in z:
                        solver.Add(v + z[j, t] <= 1)
        # stay_i = sum_j s[i, j], s <= x[i, j], s <= z[j, cur_i]
        cur = arrays.current
        stays = []
        for i in range(n):
            if cur[i] < 0:
                continue
            terms = []
            for j in by_unit[i]:
                if (j, int(cur[i])) in z:
                    s = solver.NumVar(0, 1, f"s_{i}_{j}")
                    solver.Add(s <= x[i, j])
                    solver.Add(s <= z[j, int(cur[i])])
                    terms.append(s)
            stays.append(terms)
        if stays:
            # moves = |movers| - sum_i stay_i <= max_moves;  + move_penalty * moves
            stay_vars = [s for terms in stays for s in terms]
            if problem.max_moves is not None:
                _row(solver, len(stays) - problem.max_moves, np.inf, [(s, 1.0) for s in stay_vars])
            if move_penalty:
                objective.SetOffset(move_penalty * len(stays))
                for s in stay_vars:
                    objective.SetCoefficient(s, -move_penalty)
    model["z"] = z
    # balance: L_m x[j, j] <= sum_i a[i, m] x[i, j] <= U_m x[j, j]
    # (with labels the window is the one of the territory center j serves)
    for j in centers:
        members = by_col[j]
        for c in range(m):
            load = [(x[i, j], float(bal[i, c])) for i in members]
            if labels:
                low = [(z[j, t], -float(arrays.lo[t, c])) for t in range(k) if (j, t) in z]
                high = [(z[j, t], -float(arrays.hi[t, c])) for t in range(k) if (j, t) in z]
            else:
                low = [(x[j, j], -float(arrays.lo[0, c]))]
                high = [(x[j, j], -float(arrays.hi[0, c]))]
            _row(solver, 0.0, np.inf, load + low)
            _row(solver, -np.inf, 0.0, load + high)
    # contiguity, first cuts: x[i, j] <= sum_{c in N(i)} x[c, j] for i != j
    if problem.contiguity:
        indptr, indices = arrays.indptr, arrays.indices
        for (i, j), v in x.items():
            if i == j:
                continue
            nb = [int(c) for c in indices[indptr[i] : indptr[i + 1]] if (int(c), j) in x]
            _row(solver, -np.inf, 0.0, [(v, 1.0)] + [(x[c, j], -1.0) for c in nb])
    return model


def _row(solver: pywraplp.Solver, lb: float, ub: float, terms: list) -> None:
    """Add ``lb <= sum(coef * var) <= ub`` (fast path for the model's many rows)."""
    inf = solver.infinity()
    row = solver.Constraint(-inf if lb == -np.inf else lb, inf if ub == np.inf else ub)
    for var, coef in terms:
        row.SetCoefficient(var, row.GetCoefficient(var) + coef)


def _read(
    model: dict, n: int, k: int, fixed: bool, labels: bool
) -> tuple[IntArray, IntArray | None]:
    """The MIP solution as (territory per unit, center unit per territory)."""
    x = model["x"]
    col = np.full(n, -1, dtype=np.int64)
    for (i, j), v in x.items():
        if v.solution_value() > 0.5:
            col[i] = j
    if fixed:
        return col, None
    if labels:
        z = model["z"]
        label_of = {j: t for (j, t), v in z.items() if v.solution_value() > 0.5}
        centers = np.zeros(k, dtype=np.int64)
        for j, t in label_of.items():
            centers[t] = j
        assign = np.array([label_of[c] for c in col], dtype=np.int64)
        return assign, centers
    centers = np.array(sorted(set(col.tolist())), dtype=np.int64)
    pos = {int(c): t for t, c in enumerate(centers)}
    return np.array([pos[int(c)] for c in col], dtype=np.int64), centers


def _cuts(
    solver: pywraplp.Solver,
    model: dict,
    arrays: SearchArrays,
    assign: IntArray,
    centers: IntArray | None,
    fixed: bool,
) -> int:
    """Add separator cuts for every piece of a territory cut off from its center."""
    x = model["x"]
    added = 0
    for t in range(arrays.k):
        pieces = components(arrays, assign, t)
        if len(pieces) <= 1:
            continue
        if fixed:
            anchor_piece = pieces[0]
            anchor = int(anchor_piece[0])
            col = t
        else:
            assert centers is not None
            col = int(centers[t])
            anchor = col
            anchor_piece = next(p for p in pieces if col in set(p.tolist()))
        for piece in pieces:
            if piece is anchor_piece:
                continue
            members = set(piece.tolist())
            sep = _separator(arrays, members, anchor)
            rhs = sum(x[c, col] for c in sep if (c, col) in x)
            for i in members:
                if (i, col) not in x:
                    continue
                if fixed:
                    # x[i, t] + x[anchor, t] - 1 <= sum_{c in C} x[c, t]
                    solver.Add(x[i, col] + x[anchor, col] - 1 <= rhs)
                else:
                    # x[i, j] <= sum_{c in C} x[c, j]
                    solver.Add(x[i, col] <= rhs)
                added += 1
    return added


@dataclass(frozen=True, slots=True)
class ExactOptions:
    """Tuning of the exact MIP."""

    #: OR-Tools MIP backend: ``"SCIP"``, ``"CBC"`` or ``"HIGHS"``.
    backend: str = "SCIP"
    #: Share of the budget the warm-start solver gets (its plan seeds pruning and the MIP).
    warm_share: float = 0.25


@register
class ExactSolver(Solver[ExactOptions]):
    """The MIP (Hess or fixed-center model) with reduced-cost pruning: optimum and bound."""

    name = "exact"
    summary = (
        "mixed-integer model (Hess model for free centers, assignment model for fixed "
        "ones; OR-Tools SCIP) warm-started by the solver auto would pick otherwise, "
        "reduced-cost pruning and contiguity cuts: proves optimality on small instances"
    )
    options_type = ExactOptions
    auto_priority = 25
    #: ``auto`` runs the MIP when units x territories is at most this.
    auto_size = 20_000
    #: Refused beyond this many model variables (memory of the model).
    max_variables = 4_000_000

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        if problem.objective not in ("inertia", "median"):
            return f"the MIP models inertia and median, not {problem.objective}"
        n, k = problem.n_units, problem.n_territories
        variables = n * (k if problem.centers is not None else n)
        if variables > cls.max_variables:
            return f"the model would have {variables:,} variables (limit {cls.max_variables:,})"
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        size = problem.n_units * problem.n_territories
        if size > cls.auto_size or problem.contiguity:
            return None
        return (
            f"small instance ({problem.n_units} units x {problem.n_territories} territories = "
            f"{size:,} <= {cls.auto_size:,}): the MIP can prove the optimum"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        if run.clock.deterministic and self.options.backend.upper() != "SCIP":
            raise ConfigError(
                f"a work limit (deterministic mode) needs the SCIP backend of the exact solver, "
                f"which stops on a node count; {self.options.backend!r} only stops on the clock"
            )
        warm_name, _ = choose_solver(problem, exclude=(self.name,))
        warm = make_solver(warm_name).solve(problem, run.share(self.options.warm_share))
        exact = solve_exact(
            problem,
            time_limit=max(run.left(), 0.05),
            initial=warm,
            solver=self.options.backend,
            seed=run.seed,
        )
        if exact is None:
            return replace(
                warm,
                fallbacks=(
                    *warm.fallbacks,
                    f"mip: no plan within the time limit -> the {warm_name} plan",
                ),
            )
        return best_of(problem, warm, exact)


__all__ = ["ExactOptions", "ExactSolver", "solve_exact"]
