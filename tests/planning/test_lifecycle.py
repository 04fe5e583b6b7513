"""The lifecycle of a version of the territory model: transitions, who may approve,
immutability, copies and diffs; bad transitions change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select

from territorial.errors import ConfigError, ConflictError, NotFoundError, PermissionDeniedError
from territorial.planning import lifecycle
from territorial.planning.activation import activate
from territorial.planning.lifecycle import Actor
from territorial.store.planning import list_events, plan_events
from territorial.store.plans import load_plan
from territorial.store.tables import plan_assignments, plans
from territorial.web.auth import add_user


def _status(engine: Engine, plan_id: int) -> str:
    return lifecycle.get_version(engine, plan_id=plan_id)["status"]


def _snapshot(engine: Engine) -> tuple:
    with engine.connect() as conn:
        return (
            tuple(conn.execute(select(plans.c.id, plans.c.status).order_by(plans.c.id)).all()),
            conn.execute(select(func.count()).select_from(plan_events)).scalar(),
        )


def test_draft_to_active_with_events(company: Engine, save_designed_plan) -> None:
    plan = save_designed_plan("FY27", created_by="cli")
    assert _status(company, plan) == "draft"
    lifecycle.submit(company, plan_id=plan)
    assert _status(company, plan) == "submitted"
    lifecycle.approve(company, plan_id=plan)
    assert _status(company, plan) == "approved"
    activate(company, plan_id=plan)
    version = lifecycle.get_version(company, plan_id=plan)
    assert version["status"] == "active"
    assert version["effective_date"] == date.today()
    actions = [e["action"] for e in list_events(company, plan_id=plan)]
    assert actions == ["created", "submitted", "approved", "activated"]


def test_reject_needs_a_reason_and_returns_to_draft(company: Engine, save_designed_plan) -> None:
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    with pytest.raises(ConfigError, match="reason"):
        lifecycle.reject(company, plan_id=plan, reason="  ")
    lifecycle.reject(company, plan_id=plan, reason="Texas is split in three")
    assert _status(company, plan) == "draft"
    last = list_events(company, plan_id=plan)[-1]
    assert (last["action"], last["note"]) == ("rejected", "Texas is split in three")


@pytest.mark.parametrize(
    ("steps", "action", "error"),
    [
        ([], "approve", ConflictError),  # a draft cannot be approved
        ([], "activate", ConflictError),  # nor activated
        (["submit"], "activate", ConflictError),  # a submitted plan cannot be activated
        (["submit"], "submit", ConflictError),  # nor submitted twice
        ([], "reject", ConflictError),  # only submitted plans are rejected
    ],
)
def test_wrong_transitions_change_nothing(
    company: Engine, save_designed_plan, steps: list[str], action: str, error: type
) -> None:
    plan = save_designed_plan()
    for step in steps:
        getattr(lifecycle, step)(company, plan_id=plan)
    before = _snapshot(company)
    with pytest.raises(error):
        if action == "activate":
            activate(company, plan_id=plan)
        elif action == "reject":
            lifecycle.reject(company, plan_id=plan, reason="no")
        else:
            getattr(lifecycle, action)(company, plan_id=plan)
    assert _snapshot(company) == before


def test_unknown_plan_is_not_found(company: Engine) -> None:
    for call in (
        lambda: lifecycle.submit(company, plan_id=999),
        lambda: lifecycle.approve(company, plan_id=999),
        lambda: activate(company, plan_id=999),
        lambda: lifecycle.get_version(company, plan_id=999),
    ):
        with pytest.raises(NotFoundError, match="no plan 999"):
            call()


def test_effective_date_in_the_past_is_refused(company: Engine, save_designed_plan) -> None:
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    before = _snapshot(company)
    yesterday = date.today() - timedelta(days=1)
    with pytest.raises(ConfigError, match="in the past"):
        activate(company, plan_id=plan, effective_date=yesterday)
    assert _snapshot(company) == before


def test_approval_by_someone_other_than_the_author(company: Engine, save_designed_plan) -> None:
    add_user(company, email="pat@example.com", role="planner", password="long enough 1")
    add_user(company, email="sam@example.com", role="admin", password="long enough 2")
    add_user(
        company, email="rita@example.com", role="rep", password="long enough 3", rep_id="R000001"
    )
    pat = lifecycle.actor_for(company, "pat@example.com")
    sam = lifecycle.actor_for(company, "sam@example.com")
    rita = lifecycle.actor_for(company, "rita@example.com")
    plan = save_designed_plan(created_by="pat@example.com")
    lifecycle.submit(company, plan_id=plan, actor=pat)
    with pytest.raises(PermissionDeniedError, match="may not approve"):
        lifecycle.approve(company, plan_id=plan, actor=pat)
    with pytest.raises(PermissionDeniedError, match="--user"):
        lifecycle.approve(company, plan_id=plan)  # the command line, unnamed
    with pytest.raises(PermissionDeniedError):
        lifecycle.approve(company, plan_id=plan, actor=rita)  # reps never approve
    assert _status(company, plan) == "submitted"
    lifecycle.approve(company, plan_id=plan, actor=sam)
    version = lifecycle.get_version(company, plan_id=plan)
    assert (version["status"], version["approved_by"]) == ("approved", "sam@example.com")


def test_a_team_of_one_approves_its_own_plan(company: Engine, save_designed_plan) -> None:
    add_user(company, email="solo@example.com", role="admin", password="long enough 1")
    solo = lifecycle.actor_for(company, "solo@example.com")
    plan = save_designed_plan(created_by="solo@example.com")
    lifecycle.submit(company, plan_id=plan, actor=solo)
    lifecycle.approve(company, plan_id=plan, actor=solo)
    assert _status(company, plan) == "approved"


def test_frozen_versions_are_copied_not_changed(company: Engine, save_designed_plan) -> None:
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    with company.begin() as conn, pytest.raises(ConflictError, match="plans copy"):
        lifecycle.ensure_editable(conn, plan)
    draft = lifecycle.new_draft(company, plan_id=plan, actor=Actor("cli"))
    copy = load_plan(company, plan_id=draft)
    original = load_plan(company, plan_id=plan)
    assert copy["status"] == "draft" and copy["parent_id"] == plan
    assert copy["assignments"].equals(original["assignments"])
    with company.begin() as conn:
        lifecycle.ensure_editable(conn, draft)  # a draft may change
    diff = lifecycle.diff(company, a=plan, b=draft)
    assert diff.moved_accounts == 0


def test_archive_keeps_history_and_refuses_the_active_plan(
    company: Engine, save_designed_plan
) -> None:
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    activate(company, plan_id=plan)
    with pytest.raises(ConflictError, match="active territory model"):
        lifecycle.archive(company, plan_id=plan)
    other = save_designed_plan("alternative", seed=2)
    lifecycle.archive(company, plan_id=other)
    assert _status(company, other) == "archived"
    with company.connect() as conn:
        kept = conn.execute(
            select(func.count())
            .select_from(plan_assignments)
            .where(plan_assignments.c.plan_id == other)
        ).scalar()
    assert kept > 0


def test_review_date_flags_the_active_version(company: Engine, save_designed_plan) -> None:
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    activate(company, plan_id=plan)
    lifecycle.set_review_date(company, plan_id=plan, review_date=date.today())
    rows = {r["id"]: r for r in lifecycle.list_versions(company)}
    assert rows[plan]["review_due"] is True
    lifecycle.set_review_date(company, plan_id=plan, review_date=date.today() + timedelta(90))
    assert lifecycle.list_versions(company)[0]["review_due"] is False


def test_diff_counts_per_rep_and_territory(company: Engine, save_designed_plan) -> None:
    a = save_designed_plan("A", seed=1)
    b = lifecycle.new_draft(company, plan_id=a)
    with company.begin() as conn:
        rows = conn.execute(
            select(plan_assignments.c.account_id, plan_assignments.c.territory_id)
            .where(plan_assignments.c.plan_id == b)
            .order_by(plan_assignments.c.account_id)
        ).all()
        territories = sorted({t for _, t in rows})
        moved = [acc for acc, t in rows if t == territories[0]][:3]
        conn.execute(
            plan_assignments.update()
            .where(plan_assignments.c.plan_id == b, plan_assignments.c.account_id.in_(moved))
            .values(territory_id=territories[1])
        )
    result = lifecycle.diff(company, a=a, b=b)
    assert sorted(result.moves["account_id"]) == sorted(moved)
    per = result.territories.set_index("territory_id")
    assert per.loc[territories[0], "lost"] == 3 and per.loc[territories[1], "gained"] == 3
    assert per.loc[territories[0], "accounts_b"] == per.loc[territories[0], "accounts_a"] - 3
    reps = result.reps.set_index("rep_id")
    assert reps.loc[territories[1], "gained"] == 3
