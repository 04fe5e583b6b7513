"""Periods: parsing, fiscal years with another start month, labels of a day per grain."""

from __future__ import annotations

from datetime import date

import pytest

from territorial.errors import ConfigError
from territorial.goals.performance import period_grid
from territorial.goals.periods import parse_period, period_label


@pytest.mark.parametrize(
    ("text", "start_month", "kind", "start", "end"),
    [
        ("FY2027", 1, "year", date(2027, 1, 1), date(2028, 1, 1)),
        ("fy2027", 2, "year", date(2026, 2, 1), date(2027, 2, 1)),
        ("FY2027", 7, "year", date(2026, 7, 1), date(2027, 7, 1)),
        ("2027-Q1", 1, "quarter", date(2027, 1, 1), date(2027, 4, 1)),
        ("2027-Q4", 2, "quarter", date(2026, 11, 1), date(2027, 2, 1)),
        ("2027-03", 1, "month", date(2027, 3, 1), date(2027, 4, 1)),
        ("2027-12", 4, "month", date(2027, 12, 1), date(2028, 1, 1)),
        ("2027-W01", 1, "week", date(2027, 1, 4), date(2027, 1, 11)),
        ("2026-02-28", 1, "day", date(2026, 2, 28), date(2026, 3, 1)),
    ],
)
def test_periods_parse(text: str, start_month: int, kind: str, start: date, end: date) -> None:
    period = parse_period(text, fiscal_start_month=start_month)
    assert (period.kind, period.start, period.end) == (kind, start, end)


@pytest.mark.parametrize(
    "text", ["", "2027", "FY27", "2027-13", "2027-Q5", "2027-W60", "2027-02-30", "Q1"]
)
def test_bad_periods_name_the_value(text: str) -> None:
    with pytest.raises(ConfigError, match="period"):
        parse_period(text)


def test_fiscal_start_month_must_be_a_month() -> None:
    with pytest.raises(ConfigError, match="1-12"):
        parse_period("FY2027", fiscal_start_month=13)


@pytest.mark.parametrize(
    ("day", "grain", "start_month", "label"),
    [
        (date(2026, 3, 4), "day", 1, "2026-03-04"),
        (date(2026, 3, 4), "week", 1, "2026-03-02"),
        (date(2026, 3, 1), "week", 1, "2026-02-23"),
        (date(2026, 3, 4), "month", 1, "2026-03"),
        (date(2026, 3, 4), "quarter", 1, "2026-Q1"),
        (date(2026, 2, 1), "quarter", 2, "2027-Q1"),
        (date(2027, 1, 31), "quarter", 2, "2027-Q4"),
    ],
)
def test_labels(day: date, grain: str, start_month: int, label: str) -> None:
    assert period_label(day, grain, fiscal_start_month=start_month) == label


def test_grid_covers_the_range_without_gaps() -> None:
    grid = period_grid(date(2026, 1, 15), date(2026, 4, 2), "week")
    assert grid.starts[0] == date(2026, 1, 12)
    assert all(e == s for e, s in zip(grid.ends, grid.starts[1:], strict=False))
    assert grid.ends[-1] > date(2026, 4, 2)
    quarters = period_grid(date(2026, 1, 1), date(2026, 12, 31), "quarter", fiscal_start_month=2)
    assert quarters.labels == ["2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
