"""Conditions: the building blocks of territory rules.

Each condition tests one field of a record (or a location) and works two ways:

* ``test(record)`` on one record (a mapping), returning whether it passed and a short
  text for the why-trace ("state=CA", "employees=1,200 not >= 5,000");
* ``mask(frame, rows)`` on many accounts at once (a :class:`RoutingFrame`), returning
  a boolean array over ``rows``. This is what makes re-evaluating a whole book fast.

Strings compare case-insensitively (values are upper-cased once). Numbers in bands
are inclusive at both ends. Distances are great-circle miles.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import Polygon

from territorial.geometry import great_circle_miles

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Specificity points per kind of condition ("most specific rule wins" sums them).
SPECIFICITY: dict[str, int] = {
    "accounts": 1000,
    "polygon": 50,
    "near": 50,
    "postal_code_list": 40,
    "postal_code_range": 30,
    "postal_code_prefix": 10,  # + 5 per prefix character
    "city": 30,
    "state": 20,
    "country": 10,
    "band": 15,
    "other": 15,
}


def norm_text(value: Any) -> str | None:
    """Canonical text of a value for comparisons: stripped, upper-case; numbers without ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip().upper()
    return text or None


def norm_number(value: Any) -> float | None:
    """A float or ``None`` (missing, empty or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            return None
    return None if math.isnan(number) else number


def _norm_texts(values: Any) -> list[str | None]:
    """:func:`norm_text` of many distinct values (vectorised when they are all text)."""
    series = pd.Series(values)
    textual = pd.api.types.is_string_dtype(series.dtype) and series.dtype != object
    if textual or pd.api.types.infer_dtype(series, skipna=True) == "string":
        text = series.astype("string").str.strip().str.upper()
        return [None if (t is pd.NA or t == "") else t for t in text.tolist()]
    return [norm_text(None if v is pd.NA else v) for v in series.tolist()]


def record_value(record: Mapping[str, Any], name: str) -> Any:
    """Field ``name`` of a record, falling back to ``record["attributes"][name]``."""
    if name in record and record[name] is not None:
        return record[name]
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping):
        return attributes.get(name)
    return None


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class RoutingFrame:
    """Accounts as column arrays prepared for vectorised rule evaluation.

    Text columns are factorised once into integer codes (``-1`` for missing) so that a
    list condition is a lookup table indexed by code; prefixes get their own codes.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self.n = len(self.frame)
        self._codes: dict[tuple[str, int], tuple[IntArray, dict[str, int], np.ndarray]] = {}
        self._numbers: dict[str, npt.NDArray[np.float64]] = {}
        self._id_index: pd.Index | None = None
        self._attribute_names: frozenset[str] | None = None

    def column(self, name: str) -> pd.Series:
        if name in self.frame.columns:
            return self.frame[name]
        if "attributes" in self.frame.columns:
            attributes = self.frame["attributes"].tolist()
            if self._attribute_names is None:
                # A rule may test a field no record has: answer that without a pass per rule.
                names: set[str] = set()
                for a in attributes:
                    if type(a) is dict or isinstance(a, Mapping):
                        names.update(a)
                self._attribute_names = frozenset(names)
            if name in self._attribute_names:
                # ``type(a) is dict`` first: the abstract ``Mapping`` check is slow per row.
                values = [
                    a.get(name) if type(a) is dict or isinstance(a, Mapping) else None
                    for a in attributes
                ]
                return pd.Series(values, dtype=object)
        return pd.Series([None] * self.n, dtype=object)

    def codes(self, name: str, prefix: int = 0) -> tuple[IntArray, dict[str, int], np.ndarray]:
        """``(codes, code_of_value, values)`` of the normalised text of column ``name``.

        With ``prefix`` > 0 the values are the first ``prefix`` characters.
        """
        key = (name, prefix)
        if key not in self._codes:
            if name == "_cell":
                lat = np.floor(self.numbers("latitude") / CELL_DEGREES)
                lon = np.floor(self.numbers("longitude") / CELL_DEGREES)
                ok = ~(np.isnan(lat) | np.isnan(lon))
                packed = np.where(ok, (lat + 1000) * 10000 + (lon + 1000), -1).astype(np.int64)
                raw, uniques = pd.factorize(packed)
                names = [f"{u // 10000 - 1000}:{u % 10000 - 1000}" for u in uniques.tolist()]
                cells = {n: i for i, n in enumerate(names) if uniques[i] >= 0}
                codes = np.where(packed >= 0, raw, -1).astype(np.int64)
                self._codes[key] = (codes, cells, np.array(names, dtype=object))
            elif prefix:
                base_codes, _, base_values = self.codes(name)
                cut = np.array([v[:prefix] for v in base_values.tolist()], dtype=object)
                cut_codes, cut_values = pd.factorize(cut)
                mapped = np.append(cut_codes, -1)[base_codes]
                values = np.asarray(cut_values, dtype=object)
                self._codes[key] = (
                    mapped.astype(np.int64),
                    {v: i for i, v in enumerate(values.tolist())},
                    values,
                )
            else:
                # Factorise the raw values, then normalise only the distinct ones.
                # Codes in order of first appearance, as the normalised texts are met.
                raw_codes, uniques = pd.factorize(self.column(name), use_na_sentinel=True)
                texts = np.empty(len(uniques), dtype=object)
                texts[:] = _norm_texts(uniques)
                text_codes, distinct = pd.factorize(texts, use_na_sentinel=True)
                remap = np.append(text_codes, -1).astype(np.int64)
                values = np.asarray(distinct, dtype=object)
                code_of = {text: i for i, text in enumerate(values.tolist())}
                self._codes[key] = (remap[raw_codes], code_of, values)
        return self._codes[key]

    def rows_with_id(self, ids: frozenset[str]) -> IntArray:
        """Row numbers whose ``id`` (upper-cased) is one of ``ids``, via a hash index."""
        if self._id_index is None:
            text = self.column("id").astype("string").str.strip().str.upper()
            # Python strings in an object index: its hash table is built once and each
            # look-up of a few ids is cheap (an Arrow-backed index converts every list).
            self._id_index = pd.Index(text.to_numpy(dtype=object, na_value=None), dtype=object)
        index = self._id_index
        wanted = list(ids)
        if index.is_unique:
            found = index.get_indexer(wanted)
            return np.sort(found[found >= 0]).astype(np.int64)
        return np.flatnonzero(index.isin(wanted)).astype(np.int64)

    def numbers(self, name: str) -> npt.NDArray[np.float64]:
        if name not in self._numbers:
            self._numbers[name] = pd.to_numeric(self.column(name), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        return self._numbers[name]


def _lut_mask(codes: IntArray, rows: IntArray, allowed: BoolArray) -> BoolArray:
    # ``allowed`` has one extra False slot at the end so code -1 (missing) indexes it.
    return allowed[codes[rows]]


@dataclass(frozen=True, slots=True)
class Condition(ABC):
    """Abstract base of every condition; ``field`` names the record field tested."""

    field: str

    @property
    @abstractmethod
    def kind(self) -> str:
        """Short name of the condition type, as written in the rules file."""

    @property
    def specificity(self) -> int:
        return SPECIFICITY["other"]

    @property
    def cost(self) -> int:
        """Relative cost of ``mask``; a rule checks its cheap conditions first."""
        return 1

    @abstractmethod
    def describe(self) -> str:
        """The condition in words, for why-traces."""

    @abstractmethod
    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        """Whether one record passes, with the reason in words."""

    @abstractmethod
    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        """Vectorised ``test`` over ``rows`` of a whole book."""

    def index_keys(self) -> tuple[str, frozenset[str]] | None:
        """``(index name, key values)`` when the condition can only pass for those keys."""
        return None

    def change_hint(self) -> str:
        """What a record would need for this condition to pass."""
        return self.describe()


def _field_specificity(name: str, default: str = "other") -> int:
    if name == "state":
        return SPECIFICITY["state"]
    if name == "country":
        return SPECIFICITY["country"]
    if name == "city":
        return SPECIFICITY["city"]
    return SPECIFICITY[default]


@dataclass(frozen=True, slots=True)
class InList(Condition):
    """The field's text is one of ``values`` (or none of them with ``negate``)."""

    values: frozenset[str] = field(default_factory=frozenset)
    negate: bool = False
    shown: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items = sorted(self.values)
        text = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
        object.__setattr__(self, "shown", text)

    @property
    def kind(self) -> str:
        return "not_in" if self.negate else "in"

    @property
    def specificity(self) -> int:
        if self.negate:
            return 1
        if self.field == "postal_code":
            return SPECIFICITY["postal_code_list"]
        return _field_specificity(self.field)

    def _shown(self) -> str:
        return self.shown

    def describe(self) -> str:
        if len(self.values) == 1 and not self.negate:
            return f"{self.field}={next(iter(self.values))}"
        op = "not in" if self.negate else "in"
        return f"{self.field} {op} [{self._shown()}]"

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        value = norm_text(record_value(record, self.field))
        if value is None:
            return (self.negate, f"{self.field} is missing")
        inside = value in self.values
        passed = inside != self.negate
        if passed:
            return True, f"{self.field}={value}"
        return False, f"{self.field}={value} {'in' if self.negate else 'not in'} [{self._shown()}]"

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        codes, code_of, values = frame.codes(self.field)
        allowed = np.zeros(len(values) + 1, dtype=bool)
        hits = [code_of[v] for v in self.values if v in code_of]
        allowed[hits] = True
        if self.negate:
            allowed[:-1] = ~allowed[:-1]
            allowed[-1] = True
        return _lut_mask(codes, rows, allowed)

    def index_keys(self) -> tuple[str, frozenset[str]] | None:
        if self.negate:
            return None
        if self.field in ("state", "country", "id"):
            return self.field, self.values
        if self.field == "postal_code":
            shortest = min((len(v) for v in self.values), default=0)
            if shortest >= 3:
                return "postal3", frozenset(v[:3] for v in self.values)
        return None

    def change_hint(self) -> str:
        if self.negate:
            return f"{self.field} not in [{self._shown()}]"
        return f"{self.field} in [{self._shown()}]" if len(self.values) > 1 else self.describe()


@dataclass(frozen=True, slots=True)
class NamedAccounts(InList):
    """A named-account list: the record's ``id`` (or its matched account id) is listed."""

    @property
    def kind(self) -> str:
        return "accounts"

    @property
    def specificity(self) -> int:
        return SPECIFICITY["accounts"]

    def describe(self) -> str:
        return f"named account list [{self._shown()}]"

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        for name in ("account_id", "id"):
            value = norm_text(record.get(name))
            if value is not None and value in self.values:
                return True, f"account {value} is on the named-account list"
        value = norm_text(record.get("account_id") or record.get("id"))
        return False, f"account {value} is not on the named-account list"

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        return np.isin(rows, frame.rows_with_id(self.values))

    def index_keys(self) -> tuple[str, frozenset[str]] | None:
        return "id", self.values

    def change_hint(self) -> str:
        return f"add the account to the named-account list [{self._shown()}]"


@dataclass(frozen=True, slots=True)
class Prefix(Condition):
    """The field's text starts with one of ``prefixes``."""

    prefixes: frozenset[str] = field(default_factory=frozenset)

    @property
    def kind(self) -> str:
        return "prefix"

    @property
    def specificity(self) -> int:
        if self.field == "postal_code":
            longest = min((len(p) for p in self.prefixes), default=0)
            return SPECIFICITY["postal_code_prefix"] + 5 * longest
        return _field_specificity(self.field)

    def describe(self) -> str:
        items = sorted(self.prefixes)
        shown = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
        return f"{self.field} starts with [{shown}]"

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        value = norm_text(record_value(record, self.field))
        if value is None:
            return False, f"{self.field} is missing"
        for p in self.prefixes:
            if value.startswith(p):
                return True, f"{self.field}={value} starts with {p}"
        return False, f"{self.field}={value} does not start with any listed prefix"

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        out = np.zeros(len(rows), dtype=bool)
        for length in sorted({len(p) for p in self.prefixes}):
            codes, code_of, values = frame.codes(self.field, prefix=length)
            allowed = np.zeros(len(values) + 1, dtype=bool)
            hits = [code_of[p] for p in self.prefixes if len(p) == length and p in code_of]
            allowed[hits] = True
            out |= _lut_mask(codes, rows, allowed)
        return out

    def index_keys(self) -> tuple[str, frozenset[str]] | None:
        if self.field == "postal_code" and min(len(p) for p in self.prefixes) >= 3:
            return "postal3", frozenset(p[:3] for p in self.prefixes)
        return None


@dataclass(frozen=True, slots=True)
class TextRange(Condition):
    """The field's text lies in one of the inclusive ``ranges`` (postal codes "94000".."94999").

    Values are compared as text of the same length as the bounds, so "9410" is not in
    "94000".."94999".
    """

    ranges: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        return "range"

    @property
    def specificity(self) -> int:
        if self.field == "postal_code":
            return SPECIFICITY["postal_code_range"]
        return _field_specificity(self.field)

    def describe(self) -> str:
        shown = ", ".join(f"{lo}-{hi}" for lo, hi in self.ranges[:5])
        return f"{self.field} in range [{shown}]"

    def _inside(self, value: str) -> bool:
        return any(len(value) == len(lo) and lo <= value <= hi for lo, hi in self.ranges)

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        value = norm_text(record_value(record, self.field))
        if value is None:
            return False, f"{self.field} is missing"
        if self._inside(value):
            return True, f"{self.field}={value} in {self.describe().split(' in ', 1)[1]}"
        return False, f"{self.field}={value} outside {self.describe().split(' in ', 1)[1]}"

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        codes, _, values = frame.codes(self.field)
        allowed = np.zeros(len(values) + 1, dtype=bool)
        if len(values):
            text = values.astype(str)
            lengths = np.char.str_len(text)
            for lo, hi in self.ranges:
                allowed[:-1] |= (lengths == len(lo)) & (text >= lo) & (text <= hi)
        return _lut_mask(codes, rows, allowed)


@dataclass(frozen=True, slots=True)
class Band(Condition):
    """A number band: ``minimum <= value <= maximum`` (either end may be open)."""

    minimum: float | None = None
    maximum: float | None = None

    @property
    def kind(self) -> str:
        return "band"

    @property
    def specificity(self) -> int:
        return SPECIFICITY["band"]

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"{self.field} {_show(self.minimum)}-{_show(self.maximum)}"
        if self.minimum is not None:
            return f"{self.field} >= {_show(self.minimum)}"
        return f"{self.field} <= {_show(self.maximum)}"

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        value = norm_number(record_value(record, self.field))
        if value is None:
            return False, f"{self.field} is missing"
        if self.minimum is not None and value < self.minimum:
            return False, f"{self.field}={_show(value)} not >= {_show(self.minimum)}"
        if self.maximum is not None and value > self.maximum:
            return False, f"{self.field}={_show(value)} not <= {_show(self.maximum)}"
        return True, f"{self.field}={_show(value)}"

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        values = frame.numbers(self.field)[rows]
        out = ~np.isnan(values)
        if self.minimum is not None:
            out &= values >= self.minimum
        if self.maximum is not None:
            out &= values <= self.maximum
        return out


#: Size of the grid cells that index radius and polygon rules, in degrees.
CELL_DEGREES = 1.0
_MAX_CELLS = 400


def cell_of(latitude: float, longitude: float) -> str:
    """Grid cell key of a location (1-degree cells)."""
    return f"{math.floor(latitude / CELL_DEGREES)}:{math.floor(longitude / CELL_DEGREES)}"


def cells_covering(south: float, west: float, north: float, east: float) -> frozenset[str] | None:
    """Cells of a bounding box, or ``None`` when there are too many to be worth indexing."""
    rows = range(math.floor(south / CELL_DEGREES), math.floor(north / CELL_DEGREES) + 1)
    cols = range(math.floor(west / CELL_DEGREES), math.floor(east / CELL_DEGREES) + 1)
    if len(rows) * len(cols) > _MAX_CELLS or west < -180 or east > 180:
        return None
    return frozenset(f"{r}:{c}" for r in rows for c in cols)


@dataclass(frozen=True, slots=True)
class Near(Condition):
    """Within ``miles`` of the point (``latitude``, ``longitude``), great-circle."""

    latitude: float = 0.0
    longitude: float = 0.0
    miles: float = 0.0

    @property
    def kind(self) -> str:
        return "near"

    @property
    def cost(self) -> int:
        return 5

    @property
    def specificity(self) -> int:
        return SPECIFICITY["near"]

    def describe(self) -> str:
        return f"within {_show(self.miles)} mi of ({self.latitude:.4f}, {self.longitude:.4f})"

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        lat = norm_number(record_value(record, "latitude"))
        lon = norm_number(record_value(record, "longitude"))
        if lat is None or lon is None:
            return False, "location is missing (latitude/longitude)"
        miles = float(great_circle_miles(lat, lon, self.latitude, self.longitude))
        if miles <= self.miles:
            return True, f"{miles:,.1f} mi from ({self.latitude:.4f}, {self.longitude:.4f})"
        return False, f"{miles:,.1f} mi away, more than {_show(self.miles)} mi"

    def index_keys(self) -> tuple[str, frozenset[str]] | None:
        dlat = self.miles / 69.0
        dlon = self.miles / max(
            1e-6, 69.0 * math.cos(math.radians(min(89.0, abs(self.latitude) + dlat)))
        )
        if abs(self.latitude) + dlat >= 89.0:
            return None
        cells = cells_covering(
            self.latitude - dlat, self.longitude - dlon, self.latitude + dlat, self.longitude + dlon
        )
        return None if cells is None else ("cell", cells)

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        lat = frame.numbers("latitude")[rows]
        lon = frame.numbers("longitude")[rows]
        with np.errstate(invalid="ignore"):
            miles = great_circle_miles(lat, lon, self.latitude, self.longitude)
            return np.asarray(miles <= self.miles, dtype=bool)


@dataclass(frozen=True, slots=True, eq=False)
class InPolygon(Condition):
    """Inside a polygon given as ``[longitude, latitude]`` vertices (GeoJSON order)."""

    polygon: Polygon = field(default_factory=Polygon)
    label: str = "polygon"

    def __post_init__(self) -> None:
        shapely.prepare(self.polygon)

    @property
    def kind(self) -> str:
        return "polygon"

    @property
    def cost(self) -> int:
        return 10

    @property
    def specificity(self) -> int:
        return SPECIFICITY["polygon"]

    def describe(self) -> str:
        return f"inside {self.label}"

    def test(self, record: Mapping[str, Any]) -> tuple[bool, str]:
        lat = norm_number(record_value(record, "latitude"))
        lon = norm_number(record_value(record, "longitude"))
        if lat is None or lon is None:
            return False, "location is missing (latitude/longitude)"
        if shapely.contains_xy(self.polygon, lon, lat):
            return True, f"({lat:.4f}, {lon:.4f}) inside {self.label}"
        return False, f"({lat:.4f}, {lon:.4f}) outside {self.label}"

    def index_keys(self) -> tuple[str, frozenset[str]] | None:
        west, south, east, north = self.polygon.bounds
        cells = cells_covering(south, west, north, east)
        return None if cells is None else ("cell", cells)

    def mask(self, frame: RoutingFrame, rows: IntArray) -> BoolArray:
        lat = frame.numbers("latitude")[rows]
        lon = frame.numbers("longitude")[rows]
        ok = ~(np.isnan(lat) | np.isnan(lon))
        out = np.zeros(len(rows), dtype=bool)
        if ok.any():
            out[ok] = shapely.contains_xy(self.polygon, lon[ok], lat[ok])
        return out


def polygon_from(points: Sequence[Sequence[float]]) -> Polygon:
    """A valid polygon from ``[[lon, lat], ...]``; raises ``ValueError`` with the reason."""
    poly = Polygon([(float(p[0]), float(p[1])) for p in points])
    if not poly.is_valid:
        raise ValueError(f"polygon is not valid: {shapely.is_valid_reason(poly)}")
    return poly
