"""Successful imports: CRM exports, mappings, formats, upsert/replace, geocoding, warnings."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.io import import_paths
from territorial.store import open_store
from territorial.store.records import (
    entity_counts,
    last_import,
    read_accounts,
    read_activities,
    read_opportunities,
    read_reps,
)

Files = Callable[[dict[str, str | bytes]], list[Path]]

SALESFORCE = {
    "Account.csv": (
        "Id,Name,Website,BillingStreet,BillingPostalCode,BillingCity,BillingState,"
        "BillingCountry,BillingLatitude,BillingLongitude,NumberOfEmployees,AnnualRevenue,"
        "Industry,OwnerId,CurrencyIsoCode,Rating\n"
        "0015g00000AAAAA,Acme Corp,acme.com,1 Main St,02139-4307,Cambridge,MA,USA,,,"
        '1200,"$5,000,000",Software,0055g00000RRRR1,USD,Hot\n'
        "0015g00000BBBBB,Beta LLC,beta.io,,,Austin,TX,US,30.2672,-97.7431,40,,"
        "healthcare,0055g00000RRRR1,USD,\n"
    ),
    "User.csv": (
        "Id,Name,Email,Title,PostalCode,IsActive,ManagerId\n"
        "0055g00000RRRR1,Rita Rep,rita@example.com,Account Executive,10001,true,\n"
    ),
    "Opportunity.csv": (
        "Id,AccountId,OwnerId,Amount,StageName,CreatedDate,CloseDate,IsClosed,IsWon,"
        "CurrencyIsoCode\n"
        "0065g00000OOOO1,0015g00000AAAAA,0055g00000RRRR1,25000,Closed Won,"
        "2024-01-15T10:00:00.000+0000,2024-03-01,true,true,USD\n"
        "0065g00000OOOO2,0015g00000BBBBB,0055g00000RRRR1,8000,Prospecting,"
        "2024-02-01T09:30:00.000+0000,2024-06-30,false,false,USD\n"
    ),
    "Task.csv": (
        "Id,WhatId,OwnerId,TaskSubtype,ActivityDate,DurationInMinutes\n"
        "00T5g00000TTTT1,0015g00000AAAAA,0055g00000RRRR1,Call,2024-02-10,20\n"
        "00T5g00000TTTT2,0015g00000BBBBB,0055g00000RRRR1,Email,2024-02-11,\n"
    ),
}


def test_salesforce_export_imports(store_url: str, files: Files) -> None:
    engine = open_store(store_url)
    report = import_paths(files(SALESFORCE), engine=engine)
    assert report.counts == {"accounts": 2, "reps": 1, "opportunities": 2, "activities": 2}
    assert report.warnings == ()
    accounts = read_accounts(engine).set_index("id")
    acme = accounts.loc["0015g00000AAAAA"]
    assert (acme["name"], acme["domain"], acme["city"], acme["state"]) == (
        "Acme Corp", "acme.com", "Cambridge", "MA"
    )  # fmt: skip
    assert acme["annual_revenue"] == 5_000_000
    assert acme["employees"] == 1200
    assert acme["geocode_source"] == "postal_code"
    assert acme["latitude"] == pytest.approx(42.3647, abs=0.01)
    assert acme["attributes"] == {"Rating": "Hot"}
    beta = accounts.loc["0015g00000BBBBB"]
    assert beta["geocode_source"] == "input"
    assert (beta["latitude"], beta["longitude"]) == (30.2672, -97.7431)
    assert beta["industry"] == "Healthcare"  # case normalised to the known list
    reps = read_reps(engine)
    assert reps.loc[0, "role"] == "Account Executive"
    assert bool(reps.loc[0, "active"]) is True
    assert reps.loc[0, "home_latitude"] == pytest.approx(40.75, abs=0.01)
    opps = read_opportunities(engine).set_index("id")
    won = opps.loc["0065g00000OOOO1"]
    assert bool(won["is_won"]) and bool(won["is_closed"])
    assert won["created_date"] == pd.Timestamp("2024-01-15")
    assert won["amount"] == 25000 and won["currency"] == "USD"
    acts = read_activities(engine).set_index("id")
    assert list(acts["channel"]) == ["call", "email"]
    assert list(acts["duration_minutes"]) == [20.0, 0.0]
    assert acts.loc["00T5g00000TTTT1", "occurred_at"] == pd.Timestamp("2024-02-10")
    record = last_import(engine)
    assert record is not None and record.status == "succeeded"
    assert record.counts == report.counts


def test_user_mapping_overrides_aliases(sqlite_url: str, files: Files, tmp_path: Path) -> None:
    engine = open_store(sqlite_url)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "accounts:\n  id: Account Number\n  name: Company\n  owner_id: Rep Code\n"
        "opportunities:\n  account_id: Company Ref\n  amount: Deal Size\n"
    )
    paths = files(
        {
            # "Id" would be taken as the id by the built-in aliases; the mapping wins.
            "accounts.csv": "Id,Account Number,Company,Rep Code\nx1,ACC-1,Acme,R1\n",
            "deals.csv": (
                "Id,Company Ref,Deal Size,Stage,Create Date\nD1,ACC-1,900,Won,2024-05-01\n"
            ),
        }
    )
    report = import_paths(paths, engine=engine, mapping=mapping)
    accounts = read_accounts(engine)
    assert accounts["id"].tolist() == ["ACC-1"]
    assert accounts.loc[0, "owner_id"] == "R1"
    assert accounts.loc[0, "attributes"] == {"Id": "x1"}
    opps = read_opportunities(engine)
    assert (opps.loc[0, "account_id"], opps.loc[0, "amount"]) == ("ACC-1", 900.0)
    assert bool(opps.loc[0, "is_won"]) and bool(opps.loc[0, "is_closed"])  # from stage
    assert [f.entity for f in report.files] == ["accounts", "opportunities"]


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_xlsx_and_parquet_round_trip(sqlite_url: str, tmp_path: Path, fmt: str) -> None:
    engine = open_store(sqlite_url)
    accounts = pd.DataFrame(
        {
            "id": ["A1", "A2", "A3"],
            "name": ["Acme", "Beta", "Gamma"],
            "postal_code": ["02139", "10001", None],
            "latitude": [None, None, 47.6],
            "longitude": [None, None, -122.3],
            "employees": [10, 2000, 300],
            "industry": ["Software", "Retail", "Energy"],
            "region": ["East", "East", "West"],
        }
    )
    opps = pd.DataFrame(
        {
            "id": ["O1"],
            "account_id": ["A1"],
            "amount": [1234.5],
            "stage": ["Closed Won"],
            "created_date": [pd.Timestamp("2024-01-02")],
        }
    )
    paths = [tmp_path / f"accounts.{fmt}", tmp_path / f"opportunities.{fmt}"]
    for frame, path in zip([accounts, opps], paths, strict=True):
        if fmt == "xlsx":
            frame.to_excel(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    import_paths(paths, engine=engine)
    back = read_accounts(engine)
    assert back["id"].tolist() == ["A1", "A2", "A3"]
    assert back["employees"].tolist() == [10, 2000, 300]
    assert back["postal_code"].tolist()[:2] == ["02139", "10001"]
    assert back["geocode_source"].tolist() == ["postal_code", "postal_code", "input"]
    assert back.loc[2, "latitude"] == pytest.approx(47.6)
    assert back["attributes"].tolist() == [
        {"region": "East"},
        {"region": "East"},
        {"region": "West"},
    ]
    opp = read_opportunities(engine)
    assert opp.loc[0, "amount"] == 1234.5
    assert opp.loc[0, "created_date"] == pd.Timestamp("2024-01-02")


def test_upsert_updates_given_columns_and_keeps_the_rest(store_url: str, files: Files) -> None:
    engine = open_store(store_url)
    import_paths(
        files(
            {
                "accounts.csv": "id,name,industry,segment,tier\n"
                "A1,Acme,Software,Enterprise,gold\nA2,Beta,Retail,SMB,silver\n"
            }
        ),
        engine=engine,
    )
    # A newer export: renames A1, adds A3, has no industry/segment column and a new extra.
    report = import_paths(
        files({"accounts.csv": "id,name,region\nA1,Acme Corp,East\nA3,Gamma,West\n"}),
        engine=engine,
    )
    assert report.summary is not None
    assert report.summary.inserted == {"accounts": 1}
    assert report.summary.updated == {"accounts": 1}
    accounts = read_accounts(engine).set_index("id")
    assert accounts.loc["A1", "name"] == "Acme Corp"
    assert accounts.loc["A1", "industry"] == "Software"  # not in the new file: kept
    assert accounts.loc["A1", "segment"] == "Enterprise"
    assert accounts.loc["A1", "attributes"] == {"tier": "gold", "region": "East"}
    assert accounts.loc["A2", "name"] == "Beta"  # not in the new file: kept
    assert accounts.loc["A3", "attributes"] == {"region": "West"}
    assert entity_counts(engine)["accounts"] == 3


def test_replace_replaces_rows_wholesale(store_url: str, files: Files) -> None:
    engine = open_store(store_url)
    import_paths(
        files({"accounts.csv": "id,name,industry\nA1,Acme,Software\nA2,Beta,Retail\n"}),
        engine=engine,
    )
    # Deleting half the accounts is more than the default share: allowed explicitly.
    report = import_paths(
        files({"accounts.csv": "id,name\nA1,Acme Corp\nA3,Gamma\n"}),
        engine=engine,
        replace=True,
        max_delete_share=0.5,
    )
    assert report.summary is not None
    assert report.summary.deleted == {"accounts": 1}
    accounts = read_accounts(engine).set_index("id")
    assert sorted(accounts.index) == ["A1", "A3"]
    assert accounts.loc["A1", "name"] == "Acme Corp"
    assert pd.isna(accounts.loc["A1", "industry"])  # replaced, not merged


def test_dry_run_writes_nothing(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files({"accounts.csv": "id,name\nA1,Acme\n"}), engine=engine, dry_run=True
    )
    assert report.dry_run and report.summary is None
    assert report.counts == {"accounts": 1}
    assert entity_counts(engine)["accounts"] == 0
    assert last_import(engine) is None


def test_semicolon_file_is_read_with_a_warning(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files({"accounts.csv": "id;name;employees\nA1;Acme, Inc;12\nA2;Beta;3\n"}), engine=engine
    )
    assert read_accounts(engine)["name"].tolist() == ["Acme, Inc", "Beta"]
    assert any("semicolon" in w.reason and w.severity == "warning" for w in report.warnings)


@pytest.mark.parametrize(
    ("postal_code", "country", "latitude"),
    [
        ("02139", "US", 42.3647),
        ("2139", "US", 42.3647),  # leading zero lost by a spreadsheet
        ("02139-4307", "", 42.3647),  # ZIP+4
        ("021394307", "United States", 42.3647),
        ("10001", "USA", 40.7484),
        ("H2X 1Y4", "Canada", None),
        ("02139", "Canada", None),  # not a US address: not looked up
        ("00000", "US", None),
        ("", "US", None),
    ],
)
def test_geocoding_from_postal_codes(
    sqlite_url: str, files: Files, postal_code: str, country: str, latitude: float | None
) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files({"accounts.csv": f"id,name,postal_code,country\nA1,Acme,{postal_code},{country}\n"}),
        engine=engine,
    )
    row = read_accounts(engine).iloc[0]
    if latitude is None:
        assert math.isnan(row["latitude"]) and pd.isna(row["geocode_source"])
        unlocated = [w for w in report.warnings if "cannot be located" in w.reason]
        assert [(w.file, w.row) for w in unlocated] == [("accounts.csv", 2)]
        assert unlocated[0].value == (postal_code or None)
    else:
        assert row["latitude"] == pytest.approx(latitude, abs=1e-3)
        assert row["geocode_source"] == "postal_code"
        assert report.warnings == ()


def test_suspect_values_warn_but_import(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files(
            {
                "accounts.csv": "id,name,industry,owner_id,postal_code\n"
                "A1,Acme,Widgets,R404,02139\nA2,Beta,Widgets,R404,02139\n"
            }
        ),
        engine=engine,
    )
    reasons = {(w.column, w.value, w.row): w.reason for w in report.warnings}
    assert "not one Territorial knows (2 rows)" in reasons[("industry", "Widgets", 2)]
    assert "not a known rep (2 rows)" in reasons[("owner_id", "R404", 2)]
    assert entity_counts(engine)["accounts"] == 2
    record = last_import(engine)
    assert record is not None and len(record.warnings) == 2


def test_kind_option_overrides_file_names(sqlite_url: str, files: Files) -> None:
    engine = open_store(sqlite_url)
    report = import_paths(
        files({"export_2024.csv": "id,name\nA1,Acme\n"}), engine=engine, kind="accounts"
    )
    assert report.counts == {"accounts": 1}


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s != "")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(_TEXT, _TEXT, st.integers(0, 10**6), _TEXT),
        min_size=1,
        max_size=8,
        unique_by=lambda r: r[0],
    )
)
def test_any_valid_accounts_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rows: list
) -> None:
    """Whatever the text (quotes, commas, accents, emoji), what goes in comes back out."""
    folder = tmp_path_factory.mktemp("prop")
    frame = pd.DataFrame(rows, columns=["id", "name", "employees", "note"])
    frame.to_csv(folder / "accounts.csv", index=False)
    engine = open_store(f"sqlite:///{folder / 't.db'}")
    import_paths([folder / "accounts.csv"], engine=engine)
    back = read_accounts(engine).set_index("id").loc[frame["id"]]
    assert back["name"].tolist() == frame["name"].tolist()
    assert back["employees"].tolist() == frame["employees"].tolist()
    assert [a["note"] for a in back["attributes"]] == frame["note"].tolist()
