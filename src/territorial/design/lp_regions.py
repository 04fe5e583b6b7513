"""Fixed-center design with many territories, region by region.

With a thousand territories the unit LP of :mod:`territorial.design.lp_assign` (every
unit priced against every territory, a rounding MIP over the whole plan) no longer fits
an interactive budget, yet almost all of its work is local: a unit only ever competes
between the few territories around it. So:

1. **Groups, whole problem.** The nested group LPs of :func:`lp_assign.group_stage`
   are solved over every territory, on a band a little inside the true one. Their
   solution fixes how much load crosses between any two parts of the map.
2. **Split.** Each group's units follow its LP shares: a group wholly in one territory
   goes there; a group split between territories hands each its share of the load,
   units ordered by how much they prefer that territory. Every territory then holds
   (within a unit) the load the group LP gave it, inside the narrowed band.
3. **Regions.** Territories are cut into compact regions of about
   :data:`REGION_TERRITORIES` by recursive bisection of their centers; a region's units
   are those its territories hold after the split. Each region is then solved by the
   full LP path (groups, unit LP, rounding MIP, local search) with the **whole
   problem's band** (its measures are normalised by the whole problem's means, so a
   region never drifts to its own average).
4. **Polish.** The stitched plan is balanced everywhere; a local search over the whole
   plan then improves the units along region borders.

**Bound.** The dual function of the whole problem is a valid lower bound for any
multipliers; it is evaluated (exact scan over every unit and territory) at the group
LP's multipliers and at the regions' multipliers put side by side, then lifted by a
subgradient ascent from there (:func:`lp_assign.lift_bound`, exact scans), and the
largest is reported. No region's own optimum is used, so the bound never relies on
the split.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from territorial.design import balanced, lp_assign
from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.design.result import SolverOutcome
from territorial.design.solvers import Run, Solver, current_clock, register

log = logging.getLogger(__name__)

#: Problems with at least this many territories are planned region by region.
REGIONS_FROM = 400
#: Territories per region.
REGION_TERRITORIES = 100
#: Share of the time limit for the whole problem's group LPs.
GROUP_SHARE = 0.3
#: The whole problem's group LPs aim this much more of the tolerance inside the band
#: than a region's LP (:func:`lp_assign.plan_narrowing`), so every region keeps room: in
#: the LP a dense region's territories all sit at the top of the band, and splitting
#: groups between regions moves up to a unit's load.
REGION_MARGIN = 0.2
#: Share of the time limit kept for the final local search and bound over the whole plan.
POLISH_SHARE = 0.1
#: ... of which this share goes to the subgradient ascent on the whole problem's dual.
BOUND_SHARE = 0.05


def applicable(problem: DesignProblem) -> bool:
    """The fixed-center LP path applies and there are enough territories to split."""
    return lp_assign.applicable(problem) and problem.n_territories >= REGIONS_FROM


def split_groups(
    stage: lp_assign.GroupStage, load: FloatArray, cost_of: lp_assign.CostOf
) -> IntArray:
    """A territory per unit that gives every territory its LP share of each group's load.

    ``load`` is each unit's combined balanced load; ``cost_of(units, territories)`` the
    cost of putting units in territories. In a group split between territories, the
    territories take their shares largest first, each picking the units that prefer it
    most (cost there minus the best cost among the group's other territories) until the
    next unit would overshoot its share by more than it would fall short. What a
    territory got over or under its share is carried into its next split group, so its
    total stays within about one unit of the LP's.
    """
    x = stage.solution.x
    use = x > 1e-9
    row, terr, share = stage.row[use], stage.terr[use], x[use]
    n_groups = int(stage.group.max()) + 1
    count = np.bincount(row, minlength=n_groups)
    of_group = np.full(n_groups, -1, dtype=np.int64)
    whole = count[row] == 1
    of_group[row[whole]] = terr[whole]
    out = of_group[stage.group]
    split = np.flatnonzero(count > 1)
    if split.size == 0:
        return out
    by_unit = np.argsort(stage.group, kind="stable")
    u_start = np.searchsorted(stage.group[by_unit], np.arange(n_groups + 1))
    by_col = np.argsort(row, kind="stable")
    c_start = np.searchsorted(row[by_col], np.arange(n_groups + 1))
    debt = np.zeros(int(terr.max()) + 1)  # load got minus load owed, per territory
    for g in split:
        units = by_unit[u_start[g] : u_start[g + 1]]
        cols = by_col[c_start[g] : c_start[g + 1]]
        ts, ss = terr[cols], share[cols] / share[cols].sum()
        cost = cost_of(np.repeat(units, len(ts)), np.tile(ts, len(units)))
        cost = cost.reshape(len(units), len(ts))
        total = float(load[units].sum())
        free = np.ones(len(units), dtype=bool)
        open_t = np.ones(len(ts), dtype=bool)
        # each territory's share, corrected by what it got over or under so far
        want = np.maximum(ss * total - debt[ts], 0.0)
        want *= total / want.sum() if want.sum() > 0 else 0.0
        for t in np.argsort(-ss, kind="stable")[:-1]:
            open_t[t] = False
            others = cost[:, open_t].min(axis=1)
            cand = np.flatnonzero(free)
            cand = cand[np.argsort(cost[cand, t] - others[cand], kind="stable")]
            target, got = want[t], 0.0
            for i in cand:
                if got + load[units[i]] - target > target - got:
                    break
                got += load[units[i]]
                free[i] = False
                out[units[i]] = ts[t]
        rest = np.flatnonzero(free)
        if rest.size:  # the remaining units go to their cheapest open territory
            pick = np.flatnonzero(open_t)
            out[units[rest]] = ts[pick[np.argmin(cost[np.ix_(rest, pick)], axis=1)]]
        got_t = np.array([load[units[out[units] == t]].sum() for t in ts])
        debt[ts] += got_t - ss * total
    return out


def subproblem(problem: DesignProblem, units: IntArray, terrs: IntArray) -> DesignProblem:
    """The problem restricted to ``units`` and the territories ``terrs`` (in that order)."""
    k = problem.n_territories
    local = np.full(k + 1, -1, dtype=np.int64)  # index k maps -1 (no territory) to -1
    local[terrs] = np.arange(len(terrs))
    assert problem.centers is not None
    ids = problem.territory_ids
    return dataclasses.replace(
        problem,
        unit_ids=problem.unit_ids[units],
        coords=problem.coords[units],
        measures=problem.measures[units],
        n_territories=len(terrs),
        centers=problem.centers[terrs],
        territory_ids=tuple(ids[j] for j in terrs),
        locked=None if problem.locked is None else local[problem.locked[units]],
        allowed=None if problem.allowed is None else problem.allowed[np.ix_(units, terrs)],
        edges=None,
        edge_lengths=None,
    )


def regions_of(center_pts: FloatArray, n_regions: int) -> list[IntArray]:
    """Compact regions of (nearly) equally many territories: bisection of the centers."""
    parts: list[IntArray] = []
    k = len(center_pts)
    balanced._bisect(center_pts, np.ones(k), np.arange(k), n_regions, parts)
    return [np.sort(p) for p in parts]


def plan_by_regions(
    problem: DesignProblem,
    *,
    time_limit: float,
    seed: int = 0,
    region_territories: int = REGION_TERRITORIES,
) -> lp_assign.PathResult:
    """Group LPs over the whole problem, then the LP path per region; see the module."""
    t0 = current_clock().now()
    deadline = t0 + time_limit
    k = problem.n_territories
    inst = balanced._instance(problem)
    cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, None)
    stats: dict[str, float] = {}
    narrow = min(lp_assign.plan_narrowing(inst) + REGION_MARGIN, 0.9)
    stats["narrowing"] = narrow
    stage = lp_assign.group_stage(inst, cands, t0 + GROUP_SHARE * time_limit, stats, narrow=narrow)
    if stage is None:
        return lp_assign.PathResult(None, None, np.inf, stats)
    bound, _, _ = lp_assign.dual_bound(inst, cands, stage.solution.lam)
    provisional = split_groups(stage, inst.a.sum(axis=1), cands.exact_cost)
    regions = regions_of(cands.center_pts, max(2, round(k / region_territories)))
    region_of = np.empty(k, dtype=np.int64)
    for r, terrs in enumerate(regions):
        region_of[terrs] = r
    unit_region = region_of[provisional]
    assignment = provisional.copy()
    lam = stage.solution.lam.copy()
    left_units = len(provisional)
    solved = 0
    for r, terrs in enumerate(regions):
        units = np.flatnonzero(unit_region == r)
        budget = (deadline - POLISH_SHARE * time_limit - current_clock().now()) * len(units)
        budget /= max(left_units, 1)
        left_units -= len(units)
        if budget <= 0 or units.size == 0:
            continue
        sub = subproblem(problem, units, terrs)
        # the whole problem's normalisation and band: a region never drifts to its own mean
        sub_inst = dataclasses.replace(
            balanced._instance(sub), a=np.ascontiguousarray(inst.a[units]), lo=inst.lo,
            up=inst.up,
        )  # fmt: skip
        out = lp_assign.lp_path(sub, sub_inst, time_limit=budget, seed=seed + r)
        if out.lam is not None:
            lam[terrs] = out.lam
        if out.assignment is not None and out.violation <= balanced.FEASIBLE:
            assignment[units] = terrs[out.assignment]
            solved += 1
        else:  # keep the split of the group solution (balanced on the narrowed band)
            log.info("region %d (%d units, %d territories) not planned", r, len(units), len(terrs))
    stats["regions"] = len(regions)
    stats["regions_planned"] = solved
    stats["regions_seconds"] = current_clock().now() - t0
    bound = max(bound, lp_assign.dual_bound(inst, cands, lam)[0])
    cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, assignment)
    col = balanced._col_of(cands, assignment)
    stitched = balanced._violation(balanced._loads(cands.cand, col, inst.a, k), inst)
    log.info("regions stitched: violation %.3g", stitched)
    col, viol, _ = balanced._improve(
        inst, cands, col, np.random.default_rng(seed), repair_penalty=0.0, penalty=0.0,
        deadline=deadline - BOUND_SHARE * time_limit, repair=stitched > balanced.FEASIBLE,
    )  # fmt: skip
    assignment = balanced._assignment_of(cands, col)
    # the regions' multipliers sit at different levels (each region's own balance): a
    # subgradient ascent over the whole problem lifts the bound in the time left
    objective = float(cands.cost[np.arange(len(col)), col].sum())
    stats["bound_regions"] = bound
    bound = max(bound, lp_assign.lift_bound(inst, lam, objective, deadline))
    return lp_assign.PathResult(bound, assignment, viol, stats, lam)


@dataclass(frozen=True, slots=True)
class LPRegionsOptions:
    """Tuning of the region-by-region LP path."""

    #: Territories per region.
    region_territories: int = REGION_TERRITORIES


@register
class LPRegionsSolver(Solver[LPRegionsOptions]):
    """Fixed centers with many territories: group LPs over the whole map, then regions."""

    name = "lp-regions"
    summary = (
        "fixed centers, many territories: group LPs over the whole map fix the flows "
        "between regions, then the fixed-center LP path runs region by region; the bound "
        "stays the whole problem's"
    )
    options_type = LPRegionsOptions
    auto_priority = 20
    #: ``auto`` plans region by region from this many territories.
    auto_from = REGIONS_FROM

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        return lp_assign.lp_refusal(problem)

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        if problem.n_territories < cls.auto_from:
            return None
        return (
            f"fixed centers and {problem.n_territories} territories (at least "
            f"{cls.auto_from}): one unit LP and rounding MIP over all of them would not fit "
            "the budget, so the plan is made region by region"
        )

    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        return lp_assign.solve_fixed_centers(
            problem, time_limit=max(run.left(), 0.01), seed=run.seed, progress=run.progress,
            regions=True, region_territories=self.options.region_territories,
        )  # fmt: skip


__all__ = [
    "LPRegionsOptions",
    "LPRegionsSolver",
    "applicable",
    "plan_by_regions",
    "regions_of",
    "split_groups",
    "subproblem",
]
