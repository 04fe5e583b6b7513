"""The territory rules file: parsing YAML into a :class:`RuleSet`, with line numbers.

The format is documented in ``docs/routing.md``; ``examples/rules.yaml`` is a full
example. In short::

    version: 1
    name: FY27 North America
    settings: {tie_breakers: [named, priority, specificity, order], holdover_days: 90}
    regions:
      - id: west
        match: {state: [CA, OR, WA]}
        segments:
          - id: west-ent
            match: {employees: {min: 1000}}
            territories:
              - id: west-ent-bay
                name: West/Enterprise Bay Area
                priority: 10
                match: {postal_code: {prefix: ["94", "95"]}}
                owner: rep-17

A leaf territory's rule is its own ``match`` AND every ancestor's ``match``. ``match``
may be a list of mappings, meaning any of them (OR). Every problem found is reported
at once as a :class:`~territorial.errors.ValidationError` whose problems carry the
line number (``row``) and the key path (``column``).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import shapely
import yaml
from shapely import wkt

from territorial.errors import Problem, ValidationError
from territorial.routing.conditions import (
    Band,
    Condition,
    InList,
    InPolygon,
    NamedAccounts,
    Near,
    Prefix,
    TextRange,
    norm_number,
    norm_text,
    polygon_from,
)

FORMAT_VERSION = 1
TIE_BREAKERS: tuple[str, ...] = ("named", "priority", "specificity", "order")
POOL_STRATEGIES: tuple[str, ...] = ("round_robin", "weighted_round_robin")
CAPACITY_PERIODS: tuple[str, ...] = ("day", "week", "month", "total")
RECORD_KINDS: tuple[str, ...] = ("lead", "account", "opportunity", "contact")

#: Field name aliases accepted in ``match`` blocks.
FIELD_ALIASES: dict[str, str] = {
    "zip": "postal_code",
    "zip_code": "postal_code",
    "postal": "postal_code",
    "postcode": "postal_code",
    "revenue": "annual_revenue",
    "named_accounts": "accounts",
    "account_ids": "accounts",
}

Clause = tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class PoolMember:
    """A rep in a team pool. ``weight`` shares turns; ``capacity`` caps assignments per period."""

    rep: str
    weight: float = 1.0
    capacity: int | None = None


@dataclass(frozen=True, slots=True)
class Pool:
    """A team pool: records are spread over ``members`` by ``strategy``."""

    strategy: str
    members: tuple[PoolMember, ...]
    capacity_period: str = "day"


@dataclass(frozen=True, slots=True)
class TerritoryRule:
    """A leaf territory with its compiled rule.

    ``clauses`` are alternatives (OR) of conditions (AND), ancestors' conditions
    included; ``exclusions`` likewise (any matching clause excludes).
    """

    id: str
    name: str
    path: tuple[str, ...]
    priority: int
    clauses: tuple[Clause, ...]
    exclusions: tuple[Clause, ...]
    owner: str | None
    pool: Pool | None
    order: int
    line: int | None
    region: str | None = None
    segment: str | None = None

    @property
    def label(self) -> str:
        return "/".join(self.path)

    @property
    def owner_ids(self) -> tuple[str, ...]:
        if self.pool is not None:
            return tuple(m.rep for m in self.pool.members)
        return (self.owner,) if self.owner else ()

    @property
    def primary_owner(self) -> str | None:
        """The owner for book-of-business reports: the single owner or the pool's name."""
        if self.pool is not None:
            return f"pool:{self.id}"
        return self.owner


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Records matching ``clauses`` are routed nowhere, for ``reason``."""

    name: str
    clauses: tuple[Clause, ...]
    reason: str
    line: int | None


@dataclass(frozen=True, slots=True)
class Override:
    """A manual override of one account's territory and/or owner, until ``expires``."""

    account: str
    reason: str
    expires: date
    territory: str | None = None
    owner: str | None = None
    line: int | None = None
    id: int | None = None  # set for overrides kept in the store

    def active_on(self, day: date) -> bool:
        return day <= self.expires


@dataclass(frozen=True, slots=True)
class Alert:
    """Write an outbox entry when a record matching ``when`` lands in one of ``territories``."""

    name: str
    when: tuple[Clause, ...]
    channel: str  # "webhook" or "email"
    target: str
    territories: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """The ``settings`` block of a rules file."""

    tie_breakers: tuple[str, ...] = TIE_BREAKERS
    holdover_days: int = 0
    default_priority: int = 100
    free_mail_domains: frozenset[str] = frozenset()
    match_threshold: float = 0.7


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A parsed, validated rules file."""

    name: str
    options: RuleOptions
    territories: tuple[TerritoryRule, ...]
    exclusions: tuple[Exclusion, ...] = ()
    overrides: tuple[Override, ...] = ()
    alerts: tuple[Alert, ...] = ()
    digest: str = ""
    hierarchy: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    _by_id: dict[str, TerritoryRule] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {t.id: t for t in self.territories})

    def territory(self, territory_id: str) -> TerritoryRule:
        return self._by_id[territory_id]

    @property
    def territory_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.territories)


# --------------------------------------------------------------------------- YAML with marks


#: libyaml's loader when available (same nodes and marks, ~10x faster).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Doc:
    """Plain Python from a YAML node tree, remembering the line of every key path."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines: dict[str, int] = {}
        loader: Any = None
        try:
            loader = _Loader(text)
            node = loader.get_single_node()
            self.data = self._convert(loader, node, "") if node is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            row = mark.line + 1 if mark is not None else None
            reason = f"YAML syntax error: {exc.problem or exc}"
            if exc.context:
                reason += f" ({exc.context})"
            if mark is not None:
                reason += f" at line {mark.line + 1}, column {mark.column + 1}"
            raise ValidationError(
                f"{source} is not valid YAML",
                [Problem(source, row, None, None, reason)],
            ) from exc
        except yaml.YAMLError as exc:
            raise ValidationError(
                f"{source} is not valid YAML", [Problem(source, None, None, None, str(exc))]
            ) from exc
        finally:
            if loader is not None:
                loader.dispose()

    def _convert(self, loader: Any, node: yaml.Node, path: str) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if isinstance(key, list | dict):
                    key = str(key)
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    self.lines[sub] = key_node.start_mark.line + 1
                    raise ValidationError(
                        f"{self.source} has a duplicate key",
                        [
                            Problem(
                                self.source,
                                key_node.start_mark.line + 1,
                                sub,
                                str(key),
                                f"duplicate key {key!r}",
                            )
                        ],
                    )
                out[key] = self._convert(loader, value_node, sub)
                self.lines.setdefault(sub, key_node.start_mark.line + 1)
                self.lines[sub] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._convert(loader, v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    def line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = re.sub(r"(\.[^.\[\]]*|\[\d+\])$", "", path)
        return self.lines.get("")


class _Parser:
    def __init__(self, doc: _Doc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def problem(self, path: str, reason: str, value: Any = None) -> None:
        shown = None if value is None else str(value)[:200]
        self.problems.append(Problem(self.doc.source, self.doc.line(path), path, shown, reason))

    def mapping(self, value: Any, path: str, allowed: Sequence[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {type(value).__name__}", value)
            return None
        for key in value:
            if key not in allowed:
                self.problem(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key {key!r}; allowed here: {', '.join(allowed)}",
                    key,
                )
        return value

    # ----------------------------------------------------------------- conditions

    def clauses(self, value: Any, path: str) -> tuple[Clause, ...]:
        """``match``/``exclude``: a mapping (AND) or a list of mappings (OR)."""
        if value is None:
            return ((),)
        if isinstance(value, dict):
            return (self.clause(value, path),)
        if isinstance(value, list):
            if not value:
                self.problem(path, "an empty list matches nothing; use {} to match everything")
                return ()
            return tuple(self.clause(v, f"{path}[{i}]") for i, v in enumerate(value))
        self.problem(path, "expected a mapping of field conditions or a list of them", value)
        return ()

    def clause(self, value: Any, path: str) -> Clause:
        if not isinstance(value, dict):
            self.problem(path, "expected a mapping of field conditions", value)
            return ()
        out: list[Condition] = []
        for raw_key, spec in value.items():
            key = FIELD_ALIASES.get(str(raw_key), str(raw_key))
            sub = f"{path}.{raw_key}"
            try:
                out.extend(self.condition(key, spec, sub))
            except (ValueError, TypeError) as exc:
                self.problem(sub, str(exc), spec)
        return tuple(out)

    def condition(self, name: str, spec: Any, path: str) -> list[Condition]:
        if name == "accounts":
            values = self.text_list(spec, path)
            return [NamedAccounts("id", values)] if values else []
        if name == "near":
            return [self.near(spec, path)]
        if name == "polygon":
            return [self.polygon(spec, path)]
        if isinstance(spec, dict):
            allowed = ("in", "not_in", "prefix", "range", "min", "max", "equals", "band")
            if not self.mapping(spec, path, allowed):
                return []
            if not spec:
                raise ValueError(f"empty condition; use one of {', '.join(allowed)}")
            out: list[Condition] = []
            if "equals" in spec:
                out.append(InList(name, self.text_list([spec["equals"]], f"{path}.equals")))
            if "in" in spec:
                out.append(InList(name, self.text_list(spec["in"], f"{path}.in")))
            if "not_in" in spec:
                out.append(InList(name, self.text_list(spec["not_in"], f"{path}.not_in"), True))
            if "prefix" in spec:
                out.append(Prefix(name, self.text_list(spec["prefix"], f"{path}.prefix")))
            if "range" in spec:
                out.append(self.range(name, spec["range"], f"{path}.range"))
            if "band" in spec:
                band = spec["band"]
                if not (isinstance(band, list) and len(band) == 2):
                    raise ValueError("band wants [minimum, maximum] (either may be null)")
                out.append(self.band(name, band[0], band[1], f"{path}.band"))
            if "min" in spec or "max" in spec:
                out.append(self.band(name, spec.get("min"), spec.get("max"), path))
            return out
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"empty list for {name!r} matches nothing")
            return [InList(name, self.text_list(spec, path))]
        text = norm_text(spec)
        if text is None:
            raise ValueError(f"condition on {name!r} has no value")
        return [InList(name, frozenset([text]))]

    def text_list(self, spec: Any, path: str) -> frozenset[str]:
        items = spec if isinstance(spec, list) else [spec]
        out = set()
        for i, item in enumerate(items):
            if isinstance(item, dict | list):
                self.problem(f"{path}[{i}]", "expected a single value", item)
                continue
            text = norm_text(item)
            if text is None:
                self.problem(f"{path}[{i}]", "empty value", item)
                continue
            out.add(text)
        if not out and items:
            raise ValueError("no usable values")
        if not items:
            raise ValueError("empty list matches nothing")
        return frozenset(out)

    def band(self, name: str, low: Any, high: Any, path: str) -> Band:
        lo = norm_number(low) if low is not None else None
        hi = norm_number(high) if high is not None else None
        if low is not None and lo is None:
            raise ValueError(f"minimum {low!r} is not a number")
        if high is not None and hi is None:
            raise ValueError(f"maximum {high!r} is not a number")
        if lo is None and hi is None:
            raise ValueError("a band needs a minimum, a maximum or both")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"minimum {lo:g} is greater than maximum {hi:g}")
        return Band(name, lo, hi)

    def range(self, name: str, spec: Any, path: str) -> Condition:
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
                self.problem(f"{path}[{i}]", "a range is 'LOW-HIGH' or [LOW, HIGH]", item)
        if not pairs:
            raise ValueError("no usable range")
        numeric = all(
            isinstance(lo, int | float) and isinstance(hi, int | float) for lo, hi in pairs
        )
        if numeric and len(pairs) == 1:
            return self.band(name, pairs[0][0], pairs[0][1], path)
        ranges = []
        for lo, hi in pairs:
            slo, shi = norm_text(lo) or "", norm_text(hi) or ""
            if len(slo) != len(shi) or not slo:
                raise ValueError(f"range bounds {lo!r} and {hi!r} must have the same length")
            if slo > shi:
                raise ValueError(f"range {slo}-{shi} is empty (low > high)")
            ranges.append((slo, shi))
        return TextRange(name, tuple(ranges))

    def near(self, spec: Any, path: str) -> Near:
        allowed = ("latitude", "longitude", "lat", "lon", "miles", "km")
        if not self.mapping(spec, path, allowed):
            raise ValueError("near wants {latitude, longitude, miles | km}")
        lat = norm_number(spec.get("latitude", spec.get("lat")))
        lon = norm_number(spec.get("longitude", spec.get("lon")))
        miles = norm_number(spec.get("miles"))
        km = norm_number(spec.get("km"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("near needs latitude in [-90, 90] and longitude in [-180, 180]")
        if miles is None and km is not None:
            miles = km / 1.609344
        if miles is None or miles <= 0:
            raise ValueError("near needs a positive radius: miles or km")
        return Near("location", lat, lon, miles)

    def polygon(self, spec: Any, path: str) -> InPolygon:
        label = "polygon"
        if isinstance(spec, dict):
            if not self.mapping(spec, path, ("name", "points", "wkt")):
                raise ValueError("polygon wants {name, points} or {name, wkt}")
            label = str(spec.get("name") or label)
            spec = spec.get("points", spec.get("wkt"))
        if isinstance(spec, str):
            try:
                geom = wkt.loads(spec)
            except shapely.errors.ShapelyError as exc:
                raise ValueError(f"polygon WKT cannot be read: {exc}") from exc
            if geom.geom_type != "Polygon" or not geom.is_valid:
                raise ValueError(f"polygon WKT must be a valid POLYGON, got {geom.geom_type}")
            return InPolygon("location", geom, label)
        if not isinstance(spec, list) or len(spec) < 3:
            raise ValueError("polygon needs at least 3 [longitude, latitude] points")
        for i, point in enumerate(spec):
            if not (
                isinstance(point, list)
                and len(point) == 2
                and all(norm_number(v) is not None for v in point)
            ):
                raise ValueError(f"polygon point {i + 1} must be [longitude, latitude]")
        return InPolygon("location", polygon_from(spec), label)

    # ----------------------------------------------------------------- structure

    def options(self, value: Any) -> RuleOptions:
        if value is None:
            return RuleOptions()
        allowed = (
            "tie_breakers",
            "holdover_days",
            "default_priority",
            "free_mail_domains",
            "match_threshold",
        )
        if not self.mapping(value, "settings", allowed):
            return RuleOptions()
        kwargs: dict[str, Any] = {}
        if "tie_breakers" in value:
            tbs = value["tie_breakers"]
            if not isinstance(tbs, list) or not all(t in TIE_BREAKERS for t in tbs):
                self.problem(
                    "settings.tie_breakers",
                    f"tie_breakers must be a list drawn from {', '.join(TIE_BREAKERS)}",
                    tbs,
                )
            elif len(set(tbs)) != len(tbs):
                self.problem("settings.tie_breakers", "tie_breakers lists a name twice", tbs)
            else:
                kwargs["tie_breakers"] = tuple(tbs) + (() if "order" in tbs else ("order",))
        for name in ("holdover_days", "default_priority"):
            if name in value:
                v = value[name]
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    self.problem(f"settings.{name}", "must be a whole number >= 0", v)
                else:
                    kwargs[name] = v
        if "match_threshold" in value:
            v = norm_number(value["match_threshold"])
            if v is None or not 0 < v <= 1:
                self.problem(
                    "settings.match_threshold", "must be in (0, 1]", value["match_threshold"]
                )
            else:
                kwargs["match_threshold"] = v
        if "free_mail_domains" in value:
            doms = value["free_mail_domains"]
            if not isinstance(doms, list):
                self.problem("settings.free_mail_domains", "must be a list of domains", doms)
            else:
                kwargs["free_mail_domains"] = frozenset(str(d).lower().strip() for d in doms)
        return RuleOptions(**kwargs)

    def owner(self, node: dict[str, Any], path: str) -> tuple[str | None, Pool | None, bool]:
        owner = node.get("owner")
        pool = node.get("pool")
        if owner is not None and pool is not None:
            self.problem(f"{path}.pool", "give either owner or pool, not both")
            return None, None, True
        if owner is not None:
            text = str(owner).strip()
            if not text or isinstance(owner, dict | list):
                self.problem(f"{path}.owner", "owner must be a rep id", owner)
                return None, None, True
            return text, None, True
        if pool is None:
            return None, None, False
        if not self.mapping(pool, f"{path}.pool", ("strategy", "members", "capacity_period")):
            return None, None, True
        strategy = pool.get("strategy", "round_robin")
        if strategy not in POOL_STRATEGIES:
            self.problem(
                f"{path}.pool.strategy",
                f"strategy must be one of {', '.join(POOL_STRATEGIES)}",
                strategy,
            )
        period = pool.get("capacity_period", "day")
        if period not in CAPACITY_PERIODS:
            self.problem(
                f"{path}.pool.capacity_period",
                f"capacity_period must be one of {', '.join(CAPACITY_PERIODS)}",
                period,
            )
        members_raw = pool.get("members")
        members: list[PoolMember] = []
        if not isinstance(members_raw, list) or not members_raw:
            self.problem(f"{path}.pool.members", "a pool needs a non-empty list of members")
        else:
            for i, m in enumerate(members_raw):
                mpath = f"{path}.pool.members[{i}]"
                if isinstance(m, dict):
                    if not self.mapping(m, mpath, ("rep", "weight", "capacity")):
                        continue
                    rep = str(m.get("rep") or "").strip()
                    weight = norm_number(m.get("weight", 1))
                    cap = m.get("capacity")
                    if not rep:
                        self.problem(mpath, "a member needs a rep id")
                        continue
                    if weight is None or weight <= 0:
                        self.problem(f"{mpath}.weight", "weight must be a positive number", weight)
                        continue
                    if cap is not None and (not isinstance(cap, int) or cap < 0):
                        self.problem(f"{mpath}.capacity", "capacity must be a whole number >= 0")
                        continue
                    members.append(PoolMember(rep, weight, cap))
                elif isinstance(m, str | int) and str(m).strip():
                    members.append(PoolMember(str(m).strip()))
                else:
                    self.problem(mpath, "a member is a rep id or {rep, weight, capacity}", m)
            reps = [m.rep for m in members]
            if len(set(reps)) != len(reps):
                self.problem(f"{path}.pool.members", "a rep is listed twice in the pool")
        return None, Pool(strategy, tuple(members), period), True

    def priority(self, node: dict[str, Any], path: str, inherited: int) -> int:
        if "priority" not in node:
            return inherited
        v = node["priority"]
        if not isinstance(v, int) or isinstance(v, bool):
            self.problem(f"{path}.priority", "priority must be a whole number (lower wins)", v)
            return inherited
        return v

    def date_value(self, value: Any, path: str) -> date | None:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem(path, "expected a date YYYY-MM-DD", value)
        return None


_NODE_KEYS = ("id", "name", "match", "exclude", "priority", "owner", "pool")


def parse_rules(text: str, *, source: str = "rules.yaml") -> RuleSet:
    """Parse and validate a rules file; every problem is reported with its line number.

    Raises :class:`~territorial.errors.ValidationError` (HTTP 422, exit code 3).
    """
    doc = _Doc(text, source)
    p = _Parser(doc)
    data = doc.data
    if data is None:
        raise ValidationError(
            f"{source} is empty", [Problem(source, None, None, None, "the rules file is empty")]
        )
    top = p.mapping(
        data,
        "",
        ("version", "name", "settings", "regions", "exclusions", "overrides", "alerts"),
    )
    if top is None:
        raise ValidationError(f"{source} has problems", p.problems)
    version = top.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        p.problem(
            "version", f"unsupported format version; this release reads {FORMAT_VERSION}", version
        )
    options = p.options(top.get("settings"))
    territories: list[TerritoryRule] = []
    seen: dict[str, str] = {}
    hierarchy: list[dict[str, Any]] = []

    def node_id(node: dict[str, Any], path: str) -> str | None:
        raw = node.get("id")
        if raw is None or isinstance(raw, dict | list) or not str(raw).strip():
            p.problem(f"{path}.id" if "id" in node else path, "every node needs an id", raw)
            return None
        nid = str(raw).strip()
        if nid in seen:
            p.problem(f"{path}.id", f"id {nid!r} is used twice (first at {seen[nid]})", nid)
        seen[nid] = f"line {doc.line(path)}"
        return nid

    def walk(
        node: Any,
        path: str,
        level: int,
        names: tuple[str, ...],
        clauses: tuple[Clause, ...],
        exclusions: tuple[Clause, ...],
        priority: int,
        owner: tuple[str | None, Pool | None],
        ids: tuple[str | None, ...],
    ) -> dict[str, Any]:
        children_key = {0: ("segments", "territories"), 1: ("territories",), 2: ()}[level]
        node = p.mapping(node, path, _NODE_KEYS + children_key) or {}
        nid = node_id(node, path) or f"?{path}"
        name = str(node.get("name") or nid)
        own = p.clauses(node.get("match"), f"{path}.match") if "match" in node else ((),)
        exc = p.clauses(node.get("exclude"), f"{path}.exclude") if "exclude" in node else ()
        merged = tuple(tuple(itertools.chain(a, b)) for a, b in itertools.product(clauses, own))
        all_exc = exclusions + tuple(exc)
        prio = p.priority(node, path, priority)
        o, pool, given = p.owner(node, path)
        own_owner = (o, pool) if given else owner
        info: dict[str, Any] = {"id": nid, "name": name, "line": doc.line(path)}
        kids = [k for k in children_key if k in node]
        if len(kids) > 1:
            p.problem(path, "a region has either segments or territories, not both")
        if level < 2 and not kids:
            p.problem(
                path,
                f"{'region' if level == 0 else 'segment'} {nid!r} has no "
                f"{' or '.join(children_key)}",
            )
        if level == 2 or not kids:
            if level == 2 and "match" not in node:
                p.problem(path, f"territory {nid!r} needs a match block ({{}} matches all)")
            territories.append(
                TerritoryRule(
                    id=nid,
                    name=name,
                    path=(*names, name),
                    priority=prio,
                    clauses=merged,
                    exclusions=all_exc,
                    owner=own_owner[0],
                    pool=own_owner[1],
                    order=len(territories),
                    line=doc.line(path),
                    region=ids[0] if ids else nid,
                    segment=ids[1] if len(ids) > 1 else None,
                )
            )
            return info
        key = kids[0]
        children = node[key]
        if not isinstance(children, list) or not children:
            p.problem(f"{path}.{key}", f"{key} must be a non-empty list")
            return info
        next_level = 2 if key == "territories" else 1
        info[key] = [
            walk(
                child,
                f"{path}.{key}[{i}]",
                next_level,
                (*names, name),
                merged,
                all_exc,
                prio,
                own_owner,
                (*ids, nid),
            )
            for i, child in enumerate(children)
        ]
        return info

    regions = top.get("regions")
    if not isinstance(regions, list) or not regions:
        p.problem("regions", "the rules file needs a non-empty list of regions")
    else:
        for i, region in enumerate(regions):
            hierarchy.append(
                walk(
                    region,
                    f"regions[{i}]",
                    0,
                    (),
                    ((),),
                    (),
                    options.default_priority,
                    (None, None),
                    (),
                )
            )

    exclusions = _parse_exclusions(p, top.get("exclusions"))
    overrides = _parse_overrides(p, top.get("overrides"), set(seen))
    alerts = _parse_alerts(p, top.get("alerts"), set(seen))
    if p.problems:
        raise ValidationError(f"{source} has {len(p.problems)} problem(s)", p.problems)
    return RuleSet(
        name=str(top.get("name") or source),
        options=options,
        territories=tuple(territories),
        exclusions=exclusions,
        overrides=overrides,
        alerts=alerts,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        hierarchy=tuple(hierarchy),
    )


def _parse_exclusions(p: _Parser, value: Any) -> tuple[Exclusion, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        p.problem("exclusions", "exclusions must be a list", value)
        return ()
    out = []
    for i, item in enumerate(value):
        path = f"exclusions[{i}]"
        node = p.mapping(item, path, ("name", "match", "reason"))
        if node is None:
            continue
        reason = str(node.get("reason") or "").strip()
        if not reason:
            p.problem(path, "an exclusion needs a reason")
        if "match" not in node:
            p.problem(path, "an exclusion needs a match block")
            continue
        clauses = p.clauses(node["match"], f"{path}.match")
        out.append(
            Exclusion(
                str(node.get("name") or f"exclusion {i + 1}"), clauses, reason, p.doc.line(path)
            )
        )
    return tuple(out)


def _parse_overrides(p: _Parser, value: Any, ids: set[str]) -> tuple[Override, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        p.problem("overrides", "overrides must be a list", value)
        return ()
    out = []
    for i, item in enumerate(value):
        path = f"overrides[{i}]"
        node = p.mapping(item, path, ("account", "territory", "owner", "reason", "expires"))
        if node is None:
            continue
        account = str(node.get("account") or "").strip()
        reason = str(node.get("reason") or "").strip()
        territory = node.get("territory")
        owner = node.get("owner")
        if not account:
            p.problem(path, "an override needs an account id")
        if not reason:
            p.problem(path, "an override needs a reason")
        if territory is None and owner is None:
            p.problem(path, "an override sets a territory, an owner or both")
        if territory is not None and str(territory) not in ids:
            p.problem(f"{path}.territory", f"unknown territory {territory!r}", territory)
        if "expires" not in node:
            p.problem(path, "an override needs an expiry date (expires: YYYY-MM-DD)")
            continue
        expires = p.date_value(node["expires"], f"{path}.expires")
        if expires is None or not account or not reason:
            continue
        out.append(
            Override(
                account=account,
                reason=reason,
                expires=expires,
                territory=None if territory is None else str(territory),
                owner=None if owner is None else str(owner),
                line=p.doc.line(path),
            )
        )
    return tuple(out)


def _parse_alerts(p: _Parser, value: Any, ids: set[str]) -> tuple[Alert, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        p.problem("alerts", "alerts must be a list", value)
        return ()
    out = []
    for i, item in enumerate(value):
        path = f"alerts[{i}]"
        node = p.mapping(item, path, ("name", "when", "kinds", "territories", "webhook", "email"))
        if node is None:
            continue
        channels = [c for c in ("webhook", "email") if c in node]
        if len(channels) != 1:
            p.problem(path, "an alert has exactly one of webhook: URL or email: ADDRESS")
            continue
        channel = channels[0]
        target = str(node[channel] or "").strip()
        if channel == "webhook" and not re.match(r"^https?://\S+$", target):
            p.problem(f"{path}.webhook", "webhook must be an http(s) URL", target)
        if channel == "email" and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", target):
            p.problem(f"{path}.email", "email must be an address", target)
        when = p.clauses(node.get("when"), f"{path}.when") if "when" in node else ((),)
        kinds_raw = node.get("kinds", [])
        kinds_list = kinds_raw if isinstance(kinds_raw, list) else [kinds_raw]
        kinds = frozenset(str(k).lower() for k in kinds_list)
        if bad := sorted(kinds - set(RECORD_KINDS)):
            p.problem(f"{path}.kinds", f"unknown record kinds {bad}; use {RECORD_KINDS}")
        terr_raw = node.get("territories", [])
        terrs = frozenset(str(t) for t in (terr_raw if isinstance(terr_raw, list) else [terr_raw]))
        if unknown := sorted(terrs - ids):
            p.problem(f"{path}.territories", f"unknown territories {unknown}")
        out.append(
            Alert(
                name=str(node.get("name") or f"alert {i + 1}"),
                when=when,
                channel=channel,
                target=target,
                territories=terrs,
                kinds=kinds,
                line=p.doc.line(path),
            )
        )
    return tuple(out)


def load_rules(path: str) -> RuleSet:
    """Read and parse a rules file from disk."""
    from pathlib import Path

    from territorial.errors import ConfigError

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"rules file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path} is not UTF-8 text", [Problem(str(path), None, None, None, str(exc))]
        ) from exc
    return parse_rules(text, source=file.name)


def clause_specificity(clause: Clause) -> int:
    """Sum of the specificity points of a clause's conditions (see ``SPECIFICITY``)."""
    return sum(c.specificity for c in clause)


def clause_is_named(clause: Clause) -> bool:
    return any(isinstance(c, NamedAccounts) for c in clause)


def describe_clause(clause: Clause) -> str:
    return " and ".join(c.describe() for c in clause) if clause else "everything"
