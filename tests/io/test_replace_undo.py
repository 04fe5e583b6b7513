"""Nothing lost: destructive imports are explicit and every import can be undone
(issue 16, item 3). Every case runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from territorial.errors import ConflictError, NotFoundError, ValidationError
from territorial.io import import_paths
from territorial.store import open_store
from territorial.store.planning import owner_history
from territorial.store.records import (
    entity_counts,
    import_record,
    list_imports,
    read_accounts,
    read_opportunities,
    read_reps,
    undo_import,
)

Files = Callable[[dict[str, str | bytes]], list[Path]]
Snapshot = Callable[[Engine], dict[str, tuple[int, str]]]
Rows = Snapshot

REPS = "id,name,email,specialties,active\n" + "".join(
    f"R{n},Rep {n},rep{n}@example.com,Software|Retail,true\n" for n in range(1, 21)
)
ACCOUNTS = "id,name,owner_id,industry,tier\n" + "".join(
    f"A{n},Account {n},R{1 + n % 20},Software,gold\n" for n in range(1, 41)
)
OPPS = "id,account_id,owner_id,amount,stage,created_date\n" + "".join(
    f"O{n},A{n},R{1 + n % 20},{n * 100},Prospecting,2024-01-{n:02d}\n" for n in range(1, 11)
)


@pytest.fixture
def company(store_url: str, files: Files) -> Engine:
    """20 reps owning 40 accounts with 10 opportunities (one import, #1)."""
    engine = open_store(store_url)
    import_paths(
        files({"reps.csv": REPS, "accounts.csv": ACCOUNTS, "opportunities.csv": OPPS}),
        engine=engine,
    )
    return engine


@pytest.fixture
def rows(snapshot: Snapshot) -> Rows:
    """Every imported table's rows (import ids included), without the imports log."""

    def read(engine: Engine) -> dict[str, tuple[int, str]]:
        return {k: v for k, v in snapshot(engine).items() if k != "imports"}

    return read


def test_header_only_reps_replace_is_refused(
    company: Engine, files: Files, snapshot: Snapshot
) -> None:
    """The finding: ``import reps.csv --replace`` with a header-only file wiped the reps."""
    before = snapshot(company)
    with pytest.raises(ValidationError) as caught:
        import_paths(files({"reps.csv": "id,name\n"}), engine=company, replace=True)
    reasons = [p.reason for p in caught.value.problems]
    assert any(
        "--replace would delete 20 of the 20 stored reps (100%), more than the 20% allowed" in r
        and "--force" in r
        for r in reasons
    ), reasons
    assert any(
        "would leave 40 accounts owned by; 10 opportunities owned by reps it deletes" in r
        or ("40 accounts owned by" in r and "10 opportunities owned by" in r)
        for r in reasons
    ), reasons
    assert snapshot(company) == before


def test_replace_within_the_allowed_share_goes_through(company: Engine, files: Files) -> None:
    # Three of 40 accounts (7.5%) drop out, none with opportunities: allowed.
    kept = "".join(line + "\n" for line in ACCOUNTS.splitlines()[:38])
    report = import_paths(files({"accounts.csv": kept}), engine=company, replace=True)
    assert report.summary is not None and report.summary.deleted == {"accounts": 3}
    assert entity_counts(company)["accounts"] == 37


def test_the_share_is_a_setting(company: Engine, files: Files) -> None:
    kept = "".join(line + "\n" for line in ACCOUNTS.splitlines()[:38])
    with pytest.raises(ValidationError, match=r"\(8%\), more than the 5% allowed"):
        import_paths(files({"accounts.csv": kept}), engine=company, replace=True,
                     max_delete_share=0.05)  # fmt: skip


def test_replace_orphaning_opportunities_is_refused_then_forced_and_undone(
    rows: Rows, company: Engine, files: Files
) -> None:
    before = rows(company)
    others = "id,name\n" + "".join(f"A{n},Account {n}\n" for n in range(5, 41))
    with pytest.raises(ValidationError) as caught:
        import_paths(files({"accounts.csv": others}), engine=company, replace=True)
    reasons = [p.reason for p in caught.value.problems]
    assert any(
        "would delete 4 accounts that 4 stored opportunities belong to (A1, A2, A3, A4)" in r
        for r in reasons
    ), reasons
    report = import_paths(files({"accounts.csv": others}), engine=company, replace=True,
                          force=True)  # fmt: skip
    assert report.summary is not None
    assert report.summary.deleted == {"accounts": 4, "opportunities": 4}
    assert report.forced and any("forced" in w.reason for w in report.warnings)
    assert sorted(read_opportunities(company)["id"]) == sorted(f"O{n}" for n in range(5, 11))
    undo = undo_import(company, import_id=report.summary.import_id)
    assert undo.updated["accounts"] == 40 and undo.updated["opportunities"] == 4
    assert rows(company) == before  # exactly as before, owners and attributes included


def test_forced_header_only_replace_is_recorded_and_undone_exactly(
    rows: Rows, company: Engine, files: Files
) -> None:
    before = rows(company)
    report = import_paths(files({"reps.csv": "id,name\n"}), engine=company, replace=True,
                          force=True)  # fmt: skip
    assert report.summary is not None and report.summary.deleted == {"reps": 20}
    assert entity_counts(company)["reps"] == 0
    record = import_record(company, import_id=report.summary.import_id)
    assert record.details["force"] is True and record.details["changes"]["deleted"] == {"reps": 20}
    summary = undo_import(company, import_id=report.summary.import_id)
    assert summary.updated["reps"] == 20
    assert rows(company) == before
    reps = read_reps(company).set_index("id")
    assert reps.loc["R1", "specialties"] == ["Software", "Retail"] and bool(
        reps.loc["R1", "active"]
    )
    states = {r.id: (r.kind, r.undoes, r.undone_by) for r in list_imports(company)}
    assert states[report.summary.import_id] == ("import", None, summary.import_id)
    assert states[summary.import_id] == ("undo", report.summary.import_id, None)


def test_undo_of_an_upsert_restores_changed_rows_and_removes_new_ones(
    rows: Rows, company: Engine, files: Files
) -> None:
    before = rows(company)
    report = import_paths(
        files({"accounts.csv": "id,name,tier\nA1,Renamed,silver\nA2,Account 2,gold\nA99,New,\n"}),
        engine=company,
    )
    assert report.summary is not None
    assert (report.summary.inserted, report.summary.updated, report.summary.unchanged) == (
        {"accounts": 1}, {"accounts": 1}, {"accounts": 1}
    )  # fmt: skip
    # The unchanged row was not written: it still belongs to the first import.
    ids = read_accounts(company, columns=["id", "import_id"]).set_index("id")["import_id"]
    assert (ids["A1"], ids["A2"]) == (report.summary.import_id, 1)
    undo_import(company, import_id=report.summary.import_id)
    assert rows(company) == before


def test_undoing_an_undo_redoes_the_import(rows: Rows, company: Engine, files: Files) -> None:
    report = import_paths(files({"accounts.csv": "id,name\nA1,Renamed\nA77,New\n"}),
                          engine=company)  # fmt: skip
    assert report.summary is not None
    after = rows(company)
    undo = undo_import(company, import_id=report.summary.import_id)
    with pytest.raises(ConflictError, match=f"already undone by #{undo.import_id}"):
        undo_import(company, import_id=report.summary.import_id)
    undo_import(company, import_id=undo.import_id)
    assert rows(company) == after


def test_imports_are_undone_newest_first(company: Engine, files: Files) -> None:
    first = import_paths(files({"accounts.csv": "id,name\nA1,First\n"}), engine=company)
    second = import_paths(files({"accounts.csv": "id,name\nA1,Second\n"}), engine=company)
    assert first.summary is not None and second.summary is not None
    with pytest.raises(ConflictError, match=rf"later imports changed the same rows: "
                       rf"#{second.summary.import_id} \(1 rows\)"):  # fmt: skip
        undo_import(company, import_id=first.summary.import_id)
    undo_import(company, import_id=second.summary.import_id)
    undo_import(company, import_id=first.summary.import_id)  # now it can go
    assert read_accounts(company).set_index("id").loc["A1", "name"] == "Account 1"


def test_undo_keeps_accounts_that_later_opportunities_need(company: Engine, files: Files) -> None:
    added = import_paths(files({"accounts.csv": "id,name\nA50,Fifty\n"}), engine=company)
    import_paths(
        files({"opportunities.csv": "id,account_id,amount,stage,created_date\n"
                                    "O50,A50,5,Open,2024-02-01\n"}),
        engine=company,
    )  # fmt: skip
    assert added.summary is not None
    with pytest.raises(ConflictError, match=r"opportunities written by .* belong to accounts"):
        undo_import(company, import_id=added.summary.import_id)


def test_undo_refuses_to_orphan_other_imports_owners_unless_forced(
    company: Engine, files: Files
) -> None:
    reps = import_paths(files({"reps.csv": "id,name\nR50,Fifty\n"}), engine=company)
    import_paths(files({"accounts.csv": "id,name,owner_id\nA60,Sixty,R50\n"}), engine=company)
    assert reps.summary is not None
    with pytest.raises(ConflictError, match="1 accounts of other imports are owned by"):
        undo_import(company, import_id=reps.summary.import_id)
    undo_import(company, import_id=reps.summary.import_id, force=True)
    assert "R50" not in set(read_reps(company)["id"])


def test_unknown_import_id(company: Engine) -> None:
    with pytest.raises(NotFoundError, match="there is no import #999"):
        undo_import(company, import_id=999)


def test_owner_changes_are_logged_and_undo_respects_later_reassignments(
    company: Engine, files: Files
) -> None:
    moved = import_paths(files({"accounts.csv": "id,name,owner_id\nA1,Account 1,R7\n"}),
                         engine=company)  # fmt: skip
    assert moved.summary is not None
    with company.connect() as conn:
        rows = conn.execute(
            select(owner_history.c.account_id, owner_history.c.previous_owner_id,
                   owner_history.c.owner_id, owner_history.c.source)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("A1", "R2", "R7", "import")]
    # A plan activation then moves the account: undoing the import would overwrite it.
    with company.begin() as conn:
        conn.execute(
            owner_history.insert().values(
                account_id="A1", previous_owner_id="R7", owner_id="R9",
                changed_at=pd.Timestamp.now(tz="UTC").to_pydatetime(),
                effective_date=pd.Timestamp.now().date(), source="activation",
            )
        )  # fmt: skip
    with pytest.raises(ConflictError, match=r"owners of 1 accounts .* were changed since"):
        undo_import(company, import_id=moved.summary.import_id)
    undo_import(company, import_id=moved.summary.import_id, force=True)
    assert read_accounts(company).set_index("id").loc["A1", "owner_id"] == "R2"


def test_replace_guards_the_active_plans_reps_and_accounts(company: Engine, files: Files) -> None:
    """Reps carrying territories of the active plan, and accounts it assigns, are not
    deleted by a --replace unless forced (even within the allowed share)."""
    from territorial.store.planning import plan_members, plan_territories
    from territorial.store.tables import plan_assignments, plans

    with company.begin() as conn:
        plan_id = conn.execute(
            plans.insert().values(name="FY27", status="active",
                                  created_at=pd.Timestamp.now(tz="UTC").to_pydatetime())
            .returning(plans.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(plan_territories.insert().values(plan_id=plan_id, territory_id="T1",
                                                      name="East"))  # fmt: skip
        conn.execute(plan_members.insert().values(plan_id=plan_id, territory_id="T1",
                                                  rep_id="R20", role="owner"))  # fmt: skip
        conn.execute(plan_assignments.insert().values(plan_id=plan_id, account_id="A40",
                                                      territory_id="T1", locked=False))  # fmt: skip
    reps = "".join(line + "\n" for line in REPS.splitlines()[:20])  # R1..R19: R20 goes
    accounts = "id,name,owner_id\n" + "".join(f"A{n},Account {n},R1\n" for n in range(1, 40))
    with pytest.raises(ValidationError) as caught:
        import_paths(files({"reps.csv": reps, "accounts.csv": accounts}), engine=company,
                     replace=True)  # fmt: skip
    reasons = " | ".join(p.reason for p in caught.value.problems)
    assert (
        f"the active territory plan #{plan_id} gives 1 territories to 1 reps it deletes (R20) "
        "and assigns 1 accounts it deletes" in reasons
    ), reasons
    report = import_paths(files({"reps.csv": reps, "accounts.csv": accounts}), engine=company,
                          replace=True, force=True)  # fmt: skip
    assert any(f"active territory plan #{plan_id}" in w.reason for w in report.warnings)
