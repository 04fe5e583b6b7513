"""Every kind of bad input is named by file/row/column and leaves the store untouched.

Each case runs on SQLite and PostgreSQL against a store that already holds one
good import (see ``seeded``), so "unchanged" compares real rows, not an empty db.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.errors import ValidationError
from territorial.io import import_paths

OPP_HEADER = "id,account_id,owner_id,amount,stage,created_date\n"
OPP = OPP_HEADER + "O9,A1,R1,{amount},Prospecting,{created}\n"
ACT_HEADER = "id,account_id,rep_id,channel,occurred_at,duration_minutes\n"

# (case id, files, expected (file, row, column, reason fragment))
CASES: list[tuple[str, dict[str, str | bytes], tuple[str, int | None, str | None, str]]] = [
    ("missing required column", {"accounts.csv": "id,industry\nA9,Software\n"},
     ("accounts.csv", 1, "name", "required column 'name' is missing")),
    ("empty id", {"accounts.csv": "id,name\nA9,Nine\n,Nameless\n"},
     ("accounts.csv", 3, "id", "id is empty")),
    ("duplicate id", {"accounts.csv": "id,name\nA9,Nine\nA8,Eight\nA9,Again\n"},
     ("accounts.csv", 4, "id", "duplicate id (first in row 2)")),
    ("duplicate id across files",
     {"accounts_1.csv": "id,name\nA9,Nine\n", "accounts_2.csv": "id,name\nA8,x\nA9,Again\n"},
     ("accounts_2.csv", 3, "id", "also in accounts_1.csv row 2")),
    ("non-numeric count", {"accounts.csv": "id,name,employees\nA9,Nine,lots\n"},
     ("accounts.csv", 2, "employees", "not a number")),
    ("fractional count", {"accounts.csv": "id,name,employees\nA9,Nine,12.5\n"},
     ("accounts.csv", 2, "employees", "not a whole number")),
    ("negative count, Salesforce name",
     {"accounts.csv": "Id,Name,NumberOfEmployees\nA9,Nine,-3\n"},
     ("accounts.csv", 2, "NumberOfEmployees", "negative")),
    ("negative amount", {"opportunities.csv": OPP.format(amount=-500, created="2024-01-01")},
     ("opportunities.csv", 2, "amount", "amount is negative")),
    ("non-numeric amount", {"opportunities.csv": OPP.format(amount="a lot", created="2024-01-01")},
     ("opportunities.csv", 2, "amount", "not a number")),
    ("unparseable date",
     {"opportunities.csv": OPP.format(amount=5, created="soon")},
     ("opportunities.csv", 2, "created_date", "not a date")),
    ("latitude out of range",
     {"accounts.csv": "id,name,latitude,longitude\nA9,Nine,95.5,-71\n"},
     ("accounts.csv", 2, "latitude", "outside -90..90")),
    ("longitude out of range",
     {"accounts.csv": "id,name,BillingLatitude,BillingLongitude\nA9,Nine,42,-181\n"},
     ("accounts.csv", 2, "BillingLongitude", "outside -180..180")),
    ("opportunity on unknown account",
     {"opportunities.csv": OPP_HEADER + "O9,NOPE,R1,5,Prospecting,2024-01-01\n"},
     ("opportunities.csv", 2, "account_id", "neither in this import nor in the database")),
    ("activity on unknown account",
     {"tasks.csv": "Id,WhatId,OwnerId,TaskSubtype,ActivityDate\nT9,NOPE,R1,Call,2024-01-01\n"},
     ("tasks.csv", 2, "WhatId", "neither in this import nor in the database")),
    ("wrong encoding",
     {"accounts.csv": "id,name\nA9,Nine\nA8,Café Crème\n".encode("latin-1")},
     ("accounts.csv", 3, None, "line 3 is not valid UTF-8")),
    ("empty file", {"accounts.csv": b""}, ("accounts.csv", None, None, "empty")),
    ("ragged row", {"accounts.csv": "id,name\nA9,Nine\nA8,Eight,extra\nA7,Seven\n"},
     ("accounts.csv", 3, None, "3 fields where the header has 2")),
    ("unknown kind", {"stuff.csv": "id,name\nA9,Nine\n"},
     ("stuff.csv", None, None, "cannot tell what the file holds")),
    ("won but open",
     {"opportunities.csv": OPP_HEADER.strip() + ",is_closed,is_won\n"
      "O9,A1,R1,5,Negotiation,2024-01-01,false,true\n"},
     ("opportunities.csv", 2, "is_won", "won but not closed")),
    ("bad boolean", {"reps.csv": "id,name,active\nR9,Nine,maybe\n"},
     ("reps.csv", 2, "active", "not true/false")),
    ("bad currency",
     {"opportunities.csv": OPP_HEADER.strip() + ",currency\nO9,A1,R1,5,Won,2024-01-01,Dollars\n"},
     ("opportunities.csv", 2, "currency", "3-letter ISO code")),
    ("id too long", {"accounts.csv": "id,name\n" + "A" * 200 + ",Long\n"},
     ("accounts.csv", 2, "id", "longer than 128 characters")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files_content", "expected"),
    [pytest.param(files, expected, id=name) for name, files, expected in CASES],
)
def test_bad_input_is_rejected_and_store_unchanged(
    seeded: Engine,
    files: Callable[[dict[str, str | bytes]], list[Path]],
    snapshot: Callable[[Engine], object],
    files_content: dict[str, str | bytes],
    expected: tuple[str, int | None, str | None, str],
) -> None:
    before = snapshot(seeded)
    with pytest.raises(ValidationError) as caught:
        import_paths(files(files_content), engine=seeded)
    assert snapshot(seeded) == before
    file, row, column, fragment = expected
    matching = [
        p
        for p in caught.value.problems
        if p.file == file and p.row == row and p.column == column and fragment in p.reason
    ]
    assert matching, f"no problem like {expected} in:\n{caught.value.message}"
    # The message a user reads names the place too.
    shown = str(matching[0])
    assert file in shown
    if row is not None:
        assert f"row {row}" in shown
    if column is not None:
        assert repr(column) in shown
    assert caught.value.exit_code == 3


def test_every_problem_is_reported_in_one_pass(
    seeded: Engine,
    files: Callable[[dict[str, str | bytes]], list[Path]],
    snapshot: Callable[[Engine], object],
) -> None:
    before = snapshot(seeded)
    content: dict[str, str | bytes] = {
        "accounts.csv": "id,name,employees,latitude,longitude\n"
        "A9,Nine,-1,0,0\n"
        ",Nameless,5,0,0\n"
        "A8,Eight,7,91,0\n",
        "opportunities.csv": OPP_HEADER + "O9,NOPE,R1,x,Won,never\n",
        "reps.csv": b"",
    }
    with pytest.raises(ValidationError) as caught:
        import_paths(files(content), engine=seeded)
    found = {(p.file, p.row, p.column) for p in caught.value.problems}
    assert found == {
        ("accounts.csv", 2, "employees"),
        ("accounts.csv", 3, "id"),
        ("accounts.csv", 4, "latitude"),
        ("opportunities.csv", 2, "amount"),
        ("opportunities.csv", 2, "created_date"),
        ("opportunities.csv", 2, "account_id"),
        ("reps.csv", None, None),
    }
    assert snapshot(seeded) == before


def test_replace_that_would_orphan_opportunities_is_rejected(
    seeded: Engine,
    files: Callable[[dict[str, str | bytes]], list[Path]],
    snapshot: Callable[[Engine], object],
) -> None:
    before = snapshot(seeded)
    with pytest.raises(ValidationError, match="would delete 1 account"):
        import_paths(files({"accounts.csv": "id,name\nA2,Beta\n"}), engine=seeded, replace=True)
    assert snapshot(seeded) == before


def test_mapping_naming_a_missing_column_is_rejected(
    seeded: Engine,
    files: Callable[[dict[str, str | bytes]], list[Path]],
    snapshot: Callable[[Engine], object],
) -> None:
    before = snapshot(seeded)
    with pytest.raises(ValidationError) as caught:
        import_paths(
            files({"accounts.csv": "id,name\nA9,Nine\n"}),
            engine=seeded,
            mapping={"accounts": {"name": "Company Title"}},
        )
    assert any(
        p.row == 1 and p.column == "Company Title" and "no such column" in p.reason
        for p in caught.value.problems
    )
    assert snapshot(seeded) == before


def test_utf16_and_bom_files_are_read(
    seeded: Engine, files: Callable[[dict[str, str | bytes]], list[Path]]
) -> None:
    report = import_paths(
        files(
            {
                "accounts_bom.csv": codecs.BOM_UTF8 + b"id,name\nA9,Nine\n",
                "accounts_utf16.csv": "id,name\nA8,Zoë\n".encode("utf-16"),
            }
        ),
        engine=seeded,
    )
    assert report.counts == {"accounts": 2}
    assert all(f.columns["id"] == "id" for f in report.files)  # not '\ufeffid'
