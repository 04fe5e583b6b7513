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

from territorial.domain.model import CHANNELS, INDUSTRIES
from territorial.errors import Problem
from territorial.io.geocode import geocode_postal_codes
from territorial.io.mapping import ALIASES, REQUIRED, ColumnMatch, match_columns
from territorial.io.readers import RawTable

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
    }
)
DATES: frozenset[str] = frozenset({"start_date", "created_date", "close_date"})
DATETIMES: frozenset[str] = frozenset({"occurred_at"})
BOOLEANS: frozenset[str] = frozenset({"active", "is_closed", "is_won"})
LATITUDES: frozenset[str] = frozenset({"latitude", "home_latitude"})
LONGITUDES: frozenset[str] = frozenset({"longitude", "home_longitude"})

#: Longest text each column takes (the store's ``VARCHAR`` sizes).
MAX_LENGTH: dict[str, int] = {
    "id": 128, "owner_id": 128, "account_id": 128, "rep_id": 128, "manager_id": 128,
    "domain": 255, "email": 255, "postal_code": 16, "home_postal_code": 16, "city": 128,
    "home_city": 128, "state": 64, "home_state": 64, "country": 64, "industry": 128,
    "segment": 64, "role": 64, "stage": 64, "product": 128,
}  # fmt: skip

#: Columns whose cells may not be empty (besides ``id``).
NOT_EMPTY: dict[str, tuple[str, ...]] = {
    "accounts": ("name",),
    "reps": ("name",),
    "opportunities": ("account_id", "stage", "created_date"),
    "activities": ("account_id", "channel", "occurred_at"),
}

_TRUE = ("true", "t", "yes", "y", "1", "1.0", "x", "won", "closed", "active")
_FALSE = ("false", "f", "no", "n", "0", "0.0", "", "open", "lost", "inactive")

#: CRM activity types -> Territorial channels (compared in lower case).
CHANNEL_ALIASES: dict[str, str] = {
    "call": "call", "phone": "call", "phone call": "call", "calls": "call", "log a call": "call",
    "email": "email", "e-mail": "email", "emails": "email", "listemail": "email",
    "list email": "email", "email message": "email", "mail": "email",
    "meeting": "meeting", "meetings": "meeting", "event": "meeting", "appointment": "meeting",
    "video call": "meeting", "video meeting": "meeting", "web meeting": "meeting",
    "visit": "visit", "site visit": "visit", "field visit": "visit", "onsite": "visit",
    "on-site": "visit", "in person": "visit", "in-person": "visit", "in-person meeting": "visit",
}  # fmt: skip

#: Most rows of one kind of warning listed per file; the rest are summarised.
MAX_ROW_WARNINGS = 100


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

    def source_name(self, canonical: str) -> str:
        """The file's own name of a canonical column (what the user sees)."""
        if self.match is not None and canonical in self.match.source:
            return self.match.source[canonical]
        return canonical


def _values(series: pd.Series, mask: np.ndarray) -> list[str | None]:
    return [None if v is None or v != v else str(v) for v in series[mask].tolist()]


def _number(text: pd.Series) -> pd.Series:
    """Numbers from text, ``NaN`` where the text is not one (``$1,234.50`` is 1234.5)."""
    array = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    try:
        return pd.Series(
            pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), index=text.index
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    cleaned = text.str.replace(r"[$€£\s]", "", regex=True)
    thousands = cleaned.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?").fillna(False)
    cleaned = cleaned.where(~thousands.astype(bool), cleaned.str.replace(",", "", regex=False))
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def parse_datetimes(text: pd.Series) -> pd.Series:
    """Timestamps in UTC without zone, ``NaT`` where the text is not a date.

    Accepts ISO 8601 (``2024-01-15``, ``2024-01-15T10:00:00.000+0000``), US
    ``1/15/2024`` (Excel's CSV export) and other common spellings.
    """
    out = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    left = (text.notna() & out.isna()).to_numpy(dtype=bool)
    if left.any():
        out[left] = pd.to_datetime(text[left], errors="coerce", utc=True, format="%m/%d/%Y")
        left = (text.notna() & out.isna()).to_numpy(dtype=bool)
    if left.any():
        out[left] = pd.to_datetime(text[left], errors="coerce", utc=True, format="mixed")
    return out.dt.tz_convert(None).astype("datetime64[us]")


def _json_string(text: pa.Array) -> pa.Array:
    """Text as JSON string literals (quotes included), built by Arrow without a Python loop."""
    escaped = pc.replace_substring(text, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    for char, code in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = pc.replace_substring(escaped, char, code)
    # Other control characters are rare in exports and not valid JSON: drop them.
    escaped = pc.replace_substring_regex(escaped, r"[\x00-\x1f]", "")
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _attributes_json(frame: pd.DataFrame | None, columns: list[str]) -> pd.Series:
    """One JSON object per row holding the extra columns' non-empty cells as text."""
    assert frame is not None
    parts = []
    for column in columns:
        text = pa.array(frame[column].to_numpy(dtype=object, na_value=None), type=pa.string())
        text = pc.utf8_trim_whitespace(text)
        text = pc.if_else(pc.equal(pc.utf8_length(text), 0), pa.scalar(None, pa.string()), text)
        key = pa.scalar(json.dumps(str(column), ensure_ascii=False) + ":")
        fragment = pc.binary_join_element_wise(key, _json_string(text), ",", "")
        parts.append(pc.fill_null(fragment, ""))
    # (null_handling="skip" would be neater but drops all-null rows in some Arrow versions)
    joined = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), characters=",")
    wrapped = pc.binary_join_element_wise("{", joined, "}", "")
    return pd.Series(wrapped.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)


class _FileCheck:
    """Validation of one file for one entity, accumulating problems and warnings."""

    def __init__(self, raw: RawTable, entity: str, mapping: Mapping[str, str] | None) -> None:
        assert raw.frame is not None
        self.raw = raw
        self.entity = entity
        self.label = raw.label
        self.match = match_columns(entity, [str(c) for c in raw.frame.columns], user=mapping)
        n = len(raw.frame)
        self.rows = (
            np.asarray(raw.row_numbers, dtype=np.int64)
            if raw.row_numbers is not None
            else np.arange(2, n + 2, dtype=np.int64)
        )
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = list(raw.warnings)
        self.out: dict[str, pd.Series | np.ndarray] = {}
        self.text: dict[str, pd.Series] = {}

    # -- reporting helpers

    def source(self, canonical: str) -> str:
        return self.match.source.get(canonical, canonical)

    def error(self, mask: np.ndarray, canonical: str, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        text = self.text.get(canonical)
        values = _values(text, mask) if text is not None else [None] * int(mask.sum())
        column = self.source(canonical)
        self.problems.extend(
            Problem(self.label, int(r), column, v, reason)
            for r, v in zip(self.rows[mask], values, strict=True)
        )

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
        missing = [c for c in REQUIRED[self.entity] if c not in self.match.source]
        for canonical in missing:
            accepted = ", ".join([canonical, *ALIASES[self.entity].get(canonical, ())])
            self.problems.append(
                Problem(
                    self.label, 1, canonical, None,
                    f"required column {canonical!r} is missing (accepted names: {accepted}; "
                    "or map it with --mapping)",
                )
            )  # fmt: skip
        if missing:
            return self.result(None)
        for canonical, column in self.match.source.items():
            text = frame[column].astype("str").str.strip()
            self.text[canonical] = text.where(text.str.len() > 0)
        self.check_ids()
        for canonical in NOT_EMPTY[self.entity]:
            if canonical in self.text:
                self.error(
                    self.text[canonical].isna().to_numpy(), canonical, f"{canonical} is empty"
                )
        for canonical, text in self.text.items():
            if canonical == "id":
                continue
            self.convert(canonical, text)
        getattr(self, f"finish_{self.entity}")()
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
        )

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

    def convert(self, canonical: str, text: pd.Series) -> None:
        filled = text.notna().to_numpy()
        if canonical in INTEGERS or canonical in FLOATS:
            number = _number(text)
            bad = filled & ~np.isfinite(number.to_numpy())
            self.error(bad, canonical, f"{canonical} is not a number")
            ok = ~bad
            if canonical in NON_NEGATIVE:
                self.error(ok & (number.to_numpy() < 0), canonical, f"{canonical} is negative")
            if canonical in INTEGERS:
                frac = ok & filled & (np.mod(number.fillna(0).to_numpy(), 1) != 0)
                self.error(frac, canonical, f"{canonical} is not a whole number")
            if canonical in LATITUDES:
                self.error(
                    ok & ((number < -90) | (number > 90)).to_numpy(),
                    canonical,
                    "latitude is outside -90..90 degrees",
                )
            if canonical in LONGITUDES:
                self.error(
                    ok & ((number < -180) | (number > 180)).to_numpy(),
                    canonical,
                    "longitude is outside -180..180 degrees",
                )
            number = number.where(pd.Series(ok, index=number.index))
            self.out[canonical] = (
                number.round().astype("Int64") if canonical in INTEGERS else number
            )
        elif canonical in DATES or canonical in DATETIMES:
            when = parse_datetimes(text)
            self.error(
                filled & when.isna().to_numpy(),
                canonical,
                f"{canonical} is not a date (use YYYY-MM-DD)",
            )
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

    def currency(self, *, default: str | None) -> None:
        if "currency" not in self.out:
            if default is not None:
                self.out["currency"] = pd.Series(default, index=self.text["id"].index, dtype="str")
            return
        code = self.text["currency"].str.upper()
        bad = code.notna() & ~code.str.fullmatch(r"[A-Z]{3}").fillna(False).astype(bool)
        self.error(bad.to_numpy(), "currency", "currency is not a 3-letter ISO code (e.g. USD)")
        if default is not None:
            code = code.fillna(default)
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
        if self.match.extra:
            self.out["attributes"] = _attributes_json(self.raw.frame, list(self.match.extra))

    def canonical_industry(self) -> None:
        text = self.text["industry"]
        known = {name.lower(): name for name in INDUSTRIES}
        lower = text.str.lower()
        mapped = lower.map(known)
        self.out["industry"] = mapped.fillna(text).astype("str")
        unknown = (text.notna() & mapped.isna()).to_numpy()
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
        channel = self.text["channel"].str.lower().map(CHANNEL_ALIASES)
        unknown = (self.text["channel"].notna() & channel.isna()).to_numpy()
        self.error(
            unknown,
            "channel",
            f"channel is not one of {', '.join(CHANNELS)} (or a CRM name for them)",
        )
        self.out["channel"] = channel.astype("str")
        duration = self.out.get("duration_minutes")
        if duration is None:
            self.out["duration_minutes"] = pd.Series(0.0, index=self.text["id"].index)
        else:
            assert isinstance(duration, pd.Series)
            self.out["duration_minutes"] = duration.fillna(0.0)


def validate_file(
    raw: RawTable, *, entity: str, mapping: Mapping[str, str] | None = None
) -> ValidatedFile:
    """Validate one read file as rows of ``entity``; problems and warnings are collected."""
    if raw.frame is None:
        return ValidatedFile(
            raw.label,
            entity,
            None,
            np.empty(0, dtype=np.int64),
            None,
            list(raw.problems),
            list(raw.warnings),
        )
    checked = _FileCheck(raw, entity, mapping).run()
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
