"""Quotas: the split adds up to the target to the cent, follows the method, pro-rates,
respects floors and caps, phases by seasonality, and refuses bad input."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from territorial.errors import ConfigError
from territorial.goals.periods import parse_period
from territorial.goals.quotas import (
    QuotaOptions,
    allocate_quotas,
    check_ramp,
    check_target,
    plan_quotas,
    productivity_by_month,
    save_quotas,
)
from territorial.store.goals import list_quota_sets, read_quota_months, read_quota_rows

FY = parse_period("FY2027")


def territories(**overrides: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "territory": ["T1", "T2", "T3", "T4"],
            "territory_name": ["North", "South", "East", "West"],
            "rep_id": ["R1", "R2", "R3", None],
            "potential": [100_000.0, 200_000.0, 300_000.0, 400_000.0],
            "history": [50_000.0, 50_000.0, 100_000.0, 0.0],
            "prior_history": [50_000.0, 25_000.0, 200_000.0, 0.0],
            "expected_bookings": [20_000.0, 40_000.0, np.nan, 80_000.0],
            "start_date": [None, None, None, None],
        }
    )
    for name, value in overrides.items():
        frame[name] = value
    return frame


def test_potential_method_splits_by_potential_share() -> None:
    result = allocate_quotas(territories(), target=1_000_000, period=FY)
    assert result.quotas["quota"].tolist() == [100_000.0, 200_000.0, 300_000.0, 400_000.0]
    assert result.fairness["cv_quota_over_potential"] == pytest.approx(0.0)
    assert result.fairness["outliers"] == []
    # Bottom-up: quota over potential x propensity, empty where propensity is missing.
    assert result.quotas["quota_over_expected"].tolist()[:2] == [5.0, 5.0]
    assert np.isnan(result.quotas["quota_over_expected"].iloc[2])


def test_history_method_grows_each_territory_by_its_own_growth() -> None:
    result = allocate_quotas(
        territories(),
        target=100_000,
        period=FY,
        options=QuotaOptions(method="history", growth_cap=0.5),
    )
    # growth: 0%, +100% clipped to +50%, -50%; bases 50k, 75k, 50k, 0.
    assert result.quotas["growth"].tolist() == [0.0, 0.5, -0.5, 0.0]
    assert result.quotas["quota"].tolist() == [28_571.43, 42_857.14, 28_571.43, 0.0]
    assert result.quotas["quota"].sum() == pytest.approx(100_000, abs=1e-6)
    # T4 has potential but no quota: out of line with its potential.
    assert "T4" in {o["territory"] for o in result.fairness["outliers"]}
    assert result.fairness["cv_quota_over_potential"] > 0.5


def test_blend_weights_the_two_shares() -> None:
    result = allocate_quotas(
        territories(),
        target=1_000,
        period=FY,
        options=QuotaOptions(method="blend", potential_weight=3, history_weight=1),
    )
    potential = np.array([0.1, 0.2, 0.3, 0.4])
    history = np.array([50, 75, 50, 0]) / 175
    expected = 1_000 * (0.75 * potential + 0.25 * history)
    assert result.quotas["quota"].to_numpy() == pytest.approx(expected, abs=0.01)


def test_mid_period_start_and_ramp_pro_rate() -> None:
    starts = productivity_by_month([date(2027, 7, 16), None], FY.months(), (0.5,))
    # July: 16 of 31 days at 50%, then 100%; before July nothing.
    assert starts[0, :6].tolist() == [0.0] * 6
    assert starts[0, 6] == pytest.approx(16 / 31 * 0.5)
    assert starts[0, 7:].tolist() == [1.0] * 5
    assert starts[1].tolist() == [1.0] * 12
    frame = territories(potential=[100.0] * 4, start_date=[date(2027, 7, 1), None, None, None])
    result = allocate_quotas(frame, target=3_500, period=FY, options=QuotaOptions(ramp=()))
    assert result.quotas["productivity"].iloc[0] == pytest.approx(0.5)
    assert result.quotas["quota"].tolist() == [500.0, 1_000.0, 1_000.0, 1_000.0]
    first = result.monthly[result.monthly["territory"] == "T1"]
    assert first["quota"].iloc[:6].sum() == 0.0


def test_floor_and_cap_keep_the_total() -> None:
    result = allocate_quotas(
        territories(), target=1_000_000, period=FY, options=QuotaOptions(floor=150_000, cap=350_000)
    )
    quotas = result.quotas["quota"].to_numpy()
    assert quotas.min() >= 150_000 - 0.01 and quotas.max() <= 350_000 + 0.01
    assert quotas.sum() == pytest.approx(1_000_000, abs=0.001)
    assert quotas[0] == pytest.approx(150_000) and quotas[3] == pytest.approx(350_000)


def test_monthly_phasing_follows_seasonality_to_the_cent() -> None:
    season = pd.DataFrame(
        [[2.0] + [1.0] * 11] * 4, index=["T1", "T2", "T3", "T4"], columns=range(1, 13)
    )
    result = allocate_quotas(territories(), target=1_000_000.01, period=FY, season=season)
    t1 = result.monthly[result.monthly["territory"] == "T1"]
    assert t1["month"].tolist()[0] == "2027-01"
    assert t1["quota"].iloc[0] == pytest.approx(2 * t1["quota"].iloc[1], abs=0.05)
    sums = result.monthly.groupby("territory")["quota"].sum().round(2)
    assert sums.to_dict() == result.quotas.set_index("territory")["quota"].round(2).to_dict()
    assert round(result.quotas["quota"].sum(), 2) == 1_000_000.01


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ramp": (0.5, 1.2)}, "cannot exceed 100%"),
        ({"method": "magic"}, "method"),
        ({"floor": 10.0, "cap": 5.0}, "above cap"),
        ({"floor": 300_000.0}, "floors add up"),
        ({"cap": 100_000.0}, "caps add up"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        allocate_quotas(territories(), target=1_000_000, period=FY, options=QuotaOptions(**kwargs))


@pytest.mark.parametrize("target", ["0", "-5", "abc", "nan", "inf"])
def test_target_must_be_a_positive_amount(target: str) -> None:
    with pytest.raises(ConfigError, match="target"):
        check_target(target)


def test_ramp_text() -> None:
    assert check_ramp("25, 50%,75") == (0.25, 0.5, 0.75)
    with pytest.raises(ConfigError, match="100%"):
        check_ramp("50,150")


def test_thousand_territories_are_fast() -> None:
    import time

    rng = np.random.default_rng(1)
    n = 1_000
    frame = pd.DataFrame(
        {
            "territory": [f"T{i}" for i in range(n)],
            "territory_name": [f"T{i}" for i in range(n)],
            "rep_id": [f"R{i}" for i in range(n)],
            "potential": rng.lognormal(12, 1, n),
            "history": rng.lognormal(11, 1, n),
            "prior_history": rng.lognormal(11, 1, n),
            "expected_bookings": rng.lognormal(10, 1, n),
            "start_date": [date(2027, 5, 3) if i % 10 == 0 else None for i in range(n)],
        }
    )
    started = time.perf_counter()
    result = allocate_quotas(
        frame, target=1e9, period=FY, options=QuotaOptions(method="blend", floor=1e5)
    )
    assert time.perf_counter() - started < 10  # budget 2 s (benchmarks/performance.py)
    assert round(result.quotas["quota"].sum(), 2) == 1e9


def test_quotas_from_the_store_are_saved_as_versions(tiny: Engine) -> None:
    result = plan_quotas(tiny, target=100_000, period="FY2026")
    # No active plan: each rep's CRM book is a territory (R1: A1+A2, R2: A3+A4).
    quotas = result.quotas.set_index("territory")
    assert quotas.loc["R1", "potential"] == 40_000.0 and quotas.loc["R2", "potential"] == 60_000.0
    assert quotas.loc["R1", "expected_bookings"] == pytest.approx(10_000 * 0.5 + 30_000 * 0.2)
    # R2 starts 2026-07-01: half a (flat or seasonal) year of work.
    assert quotas.loc["R2", "productivity"] < 1.0
    assert quotas["quota"].sum() == pytest.approx(100_000)
    first = save_quotas(tiny, result=result, created_by="test")
    second = save_quotas(tiny, result=result)
    sets = list_quota_sets(tiny, period="FY2026")
    assert [s["version"] for s in sets] == [2, 1]
    rows = read_quota_rows(tiny, quota_set_id=first)
    assert rows["quota"].sum() == pytest.approx(100_000)
    months = read_quota_months(tiny, quota_set_id=second)
    assert len(months) == 24 and months["quota"].sum() == pytest.approx(100_000)


def test_unknown_plan_is_refused(tiny: Engine) -> None:
    from territorial.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no plan 99"):
        plan_quotas(tiny, target=100_000, period="FY2026", plan_id=99)
