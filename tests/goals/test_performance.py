"""Performance tables against numbers computed independently from the raw rows."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from _goals_data import ACCOUNTS, ACTIVITIES, OPPS, REPS
from sqlalchemy import Engine

from territorial.errors import ConfigError
from territorial.goals.performance import performance_table
from territorial.goals.quotas import plan_quotas, save_quotas

START, END = date(2026, 1, 1), date(2026, 4, 30)
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]
OWNER = {a["id"]: a["owner_id"] for a in ACCOUNTS}
MANAGER = {r["id"]: r["manager_id"] for r in REPS}


def _month_end(month: str) -> date:
    first = date(int(month[:4]), int(month[5:]), 1)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def expected(by: str) -> dict[tuple[str, str], dict[str, float]]:
    """The table by hand: loops over the raw rows, one metric at a time."""

    def opp_key(account: str, owner: str) -> str | None:
        return {
            "rep": owner,
            "team": MANAGER.get(owner),
            "territory": OWNER[account],
            "segment": next(a["segment"] for a in ACCOUNTS if a["id"] == account),
        }[by]

    out: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {
            "bookings": 0.0,
            "won": 0,
            "lost": 0,
            "pipeline": 0.0,
            "activities": 0,
            "cycle": 0.0,
        }
    )
    for _id, account, owner, amount, created, close, closed, won in OPPS:
        key = opp_key(account, owner)
        if key is None:
            continue
        month = close.strftime("%Y-%m")
        if closed and month in MONTHS:
            row = out[(key, month)]
            if won:
                row["bookings"] += amount
                row["won"] += 1
                row["cycle"] += (close - created).days
            else:
                row["lost"] += 1
        for m in MONTHS:
            end = _month_end(m)
            if created <= end and not (closed and close <= end):
                out[(key, m)]["pipeline"] += amount
    for _id, account, rep, _channel, when in ACTIVITIES:
        key = {
            "rep": rep,
            "team": MANAGER.get(rep),
            "territory": OWNER[account],
            "segment": next(a["segment"] for a in ACCOUNTS if a["id"] == account),
        }[by]
        month = when.strftime("%Y-%m")
        if key is not None and month in MONTHS:
            out[(key, month)]["activities"] += 1
    return out


@pytest.mark.parametrize("by", ["rep", "team", "territory", "segment"])
def test_monthly_table_matches_the_raw_rows(tiny: Engine, by: str) -> None:
    table = performance_table(tiny, by=by, grain="month", start=START, end=END)
    assert set(table["period"]) == set(MONTHS)
    want = expected(by)
    for row in table.itertuples(index=False):
        cell = want.get((row.key, row.period))
        if cell is None:
            assert row.bookings == 0 and row.won == 0 and row.lost == 0 and row.activities == 0
            continue
        assert row.bookings == round(cell["bookings"], 2), (row.key, row.period)
        assert (row.won, row.lost) == (cell["won"], cell["lost"])
        assert row.pipeline == round(cell["pipeline"], 2), (row.key, row.period)
        assert row.activities == cell["activities"]
        if cell["won"] + cell["lost"]:
            assert row.win_rate == round(cell["won"] / (cell["won"] + cell["lost"]), 4)
        else:
            assert math.isnan(row.win_rate)
        if cell["won"]:
            assert row.cycle_days == round(cell["cycle"] / cell["won"], 1)
            assert row.avg_deal == round(cell["bookings"] / cell["won"], 2)
    total = sum(c["bookings"] for (k, _m), c in want.items())
    assert table["bookings"].sum() == pytest.approx(total, abs=0.005)


def test_bookings_to_the_cent_by_rep(tiny: Engine) -> None:
    table = performance_table(tiny, by="rep", grain="month", start=START, end=END)
    cells = table.set_index(["key", "period"])
    # O1 1000.10 won in Feb by R1; O3 7000.00 in March; O7 900.99 (R1 owns it) in April.
    assert cells.loc[("R1", "2026-02"), "bookings"] == 1000.10
    assert cells.loc[("R1", "2026-03"), "bookings"] == 7000.00
    assert cells.loc[("R1", "2026-04"), "bookings"] == 900.99
    assert cells.loc[("R2", "2026-02"), "bookings"] == 3333.33
    assert cells.loc[("R2", "2026-02"), "win_rate"] == 1.0
    assert cells.loc[("R1", "2026-02"), "win_rate"] == 0.5
    # Open at the end of March: O4 (4000) for R1; O6 (1500) for R2 and O7 (900.99) for R1.
    assert cells.loc[("R1", "2026-03"), "pipeline"] == 4900.99
    assert cells.loc[("R2", "2026-03"), "pipeline"] == 1500.00
    assert cells.loc[("R1", "2026-03"), "bookings_change"] == pytest.approx(
        7000 / 1000.10 - 1, abs=1e-4
    )
    # Channels and tier-A coverage: R1's tier-A accounts are A1 and A2.
    assert cells.loc[("R1", "2026-01"), "activities_call"] == 1
    assert cells.loc[("R1", "2026-01"), "activities_email"] == 1
    assert cells.loc[("R1", "2026-01"), "tier_a_accounts"] == 2
    assert cells.loc[("R1", "2026-01"), "tier_a_coverage"] == 0.5
    assert cells.loc[("R1", "2026-03"), "tier_a_coverage"] == 1.0  # A2 by R2, A1 by R1


@pytest.mark.parametrize(
    ("grain", "periods"),
    [
        ("day", ["2026-02-10", "2026-02-27", "2026-02-28"]),
        ("week", ["2026-02-09", "2026-02-23"]),
        ("quarter", ["2026-Q1", "2026-Q2"]),
    ],
)
def test_other_grains_label_and_sum(tiny_sqlite: Engine, grain: str, periods: list[str]) -> None:
    table = performance_table(tiny_sqlite, by="rep", grain=grain, start=START, end=END)
    labels = set(table["period"])
    assert set(periods) <= labels
    assert table["bookings"].sum() == pytest.approx(1000.10 + 7000 + 900.99 + 3333.33, abs=0.005)
    assert table["won"].sum() == 4 and table["lost"].sum() == 2


def test_quota_attainment_and_coverage(tiny_sqlite: Engine) -> None:
    result = plan_quotas(tiny_sqlite, target=120_000, period="FY2026")
    save_quotas(tiny_sqlite, result=result)
    table = performance_table(tiny_sqlite, by="rep", grain="month", start=START, end=END)
    months = result.monthly.groupby(["territory", "month"])["quota"].sum()
    cells = table.set_index(["key", "period"])
    for rep in ("R1", "R2"):
        for month in MONTHS:
            quota = months[(rep, month)]
            row = cells.loc[(rep, month)]
            if quota > 0:
                assert row["quota"] == pytest.approx(quota, abs=0.005)
                assert row["attainment"] == pytest.approx(row["bookings"] / quota, abs=1e-4)
            else:
                assert math.isnan(row["attainment"])
    r1_total = result.quotas.set_index("territory").loc["R1", "quota"]
    remaining = r1_total - (1000.10 + 7000.00)
    assert cells.loc[("R1", "2026-03"), "coverage"] == pytest.approx(4900.99 / remaining, abs=1e-3)
    weekly = performance_table(
        tiny_sqlite, by="rep", grain="week", start=date(2026, 1, 1), end=date(2026, 12, 31)
    )
    assert weekly.loc[weekly["key"] == "R1", "quota"].sum() == pytest.approx(
        r1_total, abs=0.5
    )  # weeks rounded to cents


def test_bad_options(tiny_sqlite: Engine) -> None:
    with pytest.raises(ConfigError, match="--by"):
        performance_table(tiny_sqlite, by="planet")
    with pytest.raises(ConfigError, match="--grain"):
        performance_table(tiny_sqlite, grain="year")
    with pytest.raises(ConfigError, match="after"):
        performance_table(tiny_sqlite, start=date(2026, 5, 1), end=date(2026, 4, 1))


def test_sample_company_matches_its_csv_files(
    sqlite_url: str, sample_files: Path, tmp_path: Path
) -> None:
    """Bookings and win rates by rep and quarter against the sample's own CSV file."""
    from territorial.io import import_paths
    from territorial.store import open_store

    engine = open_store(sqlite_url)
    import_paths([sample_files], engine=engine)
    table = performance_table(
        engine,
        by="rep",
        grain="quarter",
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        cache_dir=tmp_path,
    )
    raw = pd.read_csv(sample_files / "opportunities.csv")
    raw = raw.rename(columns=str.lower)
    close = pd.to_datetime(raw["close_date"])
    closed = raw[
        raw["is_closed"].astype(str).str.lower().isin(["true", "1"]) & (close.dt.year == 2025)
    ]
    closed = closed.assign(quarter="2025-Q" + close[closed.index].dt.quarter.astype(str))
    won = closed[closed["is_won"].astype(str).str.lower().isin(["true", "1"])]
    want = won.groupby(["owner_id", "quarter"])["amount"].sum().round(2)
    got = table.set_index(["key", "period"])["bookings"]
    assert len(want) > 10
    for index, value in want.items():
        assert got[index] == pytest.approx(value, abs=0.005)
    assert got.sum() == pytest.approx(want.sum(), abs=0.01)
    # Second call comes from the Parquet extract (same answer).
    again = performance_table(
        engine,
        by="rep",
        grain="quarter",
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        cache_dir=tmp_path,
    )
    pd.testing.assert_frame_equal(table, again)
