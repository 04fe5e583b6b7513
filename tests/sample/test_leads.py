"""The sample's lead sources and leads file: shape, consistency with the opportunities,
believable rates per source, and the rest of the company unchanged by them."""

from __future__ import annotations

import csv
import hashlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territorial.sample import SampleCompany, generate_company, generate_tables, write_tables
from territorial.sample import generate as generate_module
from territorial.sample.leads import (
    LEAD_COLUMNS,
    LEAD_SOURCES,
    LEAD_STATUSES,
    OPEN_DAYS,
    SOURCE_CONVERSION,
)

AS_OF = date(2026, 10, 31)
FIRST_DAY = pd.Timestamp("2023-11-01")


@pytest.fixture(scope="module")
def company() -> SampleCompany:
    return generate_company(accounts=2000, reps=20, seed=7)


@pytest.fixture(scope="module")
def larger() -> SampleCompany:
    """Enough deals per source for conversion and win rates (noise a few percent)."""
    return generate_company(accounts=12_000, reps=40, seed=3)


def test_leads_file_shape(company: SampleCompany) -> None:
    leads = company.leads
    assert leads is not None
    assert tuple(leads.columns) == LEAD_COLUMNS
    assert leads["id"].is_unique and leads["id"].str.fullmatch(r"L\d{6}").all()
    created = leads["created_date"]
    assert created.is_monotonic_increasing
    assert created.min() >= FIRST_DAY and created.max() <= pd.Timestamp(AS_OF)
    assert set(leads["lead_source"]) == set(LEAD_SOURCES)
    assert set(leads["status"]) == set(LEAD_STATUSES)
    for column in ("first_name", "last_name", "email", "company", "city", "state", "postal_code"):
        assert leads[column].notna().all(), column
    assert leads["email"].str.fullmatch(r"[a-z0-9]+\.[a-z0-9]+@[a-z0-9.-]+\.[a-z]+").all()
    assert leads["postal_code"].str.fullmatch(r"\d{5}").all()
    # Unconverted leads are open only while young.
    age = (pd.Timestamp(AS_OF) - created).dt.days
    open_ = leads["status"] == "Open"
    assert (age[open_] < OPEN_DAYS).all()
    young = (age < OPEN_DAYS) & (leads["status"] != "Converted")
    assert (leads.loc[young, "status"] == "Open").all()


def test_converted_leads_are_the_opportunities(company: SampleCompany) -> None:
    leads, opps, accounts = company.leads, company.opportunities, company.accounts
    assert leads is not None
    converted = leads[leads["status"] == "Converted"]
    others = leads[leads["status"] != "Converted"]
    # One converted lead per opportunity, and only converted leads point anywhere.
    assert sorted(converted["converted_opportunity_id"]) == sorted(opps["id"])
    for column in ("converted_date", "converted_account_id", "converted_opportunity_id"):
        assert converted[column].notna().all() and others[column].isna().all(), column
    joined = converted.merge(
        opps, left_on="converted_opportunity_id", right_on="id", suffixes=("", "_opp")
    )
    assert (joined["converted_account_id"] == joined["account_id"]).all()
    assert (joined["lead_source"] == joined["lead_source_opp"]).all()
    assert (joined["converted_date"] == joined["created_date_opp"]).all()
    assert (joined["created_date"] <= joined["converted_date"]).all()
    # The lead is at the opportunity's account: name, place and web or e-mail domain.
    joined = joined.merge(
        accounts.add_prefix("acc_"), left_on="converted_account_id", right_on="acc_id"
    )
    for lead_column, account_column in (
        ("company", "acc_name"),
        ("state", "acc_state"),
        ("city", "acc_city"),
        ("postal_code", "acc_postal_code"),
    ):
        assert (joined[lead_column] == joined[account_column]).all(), lead_column
    email_domain = joined["email"].str.split("@").str[1]
    assert (email_domain == joined["acc_domain"]).all()
    assert ((joined["website"] == joined["acc_domain"]) | joined["website"].isna()).all()


def test_rates_differ_by_source(larger: SampleCompany) -> None:
    leads, opps = larger.leads, larger.opportunities
    assert leads is not None
    per_source = leads.groupby("lead_source").size()
    deals = opps.groupby("lead_source").size()
    for source, conversion in zip(LEAD_SOURCES, SOURCE_CONVERSION, strict=True):
        assert deals[source] / per_source[source] == pytest.approx(conversion, rel=0.12), source
    closed = opps[opps["is_closed"]]
    win = closed.groupby("lead_source")["is_won"].mean()
    assert min(win["referral"], win["partner"]) > win["web"] + 0.05
    assert win["web"] > max(win["paid search"], win["outbound"]) + 0.01
    # Big companies come through people (events, partners, outbound), small ones the web.
    enterprise = opps.merge(larger.accounts[["id", "segment"]], left_on="account_id", right_on="id")
    share = enterprise.groupby("segment")["lead_source"].value_counts(normalize=True)
    assert share["Enterprise", "event"] > 2 * share["SMB", "event"]
    assert share["SMB", "paid search"] > 3 * share["Enterprise", "paid search"]


def _old_tables(tables: dict) -> dict[str, str]:
    old = {n: tables[n] for n in ("accounts", "reps", "opportunities", "activities")}
    old["opportunities"] = old["opportunities"].drop(["lead_source"])
    return old


def test_other_values_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The leads' own random stream leaves every other value of a seed as it was: the CSV
    files of seed 11 are byte for byte those written before lead sources existed
    (digests taken from that version), and another leads stream changes only the leads."""
    tables = generate_tables(accounts=400, reps=8, seed=11)
    paths = write_tables(_old_tables(tables), tmp_path / "now", fmt="csv")
    digests = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in paths.items()}
    assert digests == {
        "accounts": "6d32dbe0cb47430907421f4cb676c91b698f291b7b4931e7a07b1775d0b3acc3",
        "activities": "b36524d87593f016e671c736bf4109097b94974876f704ad12004d97a9c46604",
        "opportunities": "e82d76d53b7e57612998c2a28ea6bbe2d867f751108255fc08fb944b0ea8dfff",
        "reps": "ec9e0c68a51d7536e7873a3d5e3bcc0fb8a57a3d9d752088e119e0acc89b0b59",
    }
    monkeypatch.setattr(generate_module, "LEADS_STREAM", 12345)
    other = generate_tables(accounts=400, reps=8, seed=11)
    for name, table in _old_tables(other).items():
        assert table.equals(_old_tables(tables)[name]), name
    assert not other["leads"].equals(tables["leads"])
    assert other["opportunities"]["lead_source"] != tables["opportunities"]["lead_source"]


def test_leads_are_written_beside_the_crm_files(tmp_path: Path) -> None:
    from territorial.sample import write_sample_company

    paths = write_sample_company(tmp_path, accounts=150, reps=5, seed=2)
    assert paths["leads"] == tmp_path / "leads" / "leads.csv"
    with paths["leads"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with paths["opportunities"].open(newline="", encoding="utf-8") as handle:
        opps = {r["id"]: r for r in csv.DictReader(handle)}
    converted = [r for r in rows if r["status"] == "Converted"]
    assert len(converted) == len(opps)
    for row in converted:
        opp = opps[row["converted_opportunity_id"]]
        assert opp["lead_source"] == row["lead_source"]
        assert opp["account_id"] == row["converted_account_id"]
        assert date.fromisoformat(row["created_date"]) <= date.fromisoformat(opp["created_date"])
        assert date.fromisoformat(opp["created_date"]) - date.fromisoformat(
            row["created_date"]
        ) <= timedelta(days=400)
    assert all(r["converted_opportunity_id"] == "" for r in rows if r["status"] != "Converted")
    assert np.isin([r["lead_source"] for r in rows], LEAD_SOURCES).all()


def test_routing_a_bad_leads_file_names_the_row(tmp_path: Path) -> None:
    from territorial.errors import ConfigError
    from territorial.sample.leads import route_sample_leads

    path = tmp_path / "leads.csv"
    path.write_text("id,created_date,state\nL1,2026-01-05,CA\nL2,soon,NY\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"row 3, column created_date: 'soon' is not a date"):
        route_sample_leads(None, path, as_of=AS_OF)
    path.write_text("id,state\nL1,CA\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no created_date column"):
        route_sample_leads(None, path, as_of=AS_OF)


def test_no_leads_keeps_the_sources_and_writes_four_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from territorial.cli.app import app

    out = tmp_path / "sample"
    result = CliRunner().invoke(
        app, ["sample", "-n", "120", "-r", "5", "--seed", "4", "--no-leads", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "accounts.csv",
        "activities.csv",
        "opportunities.csv",
        "reps.csv",
    ]
    with_leads = generate_tables(accounts=120, reps=5, seed=4)
    opps = pd.read_csv(out / "opportunities.csv")
    assert opps["lead_source"].tolist() == with_leads["opportunities"]["lead_source"].to_pylist()
    company = generate_company(accounts=120, reps=5, seed=4, leads=False)
    assert company.leads is None and "lead_source" in company.opportunities


def test_excel_refuses_too_many_leads_naming_no_leads(tmp_path: Path) -> None:
    import pyarrow as pa

    from territorial.errors import ConfigError

    big = pa.table({"id": pa.array(range(1_048_576))})
    with pytest.raises(ConfigError, match=r"leads has 1,048,576 rows.*\(or --no-leads\)"):
        write_tables({"leads": big}, tmp_path, fmt="xlsx")
