"""Reading numbers from CRM exports: decimal point or decimal comma, decided per column.

``2,500`` is two thousand five hundred in a US export and two and a half in a German
one; ``1.250`` the other way round. Territorial never reads a decimal comma as a
thousands separator where the column has decimals:

* a value that can only be read one way decides the column: ``3,75``, ``0,5``,
  ``1234,5`` or ``1.234,56`` say the comma is the decimal mark, ``3.75`` or
  ``1,234.56`` say the point is; a column holding both is rejected, naming rows;
* a column whose values read either way (every one like ``2,500`` or ``1.250``) follows
  the file's convention: a point in comma- and tab-delimited files, workbooks and
  Parquet; in a semicolon-delimited (European) file it is rejected unless
  ``--decimal comma`` or ``--decimal point`` says which.

Currency symbols (``$ € £ ¥``), spaces, non-breaking spaces and apostrophes used as
thousands separators (``1 234,50``, ``1'234.50``) are ignored, and a trailing ``%``
is allowed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Decimal marks by name, for ``--decimal``.
DECIMAL_MARKS: dict[str, str] = {"point": ".", "comma": ","}

_MARK_NAMES = {".": "decimal point", ",": "decimal comma"}

_STRIP = r"[$€£¥\s\u00a0\u202f']"
_PLAIN = r"[-+]?\d+"
_POINT_DECIMAL = r"[-+]?(\d*\.\d+|\d+\.)"
_COMMA_DECIMAL = r"[-+]?(\d*,\d+|\d+,)"
# One group of three digits after one mark: reads as a decimal or as thousands.
_ONE_GROUP = r"[-+]?[1-9]\d{0,2}[.,]\d{3}"
# Grouped with commas (US) or points (European), optionally with decimals.
_COMMA_GROUPED = r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?"
_POINT_GROUPED = r"[-+]?\d{1,3}(\.\d{3})+(,\d+)?"


@dataclass(frozen=True, slots=True)
class NumberColumn:
    """A column read as numbers: values (``NaN`` where not a number), the decimal mark
    used, why, and the rows that contradict the column's reading."""

    values: pd.Series
    mark: str
    reason: str | None
    bad: np.ndarray
    conflicting: np.ndarray
    ambiguous: np.ndarray

    @property
    def mark_name(self) -> str:
        return _MARK_NAMES[self.mark]


def _match(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def read_numbers(
    text: pd.Series, *, presumed: str = ".", fixed: str | None = None, whole: bool = False
) -> NumberColumn:
    """Numbers from stripped cell text (missing as ``NaN``).

    ``presumed`` is the file's decimal mark (``","`` for semicolon-delimited files),
    ``fixed`` the user's ``--decimal`` if given. ``bad`` marks values that are not
    numbers at all, ``conflicting`` values that contradict the column's decimal mark
    (a mixed column, or a value against ``--decimal``), ``ambiguous`` values a
    semicolon file cannot decide; ``reason`` explains the mark when it is worth telling
    (a decimal comma, or a mark other than the file's convention). In a column of
    ``whole`` numbers (counts), ``1.200`` and ``1,200`` can only be 1200: a fraction of
    an employee is not a reading, so they are not ambiguous.
    """
    index = text.index
    n = len(text)
    nothing = np.zeros(n, dtype=bool)
    array = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    fast: np.ndarray | None = None
    with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
        fast = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
    if fast is not None and (fixed or presumed) == ".":
        # The usual case: plain numbers with a decimal point, read by Arrow alone.
        return NumberColumn(pd.Series(fast, index=index), ".", None, nothing, nothing, nothing)

    filled = text.notna().to_numpy()
    cleaned = text.str.replace(_STRIP, "", regex=True).str.removesuffix("%")
    plain = _match(cleaned, _PLAIN)
    one_group = _match(cleaned, _ONE_GROUP)
    comma_grouped = _match(cleaned, _COMMA_GROUPED) & ~one_group
    point_grouped = _match(cleaned, _POINT_GROUPED) & ~one_group
    point_decimal = _match(cleaned, _POINT_DECIMAL) & ~one_group
    comma_decimal = _match(cleaned, _COMMA_DECIMAL) & ~one_group
    # Values that can only be read with a decimal point / a decimal comma.
    says_point = point_decimal | comma_grouped
    says_comma = comma_decimal | point_grouped
    readable = plain | one_group | says_point | says_comma
    bad = filled & ~readable

    reason: str | None = None
    grouped = False
    conflicting = nothing
    ambiguous = nothing
    if fixed is not None:
        mark = fixed
        conflicting = says_comma if mark == "." else says_point
        reason = f"--decimal {'point' if mark == '.' else 'comma'}"
    elif says_point.any() and says_comma.any():
        # A mixed column: the more common reading is the column's, the rest conflict.
        mark = "." if says_point.sum() >= says_comma.sum() else ","
        conflicting = says_comma if mark == "." else says_point
    elif says_comma.any():
        mark = ","
        row = int(np.flatnonzero(says_comma)[0])
        reason = f"values such as {text.iloc[row]!r} only read with a decimal comma"
    elif says_point.any():
        mark = "."
        if presumed != ".":
            row = int(np.flatnonzero(says_point)[0])
            reason = f"values such as {text.iloc[row]!r} only read with a decimal point"
    else:
        mark = presumed
        if whole and one_group.any():
            grouped = True
            if presumed != ".":
                reason = "thousands separators (the column holds whole numbers)"
        elif presumed != ".":
            ambiguous = one_group

    if grouped:
        number_text = cleaned.str.replace(r"[.,]", "", regex=True)
    elif mark == ".":
        number_text = cleaned.str.replace(",", "", regex=False)
    else:
        number_text = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    values = pd.to_numeric(number_text, errors="coerce").astype("float64")
    unusable = bad | conflicting | ambiguous
    values = values.where(pd.Series(~unusable, index=index))
    return NumberColumn(values, mark, reason, bad, conflicting & filled, ambiguous & filled)


__all__ = ["DECIMAL_MARKS", "NumberColumn", "read_numbers"]
