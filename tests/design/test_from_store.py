"""Design from the store: every option of ``design --from-store`` changes the plan (or is
refused), on SQLite and PostgreSQL. The store is the hand-drawn one of ``_store_fixtures``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _store_fixtures import ACCOUNT_IDS, HEALTHCARE, make_store
from sqlalchemy import Engine

from territorial.design.adapters import StoreDesignOptions, build_store_problem
from territorial.design.service import design_from_store
from territorial.errors import ConfigError, InfeasibleError, NotFoundError
from territorial.store.plans import load_plan

FAST: dict[str, Any] = {"time_limit": 20, "seed": 3}


@pytest.fixture
def store(store_url: str) -> Engine:
    engine = make_store(store_url)
    yield engine
    engine.dispose()


def _plan(done: Any) -> dict[str, str]:
    frame = done.result.to_frame()
    return dict(zip(frame["id"], frame["territory"], strict=True))


def _design(engine: Engine, **options: Any) -> Any:
    save_as = options.pop("save_as", None)
    return design_from_store(engine, {**FAST, **options}, save_as=save_as)


def test_only_account_executives_carry_territories(store: Engine) -> None:
    built = build_store_problem(store, StoreDesignOptions())
    assert built.problem.territory_ids == ("R1", "R2", "R3")  # not M1, S1 (SDR), R4 (inactive)
    assert any("2 active reps carry no territory" in n for n in built.notes)
    everyone = build_store_problem(store, StoreDesignOptions(), territory_roles=("*",))
    assert everyone.problem.territory_ids == ("M1", "R1", "R2", "R3")  # S1: max_accounts 0


def test_listed_reps_and_a_count_without_reps(store: Engine) -> None:
    listed = build_store_problem(store, StoreDesignOptions(territories=["R2", "M1"]))
    assert listed.problem.territory_ids == ("R2", "M1")
    counted = build_store_problem(store, StoreDesignOptions(territories=4))
    assert counted.problem.n_territories == 4 and counted.problem.centers is None
    with pytest.raises(NotFoundError, match="'ghost'"):
        build_store_problem(store, StoreDesignOptions(territories=["ghost"]))
    with pytest.raises(ConfigError, match=r"'R4'.*not active"):
        build_store_problem(store, StoreDesignOptions(territories=["R4"]))


def test_tolerance_per_measure(store: Engine) -> None:
    built = build_store_problem(
        store, StoreDesignOptions(balance=["accounts=0%", "annual_revenue=25%"])
    )
    assert [(b.measure, b.tolerance) for b in built.problem.balance] == [
        ("accounts", 0.0),
        ("annual_revenue", 0.25),
    ]
    done = _design(store, balance={"accounts": 0.0, "potential": 0.3})
    counts = pd.Series(_plan(done)).value_counts()
    assert counts.tolist() == [12, 12, 12]


def test_weight_defaults_to_the_first_balanced_measure(store: Engine) -> None:
    built = build_store_problem(store, StoreDesignOptions(balance={"potential": 0.1}))
    assert built.weight == "potential" and built.problem.weight == "potential"
    none = build_store_problem(store, StoreDesignOptions(weight="none"))
    assert none.weight is None and none.problem.weight is None


def test_locked_accounts_stay(store: Engine) -> None:
    # A00 and A06 are in the far west; lock them to the eastern rep
    done = _design(store, locked=[("A00", "R2"), ("A06", "R2")], balance={"accounts": 0.2})
    plan = _plan(done)
    assert plan["A00"] == "R2" and plan["A06"] == "R2"
    free = _design(store, balance={"accounts": 0.2})
    assert _plan(free)["A00"] != "R2"  # the lock is what put it there


def test_current_plan_and_max_moves(store: Engine) -> None:
    first = _design(store, balance={"accounts": 0.0}, save_as="first")
    assert first.plan_id is not None
    # a much looser balance with the store's plan as current and at most 2 moves
    done = _design(
        store, balance={"accounts": 0.5}, current_plan=first.plan_id, max_moves=2, save_as="next"
    )
    before, after = _plan(first), _plan(done)
    assert sum(before[a] != after[a] for a in ACCOUNT_IDS) <= 2
    assert load_plan(store, plan_id=done.plan_id)["parent_id"] == first.plan_id
    with pytest.raises(ConfigError, match="--max-moves needs a current plan"):
        build_store_problem(store, StoreDesignOptions(max_moves=2))


def test_active_plan_locks_are_kept(store: Engine) -> None:
    from sqlalchemy import update

    from territorial.planning import lifecycle
    from territorial.store.tables import plan_assignments, plans

    first = _design(store, balance={"accounts": 0.0}, save_as="first")
    with store.begin() as conn:  # lock A00 to R2 in the stored plan, and make it active
        conn.execute(
            update(plan_assignments)
            .where(plan_assignments.c.plan_id == first.plan_id)
            .where(plan_assignments.c.account_id == "A00")
            .values(territory_id="R2", locked=True)
        )
        conn.execute(update(plans).where(plans.c.id == first.plan_id).values(status="active"))
    assert lifecycle.get_version(store, plan_id=first.plan_id)["status"] == "active"
    kept = build_store_problem(store, StoreDesignOptions(current_plan="active"))
    assert kept.current_plan_id == first.plan_id
    a00 = ACCOUNT_IDS.index("A00")
    assert kept.problem.locked is not None and kept.problem.locked[a00] == 1  # R2
    dropped = build_store_problem(
        store, StoreDesignOptions(current_plan="active", keep_locks=False)
    )
    assert dropped.problem.locked is None


def test_segment_keeps_segments_apart(store: Engine) -> None:
    done = _design(store, segment="segment", balance={"accounts": 0.5})
    plan = pd.Series(_plan(done))
    segment = pd.Series(
        {a: "SMB" if i % 6 < 3 else "Enterprise" for i, a in enumerate(ACCOUNT_IDS)}
    )
    mixed = plan.groupby(plan).apply(lambda t: segment[t.index].nunique())
    assert (mixed == 1).all()


def test_specialties_restrict_never_lock(store: Engine) -> None:
    built = build_store_problem(store, StoreDesignOptions(specialties=True))
    problem = built.problem
    assert problem.locked is None and problem.allowed is not None
    hc = [ACCOUNT_IDS.index(a) for a in HEALTHCARE]
    r3 = problem.territory_ids.index("R3")
    assert problem.allowed[hc].sum(axis=1).tolist() == [1] * len(hc)
    assert problem.allowed[hc, r3].all()
    retail = [i for i in range(len(ACCOUNT_IDS)) if i not in hc]
    assert not problem.allowed[retail, r3].any()  # retail has specialists too (R1, R2)
    done = _design(store, specialties=True, balance={"accounts": 0.9})
    plan = _plan(done)
    assert {plan[a] for a in HEALTHCARE} == {"R3"}


def test_specialties_as_text_do_not_crash(store_url: str) -> None:
    engine = make_store(store_url, rep_changes={"R3": {"specialties": ["Healthcare|Energy"]}})
    built = build_store_problem(engine, StoreDesignOptions(specialties=True))
    assert built.problem.allowed is not None
    engine.dispose()


def test_absolute_max_and_min(store: Engine) -> None:
    done = _design(store, balance={"potential": 0.9}, max_totals={"accounts": 13})
    counts = pd.Series(_plan(done)).value_counts()
    assert counts.max() <= 13
    built = build_store_problem(store, StoreDesignOptions(min_totals=["accounts=11"]))
    (limit,) = [lim for lim in built.problem.limits if lim.measure == "accounts"]
    assert np.array_equal(limit.lower, [11.0, 11.0, 11.0])
    with pytest.raises(ConfigError, match="'nothing' is neither an account column"):
        build_store_problem(store, StoreDesignOptions(max_totals={"nothing": 1}))


def test_rep_capacity_limits_their_territory(store_url: str) -> None:
    # R1 works 20 h a week: 20 x 46 weeks x 0.6 utilisation = 552 h/yr = 11 accounts of 50 h
    engine = make_store(store_url, rep_changes={"R1": {"capacity_hours": 20.0, "max_accounts": 40}})
    built = build_store_problem(engine, StoreDesignOptions())
    upper = {lim.measure: lim.upper for lim in built.problem.limits}
    assert upper["workload_hours"][0] == pytest.approx(552.0)
    done = design_from_store(engine, {**FAST, "balance": {"potential": 0.9}})
    counts = pd.Series(_plan(done)).value_counts()
    assert counts["R1"] <= 11
    off = design_from_store(engine, {**FAST, "balance": {"potential": 0.9}, "capacity": False})
    assert not off.result.problem.limits
    engine.dispose()


def test_max_accounts_limits_the_book(store_url: str) -> None:
    engine = make_store(store_url, rep_changes={"R2": {"max_accounts": 5}})
    done = design_from_store(engine, {**FAST, "balance": {"potential": 0.95}})
    assert pd.Series(_plan(done)).value_counts()["R2"] <= 5
    engine.dispose()


def test_infeasible_capacity_is_explained(store_url: str) -> None:
    engine = make_store(
        store_url, rep_changes={r: {"capacity_hours": 5.0} for r in ("R1", "R2", "R3")}
    )
    with pytest.raises(InfeasibleError, match="workload_hours"):
        design_from_store(engine, {**FAST, "balance": {"potential": 0.5}})
    engine.dispose()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"balance": {"potential": 1.5}}, "tolerance of 'potential'"),
        ({"balance": ["potential"]}, "MEASURE=VALUE"),
        ({"territories": 0}, "at least 1"),
        ({"max_totals": {"accounts": -1}}, "non-negative"),
        ({"colour": "red"}, "colour"),
        ({"current_plan": 1, "current": [("A00", "R1")]}, "current plan once"),
    ],
)
def test_bad_options_are_refused_with_their_name(
    store: Engine, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_store_problem(store, StoreDesignOptions.parse(options))


def test_unknown_measure_names_the_known_ones(store: Engine) -> None:
    with pytest.raises(ConfigError, match=r"'pipeline' is neither.*annual_revenue"):
        build_store_problem(store, StoreDesignOptions(balance={"pipeline": 0.1}))


def test_specialties_need_accounts_as_units(store: Engine) -> None:
    with pytest.raises(ConfigError, match="--specialties works on accounts"):
        build_store_problem(store, StoreDesignOptions(specialties=True, unit="postal_code"))


def test_postal_code_units_expand_to_accounts(store: Engine, tmp_path: Path) -> None:
    done = _design(store, unit="postal_code", balance={"accounts": 0.5}, save_as="zips")
    assert done.result.problem.n_units == 36  # one postal code per account here
    stored = load_plan(store, plan_id=done.plan_id)["assignments"]
    assert sorted(stored["account_id"]) == ACCOUNT_IDS


def test_every_assignment_is_explained(store: Engine) -> None:
    done = _design(
        store,
        balance={"accounts": 0.9},
        specialties=True,
        locked=[("A01", "R2")],
        save_as="explained",
    )
    frame = done.result.to_frame()
    reasons = dict(zip(frame["id"], frame["reason"], strict=True))
    assert all(reasons.values())
    assert reasons["A01"] == "locked to 'R2'"
    restricted = [r for a, r in reasons.items() if a in HEALTHCARE]
    assert all(r.startswith("restricted by specialty to 1 territories") for r in restricted)
    stored = load_plan(store, plan_id=done.plan_id)["assignments"].set_index("account_id")
    assert stored.loc["A01", "reason"] == "locked to 'R2'"
    again = _design(store, balance={"accounts": 0.5}, current_plan=done.plan_id, max_moves=2)
    assert "kept from the current plan" in again.result.to_frame()["reason"].tolist()
