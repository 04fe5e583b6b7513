"""Sales periods: fiscal years, quarters, months, ISO weeks and days.

A fiscal year is named after the calendar year it **ends** in (the common convention):
with ``fiscal_start_month=2``, ``FY2027`` runs 2026-02-01 to 2027-01-31. With the
default ``fiscal_start_month=1`` fiscal and calendar years coincide. Quarters are fiscal
quarters (``2027-Q1`` is the first quarter of FY2027); months (``2027-03``), ISO weeks
(``2027-W09``) and days (``2027-03-04``) are calendar ones.

Every period is a half-open range of dates ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from territorial.errors import ConfigError

GRAINS = ("day", "week", "month", "quarter")

_FY = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    """A named range of days ``[start, end)``; ``kind`` is year, quarter, month, week, day."""

    kind: str
    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def months(self) -> list[str]:
        """The calendar months (``YYYY-MM``) the period touches, in order."""
        out: list[str] = []
        year, month = self.start.year, self.start.month
        while date(year, month, 1) < self.end:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def _check_start_month(fiscal_start_month: int) -> None:
    if not 1 <= fiscal_start_month <= 12:
        raise ConfigError(f"fiscal year start month must be 1-12, got {fiscal_start_month}")


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year(year: int, *, fiscal_start_month: int = 1) -> Period:
    """``FY<year>``: the twelve months ending in calendar year ``year``."""
    _check_start_month(fiscal_start_month)
    start = date(year, 1, 1) if fiscal_start_month == 1 else date(year - 1, fiscal_start_month, 1)
    return Period("year", f"FY{year}", start, add_months(start, 12))


def fiscal_quarter(year: int, quarter: int, *, fiscal_start_month: int = 1) -> Period:
    """Quarter ``quarter`` (1-4) of ``FY<year>``."""
    start = add_months(
        fiscal_year(year, fiscal_start_month=fiscal_start_month).start, 3 * (quarter - 1)
    )
    return Period("quarter", f"{year}-Q{quarter}", start, add_months(start, 3))


def fiscal_year_of(day: date, *, fiscal_start_month: int = 1) -> int:
    """The fiscal year (as named by :func:`fiscal_year`) that contains ``day``."""
    _check_start_month(fiscal_start_month)
    if fiscal_start_month == 1:
        return day.year
    return day.year + 1 if day.month >= fiscal_start_month else day.year


def parse_period(text: str, *, fiscal_start_month: int = 1) -> Period:
    """``FY2027``, ``2027-Q1``, ``2027-03``, ``2027-W09`` or ``2027-03-04`` as a :class:`Period`.

    Raises :class:`ConfigError` naming the value and the accepted forms.
    """
    value = (text or "").strip()
    _check_start_month(fiscal_start_month)
    try:
        if m := _FY.match(value):
            return fiscal_year(int(m[1]), fiscal_start_month=fiscal_start_month)
        if m := _QUARTER.match(value):
            return fiscal_quarter(int(m[1]), int(m[2]), fiscal_start_month=fiscal_start_month)
        if m := _MONTH.match(value):
            start = date(int(m[1]), int(m[2]), 1)
            return Period("month", value, start, add_months(start, 1))
        if m := _WEEK.match(value):
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return Period("week", value.upper(), start, start + timedelta(days=7))
        if m := _DAY.match(value):
            start = date(int(m[1]), int(m[2]), int(m[3]))
            return Period("day", value, start, start + timedelta(days=1))
    except ValueError as exc:
        raise ConfigError(f"period {text!r} is not a real date range: {exc}") from exc
    raise ConfigError(
        f"period {text!r} does not parse; use FY2027 (fiscal year), 2027-Q1 (fiscal quarter), "
        "2027-03 (month), 2027-W09 (ISO week) or 2027-03-04 (day)"
    )


def parse_day(text: str, *, option: str = "date") -> date:
    """A ``YYYY-MM-DD`` date, or :class:`ConfigError` naming the option and value."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        raise ConfigError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from exc


def period_label(day: date, grain: str, *, fiscal_start_month: int = 1) -> str:
    """The label of the ``grain`` period containing ``day`` (as in performance tables):
    ``YYYY-MM-DD`` for day and week (its Monday), ``YYYY-MM``, ``YYYY-Qn`` (fiscal)."""
    if grain == "day":
        return day.isoformat()
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if grain == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if grain == "quarter":
        year = fiscal_year_of(day, fiscal_start_month=fiscal_start_month)
        first = fiscal_year(year, fiscal_start_month=fiscal_start_month).start
        months = (day.year - first.year) * 12 + day.month - first.month
        return f"{year}-Q{months // 3 + 1}"
    raise ConfigError(f"grain {grain!r} is not one of {', '.join(GRAINS)}")


def grain_period(label: str, grain: str, *, fiscal_start_month: int = 1) -> Period:
    """The :class:`Period` of a performance label at ``grain`` (inverse of :func:`period_label`)."""
    if grain == "week":
        start = date.fromisoformat(label)
        return Period("week", label, start, start + timedelta(days=7))
    return parse_period(label, fiscal_start_month=fiscal_start_month)


__all__ = [
    "GRAINS",
    "Period",
    "add_months",
    "fiscal_quarter",
    "fiscal_year",
    "fiscal_year_of",
    "grain_period",
    "parse_day",
    "parse_period",
    "period_label",
]
