"""Activation: owners, routing rules, holdovers and alerts in one transaction; routing
then gives the plan's owners; scheduled versions take effect on their date."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, update

from territorial.errors import ConflictError
from territorial.planning import lifecycle
from territorial.planning.activation import HoldoverPolicy, activate, activate_due
from territorial.planning.ownership import book, owner_history, territory_reps
from territorial.routing.service import RoutingService
from territorial.store.planning import (
    holdovers,
    list_notifications,
    notifications,
    plan_members,
)
from territorial.store.planning import owner_history as owner_history_table
from territorial.store.routing import outbox, rule_sets
from territorial.store.tables import accounts, opportunities


def _approved(company: Engine, save_designed_plan, **kwargs) -> int:
    plan = save_designed_plan(**kwargs)
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    return plan


def _owners(company: Engine) -> dict[str, str | None]:
    with company.connect() as conn:
        return dict(conn.execute(select(accounts.c.id, accounts.c.owner_id)).all())


def _count(company: Engine, table) -> int:
    with company.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_activation_sets_owners_history_rules_alerts(company: Engine, save_designed_plan) -> None:
    before = _owners(company)
    plan = _approved(company, save_designed_plan)
    expected = book(company, plan_id=plan).set_index("account_id")["rep_id"].to_dict()
    changed = {a for a, rep in expected.items() if before.get(a) != rep}
    assert changed, "the designed plan should move some accounts away from their CRM owner"

    report = activate(company, plan_id=plan)

    after = _owners(company)
    assert {a: after[a] for a in expected} == expected
    assert report.owners_changed == len(changed)
    # history: one row per changed account, with the previous owner
    with company.connect() as conn:
        rows = conn.execute(
            select(
                owner_history_table.c.account_id,
                owner_history_table.c.previous_owner_id,
                owner_history_table.c.owner_id,
            )
        ).all()
    assert {r.account_id for r in rows} == changed
    assert all(before[r.account_id] == r.previous_owner_id for r in rows)
    one = next(iter(changed))
    assert owner_history(company, account_id=one)[-1]["plan_id"] == plan
    # ownership now answers from the active plan
    assert lifecycle.get_version(company, plan_id=plan)["status"] == "active"
    assert book(company).set_index("account_id")["rep_id"].to_dict() == expected
    # alerts: a notification per rep whose book changed, e-mails for those with an address
    gainers = {expected[a] for a in changed} | {before[a] for a in changed if before[a]}
    notes = list_notifications(company)
    assert {n["rep_id"] for n in notes} == gainers
    assert report.reps_notified == len(gainers)
    note = next(n for n in notes if n["body"]["gained"])
    assert note["kind"] == "book_changed" and note["body"]["plan_id"] == plan
    assert _count(company, outbox) == report.emails_queued > 0


def test_routing_gives_the_plans_owners(company: Engine, save_designed_plan) -> None:
    plan = _approved(company, save_designed_plan)
    activate(company, plan_id=plan)
    expected = book(company).set_index("account_id")
    service = RoutingService(company)
    frame = pd.read_sql(
        select(
            accounts.c.id,
            accounts.c.name,
            accounts.c.domain,
            accounts.c.state,
            accounts.c.postal_code,
        ),
        company,
    )
    # an account record as the CRM sends it
    for row in frame.head(40).itertuples(index=False):
        record = {
            "id": row.id,
            "name": row.name,
            "state": row.state,
            "postal_code": row.postal_code,
        }
        decision = service.route(record, kind="account")
        assert decision.territory_id == expected.loc[row.id, "territory_id"]
        assert decision.owner_id == expected.loc[row.id, "rep_id"]
    # an opportunity of an account takes the account's fields from the store
    decision = service.route(
        {"id": "O-new", "account_id": frame["id"].iloc[0], "is_closed": True}, kind="opportunity"
    )
    assert decision.owner_id == expected.loc[frame["id"].iloc[0], "rep_id"]
    # a lead that matches an existing account (by web domain) goes to that account's owner
    with_domain = frame[frame["domain"].notna()].iloc[0]
    lead = {
        "id": "L-1",
        "company": "Someone",
        "email": f"pat@{with_domain['domain']}",
        "website": f"https://www.{with_domain['domain']}",
    }
    decision = service.route(lead, kind="lead")
    assert decision.owner_id == expected.loc[with_domain["id"], "rep_id"]
    # and a new lead in a state the plan covers reaches a territory (the state fallback)
    state = frame["state"].dropna().iloc[0]
    decision = service.route({"id": "L-2", "company": "Brand New Co", "state": state}, kind="lead")
    assert decision.territory_id is not None


@pytest.mark.parametrize("mode", ["until_close", "until_date", "none"])
def test_holdover_policy(company: Engine, save_designed_plan, mode: str) -> None:
    before = _owners(company)
    plan = _approved(company, save_designed_plan)
    expected = book(company, plan_id=plan).set_index("account_id")["rep_id"]
    with company.connect() as conn:
        opps = pd.DataFrame(
            conn.execute(
                select(
                    opportunities.c.id, opportunities.c.account_id, opportunities.c.owner_id
                ).where(opportunities.c.is_closed.is_(False))
            ).all(),
            columns=["id", "account_id", "owner_id"],
        )
    moving = opps[
        opps["account_id"].map(lambda a: before.get(a) != expected.get(a))
        & (opps["owner_id"] != opps["account_id"].map(expected))
        & opps["account_id"].isin(expected.index)
    ]
    assert len(moving) > 0
    until = date.today() + timedelta(days=30) if mode == "until_date" else None
    report = activate(company, plan_id=plan, holdover=HoldoverPolicy(mode=mode, until=until))
    with company.connect() as conn:
        now_owner = dict(
            conn.execute(
                select(opportunities.c.id, opportunities.c.owner_id).where(
                    opportunities.c.id.in_(moving["id"].tolist())
                )
            ).all()
        )
        rows = conn.execute(select(holdovers)).mappings().all()
    assert {r["opportunity_id"] for r in rows} == set(moving["id"])
    if mode == "none":
        assert report.transferred_opportunities == len(moving)
        assert all(now_owner[o] == expected[a] for o, a in moving[["id", "account_id"]].values)
    else:
        assert report.held_opportunities == len(moving)
        assert all(now_owner[o] == own for o, own in moving[["id", "owner_id"]].values)
        assert all(r["until"] == until for r in rows)


def test_a_failure_rolls_everything_back(company: Engine, save_designed_plan) -> None:
    before = _owners(company)
    plan = _approved(company, save_designed_plan)
    # a territory whose owner is not a rep of the store: refused before anything changes
    with company.begin() as conn:
        conn.execute(
            update(plan_members)
            .where(plan_members.c.plan_id == plan)
            .where(plan_members.c.territory_id == territory_reps(company, plan_id=plan).iloc[0, 0])
            .values(rep_id="NOBODY")
        )
    counts = [
        _count(company, t) for t in (owner_history_table, holdovers, notifications, rule_sets)
    ]
    with pytest.raises(ConflictError, match="not reps in the store: NOBODY"):
        activate(company, plan_id=plan)
    assert _owners(company) == before
    assert [
        _count(company, t) for t in (owner_history_table, holdovers, notifications, rule_sets)
    ] == counts
    assert lifecycle.get_version(company, plan_id=plan)["status"] == "approved"


def test_a_late_failure_rolls_back_owners(
    company: Engine, save_designed_plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Owners are written before the routing rules: a failure there undoes them."""
    from territorial.planning import activation

    before = _owners(company)
    plan = _approved(company, save_designed_plan)

    def boom(*_, **__):
        raise ConflictError("rules could not be stored")

    monkeypatch.setattr(activation, "_activate_rules", boom)
    with pytest.raises(ConflictError, match="rules could not be stored"):
        activate(company, plan_id=plan)
    assert _owners(company) == before
    assert _count(company, owner_history_table) == 0


def test_second_activation_supersedes_the_first(company: Engine, save_designed_plan) -> None:
    first = _approved(company, save_designed_plan, name="first")
    activate(company, plan_id=first)
    second = _approved(company, save_designed_plan, name="second", seed=5)
    report = activate(company, plan_id=second)
    assert report.superseded_plan_id == first
    statuses = {v["id"]: v["status"] for v in lifecycle.list_versions(company)}
    assert statuses == {first: "superseded", second: "active"}
    with company.connect() as conn:
        active = conn.execute(select(rule_sets.c.id).where(rule_sets.c.status == "active")).all()
    assert [r[0] for r in active] == [report.rule_set_id]


def test_scheduled_activation_takes_effect_on_its_date(company: Engine, save_designed_plan) -> None:
    before = _owners(company)
    plan = _approved(company, save_designed_plan)
    later = date.today() + timedelta(days=10)
    report = activate(company, plan_id=plan, effective_date=later)
    assert report.status == "scheduled"
    assert _owners(company) == before  # nothing changes before the date
    assert activate_due(company) == []
    reports = activate_due(company, today=later)
    assert [r.plan_id for r in reports] == [plan]
    version = lifecycle.get_version(company, plan_id=plan)
    assert (version["status"], version["effective_date"]) == ("active", later)
    assert _owners(company) != before


def test_a_new_version_keeps_the_rules_exclusions_and_settings(
    company: Engine, save_designed_plan
) -> None:
    """The generated rules replace the territories; a planner's exclusions and settings
    of the active rule set carry over (read without parsing the old territories)."""
    import yaml

    first = _approved(company, save_designed_plan, name="first")
    activate(company, plan_id=first)
    with company.begin() as conn:
        row = conn.execute(
            select(rule_sets.c.id, rule_sets.c.source).where(rule_sets.c.status == "active")
        ).one()
        edited = row.source + (
            "exclusions:\n"
            "- name: Partner-managed\n"
            "  match: {state: [HI]}\n"
            "  reason: Hawaii goes through the partner\n"
        )
        edited = edited.replace("settings:\n", "settings:\n  match_threshold: 0.85\n", 1)
        conn.execute(update(rule_sets).where(rule_sets.c.id == row.id).values(source=edited))
    second = _approved(company, save_designed_plan, name="second", seed=5)
    report = activate(company, plan_id=second)
    with company.connect() as conn:
        source = conn.execute(
            select(rule_sets.c.source).where(rule_sets.c.id == report.rule_set_id)
        ).scalar_one()
    document = yaml.safe_load(source)
    assert document["exclusions"][0]["name"] == "Partner-managed"
    assert document["settings"]["match_threshold"] == 0.85
    assert document["regions"][0]["id"] == f"plan-{second}"
