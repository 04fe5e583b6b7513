"""Column matching, entity kinds from file names, mapping files, ZIP normalisation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from territorial.errors import ConfigError
from territorial.io.geocode import zip_numbers
from territorial.io.mapping import (
    ALIASES,
    CANONICAL,
    kind_from_name,
    load_mapping,
    match_columns,
    normalize_name,
)
from territorial.io.readers import detect_delimiter
from territorial.store.tables import ENTITY_TABLES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "import.md"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("accounts.csv", "accounts"),
        ("Accounts_2024-05.xlsx", "accounts"),
        ("Account.csv", "accounts"),
        ("companies.parquet", "accounts"),
        ("reps.csv", "reps"),
        ("rep_roster.csv", "reps"),
        ("users.csv", "reps"),
        ("User.csv", "reps"),
        ("opportunities.csv", "opportunities"),
        ("opps_q1.csv", "opportunities"),
        ("deals.csv", "opportunities"),
        ("activities.csv", "activities"),
        ("Task.csv", "activities"),
        ("events-2024.csv", "activities"),
        ("reports.csv", None),
        ("notes.csv", None),
    ],
)
def test_kind_from_name(name: str, kind: str | None) -> None:
    assert kind_from_name(name) == kind


@pytest.mark.parametrize(
    ("given", "key"),
    [("BillingPostalCode", "billingpostalcode"), ("Billing Postal_Code", "billingpostalcode"),
     ("State/Region", "stateregion"), ("  ID ", "id")],
)  # fmt: skip
def test_normalize_name(given: str, key: str) -> None:
    assert normalize_name(given) == key


def test_canonical_names_beat_aliases_and_extras_are_kept() -> None:
    match = match_columns("accounts", ["AccountId", "id", "Account Name", "Tier"])
    assert match.source == {"id": "id", "name": "Account Name"}
    assert match.extra == ("AccountId", "Tier")


def test_user_mapping_beats_everything() -> None:
    match = match_columns("accounts", ["Id", "Number"], user={"id": "number"})
    assert match.source["id"] == "Number"
    assert match.extra == ("Id",)


def test_canonical_columns_match_the_store_schema() -> None:
    computed = {"geocode_source", "attributes", "import_id"}
    for entity, columns in CANONICAL.items():
        # An activity's type is the CRM's own type, taken from the channel's column.
        derived = computed | ({"type"} if entity == "activities" else set())
        assert set(columns) == {c.name for c in ENTITY_TABLES[entity].c} - derived
        assert set(ALIASES[entity]) <= set(columns)


def test_docs_list_every_alias() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for entity, table in ALIASES.items():
        for canonical, aliases in table.items():
            line = next(
                (ln for ln in text.splitlines() if ln.startswith(f"| {entity} | `{canonical}` |")),
                None,
            )
            assert line is not None, f"docs/import.md lacks the row for {entity}.{canonical}"
            for alias in aliases:
                assert f"`{alias}`" in line, f"docs/import.md: {entity}.{canonical} lacks {alias}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2", "not valid YAML"),
        ("widgets:\n  id: X\n", "unknown entity 'widgets'"),
        ("accounts:\n  colour: X\n", "accounts has no column 'colour'"),
        ("accounts:\n  id: ''\n", "must name a source column"),
        ("accounts: [id]\n", "must map canonical column"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_mapping(path)


@pytest.mark.parametrize(
    ("postal_code", "number"),
    [("02139", 2139), ("2139", 2139), ("2139.0", 2139), ("02139-4307", 2139),
     ("021394307", 2139), ("21394307", 2139), (" 10001 ", 10001), ("501", 501),
     ("12", -1), ("H2X 1Y4", -1), ("", -1), (None, -1), ("123456", -1)],
)  # fmt: skip
def test_zip_numbers(postal_code: str | None, number: int) -> None:
    assert zip_numbers(pd.Series([postal_code], dtype="str")).tolist() == [number]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("id,name\n", ","), ("id;name;city\n", ";"), ("id\tname\n", "\t"),
     ('"a;b",c\n', ","), ("id\n", ",")],
)  # fmt: skip
def test_detect_delimiter(header: str, delimiter: str) -> None:
    assert detect_delimiter(header) == delimiter
