"""CRM write-back files: exact file and column names, one row per assigned account,
owners as the plan says; drafts are refused and nothing is written."""

from __future__ import annotations

import csv
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.errors import ConflictError
from territorial.planning import exports, lifecycle
from territorial.planning.ownership import book


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def approved(company: Engine, save_designed_plan) -> int:
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    return plan


def test_salesforce_files(company: Engine, approved: int, tmp_path: Path) -> None:
    result = exports.salesforce_files(company, plan_id=approved, out_dir=tmp_path / "sf")
    names = sorted(p.name for p in result.files)
    assert names == sorted([*exports.SALESFORCE_FILES, "README.txt"])
    expected = book(company, plan_id=approved)
    objects = _read(tmp_path / "sf" / "ObjectTerritory2Association.csv")
    assert list(objects[0]) == ["ObjectId", "Territory2DeveloperName", "AssociationCause"]
    assert len(objects) == len(expected)
    assert {r["AssociationCause"] for r in objects} == {"Territory2Manual"}
    owners = _read(tmp_path / "sf" / "AccountOwners.csv")
    assert list(owners[0]) == ["Id", "OwnerId"]
    assert {r["Id"]: r["OwnerId"] for r in owners} == dict(
        zip(expected["account_id"], expected["rep_id"], strict=True)
    )
    territories = _read(tmp_path / "sf" / "Territory2.csv")
    assert {"DeveloperName", "Name"} <= set(territories[0])
    dev_names = {r["DeveloperName"] for r in territories}
    assert {r["Territory2DeveloperName"] for r in objects} <= dev_names
    users = _read(tmp_path / "sf" / "UserTerritory2Association.csv")
    assert list(users[0]) == ["UserId", "Territory2DeveloperName", "RoleInTerritory2"]
    assert {r["RoleInTerritory2"] for r in users} == {"Owner"}
    model = _read(tmp_path / "sf" / "Territory2Model.csv")
    assert len(model) == 1 and model[0]["DeveloperName"][0].isalpha()
    archive = zipfile.ZipFile(BytesIO(exports.zip_bytes(result)))
    assert sorted(archive.namelist()) == names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("R000001", "R000001"),
        ("west-ent bay", "west_ent_bay"),
        ("123", "T_123"),
        ("__a__b__", "a_b"),
        ("é", "T"),
        ("x" * 100, "x" * 80),
    ],
)
def test_developer_names(text: str, expected: str) -> None:
    assert exports.developer_name(text) == expected


def test_hubspot_and_csv(company: Engine, approved: int, tmp_path: Path) -> None:
    exports.hubspot_files(company, plan_id=approved, out_dir=tmp_path / "hs")
    rows = _read(tmp_path / "hs" / "companies-owner-update.csv")
    assert list(rows[0]) == ["Record ID", "Company name", "Company owner", "Territory"]
    assert all("@" in r["Company owner"] for r in rows)  # sample reps have e-mail addresses
    exports.plan_csv(company, plan_id=approved, out_file=tmp_path / "plan.csv")
    plan_rows = _read(tmp_path / "plan.csv")
    assert list(plan_rows[0]) == ["account_id", "territory", "territory_name", "owner", "reason"]
    expected = book(company, plan_id=approved).set_index("account_id")["rep_id"]
    assert {r["account_id"]: r["owner"] for r in plan_rows} == expected.to_dict()


def test_a_draft_is_not_exported(company: Engine, save_designed_plan, tmp_path: Path) -> None:
    draft = save_designed_plan()
    out = tmp_path / "exports"
    for call in (
        lambda: exports.salesforce_files(company, plan_id=draft, out_dir=out / "sf"),
        lambda: exports.hubspot_files(company, plan_id=draft, out_dir=out / "hs"),
        lambda: exports.plan_csv(company, plan_id=draft, out_file=out / "p.csv"),
    ):
        with pytest.raises(ConflictError, match="only an approved"):
            call()
    assert not out.exists()
