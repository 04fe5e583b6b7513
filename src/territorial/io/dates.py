"""Reading dates from CRM exports without guessing silently.

ISO 8601 (``2024-01-15``, ``2024-01-15T10:00:00.000+0000``) and ``2024/01/15`` mean one
thing. ``03/04/2024`` does not: it is 3 April in most of the world and 4 March in the
US. The order is decided **per column, from the whole file**:

* a value whose first number is above 12 (``13/04/2024``) can only be day/month, one
  whose second number is above 12 (``04/13/2024``) only month/day; a column holding
  both is rejected, with the rows of each reading named;
* a column whose every value could be read either way takes the order that the other
  date columns of the file (then of the import) show; failing that, dotted dates
  (``03.04.2024``) and semicolon-delimited files are day/month (the European
  convention that writes them), anything else month/day (US exports). That choice is
  reported as a warning, and ``--date-format`` overrides it.

:func:`parse_date_format` reads the user's ``--date-format``: an order (``dmy``,
``mdy``, ``ymd``) or a ``strptime`` format such as ``%d/%m/%Y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from territorial.errors import ConfigError

#: Orders of day, month and year a numeric date can have.
ORDERS: tuple[str, ...] = ("dmy", "mdy", "ymd")

#: How each order is shown to people.
ORDER_NAMES: dict[str, str] = {
    "dmy": "day/month/year",
    "mdy": "month/day/year",
    "ymd": "year/month/day",
}

_SPELLINGS: dict[str, str] = {
    "dmy": "dmy", "d/m/y": "dmy", "dd/mm/yyyy": "dmy", "dd/mm/yy": "dmy", "dd.mm.yyyy": "dmy",
    "dd-mm-yyyy": "dmy", "day-first": "dmy", "dayfirst": "dmy",
    "mdy": "mdy", "m/d/y": "mdy", "mm/dd/yyyy": "mdy", "mm/dd/yy": "mdy", "mm-dd-yyyy": "mdy",
    "month-first": "mdy", "us": "mdy",
    "ymd": "ymd", "y/m/d": "ymd", "yyyy/mm/dd": "ymd", "yyyy-mm-dd": "ymd", "iso": "ymd",
}  # fmt: skip

# day-or-month, separator, day-or-month, year, optional time (Salesforce reports write
# "3/4/2024, 10:15 AM"). A four-digit first number is a year (year/month/day).
_NUMERIC = (
    r"^\s*(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{2}|\d{4})"
    r"(?:[\sT,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?\s*$"
)


@dataclass(frozen=True, slots=True)
class DateFormat:
    """A user's ``--date-format``: either an ``order`` or a ``strptime`` pattern."""

    order: str | None = None
    pattern: str | None = None

    def describe(self) -> str:
        return self.pattern if self.pattern else ORDER_NAMES[self.order or "ymd"]


def parse_date_format(text: str) -> DateFormat:
    """``dmy``/``mdy``/``ymd`` (or ``dd/mm/yyyy``-style spellings) or a ``strptime`` format.

    A ``strptime`` format must hold a day, a month and a year (``%d``, ``%m`` or
    ``%b``/``%B``, ``%Y`` or ``%y``) and read back what it writes; anything else is a
    :class:`ConfigError` naming the accepted forms.
    """
    given = text.strip()
    if "%" in given:
        has_day = "%d" in given or "%-d" in given
        has_month = any(code in given for code in ("%m", "%-m", "%b", "%B"))
        has_year = "%Y" in given or "%y" in given
        sample = datetime(2024, 3, 14, 9, 30, 5)
        try:
            ok = has_day and has_month and has_year
            ok = ok and datetime.strptime(sample.strftime(given), given).date() == sample.date()
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"--date-format {text!r} is not a usable strptime format: it needs a day "
                "(%d), a month (%m or %b) and a year (%Y or %y), e.g. %d/%m/%Y"
            )
        return DateFormat(pattern=given)
    order = _SPELLINGS.get(given.lower())
    if order is None:
        raise ConfigError(
            f"--date-format {text!r} is not understood; use dmy (day/month/year), mdy "
            "(month/day/year), ymd, or a strptime format such as %d/%m/%Y"
        )
    return DateFormat(order=order)


@dataclass(slots=True)
class DateColumn:
    """What one column's text says about day/month order (see :func:`survey_dates`).

    ``first``/``second`` are the first two numbers of each numeric date (``-1``
    where the value is not one), ``day_first``/``month_first`` mark the values that
    can only be read one way, ``either`` those that read as two different dates.
    """

    text: pd.Series
    iso: pd.Series
    parts: pd.DataFrame | None
    numeric: np.ndarray
    year_first: np.ndarray
    day_first: np.ndarray
    month_first: np.ndarray
    either: np.ndarray
    dotted: bool

    @property
    def evidence(self) -> set[str]:
        """The orders some value of the column can only be read in."""
        found = set()
        if self.day_first.any():
            found.add("dmy")
        if self.month_first.any():
            found.add("mdy")
        return found

    @property
    def ambiguous(self) -> bool:
        """Some value reads as two different dates and no value says which order."""
        return bool(self.either.any()) and not self.evidence


def survey_dates(text: pd.Series) -> DateColumn:
    """Read the ISO values of a column and sort the numeric rest by what they allow.

    ``text`` holds stripped cell text (missing as ``NaN``). Only values that are not
    ISO 8601 are examined, so the usual all-ISO export costs one vectorised parse.
    """
    iso = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    left = (text.notna() & iso.isna()).to_numpy(dtype=bool)
    n = len(text)
    empty = np.zeros(n, dtype=bool)
    if not left.any():
        return DateColumn(text, iso, None, empty, empty, empty, empty, empty, dotted=False)
    parts = text[left].str.extract(_NUMERIC)
    numeric = np.zeros(n, dtype=bool)
    numeric[left] = parts["a"].notna().to_numpy()
    a = np.full(n, -1, dtype=np.int64)
    b = np.full(n, -1, dtype=np.int64)
    a_text = parts["a"].fillna("-1")
    a[left] = a_text.astype(np.int64).to_numpy()
    b[left] = parts["b"].fillna("-1").astype(np.int64).to_numpy()
    year_first = np.zeros(n, dtype=bool)
    year_first[left] = (a_text.str.len() == 4).to_numpy()
    short = numeric & ~year_first
    day_first = short & (a > 12) & (b <= 12)
    month_first = short & (b > 12) & (a <= 12)
    either = short & (a <= 12) & (b <= 12) & (a != b)
    dotted = bool((parts["sep"] == ".").any())
    return DateColumn(text, iso, parts, numeric, year_first, day_first, month_first, either,
                      dotted=dotted)  # fmt: skip


def parse_dates(column: DateColumn, *, order: str | None, pattern: str | None = None) -> pd.Series:
    """Timestamps (UTC, without zone) for ``column`` read in ``order``; ``NaT`` where a
    value is not a date in that order.

    With ``pattern`` (a user's ``strptime`` format) every value is read with it, and
    values it does not fit fall back to ISO 8601 only. Values that are neither ISO nor
    numeric (``Jan 15, 2024``, ``15 January 2024``) are read by pandas; month names make
    them unambiguous.
    """
    text = column.text
    if pattern is not None:
        out = pd.to_datetime(text, errors="coerce", utc=True, format=pattern)
        return out.fillna(column.iso).dt.tz_convert(None).astype("datetime64[us]")
    if column.parts is None:  # all ISO (the usual export): no copy, no second pass
        return column.iso.dt.tz_convert(None).astype("datetime64[us]")
    out = column.iso.copy()
    if column.parts is not None:
        left = (text.notna() & column.iso.isna()).to_numpy(dtype=bool)
        parts = column.parts
        is_numeric = parts["a"].notna()
        if is_numeric.any():
            picked = parts[is_numeric]
            year_first = picked["a"].str.len() == 4
            chosen = order or "mdy"
            if chosen == "dmy":
                day, month = picked["a"], picked["b"]
            else:
                day, month = picked["b"], picked["a"]
            # year/month/day wins for a four-digit first number whatever the order.
            year = picked["c"].where(~year_first, picked["a"])
            month = month.where(~year_first, picked["b"])
            day = day.where(~year_first, picked["c"])
            if chosen == "ymd":
                # yy/mm/dd: the first number is the year.
                short = ~year_first
                year = year.where(~short, picked["a"])
                month = month.where(~short, picked["b"])
                day = day.where(~short, picked["c"])
            year = year.where(year.str.len() == 4, _century(year))
            hour = picked["hour"].fillna("0").astype(np.int64)
            ampm = picked["ampm"].fillna("").str.lower().str.replace(".", "", regex=False)
            hour = hour.where(~((ampm == "pm") & (hour < 12)), hour + 12)
            hour = hour.where(~((ampm == "am") & (hour == 12)), 0)
            stamp = (
                year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + " "
                + hour.astype(str).str.zfill(2) + ":" + picked["minute"].fillna("00") + ":"
                + picked["second"].fillna("00")
            )  # fmt: skip
            read = pd.to_datetime(stamp, errors="coerce", utc=True, format="%Y-%m-%d %H:%M:%S")
            rows = np.flatnonzero(left)[is_numeric.to_numpy()]
            out.iloc[rows] = read.to_numpy()
        rest = np.flatnonzero(left)[~is_numeric.to_numpy()]
        if len(rest):
            out.iloc[rest] = pd.to_datetime(
                text.iloc[rest], errors="coerce", utc=True, format="mixed"
            ).to_numpy()
    return out.dt.tz_convert(None).astype("datetime64[us]")


def _century(year: pd.Series) -> pd.Series:
    """Two-digit years as ``strptime``'s ``%y`` reads them: 69-99 -> 19xx, 00-68 -> 20xx."""
    number = year.fillna("0").astype(np.int64)
    return (number + np.where(number >= 69, 1900, 2000)).astype(str)


__all__ = [
    "ORDERS",
    "ORDER_NAMES",
    "DateColumn",
    "DateFormat",
    "parse_date_format",
    "parse_dates",
    "survey_dates",
]
