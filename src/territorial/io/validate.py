"""Turning one file's text cells into typed, canonical rows, collecting every problem.

Each check runs on whole columns at once (pandas/Arrow), then the rows that fail
become :class:`~territorial.errors.Problem` values naming the spreadsheet row, the
file's own column name and the offending value. Nothing is raised here: the
importer gathers the problems of every file and decides.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from territorial.errors import Problem
from territorial.io.dates import ORDER_NAMES, DateColumn, DateFormat, parse_dates, survey_dates
from territorial.io.geocode import geocode_postal_codes
from territorial.io.mapping import (
    ALIASES,
    REQUIRED,
    ColumnMatch,
    match_columns,
    normalize_name,
    recognise_kind,
    scale_of,
)
from territorial.io.numbers import read_numbers
from territorial.io.readers import RawTable
from territorial.io.vocabulary import (
    CHANNEL_ALIASES,
    INDUSTRY_BY_KEY,
    OTHER_INDUSTRIES,
    industry_key,
)

log = logging.getLogger(__name__)

#: Numbers that count or measure something and so cannot be negative.
NON_NEGATIVE: frozenset[str] = frozenset(
    {"employees", "annual_revenue", "amount", "capacity_hours", "max_accounts", "duration_minutes"}
)
#: Whole numbers.
INTEGERS: frozenset[str] = frozenset({"employees", "max_accounts"})
FLOATS: frozenset[str] = frozenset(
    {
        "latitude",
        "longitude",
        "home_latitude",
        "home_longitude",
        "annual_revenue",
        "amount",
        "capacity_hours",
        "duration_minutes",
        "probability",
    }
)
DATES: frozenset[str] = frozenset({"start_date", "created_date", "close_date"})
DATETIMES: frozenset[str] = frozenset({"occurred_at"})
BOOLEANS: frozenset[str] = frozenset({"active", "is_closed", "is_won"})
LATITUDES: frozenset[str] = frozenset({"latitude", "home_latitude"})
LONGITUDES: frozenset[str] = frozenset({"longitude", "home_longitude"})
#: Percentages (0-100).
PERCENTS: frozenset[str] = frozenset({"probability"})
#: Amounts of money, whose cells may carry their currency code (``USD 1,200.00``).
MONEY: frozenset[str] = frozenset({"annual_revenue", "amount"})

_CODE_BEFORE = r"^([A-Z]{3})\s*(?=[-+$€£¥\d.,])"
_CODE_AFTER = r"(?<=[\d.,])\s*([A-Z]{3})$"

#: Longest text each column takes (the store's ``VARCHAR`` sizes).
MAX_LENGTH: dict[str, int] = {
    "id": 128, "owner_id": 128, "account_id": 128, "rep_id": 128, "manager_id": 128,
    "domain": 255, "email": 255, "postal_code": 16, "home_postal_code": 16, "city": 128,
    "home_city": 128, "state": 64, "home_state": 64, "country": 64, "industry": 128,
    "segment": 64, "role": 64, "stage": 64, "product": 128, "type": 64, "lead_source": 128,
    "forecast_category": 64,
}  # fmt: skip

#: Columns whose cells may not be empty (besides ``id``).
NOT_EMPTY: dict[str, tuple[str, ...]] = {
    "accounts": ("name",),
    "reps": ("name",),
    "opportunities": ("account_id", "stage", "created_date"),
    "activities": ("account_id", "occurred_at"),
}

_TRUE = ("true", "t", "yes", "y", "1", "1.0", "x", "won", "closed", "active")
_FALSE = ("false", "f", "no", "n", "0", "0.0", "", "open", "lost", "inactive")

#: Most rows of one kind of warning listed per file; the rest are summarised.
MAX_ROW_WARNINGS = 100


@dataclass(frozen=True, slots=True)
class Reading:
    """One thing decided while reading a file that the user should know.

    ``column`` is the file's own column name (``None`` for the whole file),
    ``reading`` what was decided (``day/month/year``, ``decimal comma``,
    ``opportunities``...) and ``reason`` why, in a sentence.
    """

    file: str
    column: str | None
    reading: str
    reason: str

    def __str__(self) -> str:
        where = self.file if self.column is None else f"{self.file}, column {self.column!r}"
        return f"{where}: {self.reading} ({self.reason})"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "file": self.file,
            "column": self.column,
            "reading": self.reading,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read cells where a file leaves a choice (the user's options).

    ``date_formats`` maps a column (canonical or the file's own name, normalised) to
    the user's ``--date-format``; the key ``""`` applies to every date column.
    ``decimal`` is ``"."``, ``","`` or ``None`` (decide per column). ``date_hint`` is
    the day/month order other files of the same import showed (``dmy``/``mdy``).
    """

    date_formats: Mapping[str, DateFormat] = field(default_factory=dict)
    decimal: str | None = None
    date_hint: str | None = None

    def date_format_for(self, canonical: str, source: str) -> DateFormat | None:
        for key in (normalize_name(source), normalize_name(canonical), ""):
            if key in self.date_formats:
                return self.date_formats[key]
        return None


@dataclass(slots=True)
class ValidatedFile:
    """One file after validation: typed canonical rows plus what was found.

    ``frame`` has canonical columns (the ones the file provides, plus computed
    ``geocode_source``/``attributes`` for accounts) and ``rows``, the spreadsheet
    row of each record. ``frame`` is ``None`` when the file could not be read.
    """

    label: str
    entity: str
    frame: pd.DataFrame | None
    rows: np.ndarray
    match: ColumnMatch | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    #: Day/month orders this file's dates can only be read in (``dmy``/``mdy``).
    date_evidence: set[str] = field(default_factory=set)
    #: The order given to all-ambiguous date columns by convention, if any.
    defaulted_order: str | None = None

    def source_name(self, canonical: str) -> str:
        """The file's own name of a canonical column (what the user sees)."""
        if self.match is not None and canonical in self.match.source:
            return self.match.source[canonical]
        return canonical


def _values(series: pd.Series, mask: np.ndarray) -> list[str | None]:
    return [None if v is None or v != v else str(v) for v in series[mask].tolist()]


def _json_string(text: pa.Array) -> pa.Array:
    """Text as JSON string literals (quotes included), built by Arrow without a Python loop."""
    escaped = pc.replace_substring(text, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    for char, code in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = pc.replace_substring(escaped, char, code)
    # Other control characters are rare in exports and not valid JSON: drop them.
    escaped = pc.replace_substring_regex(escaped, r"[\x00-\x1f]", "")
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _attributes_json(columns: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """One JSON object per row holding the given columns' non-empty cells as text."""
    parts = []
    for column, series in columns.items():
        text = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())
        text = pc.utf8_trim_whitespace(text)
        text = pc.if_else(pc.equal(pc.utf8_length(text), 0), pa.scalar(None, pa.string()), text)
        key = pa.scalar(json.dumps(str(column), ensure_ascii=False) + ":")
        fragment = pc.binary_join_element_wise(key, _json_string(text), ",", "")
        parts.append(pc.fill_null(fragment, ""))
    # (null_handling="skip" would be neater but drops all-null rows in some Arrow versions)
    joined = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), characters=",")
    wrapped = pc.binary_join_element_wise("{", joined, "}", "")
    return pd.Series(wrapped.to_numpy(zero_copy_only=False), index=index, dtype=object)


class _FileCheck:
    """Validation of one file for one entity, accumulating problems and warnings."""

    def __init__(
        self,
        raw: RawTable,
        entity: str,
        mapping: Mapping[str, str] | None,
        options: ReadOptions,
    ) -> None:
        assert raw.frame is not None
        self.raw = raw
        self.entity = entity
        self.label = raw.label
        self.options = options
        self.match = match_columns(entity, [str(c) for c in raw.frame.columns], user=mapping)
        n = len(raw.frame)
        self.rows = (
            np.asarray(raw.row_numbers, dtype=np.int64)
            if raw.row_numbers is not None
            else np.arange(2, n + 2, dtype=np.int64)
        )
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = list(raw.warnings)
        self.readings: list[Reading] = [Reading(self.label, None, note, "how the file was read")
                                        for note in raw.notes]  # fmt: skip
        self.out: dict[str, pd.Series | np.ndarray] = {}
        self.text: dict[str, pd.Series] = {}
        self.attributes: dict[str, pd.Series] = {}
        self.value_currencies: dict[str, pd.Series] = {}
        self.date_evidence: set[str] = set()
        self.defaulted_order: str | None = None
        # The file's own decimal mark: semicolon-delimited files come from locales
        # that write decimal commas.
        self.presumed_mark = "," if raw.delimiter == ";" else "."

    # -- reporting helpers

    def source(self, canonical: str) -> str:
        return self.match.source.get(canonical, canonical)

    def read(self, canonical: str | None, reading: str, reason: str) -> None:
        column = self.source(canonical) if canonical else None
        self.readings.append(Reading(self.label, column, reading, reason))

    def error(self, mask: np.ndarray, canonical: str, reason: str, *, cap: bool = False) -> None:
        """One problem per row of ``mask``; with ``cap``, the first rows and a count."""
        mask = np.asarray(mask, dtype=bool)
        column = self.source(canonical)
        if self.raw.reported_cells and mask.any():
            seen = np.array([(int(r), column) in self.raw.reported_cells for r in self.rows])
            mask = mask & ~seen
        if not mask.any():
            return
        count = int(mask.sum())
        if cap and count > MAX_ROW_WARNINGS:
            first = np.flatnonzero(mask)[:MAX_ROW_WARNINGS]
            mask = np.zeros_like(mask)
            mask[first] = True
        text = self.text.get(canonical)
        values = _values(text, mask) if text is not None else [None] * int(mask.sum())
        self.problems.extend(
            Problem(self.label, int(r), column, v, reason)
            for r, v in zip(self.rows[mask], values, strict=True)
        )
        if cap and count > MAX_ROW_WARNINGS:
            self.problems.append(
                Problem(self.label, None, column, None,
                        f"{reason}: {count - MAX_ROW_WARNINGS} more rows like this "
                        f"({count} in all)")
            )  # fmt: skip

    def warn_rows(self, mask: np.ndarray, canonical: str | None, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        count = int(mask.sum())
        if not count:
            return
        column = self.source(canonical) if canonical else None
        text = self.text.get(canonical) if canonical else None
        shown = np.flatnonzero(mask)[:MAX_ROW_WARNINGS]
        picked = np.zeros_like(mask)
        picked[shown] = True
        values = _values(text, picked) if text is not None else [None] * len(shown)
        self.warnings.extend(
            Problem(self.label, int(r), column, v, reason, severity="warning")
            for r, v in zip(self.rows[shown], values, strict=True)
        )
        if count > MAX_ROW_WARNINGS:
            self.warnings.append(
                Problem(
                    self.label, None, column, None,
                    f"{reason}: {count - MAX_ROW_WARNINGS} more rows like this "
                    f"({count} in all)",
                    severity="warning",
                )
            )  # fmt: skip

    def example_rows(
        self, mask: np.ndarray, canonical: str, *, limit: int = 3, count: bool = True
    ) -> str:
        """``row 5 '13/04/2024', row 9 '31/01/2024' and 4 more``: rows of ``mask``."""
        text = self.text[canonical]
        picked = np.flatnonzero(mask)[:limit]
        shown = ", ".join(f"row {self.rows[i]} {text.iloc[i]!r}" for i in picked)
        more = int(mask.sum()) - len(picked)
        return shown + (f" and {more:,} more" if more > 0 and count else "")

    # -- the checks

    def run(self) -> ValidatedFile:
        frame = self.raw.frame
        assert frame is not None
        for canonical, wanted in self.match.missing_mapped:
            self.problems.append(
                Problem(
                    self.label, 1, wanted, None,
                    f"the mapping file takes {self.entity}.{canonical} from column {wanted!r}, "
                    "but the file has no such column",
                )
            )  # fmt: skip
        self.check_same_names([str(c) for c in frame.columns])
        for canonical, column in self.match.source.items():
            text = frame[column].astype("str").str.strip()
            self.text[canonical] = text.where(text.str.len() > 0)
        if self.entity == "reps" and "name" not in self.text:
            self.compose_name()
        missing = [c for c in REQUIRED[self.entity] if c not in self.text]
        for canonical in missing:
            accepted = ", ".join([canonical, *ALIASES[self.entity].get(canonical, ())])
            hint = ""
            guess = recognise_kind([str(c) for c in frame.columns])
            if guess.entity is not None and guess.entity != self.entity:
                hint = (f"; the columns look like {guess.entity} ({guess.describe()}): "
                        f"pass --kind {guess.entity} or rename the file")  # fmt: skip
            self.problems.append(
                Problem(
                    self.label, 1, canonical, None,
                    f"required column {canonical!r} is missing (accepted names: {accepted}; "
                    f"or map it with --mapping){hint}",
                )
            )  # fmt: skip
        if missing:
            return self.result(None)
        self.check_ids()
        for canonical in NOT_EMPTY[self.entity]:
            if canonical in self.text:
                self.error(
                    self.text[canonical].isna().to_numpy(), canonical, f"{canonical} is empty"
                )
        self.decide_date_orders()
        for canonical, text in self.text.items():
            if canonical == "id":
                continue
            self.convert(canonical, text)
        getattr(self, f"finish_{self.entity}")()
        extras = {str(c): frame[c] for c in self.match.extra}
        extras.update(self.attributes)
        if extras:
            self.out["attributes"] = _attributes_json(extras, frame.index)
        typed = pd.DataFrame(self.out, index=pd.RangeIndex(len(frame)))
        return self.result(typed)

    def result(self, frame: pd.DataFrame | None) -> ValidatedFile:
        return ValidatedFile(
            label=self.label,
            entity=self.entity,
            frame=frame,
            rows=self.rows,
            match=self.match,
            problems=self.problems,
            warnings=self.warnings,
            readings=self.readings,
            date_evidence=self.date_evidence,
            defaulted_order=self.defaulted_order,
        )

    def check_same_names(self, columns: list[str]) -> None:
        """Two columns whose names read the same (``name`` and ``Name``, ``Billing Postal
        Code`` and ``BillingPostalCode``) where one feeds a canonical column: which is
        meant cannot be told, so the file is refused rather than one silently dropped."""
        keys: dict[str, list[str]] = {}
        for column in columns:
            keys.setdefault(normalize_name(column), []).append(column)
        for canonical, column in self.match.source.items():
            same = keys.get(normalize_name(column), [])
            if len(same) > 1:
                others = " and ".join(repr(c) for c in same)
                self.problems.append(
                    Problem(self.label, 1, same[1], same[1],
                            f"columns {others} both read as {canonical}; rename or remove "
                            "one (or say which with --mapping)")
                )  # fmt: skip

    def compose_name(self) -> None:
        """A rep's name from first and last name columns when there is no full name."""
        frame = self.raw.frame
        assert frame is not None
        by_key = {normalize_name(c): str(c) for c in self.match.extra}
        first, last = by_key.get("firstname"), by_key.get("lastname")
        if first is None or last is None:
            return
        parts = [frame[c].astype("str").str.strip().fillna("") for c in (first, last)]
        name = (parts[0] + " " + parts[1]).str.strip()
        self.text["name"] = name.where(name.str.len() > 0)
        self.match.source["name"] = f"{first} + {last}"
        self.read("name", "first and last name", f"composed from {first!r} and {last!r}")

    def check_ids(self) -> None:
        ids = self.text["id"]
        self.error(ids.isna().to_numpy(), "id", "id is empty")
        self.error(
            (ids.str.len() > MAX_LENGTH["id"]).fillna(False).to_numpy(dtype=bool),
            "id",
            f"id is longer than {MAX_LENGTH['id']} characters",
        )
        if not ids.dropna().is_unique:  # only then pay for finding which rows repeat
            later = (ids.notna() & ids.duplicated(keep="first")).to_numpy()
            first_row = dict(zip(ids[::-1].tolist(), self.rows[::-1].tolist(), strict=True))
            column = self.source("id")
            self.problems.extend(
                Problem(self.label, int(row), column, value,
                        f"duplicate id (first in row {first_row[value]})")
                for row, value in zip(self.rows[later], ids[later].tolist(), strict=True)
            )  # fmt: skip
        self.out["id"] = ids

    # -- dates: the day/month order of each column, decided from the whole file

    def decide_date_orders(self) -> None:
        self.date_columns: dict[str, DateColumn] = {}
        self.date_orders: dict[str, str | None] = {}
        for canonical, text in self.text.items():
            if canonical in DATES or canonical in DATETIMES:
                self.date_columns[canonical] = survey_dates(text)
        # Evidence: what the file's unambiguous values say, column by column.
        for column in self.date_columns.values():
            if len(column.evidence) == 1:
                self.date_evidence |= column.evidence
        for canonical, column in self.date_columns.items():
            fixed = self.options.date_format_for(canonical, self.source(canonical))
            if fixed is not None:
                self.date_orders[canonical] = fixed.order
                if fixed.order in ("dmy", "mdy"):
                    against = column.month_first if fixed.order == "dmy" else column.day_first
                    self.error(against, canonical,
                               f"{canonical} is not a date in {ORDER_NAMES[fixed.order]} order "
                               f"(--date-format {fixed.describe()})", cap=True)  # fmt: skip
                if column.numeric.any() or fixed.pattern:
                    self.read(canonical, fixed.describe(), "--date-format")
                continue
            evidence = column.evidence
            if evidence == {"dmy", "mdy"}:
                self.mixed_dates(canonical, column)
                self.date_orders[canonical] = None
            elif evidence:
                order = next(iter(evidence))
                self.date_orders[canonical] = order
                proof = column.day_first if order == "dmy" else column.month_first
                self.read(canonical, ORDER_NAMES[order],
                          f"{self.example_rows(proof, canonical, limit=1, count=False)} can only "
                          "be read so; the whole column is read that way")  # fmt: skip
            elif column.ambiguous:
                order, why = self.conventional_order(column)
                self.date_orders[canonical] = order
                self.defaulted_order = self.defaulted_order or order
                other = "mdy" if order == "dmy" else "dmy"
                example = self.example_rows(column.either, canonical, limit=1, count=False)
                reason = (f"every date could be day/month or month/day (e.g. {example}); read as "
                          f"{ORDER_NAMES[order]} {why}; if that is wrong, import again with "
                          f"--date-format {other}")  # fmt: skip
                self.read(canonical, ORDER_NAMES[order], reason)
                self.warnings.append(
                    Problem(self.label, None, self.source(canonical), None, reason,
                            severity="warning")
                )  # fmt: skip
            else:
                self.date_orders[canonical] = None

    def conventional_order(self, column: DateColumn) -> tuple[str, str]:
        """The order for a column no value decides, and why (for the warning)."""
        if len(self.date_evidence) == 1:
            order = next(iter(self.date_evidence))
            return order, "like the file's other date columns"
        if self.options.date_hint is not None:
            return self.options.date_hint, "like the dates of the import's other files"
        if column.dotted:
            return "dmy", "as dotted dates (03.04.2024) are written"
        if self.raw.delimiter == ";":
            return "dmy", "as semicolon-delimited (European) files write dates"
        return "mdy", "as US exports (Salesforce, HubSpot, Excel) write dates"

    def mixed_dates(self, canonical: str, column: DateColumn) -> None:
        """Reject a column whose values can only be read in different orders."""
        day_first, month_first = column.day_first, column.month_first
        minority = month_first if month_first.sum() <= day_first.sum() else day_first
        majority = day_first if minority is month_first else month_first
        names = (
            ("month/day", "day/month") if minority is month_first else ("day/month", "month/day")
        )
        reason = (
            f"the column mixes date orders: this value can only be {names[0]}, while "
            f"{self.example_rows(majority, canonical)} can only be {names[1]}; fix the file, "
            "or pass --date-format to say which order the column uses"
        )
        self.error(minority, canonical, reason, cap=True)

    # -- cell conversion

    def convert(self, canonical: str, text: pd.Series) -> None:
        filled = text.notna().to_numpy()
        if canonical in INTEGERS or canonical in FLOATS:
            self.convert_number(canonical, text, filled)
        elif canonical in DATES or canonical in DATETIMES:
            column = self.date_columns.pop(canonical)  # freed once converted
            fixed = self.options.date_format_for(canonical, self.source(canonical))
            when = parse_dates(
                column,
                order=self.date_orders.get(canonical),
                pattern=fixed.pattern if fixed is not None else None,
            )
            expected = (
                f"in format {fixed.pattern}"
                if fixed is not None and fixed.pattern
                else "(use YYYY-MM-DD)"
            )
            unreadable = filled & when.isna().to_numpy()
            # Rows already rejected for their order are not reported twice.
            if fixed is not None and fixed.order in ("dmy", "mdy"):
                unreadable &= ~(column.month_first if fixed.order == "dmy" else column.day_first)
            elif column.evidence == {"dmy", "mdy"}:
                unreadable &= ~(column.day_first | column.month_first)
            self.error(unreadable, canonical, f"{canonical} is not a date {expected}")
            self.out[canonical] = when.dt.normalize() if canonical in DATES else when
        elif canonical in BOOLEANS:
            lower = text.str.lower()
            truth = lower.isin(_TRUE).to_numpy()
            known = truth | lower.isin(_FALSE).to_numpy()
            self.error(filled & ~known, canonical, f"{canonical} is not true/false")
            self.out[canonical] = (
                pd.Series(truth, index=text.index)
                .astype("boolean")
                .where(pd.Series(filled & known, index=text.index))
            )
        else:
            limit = MAX_LENGTH.get(canonical)
            if limit is not None:
                self.error(
                    (text.str.len() > limit).fillna(False).to_numpy(dtype=bool),
                    canonical,
                    f"{canonical} is longer than {limit} characters",
                )
            self.out[canonical] = text

    def convert_number(self, canonical: str, text: pd.Series, filled: np.ndarray) -> None:
        if canonical in MONEY:
            text = self.split_currency(canonical, text)
        column = read_numbers(
            text,
            presumed=self.presumed_mark,
            fixed=self.options.decimal,
            whole=canonical in INTEGERS,
        )
        self.error(column.bad, canonical, f"{canonical} is not a number")
        if column.conflicting.any():
            if self.options.decimal is not None:
                reason = (f"{canonical} is not a number with a {column.mark_name} "
                          f"(--decimal {'point' if column.mark == '.' else 'comma'})")  # fmt: skip
            else:
                other = ~column.conflicting & filled & ~column.bad
                reason = (f"the column mixes decimal marks: this value only reads with the "
                          f"other mark, while {self.example_rows(other, canonical)} read with a "
                          f"{column.mark_name}; fix the file or pass --decimal")  # fmt: skip
            self.error(column.conflicting, canonical, reason, cap=True)
        if column.ambiguous.any():
            example = text[column.ambiguous].iloc[0]
            self.error(column.ambiguous, canonical,
                       f"in a semicolon-delimited file {example!r} could be a decimal comma or "
                       "a thousands separator, and no value in the column says which; import "
                       "again with --decimal comma or --decimal point", cap=True)  # fmt: skip
        if column.reason is not None:
            self.read(canonical, column.mark_name, column.reason)
        number = column.values
        ok = (filled & number.notna().to_numpy()) | ~filled
        scale = scale_of(self.entity, canonical, self.source(canonical))
        if scale != 1.0:
            if canonical in PERCENTS:
                # A fraction (0.2) becomes a percent; a value written "20%" already is one.
                percent = text.str.endswith("%").fillna(False).to_numpy(dtype=bool)
                number = number.where(pd.Series(percent, index=number.index), number * scale)
                self.read(canonical, "fraction", "values 0-1 converted to percent (x100)")
            else:
                number = number * scale
                self.read(canonical, "seconds", "converted to minutes (/60)")
        values = number.to_numpy()
        if canonical in NON_NEGATIVE:
            self.error(ok & filled & (values < 0), canonical, f"{canonical} is negative")
        if canonical in INTEGERS:
            frac = ok & filled & (np.mod(np.nan_to_num(values), 1) != 0)
            self.error(frac, canonical, f"{canonical} is not a whole number")
        if canonical in LATITUDES:
            self.error(ok & ((values < -90) | (values > 90)), canonical,
                       "latitude is outside -90..90 degrees")  # fmt: skip
        if canonical in LONGITUDES:
            self.error(ok & ((values < -180) | (values > 180)), canonical,
                       "longitude is outside -180..180 degrees")  # fmt: skip
        if canonical in PERCENTS:
            self.error(ok & ((values < 0) | (values > 100)), canonical,
                       f"{canonical} is outside 0-100 percent")  # fmt: skip
        self.out[canonical] = number.round().astype("Int64") if canonical in INTEGERS else number

    def split_currency(self, canonical: str, text: pd.Series) -> pd.Series:
        """Take ISO codes out of money cells (``USD 5,000.00``, ``1.200,00 EUR``)."""
        if not text.str.contains(r"[A-Z]{3}", regex=True).fillna(False).any():
            return text
        before = text.str.extract(_CODE_BEFORE, expand=False)
        after = text.str.extract(_CODE_AFTER, expand=False)
        codes = before.fillna(after)
        if not codes.notna().any():
            return text
        self.value_currencies[canonical] = codes
        stripped = text.str.replace(_CODE_BEFORE, "", regex=True)
        return stripped.str.replace(_CODE_AFTER, "", regex=True).str.strip()

    def currency(self, *, default: str | None) -> None:
        """The currency column, checked; codes written in money cells fill or must agree."""
        index = self.text["id"].index
        in_values = list(self.value_currencies.items())
        if "currency" in self.out:
            code = self.text["currency"].str.upper()
            bad = code.notna() & ~code.str.fullmatch(r"[A-Z]{3}").fillna(False).astype(bool)
            self.error(bad.to_numpy(), "currency", "currency is not a 3-letter ISO code (e.g. USD)")
        else:
            code = pd.Series(pd.NA, index=index, dtype="str")
        for canonical, codes in in_values:
            clash = (code.notna() & codes.notna() & (code != codes)).to_numpy(dtype=bool)
            self.error(clash, canonical,
                       f"{canonical} is written in another currency than the row's currency "
                       "column says")  # fmt: skip
            if "currency" not in self.out:
                code = code.fillna(codes)
                used = ", ".join(sorted(codes.dropna().unique().tolist())[:5])
                self.read(canonical, "currency from the values",
                          f"amounts carry their currency code ({used}); it fills the "
                          "currency")  # fmt: skip
        if default is not None:
            code = code.fillna(default)
        if "currency" in self.out or in_values or default is not None:
            self.out["currency"] = code

    def locate(self, *, lat: str, lon: str, postal: str, country: str | None) -> pd.Series | None:
        """Latitude/longitude from the file or the US postal code; the source of each."""
        has_pair = lat in self.out and lon in self.out
        has_postal = postal in self.text
        if not has_pair and not has_postal:
            self.warnings.append(
                Problem(self.label, None, None, None,
                        "no latitude/longitude or postal code column: rows are not located",
                        severity="warning")
            )  # fmt: skip
            for name in (lat, lon):
                self.out.pop(name, None)
            return None
        index = self.text["id"].index
        latitude = self.out.get(lat, pd.Series(np.nan, index=index))
        longitude = self.out.get(lon, pd.Series(np.nan, index=index))
        assert isinstance(latitude, pd.Series) and isinstance(longitude, pd.Series)
        given = (latitude.notna() & longitude.notna()).to_numpy()
        source = pd.Series("input", index=index, dtype="str").where(pd.Series(given, index=index))
        if has_postal:
            need = ~given
            countries = self.text.get(country) if country else None
            zlat, zlon = geocode_postal_codes(
                self.text[postal][need], None if countries is None else countries[need]
            )
            found = np.zeros(len(index), dtype=bool)
            found[need] = zlat.notna().to_numpy()
            latitude = latitude.where(given, pd.Series(np.nan, index=index))
            longitude = longitude.where(given, pd.Series(np.nan, index=index))
            latitude[found] = zlat[zlat.notna()].to_numpy()
            longitude[found] = zlon[zlon.notna()].to_numpy()
            source[found] = "postal_code"
            has_code = self.text[postal].notna().to_numpy()
            self.warn_rows(
                ~given & ~found & has_code,
                postal,
                "cannot be located: postal code is not a known US ZIP code",
            )
            self.warn_rows(
                ~given & ~has_code,
                postal if has_postal else None,
                "cannot be located: no latitude/longitude and no postal code",
            )
        else:
            self.warn_rows(~given, lat, "cannot be located: no latitude/longitude")
        self.out[lat], self.out[lon] = latitude, longitude
        return source

    def finish_accounts(self) -> None:
        source = self.locate(
            lat="latitude", lon="longitude", postal="postal_code", country="country"
        )
        if source is not None:
            self.out["geocode_source"] = source
        self.currency(default=None)
        if "industry" in self.out:
            self.canonical_industry()

    def canonical_industry(self) -> None:
        """Industries in Territorial's words; CRM picklist values mapped, originals kept."""
        text = self.text["industry"]
        distinct = text.dropna().unique().tolist()
        keys = {value: industry_key(value) for value in distinct}
        mapping = {v: INDUSTRY_BY_KEY[k] for v, k in keys.items() if k in INDUSTRY_BY_KEY}
        mapped = text.map(mapping).astype(text.dtype)
        self.out["industry"] = mapped.fillna(text).astype("str")
        renamed = {v: m for v, m in mapping.items() if industry_key(m) != keys[v]}
        if renamed:
            # The CRM's own value stays readable (and exportable) in the attributes.
            column = self.source("industry")
            self.attributes[column] = text.where(text.isin(list(renamed)))
            counts = text[text.isin(list(renamed))].value_counts()
            shown = ", ".join(f"{v} -> {renamed[v]} ({n})" for v, n in counts.head(8).items())
            more = len(counts) - 8
            self.read("industry", "CRM industries mapped",
                      shown + (f" and {more} more" if more > 0 else "")
                      + f"; the original values are kept in attributes[{column!r}]")  # fmt: skip
        other = text.isin([v for v, k in keys.items() if k in OTHER_INDUSTRIES])
        unknown = (text.notna() & mapped.isna() & ~other).to_numpy(dtype=bool)
        if unknown.any():
            values = text[unknown]
            rows = self.rows[unknown]
            firsts = (
                pd.Series(rows, index=values.index).groupby(values.to_numpy()).agg(["min", "size"])
            )
            for value, (row, size) in firsts.iterrows():
                self.warnings.append(
                    Problem(self.label, int(row), self.source("industry"), str(value),
                            f"industry is not one Territorial knows ({size} rows); it is kept, "
                            "but scoring treats it as 'other'", severity="warning")
                )  # fmt: skip

    def finish_reps(self) -> None:
        self.locate(
            lat="home_latitude", lon="home_longitude", postal="home_postal_code", country=None
        )
        if "active" in self.out:
            active = self.out["active"]
            assert isinstance(active, pd.Series)
            self.out["active"] = active.fillna(True)
        else:
            self.out["active"] = pd.Series(True, index=self.text["id"].index, dtype="boolean")
        if "specialties" in self.text:
            parts = self.text["specialties"].str.split("|")
            self.out["specialties"] = parts.map(
                lambda p: (
                    None
                    if not isinstance(p, list)
                    else json.dumps([s.strip() for s in p if s.strip()])
                )
            ).astype(object)

    def finish_opportunities(self) -> None:
        self.currency(default="USD")
        amount = self.out["amount"]
        assert isinstance(amount, pd.Series)
        empty = self.text["amount"].isna().to_numpy()
        self.warn_rows(empty, "amount", "amount is empty; imported as 0")
        self.out["amount"] = amount.fillna(0.0)
        stage = self.text["stage"].str.lower()
        won_by_stage = stage.str.contains("won", regex=False).fillna(False).astype(bool)
        closed_by_stage = (
            stage.str.contains("closed|lost|won", regex=True).fillna(False).astype(bool)
        )
        for column, fallback in (("is_closed", closed_by_stage), ("is_won", won_by_stage)):
            current = self.out.get(column)
            if current is None:
                self.out[column] = fallback.astype("boolean")
            else:
                assert isinstance(current, pd.Series)
                self.out[column] = current.fillna(fallback)
        is_won = self.out["is_won"]
        is_closed = self.out["is_closed"]
        assert isinstance(is_won, pd.Series) and isinstance(is_closed, pd.Series)
        contradiction = (is_won & ~is_closed).fillna(False).to_numpy(dtype=bool)
        self.error(contradiction, "is_won", "the opportunity is won but not closed")

    def finish_activities(self) -> None:
        """Channels from the CRM's activity types; types beyond the four kept as ``other``.

        The CRM's own type is stored in ``type``. With several type columns (Salesforce's
        ``TaskSubtype`` and ``Type``) a specific channel in any of them wins over a type
        that maps to ``other`` (a task whose ``Type`` is ``Call`` is a call).
        """
        frame = self.raw.frame
        assert frame is not None
        primary = self.text["channel"]
        kind = primary
        channel = kind.str.lower().map(CHANNEL_ALIASES)
        for name in self.match.alternates.get("channel", ()):
            other = frame[name].astype("str").str.strip()
            other = other.where(other.str.len() > 0)
            other_channel = other.str.lower().map(CHANNEL_ALIASES)
            better = (channel.isna() | (channel == "other")) & other_channel.notna()
            better &= (other_channel != "other") | kind.isna()
            channel = channel.where(~better, other_channel)
            kind = kind.where(~better, other)
        unknown = (kind.notna() & channel.isna()).to_numpy()
        if unknown.any():
            values = kind[unknown]
            counts = values.value_counts()
            for value, size in counts.items():
                row = int(self.rows[unknown][values.to_numpy() == value][0])
                self.warnings.append(
                    Problem(self.label, row, self.source("channel"), str(value),
                            f"activity type is not one Territorial knows ({size} rows); kept "
                            "with channel 'other'", severity="warning")
                )  # fmt: skip
        empty = kind.isna().to_numpy()
        self.warn_rows(empty, "channel", "activity type is empty; kept with channel 'other'")
        channel = channel.fillna("other")
        others = kind[(channel == "other").to_numpy() & ~empty].value_counts()
        if len(others):
            shown = ", ".join(f"{v} ({n})" for v, n in others.head(8).items())
            self.read("channel", "kept as 'other'",
                      f"activity types beyond call/email/meeting/visit: {shown}; the CRM's type "
                      "is kept in the activity's type")  # fmt: skip
        self.out["channel"] = channel.astype("str")
        # The CRM's own type as its main column says (the others stay in the attributes).
        self.out["type"] = primary.fillna(kind).str.slice(0, MAX_LENGTH["type"])
        duration = self.out.get("duration_minutes")
        if duration is None:
            self.out["duration_minutes"] = pd.Series(0.0, index=self.text["id"].index)
        else:
            assert isinstance(duration, pd.Series)
            self.out["duration_minutes"] = duration.fillna(0.0)


def validate_file(
    raw: RawTable,
    *,
    entity: str,
    mapping: Mapping[str, str] | None = None,
    options: ReadOptions | None = None,
) -> ValidatedFile:
    """Validate one read file as rows of ``entity``; problems, warnings and readings are
    collected, nothing is raised."""
    if raw.frame is None:
        return ValidatedFile(
            raw.label,
            entity,
            None,
            np.empty(0, dtype=np.int64),
            None,
            list(raw.problems),
            list(raw.warnings),
            [Reading(raw.label, None, note, "how the file was read") for note in raw.notes],
        )
    checked = _FileCheck(raw, entity, mapping, options or ReadOptions()).run()
    checked.problems[:0] = raw.problems
    return checked


def unknown_references(
    files: Sequence[ValidatedFile], *, column: str, known: pd.Index
) -> list[tuple[ValidatedFile, np.ndarray]]:
    """Per file, a mask of rows whose ``column`` is filled but not in ``known``."""
    out = []
    known_array = pa.array(known.to_numpy(dtype=object), type=pa.string())
    for checked in files:
        if checked.frame is None or column not in checked.frame:
            continue
        values = pa.array(
            checked.frame[column].to_numpy(dtype=object, na_value=None), type=pa.string()
        )
        found = pc.is_in(values, value_set=known_array).to_numpy(zero_copy_only=False)
        mask = values.is_valid().to_numpy(zero_copy_only=False) & ~found
        if mask.any():
            out.append((checked, mask))
    return out
