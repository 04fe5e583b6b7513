"""Market analysis on hand-made data: white space, coverage, seasonality, files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territorial.reports.market import (
    WHITE_SPACE_COLUMNS,
    account_coverage,
    seasonality,
    white_space,
    write_market_report,
)
from territorial.scoring.config import load_config
from territorial.scoring.frames import prepare_accounts, prepare_activities, prepare_opportunities

AS_OF = date(2026, 7, 1)

# Four accounts you can see: two in CA (one covered), two in TX (none covered).
ACCOUNTS = prepare_accounts(
    pd.DataFrame(
        {
            "id": ["ca_covered", "ca_owned_idle", "tx_unowned_active", "tx_nothing"],
            "state": ["CA", "CA", "TX", "TX"],
            "postal_code": ["94105", "90001", "73301", None],
            "segment": ["Enterprise", "SMB", "Enterprise", "SMB"],
            "owner_id": ["r1", "r1", None, None],
        }
    )
)
POTENTIAL = pd.Series(
    {"ca_covered": 100.0, "ca_owned_idle": 50.0, "tx_unowned_active": 300.0, "tx_nothing": 25.0}
)
ACTIVITIES = prepare_activities(
    pd.DataFrame(
        {
            "account_id": ["ca_covered", "ca_owned_idle", "tx_unowned_active"],
            "channel": ["call", "call", "meeting"],
            # ca_owned_idle's call is 91 days old: outside the 90-day window.
            "occurred_at": ["2026-06-15", "2026-04-01", "2026-06-30"],
        }
    )
)
OPPORTUNITIES = prepare_opportunities(
    pd.DataFrame(
        {
            "account_id": ["ca_covered", "tx_nothing"],
            "amount": [40.0, 10.0],
            "created_date": ["2026-01-01", "2024-01-01"],
            "close_date": ["2026-03-01", "2024-03-01"],
            "is_closed": [True, True],
            "is_won": [True, True],
        }
    )
)


def _coverage() -> pd.DataFrame:
    return account_coverage(
        ACCOUNTS, POTENTIAL, ACTIVITIES, OPPORTUNITIES, as_of=AS_OF, activity_days=90
    )


def test_coverage_needs_an_owner_and_recent_activity() -> None:
    cov = _coverage().set_index("account_id")
    assert list(cov["covered"]) == [True, False, False, False]
    assert list(cov["zip3"]) == ["941", "900", "733", "unknown"]
    assert cov.loc["ca_covered", "won_revenue_12m"] == 40.0
    assert cov.loc["tx_nothing", "won_revenue_12m"] == 0.0  # won more than a year ago


def test_white_space_by_state() -> None:
    table = white_space(_coverage(), by=["state"]).set_index("state")
    assert list(table.columns) == list(WHITE_SPACE_COLUMNS)
    assert table.index[0] == "TX"  # largest white space first
    assert table.loc["CA", "potential"] == 150 and table.loc["CA", "covered_potential"] == 100
    assert table.loc["CA", "coverage"] == pytest.approx(100 / 150)
    assert table.loc["TX", "white_space"] == 325 and table.loc["TX", "coverage"] == 0
    assert table["white_space_share"].sum() == pytest.approx(1.0)
    assert table.loc["TX", "active_accounts"] == 1 and table.loc["TX", "owned_accounts"] == 0


def test_white_space_by_segment_and_zip3() -> None:
    seg = white_space(_coverage(), by=["segment"]).set_index("segment")
    assert seg.loc["Enterprise", "white_space"] == 300
    zips = white_space(_coverage(), by=["state", "zip3"])
    assert len(zips) == 4


def _monthly_wins(per_month: dict[int, int], years: range, amount: float = 1000.0) -> pd.DataFrame:
    rows = []
    for year in years:
        for month in range(1, 13):
            for k in range(per_month.get(month, 0)):
                rows.append(
                    {
                        "account_id": "a",
                        "amount": amount,
                        "created_date": f"{year}-{month:02d}-01",
                        "close_date": f"{year}-{month:02d}-{1 + k % 27:02d}",
                        "is_closed": True,
                        "is_won": True,
                    }
                )
    return prepare_opportunities(pd.DataFrame(rows))


def test_a_strong_december_is_detected() -> None:
    counts = {m: 5 for m in range(1, 12)} | {12: 30}
    result = seasonality(_monthly_wins(counts, range(2022, 2026)), by="all")
    row = result.strength.iloc[0]
    assert row["seasonal"]
    assert row["peak_month"] == "Dec"
    assert row["chi2_p"] < 1e-6 and row["eta2"] > 0.9
    monthly = result.monthly.set_index("month")
    assert monthly.loc["Dec", "index"] == pytest.approx(30 / (85 / 12))


def test_a_flat_pattern_is_not_seasonal() -> None:
    result = seasonality(_monthly_wins({m: 6 for m in range(1, 13)}, range(2022, 2026)), by="all")
    row = result.strength.iloc[0]
    assert not row["seasonal"]
    assert row["amplitude"] == pytest.approx(0.0)
    assert row["chi2_p"] == pytest.approx(1.0)
    np.testing.assert_allclose(result.monthly["index"], 1.0)


def test_random_month_to_month_noise_is_not_seasonal() -> None:
    rng = np.random.default_rng(0)
    frames = [
        _monthly_wins(
            {m: int(rng.poisson(8)) for m in range(1, 13)},
            range(year, year + 1),
            amount=float(rng.integers(500, 5000)),
        )
        for year in range(2019, 2026)
    ]
    row = seasonality(pd.concat(frames, ignore_index=True), by="all").strength.iloc[0]
    assert not row["seasonal"]
    assert row["eta2_adjusted"] < 0.2


def test_seasonality_per_segment() -> None:
    december = _monthly_wins({m: 3 for m in range(1, 12)} | {12: 25}, range(2022, 2025))
    flat = _monthly_wins({m: 4 for m in range(1, 13)}, range(2022, 2025))
    december["account_id"], flat["account_id"] = "ent", "smb"
    opportunities = pd.concat([december, flat], ignore_index=True)
    accounts = prepare_accounts(
        pd.DataFrame({"id": ["ent", "smb"], "segment": ["Enterprise", "SMB"]})
    )
    strength = seasonality(opportunities, accounts, by="segment").strength.set_index("segment")
    assert strength.loc["Enterprise", "seasonal"]
    assert not strength.loc["SMB", "seasonal"]


def test_report_files(tmp_path: Path) -> None:
    opportunities = _monthly_wins({m: 2 for m in range(1, 12)} | {12: 12}, range(2023, 2026))
    opportunities["account_id"] = np.where(
        np.arange(len(opportunities)) % 2, "ca_covered", "tx_nothing"
    )
    report = write_market_report(
        tmp_path / "market",
        accounts=ACCOUNTS,
        potential=POTENTIAL,
        opportunities=opportunities,
        activities=ACTIVITIES,
        as_of=AS_OF,
        config=load_config(),
    )
    html = report.index.read_text()
    for path in [*report.tables.values(), *report.charts.values()]:
        assert path.exists() and path.stat().st_size > 0
        assert f'"{path.name}"' in html
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in report.charts.values())
    strength = pd.read_csv(report.tables["seasonality_strength"])
    assert set(strength["segment"]) == {"all", "Enterprise", "SMB"}
