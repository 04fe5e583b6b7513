"""The engine: dispatch, results, report, estimator form, store round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _design_fixtures import random_book

from territorial.design import TerritoryDesigner, design
from territorial.design.problem import DesignProblem


def test_result_and_report(grid: DesignProblem) -> None:
    result = design(grid, method="heuristic", time_limit=30, seed=0)
    assert result.feasible and result.violations == ()
    assert result.totals.shape == (4, 2)
    assert result.worst_deviation == 0.0
    report = result.to_report_dict()
    json.dumps(report)  # plain JSON types only
    assert report["objective"] == {
        "name": "inertia",
        "value": result.objective,
        "unit": "units x units^2",
    }
    assert len(report["territories"]) == 4
    assert report["territories"][0]["totals"] == {"accounts": 4.0, "revenue": 40.0}
    assert report["seed"] == 0 and report["method"] == "lagrangian+local-search"
    frame = result.to_frame()
    assert list(frame.columns) == ["id", "territory", "reason"] and len(frame) == 16


def test_estimator_form_stores_parameters_and_results(grid: DesignProblem) -> None:
    est = TerritoryDesigner(method="heuristic", time_limit=30, seed=3)
    assert est.seed == 3 and not hasattr(est, "plan_")
    est.fit(grid)
    assert est.plan_.n_units == 16 and est.objective_ == est.result_.objective


def test_realignment_result_knows_its_parent() -> None:
    problem = random_book(200, 4, seed=2, tol=0.1)
    first = design(problem, method="heuristic", time_limit=30)
    again = design(
        problem.with_changes(current=first.assignment, max_moves=5),
        method="heuristic",
        time_limit=30,
    )
    assert again.plan.parent is not None
    assert np.array_equal(again.plan.parent.assignment, first.assignment)
    assert again.moved["units"] <= 5


def test_exact_is_tried_on_small_instances(grid: DesignProblem) -> None:
    result = design(grid, method="auto", time_limit=60, seed=0)
    assert result.feasible
    # four T-tetrominoes (hub as center: 0+1+1+1) tile the grid: the optimum is 12
    assert result.objective == pytest.approx(12.0)
    assert result.lower_bound is not None and result.lower_bound <= result.objective + 1e-9


def test_plans_round_trip_through_the_store(store_url: str) -> None:
    from territorial.store import open_store
    from territorial.store.plans import list_plans, load_plan, save_plan

    problem = random_book(40, 2, seed=1, tol=0.2)
    result = design(problem, method="heuristic", time_limit=30)
    engine = open_store(store_url)
    first = save_plan(engine, name="FY27 draft", result=result, parameters={"seed": 0})
    second = save_plan(engine, name="FY27 v2", result=result, parameters={}, parent_id=first)
    loaded = load_plan(engine, plan_id=first)
    assert loaded["name"] == "FY27 draft" and loaded["status"] == "draft"
    assert len(loaded["assignments"]) == 40
    assert loaded["report"]["feasible"] is True
    got = dict(
        zip(loaded["assignments"]["account_id"], loaded["assignments"]["territory_id"], strict=True)
    )
    assert got == dict(zip(result.to_frame()["id"], result.to_frame()["territory"], strict=True))
    plans = list_plans(engine)
    assert dict(zip(plans["id"], plans["status"], strict=True)) == {
        first: "draft",
        second: "draft",
    }
    assert dict(zip(plans["id"], plans["parent_id"], strict=True))[second] == first
    engine.dispose()
