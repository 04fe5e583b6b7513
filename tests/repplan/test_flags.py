"""Reps' flags: recorded, queued, accepted into a draft (never the active version) or
declined with a reason; the rep is notified; nothing is deleted. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from territorial.errors import ConfigError, ConflictError, NotFoundError, PermissionDeniedError
from territorial.planning import lifecycle
from territorial.planning.activation import activate
from territorial.planning.ownership import active_plan_id, book, owner_of
from territorial.repplan import flags
from territorial.store.planning import list_notifications
from territorial.store.tables import plan_assignments, plans


def activate_crm_owners(engine: Engine) -> int:
    """The CRM owners saved as a version and activated (each rep's book a territory)."""
    owners = book(engine)
    with engine.begin() as conn:
        plan_id = conn.execute(
            insert(plans).values(
                name="owners", created_at=datetime.now(UTC), status="draft", parameters={}
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(plan_assignments),
            [
                {"plan_id": plan_id, "account_id": a, "territory_id": t, "locked": False}
                for a, t in zip(owners["account_id"], owners["rep_id"], strict=True)
            ],
        )
    lifecycle.submit(engine, plan_id=plan_id)
    lifecycle.approve(engine, plan_id=plan_id)
    activate(engine, plan_id=plan_id)
    return int(plan_id)


def test_flag_accept_moves_in_a_draft_and_notifies(scored_any: Engine) -> None:
    engine = scored_any
    active = activate_crm_owners(engine)
    owners = book(engine)
    reps = owners["rep_id"].value_counts().index
    alice, bob = str(reps[0]), str(reps[1])
    mine = owners.loc[owners["rep_id"] == alice, "account_id"].iloc[0]
    theirs = owners.loc[owners["rep_id"] == bob, "account_id"].iloc[0]

    flag = flags.add_flag(
        engine,
        rep_id=alice,
        account_id=mine,
        kind="wrong_territory",
        comment="HQ moved to Bob's area",
        to_territory=bob,
    )
    request = flags.add_flag(
        engine, rep_id=alice, account_id=theirs, kind="request", comment="I know their CFO"
    )
    assert request["to_territory"] == alice and request["from_territory"] == bob
    assert [f["id"] for f in flags.list_flags(engine)] == [flag["id"], request["id"]]

    done = flags.accept(engine, flag_id=request["id"], note="fair")
    draft = done["draft_plan_id"]
    assert done["status"] == "accepted" and draft != active
    assert lifecycle.get_version(engine, plan_id=draft)["status"] == "draft"
    moved = book(engine, plan_id=draft).set_index("account_id")
    assert moved.loc[theirs, "rep_id"] == alice
    # the active version is untouched
    assert owner_of(engine, account_id=theirs)["rep_id"] == bob
    assert active_plan_id(engine) == active
    # the second accepted flag collects in the same draft
    second = flags.accept(engine, flag_id=flag["id"])
    assert second["draft_plan_id"] == draft
    assert book(engine, plan_id=draft).set_index("account_id").loc[mine, "rep_id"] == bob

    told = list_notifications(engine, rep_id=alice)
    assert [n["kind"] for n in told[:2]] == ["flag_answered", "flag_answered"]
    assert "accepted" in told[0]["title"]
    assert flags.list_flags(engine) == []
    assert len(flags.list_flags(engine, status="accepted")) == 2
    counts = {r["rep_id"]: r for r in flags.feedback_counts(engine)}
    assert counts[alice]["accepted"] == 2 and counts[alice]["request"] == 1


def test_decline_needs_a_reason_and_keeps_the_flag(scored: Engine) -> None:
    owners = book(scored)
    rep = str(owners["rep_id"].iloc[0])
    account = owners.loc[owners["rep_id"] == rep, "account_id"].iloc[0]
    flag = flags.add_flag(
        scored, rep_id=rep, account_id=account, kind="out_of_business", comment="closed in May"
    )
    with pytest.raises(ConflictError, match="already has an open out_of_business flag"):
        flags.add_flag(scored, rep_id=rep, account_id=account, kind="out_of_business", comment="x")
    with pytest.raises(ConfigError, match="needs a reason"):
        flags.decline(scored, flag_id=flag["id"], reason=" ")
    with pytest.raises(PermissionDeniedError):
        flags.decline(
            scored, flag_id=flag["id"], reason="no", actor=lifecycle.Actor("r@x", "rep", 3)
        )
    done = flags.decline(scored, flag_id=flag["id"], reason="still trading, checked their site")
    assert done["status"] == "declined" and done["decision_note"].startswith("still trading")
    assert "declined: still trading" in list_notifications(scored, rep_id=rep)[0]["title"]
    with pytest.raises(ConflictError, match="already declined"):
        flags.accept(scored, flag_id=flag["id"])
    assert flags.list_flags(scored, status=None)[0]["id"] == flag["id"]


def test_flags_are_checked(scored: Engine) -> None:
    owners = book(scored)
    rep = str(owners["rep_id"].iloc[0])
    other = owners.loc[owners["rep_id"] != rep, "account_id"].iloc[0]
    with pytest.raises(NotFoundError, match="not found in"):
        flags.add_flag(scored, rep_id=rep, account_id=other, kind="duplicate", comment="dup")
    with pytest.raises(ConfigError, match="kind must be one of"):
        flags.add_flag(scored, rep_id=rep, account_id=other, kind="grumpy", comment="x")
    with pytest.raises(ConfigError, match="needs a comment"):
        flags.add_flag(scored, rep_id=rep, account_id=other, kind="request", comment="")
    # a request accepted with no active territory model cannot make a move
    request = flags.add_flag(scored, rep_id=rep, account_id=other, kind="request", comment="mine")
    with pytest.raises(ConflictError, match="no territory model is active"):
        flags.accept(scored, flag_id=request["id"])
    assert flags.get_flag(scored, flag_id=request["id"])["status"] == "open"


def test_flags_cli(scored: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from territorial.cli import main

    url = scored.url.render_as_string(hide_password=False)
    owners = book(scored)
    rep = str(owners["rep_id"].iloc[0])
    account = owners.loc[owners["rep_id"] == rep, "account_id"].iloc[0]

    def run(*argv: str) -> int:
        try:
            main([*argv, "-d", url])
        except SystemExit as stop:
            return int(stop.code or 0)
        return 0

    assert (
        run(
            "flags",
            "add",
            "--rep",
            rep,
            "--account",
            account,
            "--kind",
            "duplicate",
            "--comment",
            "same as the other one",
        )
        == 0
    )
    assert run("flags", "list") == 0
    assert "duplicate" in capsys.readouterr().out
    assert run("flags", "decline", "1", "--reason", "different legal entity") == 0
    assert "#1 declined" in capsys.readouterr().out
    assert run("flags", "decline", "99", "--reason", "x") == 4
    assert run("flags", "counts") == 0
    with scored.connect() as conn:
        assert conn.execute(select(plans.c.id)).first() is None
