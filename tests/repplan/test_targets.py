"""Targets: in the rep's book, sized to capacity, each with a rationale naming facts."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from territorial.errors import ConfigError, NotFoundError
from territorial.planning.ownership import book
from territorial.repplan import PlanOptions, build_rep_plan, load_plan_data
from territorial.scoring.workload import great_circle_miles

START = date(2026, 11, 2)  # a Monday


def test_every_target_is_in_the_reps_book_with_a_rationale_naming_its_facts(scored: Engine) -> None:
    data = load_plan_data(scored)
    owners = book(scored).set_index("account_id")["rep_id"]
    accounts = data.accounts.set_index("id")
    reps = data.carriers()
    assert len(reps) >= 5
    total = 0
    for rep_id in reps:
        plan = build_rep_plan(data, rep_id, PlanOptions(start=START))
        total += len(plan.targets)
        for t in plan.targets.itertuples():
            assert owners[t.account_id] == rep_id
            facts = accounts.loc[t.account_id]
            assert t.rationale.strip()
            # a concrete fact of this account: its industry and its city are named
            assert str(facts["industry"]) in t.rationale
            assert str(facts["city"]) in t.rationale
            assert f"Potential ${0:.0f}" not in t.rationale or facts["potential"] == 0
    assert total > 0


def test_no_week_goes_over_the_limit_and_the_limit_is_within_capacity(scored: Engine) -> None:
    data = load_plan_data(scored)
    for rep_id in data.carriers():
        plan = build_rep_plan(data, rep_id, PlanOptions(start=START))
        cap = plan.capacity
        assert cap.plan_limit <= cap.capacity + 1e-9
        assert (plan.weekly["target_hours"] <= cap.plan_limit + 1e-6).all(), plan.weekly
        if not cap.overloaded:
            assert (plan.weekly["total_hours"] <= cap.capacity + 1e-6).all()
        assert plan.numbers["busiest_week_hours"] == pytest.approx(plan.weekly["total_hours"].max())


def test_schedule_is_dated_on_weekdays_inside_the_quarter_in_sequence_order(scored: Engine) -> None:
    data = load_plan_data(scored)
    plan = build_rep_plan(data, data.carriers()[0], PlanOptions(start=START))
    assert plan.start == START and plan.end == START + timedelta(days=13 * 7 - 1)
    s = plan.schedule
    assert len(s) > 0
    assert all(START <= d <= plan.end for d in s["date"])
    assert all(d.weekday() < 5 for d in s["date"])
    for account, steps in s.groupby("account_id", sort=False):
        assert list(steps["date"]) == sorted(steps["date"])
        target = plan.targets.set_index("account_id").loc[account]
        assert target["first_step_date"] == steps["date"].min()
        assert "decision" in set(steps["channel"])
        assert target["channels"].count("|") == len(steps) - 1


def test_expansion_share_decides_the_mix(scored: Engine) -> None:
    data = load_plan_data(scored)
    rep_id = data.carriers()[0]
    only_new = build_rep_plan(data, rep_id, PlanOptions(start=START, expansion_share=0.0))
    only_expansion = build_rep_plan(data, rep_id, PlanOptions(start=START, expansion_share=1.0))
    assert set(only_new.targets["pool"]) == {"new logo"}
    assert set(only_expansion.targets["pool"]) == {"expansion"}
    customers = data.accounts.set_index("id")["customer"]
    assert customers[only_expansion.targets["account_id"]].all()
    assert not customers[only_new.targets["account_id"]].any()


def test_max_targets_and_bad_options(scored: Engine) -> None:
    data = load_plan_data(scored)
    rep_id = data.carriers()[0]
    assert len(build_rep_plan(data, rep_id, PlanOptions(start=START, max_targets=3)).targets) == 3
    with pytest.raises(ConfigError, match=r"expansion share must be 0-1; got 1\.5"):
        build_rep_plan(data, rep_id, PlanOptions(expansion_share=1.5))
    with pytest.raises(ConfigError, match="weeks must be 4-26; got 2"):
        build_rep_plan(data, rep_id, PlanOptions(weeks=2))


def test_unknown_rep_and_rep_without_territory_are_refused(scored: Engine) -> None:
    data = load_plan_data(scored)
    with pytest.raises(NotFoundError, match="no rep 'R999'"):
        build_rep_plan(data, "R999")
    without = sorted(set(data.reps["id"]) - set(data.carriers()))
    assert without, "the sample has reps without accounts (managers)"
    with pytest.raises(ConfigError, match=f"rep {without[0]} carries no territory"):
        build_rep_plan(data, without[0])


def test_lookalikes_are_recent_customers_of_the_same_industry_nearby(scored: Engine) -> None:
    data = load_plan_data(scored)
    accounts = data.accounts.set_index("id")
    won = data.won.set_index("account_id")
    seen = 0
    for rep_id in data.carriers():
        plan = build_rep_plan(data, rep_id, PlanOptions(start=START))
        for t in plan.targets.itertuples():
            if "Looks like " not in t.rationale:
                continue
            name = t.rationale.split("Looks like ", 1)[1].split(", a ", 1)[0]
            match = accounts[(accounts["name"] == name) & accounts["customer"]]
            assert len(match), name
            other = match.iloc[0]
            assert other.name != t.account_id
            assert other["industry"] == accounts.loc[t.account_id, "industry"]
            miles = great_circle_miles(
                other["latitude"],
                other["longitude"],
                accounts.loc[t.account_id, "latitude"],
                accounts.loc[t.account_id, "longitude"],
            )
            assert float(miles) <= 150 + 1e-6
            assert other.name in won.index
            seen += 1
    assert seen > 0


def test_capacity_after_customers_workload(scored: Engine) -> None:
    data = load_plan_data(scored)
    rep_id = data.carriers()[0]
    plan = build_rep_plan(
        data, rep_id, PlanOptions(start=START, outreach_share=1.0, protected_share=0.0)
    )
    mine = data.book_of(rep_id)
    load = mine.loc[mine["customer"], "workload_hours"].sum() / 52
    rep = data.rep_row(rep_id)
    assert plan.capacity.customer_load == pytest.approx(load)
    assert plan.capacity.free == pytest.approx(max(0.0, rep["capacity_hours"] - load))
    assert plan.capacity.plan_limit == pytest.approx(plan.capacity.free)
    if plan.capacity.free == 0:
        assert plan.targets.empty
    assert np.isfinite(plan.weekly["target_hours"]).all()
