"""The whole planning cycle from the command line, as a sales-ops analyst runs it on CRM
exports with the names CRMs give them: sample → import (recognised by content) → score →
design --from-store --save-as → submit → approve → activate → export → routing gives the
plan's owners. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from territorial.cli import main
from territorial.store import open_store

RENAMED = {
    "accounts": "hubspot-crm-exports-all-companies-x.csv",
    "reps": "users.csv",
    "opportunities": "report1.csv",
    "activities": "extract2.csv",
}


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_sample_to_crm_write_back_and_routing(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database", store_url)
    sample = tmp_path / "sample"
    assert run("sample", "--accounts", "300", "--seed", "4", "--out", str(sample)) == 0
    exports = tmp_path / "crm-exports"
    exports.mkdir()
    for stem, name in RENAMED.items():
        shutil.copy(sample / f"{stem}.csv", exports / name)

    # import: the kind of each file comes from its columns
    assert run("import", str(exports), *db) == 0
    engine = open_store(store_url)
    with engine.connect() as conn:
        for stem in RENAMED:
            rows = conn.execute(text(f"SELECT count(*) FROM {stem}")).scalar_one()
            expected = len(pd.read_csv(sample / f"{stem}.csv"))
            assert rows == expected, stem
    engine.dispose()
    assert run("score", *db) == 0

    # design from the store into a draft; the contract: the last line is "plan ID"
    capsys.readouterr()
    code = run(
        "design",
        "--from-store",
        "--balance",
        "accounts=30%",
        "--time-limit",
        "20",
        "--best-effort",
        "--save-as",
        "FY27 cycle",
        *db,
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0, out[-5:]
    assert out[-1].startswith("plan ")
    plan = out[-1].split()[1]

    assert run("plans", "submit", plan, *db) == 0
    assert run("plans", "approve", plan, *db) == 0
    assert run("plans", "activate", plan, *db) == 0

    # write-back files for the CRM
    sf = tmp_path / "salesforce"
    assert run("export", "salesforce", "--plan", plan, "--out", str(sf), *db) == 0
    owners = pd.read_csv(sf / "AccountOwners.csv", dtype=str)
    assert list(owners.columns) == ["Id", "OwnerId"]
    plan_csv = tmp_path / "plan.csv"
    assert run("export", "csv", "--plan", plan, "--out", str(plan_csv), *db) == 0
    assigned = pd.read_csv(plan_csv, dtype=str).set_index("account_id")
    assert owners.set_index("Id")["OwnerId"].to_dict() == assigned["owner"].to_dict()
    assert assigned["reason"].notna().all()

    # routing an existing account's record gives the plan's owner
    accounts = pd.read_csv(exports / RENAMED["accounts"], dtype=str)
    id_column = next(c for c in accounts.columns if c.lower() in ("record id", "id"))
    some = accounts.head(25)
    records = tmp_path / "records.csv"
    with records.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "state", "postal_code"])
        for row in some.itertuples(index=False):
            data = row._asdict()
            writer.writerow(
                [
                    getattr(row, id_column.replace(" ", "_"), data.get(id_column)),
                    data.get("name", ""),
                    data.get("state", ""),
                    data.get("postal_code", ""),
                ]
            )
    routed = tmp_path / "routed.csv"
    assert run("route", str(records), "--kind", "account", "--out", str(routed), *db) == 0
    decisions = pd.read_csv(routed, dtype=str)
    owner_column = next(c for c in decisions.columns if c in ("owner_id", "owner"))
    id_col = next(c for c in decisions.columns if c in ("id", "record_id"))
    for record_id, owner in zip(decisions[id_col], decisions[owner_column], strict=True):
        assert owner == assigned.loc[record_id, "owner"], record_id
