"""Region by region: the split keeps the group LP's loads, the plan is balanced, the bound valid."""

from __future__ import annotations

import time

import numpy as np
from _design_fixtures import random_book
from test_lp_assign import _lp

from territorial.design import balanced, design, lp_assign, lp_regions, metrics
from territorial.design.lp_regions import LPRegionsOptions


def test_split_gives_every_territory_its_lp_load_within_a_unit() -> None:
    problem = random_book(3000, 30, seed=7, tol=0.05, centers=True)
    inst = balanced._instance(problem)
    cands = balanced._candidates(inst, None, balanced.DEFAULT_CANDIDATES, None)
    stage = lp_assign.group_stage(inst, cands, time.monotonic() + 30, {}, narrow=0.3)
    assert stage is not None
    load = inst.a.sum(axis=1)
    plan = lp_regions.split_groups(stage, load, cands.exact_cost)
    # every unit goes to a territory its group uses in the LP
    used = stage.solution.x > 1e-9
    pairs = set(zip(stage.row[used].tolist(), stage.terr[used].tolist(), strict=True))
    assert all((int(g), int(t)) in pairs for g, t in zip(stage.group, plan, strict=True))
    assert (np.bincount(stage.group)[stage.row[used]] > 1).any()  # some groups were split
    group_load = np.bincount(stage.group, weights=load)
    lp_load = np.bincount(
        stage.terr[used], weights=group_load[stage.row[used]] * stage.solution.x[used], minlength=30
    )
    split_load = np.bincount(plan, weights=load, minlength=30)
    assert np.abs(split_load - lp_load).max() <= 2 * load.max()


def test_subproblem_keeps_the_rules_of_its_units_and_territories() -> None:
    problem = random_book(200, 6, seed=2, tol=0.1, centers=True)
    allowed = np.ones((200, 6), dtype=bool)
    allowed[:20, 0] = False
    locked = np.full(200, -1)
    locked[30] = 4
    problem = problem.with_changes(allowed=allowed, locked=locked)
    units = np.arange(0, 200, 2)
    sub = lp_regions.subproblem(problem, units, np.array([0, 4]))
    assert sub.n_territories == 2 and sub.n_units == 100
    assert sub.territory_ids == (problem.territory_ids[0], problem.territory_ids[4])
    assert sub.locked is not None and sub.locked[15] == 1  # unit 30, territory 4
    assert sub.allowed is not None and not sub.allowed[:10, 0].any()


def test_plan_by_regions_is_balanced_and_its_bound_is_below_the_lp() -> None:
    problem = random_book(1500, 24, seed=11, tol=0.05, centers=True)
    bound, plan, viol, stats = lp_assign.lp_bound_and_plan(
        problem, time_limit=40, seed=0, regions=True, region_territories=8
    )
    assert stats["regions"] == 3 and stats["regions_planned"] == 3
    assert plan is not None and bound is not None
    assert viol <= balanced.FEASIBLE and metrics.WITHIN_BALANCE(problem, plan)
    assert np.bincount(plan, minlength=24).min() > 0
    # the whole problem's dual function: never above its LP, so never above any plan
    assert bound <= _lp(problem) * (1 + 1e-7)
    obj = metrics.objective_value(problem, plan, None)
    assert (obj - bound) / obj < 0.15


def test_design_goes_region_by_region_when_asked() -> None:
    problem = random_book(1200, 16, seed=3, tol=0.1, centers=True)
    options = LPRegionsOptions(region_territories=8)
    result = design(problem, solver="lp-regions", options=options, time_limit=30, seed=0)
    assert result.solver == "lp-regions" and result.solver_reason == "asked for by name"
    assert result.feasible
    assert result.stats.get("regions") == 2
    assert result.lower_bound is not None and result.lower_bound <= result.objective
