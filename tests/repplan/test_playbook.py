"""The playbook: defaults, user files, validation with lines, and rules named on output."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.errors import ConfigError, ValidationError
from territorial.repplan import PlanOptions, build_rep_plan, load_plan_data
from territorial.repplan.playbook import DEFAULT_PLAYBOOK, default_playbook, load_playbook

START = date(2026, 11, 2)


def test_the_default_playbook_loads_and_ends_with_catch_all_rules() -> None:
    book = default_playbook()
    assert book.sequences[-1].when.model_dump(exclude_none=True) == {}
    assert {o.name for o in book.offers} >= {
        "new-executive-briefing",
        "lookalike-customer-story",
        "low-engagement-event",
        "small-account-trial",
    }


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("sequences:\n  - name: x\n    steps: []\noffers: []\n", 3, "at least 1"),
        (
            DEFAULT_PLAYBOOK.read_text().replace("channel: email", "channel: fax", 1),
            None,
            "fax",
        ),
        (
            DEFAULT_PLAYBOOK.read_text().replace(
                "when: {signals: [new_executive]}", "when: {mood: happy}"
            ),
            None,
            "unknown key 'mood'",
        ),
        (
            DEFAULT_PLAYBOOK.read_text().replace('"Demo of {product}"', '"Demo of {prodcut}"'),
            None,
            "unknown placeholder {prodcut}",
        ),
        (
            DEFAULT_PLAYBOOK.read_text().replace(
                "  - name: product-demo\n    when: {}",
                "  - name: product-demo\n    when: {tier: [A]}",
            ),
            None,
            "must have no conditions",
        ),
    ],
)
def test_invalid_playbooks_name_file_line_and_problem(
    tmp_path: Path, text: str, line: int | None, says: str
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        load_playbook(path)
    message = str(caught.value)
    assert "mine.yaml" in message and says in message
    problem = caught.value.problems[0]
    assert problem.file == "mine.yaml"
    assert problem.row is not None
    if line is not None:
        assert problem.row == line


def test_missing_playbook_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_playbook(tmp_path / "nope.yaml")


def test_every_suggestion_names_its_rule_and_follows_the_rules(scored: Engine) -> None:
    data = load_plan_data(scored)
    book = default_playbook()
    offer_rules = {o.name for o in book.offers}
    collab_rules = {c.name for c in book.collaboration} | {c.name for c in book.clusters}
    accounts = data.accounts.set_index("id")
    offers_seen = set()
    for rep_id in data.carriers():
        plan = build_rep_plan(data, rep_id, PlanOptions(start=START))
        for t in plan.targets.itertuples():
            assert t.offer_rule in offer_rules
            offers_seen.add(t.offer_rule)
            a = accounts.loc[t.account_id]
            if a["new_executive"]:
                assert t.offer_rule == "new-executive-briefing"
            if t.offer_rule == "small-account-trial":
                assert a["employees"] <= 99 and not a["customer"]
                assert t.offer.startswith("30-day trial of ")
            if t.offer_rule == "lookalike-customer-story":
                assert "Looks like" in t.rationale
            assert t.product, t
        for c in plan.collaboration.itertuples():
            assert c.rule in collab_rules
            if c.rule == "other-rep-working":
                assert accounts.loc[c.account_id, "other_reps"]
            if c.rule == "partner-technology":
                assert accounts.loc[c.account_id, "technology"] in c.action
    assert len(offers_seen) >= 3


def test_a_user_playbook_changes_the_plan(scored: Engine, tmp_path: Path) -> None:
    text = DEFAULT_PLAYBOOK.read_text().replace(
        '"Demo of {product}"', '"Lunch and learn on {product}"'
    )
    path = tmp_path / "ours.yaml"
    path.write_text(text)
    data = load_plan_data(scored)
    seen = 0
    for rep_id in data.carriers():
        plan = build_rep_plan(data, rep_id, PlanOptions(start=START, playbook=load_playbook(path)))
        demo = plan.targets[plan.targets["offer_rule"] == "product-demo"]
        assert demo["offer"].str.startswith("Lunch and learn on ").all()
        assert plan.playbook_source == "ours.yaml"
        seen += len(demo)
    assert seen > 0
