"""Goals on a Salesforce-shaped export (Data Loader files: User, Account, Opportunity,
Task, Event with Salesforce API column names), imported through the normal import path:
bookings, win rate, attainment and the attainment-pace signal are checked against
numbers computed here with plain Python from the raw CSV files."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from territorial.store import open_store

RITA, SAM, MONA = "0055g00000USR01", "0055g00000USR02", "0055g00000USR03"
USERS = [
    {"Id": RITA, "Name": "Rita Rep", "Email": "rita@sales.example", "Title": "Account Executive",
     "IsActive": "true", "ManagerId": MONA, "City": "Boston", "State": "MA", "PostalCode": "02110"},
    {"Id": SAM, "Name": "Sam Seller", "Email": "sam@sales.example", "Title": "Account Executive",
     "IsActive": "true", "ManagerId": MONA, "City": "Austin", "State": "TX", "PostalCode": "78701"},
    {"Id": MONA, "Name": "Mona Manager", "Email": "mona@sales.example", "Title": "Sales Manager",
     "IsActive": "true", "ManagerId": "", "City": "New York", "State": "NY", "PostalCode": "10001"},
]  # fmt: skip
# (Id suffix, owner, city, state, zip, industry, employees, annual revenue)
ACCOUNTS = [
    ("01", RITA, "Cambridge", "MA", "02139", "Technology", "1200", "5000000"),
    ("02", RITA, "Boston", "MA", "02110", "Healthcare", "300", "900000"),
    ("03", SAM, "Austin", "TX", "78701", "Banking", "800", "12000000"),
    ("04", SAM, "Dallas", "TX", "75201", "Retail", "2500", "30000000"),
]
# (Id suffix, account, owner, stage, amount, close, created, lead source); IsClosed and
# IsWon follow the stage, as in Salesforce.
OPPORTUNITIES = [
    ("01", "01", RITA, "Closed Won", "25000.50", "2026-01-20", "2025-11-15", "Web"),
    ("02", "01", RITA, "Closed Lost", "8000", "2026-02-10", "2026-01-05", "Web"),
    ("03", "02", RITA, "Closed Won", "12000", "2026-03-05", "2026-01-20", "Partner Referral"),
    ("04", "02", RITA, "Negotiation/Review", "40000", "2026-06-30", "2026-02-15", ""),
    ("05", "03", SAM, "Closed Lost", "15000", "2026-01-30", "2025-12-01", "Trade Show"),
    ("06", "03", SAM, "Closed Won", "3000.25", "2026-02-25", "2026-01-10", "Trade Show"),
    ("07", "04", SAM, "Closed Lost", "22000", "2026-03-10", "2026-01-25", "Web"),
    ("08", "04", SAM, "Prospecting", "18000", "2026-07-31", "2026-03-01", "Web"),
    ("09", "01", RITA, "Closed Won", "9999.99", "2025-12-15", "2025-10-01", "Web"),
]
TASKS = [  # (Id suffix, account, owner, ActivityDate, TaskSubtype, Type)
    ("01", "01", RITA, "2026-03-02", "Call", "Call"),
    ("02", "02", RITA, "2026-03-09", "Email", "Email"),
    ("03", "03", SAM, "2026-01-12", "Call", "Call"),
    ("04", "04", SAM, "2026-03-20", "Task", "Other"),
]
EVENTS = [  # (Id suffix, account, owner, ActivityDateTime, Type)
    ("01", "01", RITA, "2026-03-25T15:00:00.000Z", "Meeting"),
    ("02", "03", SAM, "2026-02-18T16:00:00.000Z", "Meeting"),
]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)


def salesforce_export(folder: Path) -> Path:
    """The Data Loader files of a small org, as Salesforce names them."""
    folder.mkdir()
    _write(folder / "User.csv", USERS)
    _write(
        folder / "Account.csv",
        [
            {"Id": f"0015g00000ACC{i}", "Name": f"Account {i}", "OwnerId": owner,
             "BillingCity": city, "BillingState": state, "BillingPostalCode": zip_code,
             "BillingCountry": "United States", "Industry": industry,
             "NumberOfEmployees": employees, "AnnualRevenue": revenue, "AccountSource": "Web"}
            for i, owner, city, state, zip_code, industry, employees, revenue in ACCOUNTS
        ],
    )  # fmt: skip
    _write(
        folder / "Opportunity.csv",
        [
            {"Id": f"0065g00000OPP{i}", "AccountId": f"0015g00000ACC{a}", "OwnerId": owner,
             "Name": f"Deal {i}", "StageName": stage, "Amount": amount, "CloseDate": close,
             "CreatedDate": f"{created}T09:30:00.000Z",
             "IsClosed": str(stage.startswith("Closed")).lower(),
             "IsWon": str(stage == "Closed Won").lower(), "LeadSource": source,
             "Type": "New Business", "CurrencyIsoCode": "USD", "NextStep": ""}
            for i, a, owner, stage, amount, close, created, source in OPPORTUNITIES
        ],
    )  # fmt: skip
    _write(
        folder / "Task.csv",
        [
            {"Id": f"00T5g00000TSK{i}", "WhatId": f"0015g00000ACC{a}", "WhoId": "",
             "OwnerId": owner, "Subject": f"{subtype} {i}", "ActivityDate": day,
             "Status": "Completed", "Priority": "Normal", "TaskSubtype": subtype, "Type": kind,
             "CallDurationInSeconds": "600"}
            for i, a, owner, day, subtype, kind in TASKS
        ],
    )  # fmt: skip
    _write(
        folder / "Event.csv",
        [
            {"Id": f"00U5g00000EVT{i}", "WhatId": f"0015g00000ACC{a}", "OwnerId": owner,
             "Subject": f"Meeting {i}", "ActivityDateTime": when, "StartDateTime": when,
             "EndDateTime": when, "DurationInMinutes": "60", "EventSubtype": "Event",
             "Type": kind, "ShowAs": "Busy"}
            for i, a, owner, when, kind in EVENTS
        ],
    )  # fmt: skip
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _day(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def run(argv: list[str], url: str) -> int:
    from territorial.cli import main

    try:
        main([*argv, "--database", url])
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_goals_on_a_salesforce_export(tmp_path: Path, sqlite_url: str) -> None:
    from territorial.goals.quotas import plan_quotas, save_quotas
    from territorial.scoring.store_adapter import score_store
    from territorial.store.goals import read_quota_months, read_quota_rows

    export = salesforce_export(tmp_path / "salesforce")
    assert run(["import", str(export)], sqlite_url) == 0
    engine = open_store(sqlite_url)
    score_store(engine)
    # No territory model version is active: each rep's CRM book is their territory.
    quota_set = save_quotas(engine, result=plan_quotas(engine, target=200_000, period="FY2026"))
    out = tmp_path / "perf.csv"
    argv = ["performance", "--by", "rep", "--grain", "quarter", "--from", "2026-01-01"]
    assert run([*argv, "--to", "2026-03-31", "--out", str(out)], sqlite_url) == 0
    perf = pd.read_csv(out, dtype={"key": str}).set_index("key")

    # Independently, from the raw files.
    opportunities = _rows(export / "Opportunity.csv")
    q1 = (date(2026, 1, 1), date(2026, 3, 31))
    bookings: dict[str, float] = defaultdict(float)
    won: dict[str, int] = defaultdict(int)
    lost: dict[str, int] = defaultdict(int)
    for o in opportunities:
        if o["IsClosed"] == "true" and q1[0] <= date.fromisoformat(o["CloseDate"]) <= q1[1]:
            if o["IsWon"] == "true":
                bookings[o["OwnerId"]] += float(o["Amount"])
                won[o["OwnerId"]] += 1
            else:
                lost[o["OwnerId"]] += 1
    months = read_quota_months(engine, quota_set_id=quota_set)
    owners = read_quota_rows(engine, quota_set_id=quota_set).set_index("territory_id")["rep_id"]
    quarter_quota: dict[str, float] = defaultdict(float)
    for m in months.itertuples(index=False):
        if m.month in ("2026-01", "2026-02", "2026-03"):
            quarter_quota[owners[m.territory_id]] += m.quota
    for rep in (RITA, SAM):
        row = perf.loc[rep]
        assert row["period"] == "2026-Q1"
        assert row["bookings"] == pytest.approx(bookings[rep], abs=0.005)
        assert (row["won"], row["lost"]) == (won[rep], lost[rep])
        assert row["win_rate"] == pytest.approx(won[rep] / (won[rep] + lost[rep]), abs=1e-4)
        assert row["quota"] == pytest.approx(quarter_quota[rep], abs=0.01)
        assert row["attainment"] == pytest.approx(bookings[rep] / quarter_quota[rep], abs=1e-4)
    assert bookings[RITA] == pytest.approx(37000.50) and won[SAM] == 1  # the data is as drawn

    # The pace signal: bookings since the quota period began / the quota phased to the
    # data's last day (the latest activity or past close in the files).
    days = [_day(t["ActivityDate"]) for t in _rows(export / "Task.csv")]
    days += [_day(e["ActivityDateTime"]) for e in _rows(export / "Event.csv")]
    days += [date.fromisoformat(o["CloseDate"]) for o in opportunities if o["IsClosed"] == "true"]
    as_of = max(d for d in days if d <= date.today())
    pace: dict[str, float] = {}
    for rep in (RITA, SAM):
        booked = sum(
            float(o["Amount"])
            for o in opportunities
            if o["OwnerId"] == rep
            and o["IsWon"] == "true"
            and date(2026, 1, 1) <= date.fromisoformat(o["CloseDate"]) <= as_of
        )
        to_date = 0.0
        for m in months.itertuples(index=False):
            if owners[m.territory_id] != rep:
                continue
            first = date(int(m.month[:4]), int(m.month[5:]), 1)
            nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            if nxt <= as_of:
                to_date += m.quota
            elif first <= as_of:
                to_date += m.quota * ((as_of - first).days + 1) / (nxt - first).days
        pace[rep] = booked / to_date
    signals_out = tmp_path / "signals.csv"
    assert run(["signals", "--out", str(signals_out)], sqlite_url) == 0
    signals = pd.read_csv(signals_out)
    behind = signals[signals["kind"] == "attainment_pace"].set_index("rep_id")
    assert pace[SAM] < 0.85 <= pace[RITA]
    assert list(behind.index) == [SAM]
    assert behind.loc[SAM, "figure"] == pytest.approx(pace[SAM], abs=1e-4)
    assert behind.loc[SAM, "threshold"] == 0.85

    # The market's lead-source funnel reads Salesforce's LeadSource (blank: unknown);
    # each account's territory is its CRM owner's book.
    from datetime import timedelta

    from territorial.goals.market import market_by_territory

    owner_of = {a["Id"]: a["OwnerId"] for a in _rows(export / "Account.csv")}
    funnel: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in opportunities:
        if as_of - timedelta(days=364) <= _day(o["CreatedDate"]) <= as_of:
            cell = funnel[(owner_of[o["AccountId"]], o["LeadSource"] or "unknown")]
            closed = o["IsClosed"] == "true" and date.fromisoformat(o["CloseDate"]) <= as_of
            cell[0] += 1
            cell[1] += closed and o["IsWon"] == "true"
            cell[2] += closed and o["IsWon"] != "true"
    view = market_by_territory(engine, by="territory").funnel
    got = {
        (r.key, r.lead_source): [r.opportunities, r.won, r.lost]
        for r in view.itertuples(index=False)
    }
    assert got == dict(funnel) and (RITA, "unknown") in got
    engine.dispose()
