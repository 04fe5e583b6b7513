"""The rules file as pydantic models: the shape, types and ranges of every key.

:func:`territorial.routing.rules.parse_rules` reads the YAML with
:func:`territorial.bounded.load_yaml` (no aliases, bounded depth and size, the line of
every key), validates it with :class:`RulesFile`, turns each pydantic error into a
:class:`~territorial.errors.Problem` on the key's line, then checks what needs the
whole file (ids used twice, overrides and alerts naming unknown territories) and
compiles the territories.

Messages are written for the person editing the file ("minimum 1000 is greater than
maximum 10", "unknown key 'mach'; allowed here: ...") and each names one key path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

import shapely
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    field_validator,
    model_validator,
)
from shapely import wkt
from shapely.geometry import Polygon

from territorial.bounded import Strict, fail
from territorial.bounded import kind_of as _kind
from territorial.routing.conditions import norm_number, norm_text, polygon_from

FORMAT_VERSION = 1
TIE_BREAKERS: tuple[str, ...] = ("named", "priority", "specificity", "order")
POOL_STRATEGIES: tuple[str, ...] = ("round_robin", "weighted_round_robin")
CAPACITY_PERIODS: tuple[str, ...] = ("day", "week", "month", "total")
RECORD_KINDS: tuple[str, ...] = ("lead", "account", "opportunity", "contact")
OPERATORS: tuple[str, ...] = ("in", "not_in", "prefix", "range", "min", "max", "equals", "band")
#: Keys of a ``match`` mapping that are conditions of their own kind, not record fields.
NAMED_KEYS = frozenset({"accounts", "named_accounts", "account_ids"})


# ----------------------------------------------------------------------------- values


def _text_item(value: Any) -> str:
    if isinstance(value, dict | list):
        raise fail("expected a single value")
    text = norm_text(value)
    if text is None:
        raise fail("empty value")
    return text


TextItem = Annotated[str, PlainValidator(_text_item)]


def _text_list(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise fail("empty list matches nothing")
    return items


#: One value or a list of values, normalised (upper case, stripped).
TextValues = Annotated[frozenset[TextItem], BeforeValidator(_text_list)]


def _id_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list) or not str(value).strip():
        raise fail("every node needs an id")
    return str(value).strip()


NodeId = Annotated[str, PlainValidator(_id_text)]


def _plain_text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise fail(f"expected text, got {_kind(value)}")
    return "" if value is None else str(value).strip()


PlainText = Annotated[str, PlainValidator(_plain_text)]


def _whole(message: str, *, minimum: int | None = 0) -> Any:
    def check(value: Any) -> int:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or (minimum is not None and value < minimum)
        ):
            raise fail(message)
        return value

    return PlainValidator(check)


def _number(value: Any) -> float:
    number = norm_number(value)
    if number is None or not math.isfinite(number):
        raise fail(f"{value!r} is not a number")
    return number


# ----------------------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Keyed:
    """A condition's value with its key (some messages name the field)."""

    key: str
    value: Any


def _band(low: Any, high: Any) -> tuple[float | None, float | None]:
    lo = norm_number(low) if low is not None else None
    hi = norm_number(high) if high is not None else None
    if low is not None and lo is None:
        raise fail(f"minimum {low!r} is not a number")
    if high is not None and hi is None:
        raise fail(f"maximum {high!r} is not a number")
    if lo is None and hi is None:
        raise fail("a band needs a minimum, a maximum or both")
    if lo is not None and hi is not None and lo > hi:
        raise fail(f"minimum {lo:g} is greater than maximum {hi:g}")
    return lo, hi


class Operators(Strict):
    """``{in, not_in, prefix, range, min, max, equals, band}`` on one field."""

    KEYS: ClassVar[tuple[str, ...]] = OPERATORS

    in_: TextValues | None = Field(None, alias="in")
    not_in: TextValues | None = None
    prefix: TextValues | None = None
    range: Any = None
    min: Any = None
    max: Any = None
    equals: TextItem | None = None
    band: Any = None

    #: Set by validation, in the order of the file format: ``("band", (lo, hi))`` for a
    #: number band, ``("text", ((lo, hi), ...))`` for text ranges.
    parts: tuple[tuple[str, Any], ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Operators:
        given = self.model_fields_set & {
            "in_",
            "not_in",
            "prefix",
            "range",
            "min",
            "max",
            "equals",
            "band",
        }
        if not given:
            raise fail(f"empty condition; use one of {', '.join(OPERATORS)}")
        parts: list[tuple[str, Any]] = []
        if "range" in given:
            numeric, ranges = _ranges(self.range)
            parts.append(("band", numeric) if numeric is not None else ("text", ranges))
        if "band" in given:
            if not (isinstance(self.band, list) and len(self.band) == 2):
                raise fail("band wants [minimum, maximum] (either may be null)")
            parts.append(("band", _band(self.band[0], self.band[1])))
        if "min" in given or "max" in given:
            parts.append(("band", _band(self.min, self.max)))
        object.__setattr__(self, "parts", tuple(parts))
        return self


def _ranges(
    spec: Any,
) -> tuple[tuple[float | None, float | None] | None, tuple[tuple[str, str], ...]]:
    """A numeric band (``[100, 999]``) or text ranges (``["02100-02199", ...]``)."""
    items = spec if isinstance(spec, list) else [spec]
    pairs: list[tuple[Any, Any]] = []
    if len(items) == 2 and not any(isinstance(i, list | str) for i in items):
        items = [items]  # range: [100, 999]
    for i, item in enumerate(items):
        if isinstance(item, str) and "-" in item.strip("-"):
            lo, _, hi = item.partition("-")
            pairs.append((lo.strip(), hi.strip()))
        elif isinstance(item, list) and len(item) == 2:
            pairs.append((item[0], item[1]))
        else:
            raise fail(f"range item {i + 1} ({item!r}) is not 'LOW-HIGH' or [LOW, HIGH]")
    if not pairs:
        raise fail("no usable range")
    numeric = all(isinstance(lo, int | float) and isinstance(hi, int | float) for lo, hi in pairs)
    if numeric and len(pairs) == 1:
        return _band(pairs[0][0], pairs[0][1]), ()
    ranges = []
    for lo, hi in pairs:
        slo, shi = norm_text(lo) or "", norm_text(hi) or ""
        if len(slo) != len(shi) or not slo:
            raise fail(f"range bounds {lo!r} and {hi!r} must have the same length")
        if slo > shi:
            raise fail(f"range {slo}-{shi} is empty (low > high)")
        ranges.append((slo, shi))
    return None, tuple(ranges)


class NearSpec(Strict):
    """``near: {latitude, longitude, miles | km}`` (``lat``/``lon`` accepted)."""

    KEYS: ClassVar[tuple[str, ...]] = ("latitude", "longitude", "lat", "lon", "miles", "km")

    latitude: Any = None
    longitude: Any = None
    lat: Any = None
    lon: Any = None
    miles_: Any = Field(None, alias="miles")
    km: Any = None

    center: tuple[float, float] = (0.0, 0.0)
    radius_miles: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> NearSpec:
        lat = norm_number(self.latitude if self.latitude is not None else self.lat)
        lon = norm_number(self.longitude if self.longitude is not None else self.lon)
        miles = norm_number(self.miles_)
        km = norm_number(self.km)
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise fail("near needs latitude in [-90, 90] and longitude in [-180, 180]")
        if miles is None and km is not None:
            miles = km / 1.609344
        if miles is None or not math.isfinite(miles) or miles <= 0:
            raise fail("near needs a positive radius: miles or km")
        object.__setattr__(self, "center", (lat, lon))
        object.__setattr__(self, "radius_miles", miles)
        return self


@dataclass(frozen=True, slots=True)
class PolygonSpec:
    geometry: Polygon
    label: str


def _polygon(value: Any) -> PolygonSpec:
    spec = value.value if isinstance(value, Keyed) else value
    label = "polygon"
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in ("name", "points", "wkt")]
        if unknown:
            raise fail(f"unknown key {unknown[0]!r}; allowed here: name, points, wkt")
        label = str(spec.get("name") or label)
        spec = spec.get("points", spec.get("wkt"))
    if isinstance(spec, str):
        try:
            geom = wkt.loads(spec)
        except shapely.errors.ShapelyError as exc:
            raise fail(f"polygon WKT cannot be read: {exc}") from exc
        if geom.geom_type != "Polygon" or not geom.is_valid:
            raise fail(f"polygon WKT must be a valid POLYGON, got {geom.geom_type}")
        return PolygonSpec(geom, label)
    if not isinstance(spec, list) or len(spec) < 3:
        raise fail("polygon needs at least 3 [longitude, latitude] points")
    for i, point in enumerate(spec):
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all((n := norm_number(v)) is not None and math.isfinite(n) for v in point)
        ):
            raise fail(f"polygon point {i + 1} must be [longitude, latitude]")
    try:
        return PolygonSpec(polygon_from(spec), label)
    except ValueError as exc:
        raise fail(str(exc)) from exc


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Keyed) else value


def _list_condition(value: Any) -> Any:
    assert isinstance(value, Keyed)
    if not value.value:
        raise fail(f"empty list for {value.key!r} matches nothing")
    return value.value


def _one_value(value: Any) -> Any:
    assert isinstance(value, Keyed)
    if norm_text(value.value) is None:
        raise fail(f"condition on {value.key!r} has no value")
    return value.value


def _condition_kind(value: Any) -> str:
    key, spec = (value.key, value.value) if isinstance(value, Keyed) else ("", value)
    if key in NAMED_KEYS:
        return "(accounts)"
    if key == "near":
        return "(near)"
    if key == "polygon":
        return "(polygon)"
    if isinstance(spec, dict):
        return "(operators)"
    if isinstance(spec, list):
        return "(list)"
    return "(value)"


Condition = Annotated[
    Annotated[TextValues, BeforeValidator(_unwrap), Tag("(accounts)")]
    | Annotated[NearSpec, BeforeValidator(_unwrap), Tag("(near)")]
    | Annotated[PolygonSpec, PlainValidator(_polygon), Tag("(polygon)")]
    | Annotated[Operators, BeforeValidator(_unwrap), Tag("(operators)")]
    | Annotated[TextValues, BeforeValidator(_list_condition), Tag("(list)")]
    | Annotated[TextItem, BeforeValidator(_one_value), Tag("(value)")],
    Discriminator(_condition_kind),
]


class Clause(BaseModel):
    """Conditions that must all hold: ``{field: condition, ...}`` in the file's order."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Condition]

    @model_validator(mode="before")
    @classmethod
    def _keyed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise fail("expected a mapping of field conditions")
        return {str(k): Keyed(str(k), v) for k, v in data.items()}

    @property
    def conditions(self) -> list[tuple[str, Any]]:
        return list((self.__pydantic_extra__ or {}).items())


def _match_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "(all)"
    if isinstance(value, list):
        return "(any)"
    return "(bad)"


def _bad_match(value: Any) -> Any:
    raise fail("expected a mapping of field conditions or a list of them")


def _non_empty_match(value: list[Clause]) -> list[Clause]:
    if not value:
        raise fail("an empty list matches nothing; use {} to match everything")
    return value


#: ``match``/``exclude``: a mapping (all must hold) or a list of mappings (any).
Match = Annotated[
    Annotated[Clause, Tag("(all)")]
    | Annotated[list[Clause], AfterValidator(_non_empty_match), Tag("(any)")]
    | Annotated[Any, PlainValidator(_bad_match), Tag("(bad)")],
    Discriminator(_match_kind),
]


def clauses_of(match: Clause | list[Clause] | None) -> tuple[Clause, ...]:
    if match is None:
        return (Clause.model_validate({}),)
    return (match,) if isinstance(match, Clause) else tuple(match)


# ----------------------------------------------------------------------------- owners


class MemberSpec(Strict):
    rep: PlainText = ""
    weight: Any = 1
    capacity: Any = None

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: Any) -> float:
        weight = norm_number(value)
        if weight is None or not math.isfinite(weight) or weight <= 0:
            raise fail("weight must be a positive number")
        return weight

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: Any) -> int | None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise fail("capacity must be a whole number >= 0")
        return value

    @model_validator(mode="after")
    def _rep(self) -> MemberSpec:
        if not self.rep:
            raise fail("a member needs a rep id")
        return self


def _member(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return {"rep": str(value).strip()}
    raise fail("a member is a rep id or {rep, weight, capacity}")


def _members(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise fail("a pool needs a non-empty list of members")
    return value


def _distinct_reps(members: list[MemberSpec]) -> list[MemberSpec]:
    reps = [m.rep for m in members]
    if len(set(reps)) != len(reps):
        raise fail("a rep is listed twice in the pool")
    return members


def _choice(options: tuple[str, ...], name: str) -> Any:
    def check(value: Any) -> str:
        if value not in options:
            raise fail(f"{name} must be one of {', '.join(options)}")
        return str(value)

    return PlainValidator(check)


class PoolSpec(Strict):
    strategy: Annotated[str, _choice(POOL_STRATEGIES, "strategy")] = "round_robin"
    members: Annotated[
        list[Annotated[MemberSpec, BeforeValidator(_member)]],
        BeforeValidator(_members),
        AfterValidator(_distinct_reps),
    ] = Field(default_factory=list)
    capacity_period: Annotated[str, _choice(CAPACITY_PERIODS, "capacity_period")] = "day"

    @model_validator(mode="after")
    def _needs_members(self) -> PoolSpec:
        if "members" not in self.model_fields_set:
            raise fail("a pool needs a non-empty list of members")
        return self


def _owner(value: Any) -> str:
    if isinstance(value, dict | list) or value is None or not str(value).strip():
        raise fail("owner must be a rep id")
    return str(value).strip()


# ----------------------------------------------------------------------------- nodes

Priority = Annotated[int, _whole("priority must be a whole number (lower wins)", minimum=None)]


class NodeSpec(Strict):
    """A territory (a leaf): its own rule, priority and owner or pool."""

    LEVEL: ClassVar[str] = "territory"

    id: NodeId | None = None
    name: PlainText | None = None
    match: Match | None = None
    exclude: Match | None = None
    priority: Priority | None = None
    owner: Annotated[str, PlainValidator(_owner)] | None = None
    pool: PoolSpec | None = None

    @field_validator("pool")
    @classmethod
    def _owner_or_pool(cls, value: PoolSpec | None, info: Any) -> PoolSpec | None:
        if value is not None and info.data.get("owner") is not None:
            raise fail("give either owner or pool, not both")
        return value

    @model_validator(mode="after")
    def _has_id(self) -> NodeSpec:
        if "id" not in self.model_fields_set:
            raise fail("every node needs an id")
        return self

    @property
    def children(self) -> tuple[str, list[NodeSpec]] | None:
        return None


class TerritorySpec(NodeSpec):
    @model_validator(mode="after")
    def _has_match(self) -> TerritorySpec:
        if "match" not in self.model_fields_set:
            raise fail(f"territory {self.id!r} needs a match block ({{}} matches all)")
        return self


def _non_empty_list(name: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise fail(f"{name} must be a non-empty list")
        return value

    return BeforeValidator(check)


class SegmentSpec(NodeSpec):
    LEVEL: ClassVar[str] = "segment"

    territories: Annotated[list[TerritorySpec], _non_empty_list("territories")] | None = None

    @model_validator(mode="after")
    def _has_children(self) -> SegmentSpec:
        if "territories" not in self.model_fields_set:
            raise fail(f"segment {self.id!r} has no territories")
        return self

    @property
    def children(self) -> tuple[str, list[NodeSpec]] | None:
        return ("territories", list(self.territories or []))


class RegionSpec(NodeSpec):
    LEVEL: ClassVar[str] = "region"

    segments: Annotated[list[SegmentSpec], _non_empty_list("segments")] | None = None
    territories: Annotated[list[TerritorySpec], _non_empty_list("territories")] | None = None

    @model_validator(mode="after")
    def _has_children(self) -> RegionSpec:
        kids = self.model_fields_set & {"segments", "territories"}
        if len(kids) > 1:
            raise fail("a region has either segments or territories, not both")
        if not kids:
            raise fail(f"region {self.id!r} has no segments or territories")
        return self

    @property
    def children(self) -> tuple[str, list[NodeSpec]] | None:
        if self.segments is not None:
            return ("segments", list(self.segments))
        return ("territories", list(self.territories or []))


# ----------------------------------------------------------------------------- top level


def _tie_breakers(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(t in TIE_BREAKERS for t in value):
        raise fail(f"tie_breakers must be a list drawn from {', '.join(TIE_BREAKERS)}")
    if len(set(value)) != len(value):
        raise fail("tie_breakers lists a name twice")
    return tuple(value) + (() if "order" in value else ("order",))


def _threshold(value: Any) -> float:
    number = norm_number(value)
    if number is None or not 0 < number <= 1:
        raise fail("must be in (0, 1]")
    return number


def _domains(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or any(isinstance(d, dict | list) for d in value):
        raise fail("must be a list of domains")
    return frozenset(str(d).lower().strip() for d in value)


class SettingsSpec(Strict):
    tie_breakers: Annotated[tuple[str, ...], PlainValidator(_tie_breakers)] = TIE_BREAKERS
    holdover_days: Annotated[int, _whole("must be a whole number >= 0")] = 0
    default_priority: Annotated[int, _whole("must be a whole number >= 0")] = 100
    free_mail_domains: Annotated[frozenset[str], PlainValidator(_domains)] = frozenset()
    match_threshold: Annotated[float, PlainValidator(_threshold)] = 0.7


class ExclusionSpec(Strict):
    name: PlainText | None = None
    match: Match | None = None
    reason: PlainText = ""

    @model_validator(mode="after")
    def _complete(self) -> ExclusionSpec:
        if not self.reason:
            raise fail("an exclusion needs a reason")
        if "match" not in self.model_fields_set:
            raise fail("an exclusion needs a match block")
        return self


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail("expected a date YYYY-MM-DD")


def _optional_text(value: Any) -> str | None:
    if isinstance(value, dict | list):
        raise fail(f"expected text, got {_kind(value)}")
    return None if value is None else str(value)


class OverrideSpec(Strict):
    account: PlainText = ""
    territory: Annotated[str | None, PlainValidator(_optional_text)] = None
    owner: Annotated[str | None, PlainValidator(_optional_text)] = None
    reason: PlainText = ""
    expires: Annotated[date, PlainValidator(_date)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> OverrideSpec:
        missing = []
        if not self.account:
            missing.append("an account id")
        if not self.reason:
            missing.append("a reason")
        if self.territory is None and self.owner is None:
            missing.append("a territory, an owner or both")
        if self.expires is None:
            missing.append("an expiry date (expires: YYYY-MM-DD)")
        if missing:
            raise fail(f"an override needs {', '.join(missing)}")
        return self


_WEBHOOK = re.compile(r"^https?://\S+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _kinds(value: Any) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    kinds = frozenset(str(k).lower() for k in items)
    if bad := sorted(kinds - set(RECORD_KINDS)):
        raise fail(f"unknown record kinds {bad}; use {', '.join(RECORD_KINDS)}")
    return kinds


def _territory_ids(value: Any) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    if any(isinstance(t, dict | list) for t in items):
        raise fail("territories is a list of territory ids")
    return frozenset(str(t) for t in items)


def _webhook(value: Any) -> str:
    target = str(value or "").strip()
    if not _WEBHOOK.match(target):
        raise fail("webhook must be an http(s) URL")
    return target


def _email(value: Any) -> str:
    target = str(value or "").strip()
    if not _EMAIL.match(target):
        raise fail("email must be an address")
    return target


class AlertSpec(Strict):
    name: PlainText | None = None
    when: Match | None = None
    kinds: Annotated[frozenset[str], PlainValidator(_kinds)] = frozenset()
    territories: Annotated[frozenset[str], PlainValidator(_territory_ids)] = frozenset()
    webhook: Annotated[str, PlainValidator(_webhook)] | None = None
    email: Annotated[str, PlainValidator(_email)] | None = None

    @model_validator(mode="after")
    def _one_channel(self) -> AlertSpec:
        given = self.model_fields_set & {"webhook", "email"}
        if len(given) != 1:
            raise fail("an alert has exactly one of webhook: URL or email: ADDRESS")
        return self

    @property
    def channel(self) -> tuple[str, str]:
        if self.webhook is not None:
            return "webhook", self.webhook
        assert self.email is not None
        return "email", self.email


def _version(value: Any) -> int:
    if value != FORMAT_VERSION:
        raise fail(f"unsupported format version; this release reads {FORMAT_VERSION}")
    return FORMAT_VERSION


def _list_of(name: str) -> Any:
    def check(value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise fail(f"{name} must be a list")
        return value

    return BeforeValidator(check)


def _regions(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise fail("the rules file needs a non-empty list of regions")
    return value


class RulesFile(Strict):
    """A whole rules file (``docs/routing.md``)."""

    version: Annotated[int, PlainValidator(_version)] = FORMAT_VERSION
    name: PlainText | None = None
    settings: SettingsSpec | None = None
    regions: Annotated[list[RegionSpec], BeforeValidator(_regions)] = Field(default_factory=list)
    exclusions: Annotated[list[ExclusionSpec], _list_of("exclusions")] = Field(default_factory=list)
    overrides: Annotated[list[OverrideSpec], _list_of("overrides")] = Field(default_factory=list)
    alerts: Annotated[list[AlertSpec], _list_of("alerts")] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_regions(self) -> RulesFile:
        if "regions" not in self.model_fields_set:
            raise fail("the rules file needs a non-empty list of regions")
        return self
