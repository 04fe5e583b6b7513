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
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from territorial.bounded import (
    YAML_MAX_CHARS,
    YamlDocument,
    load_yaml,
    pydantic_problems,
    read_text_bounded,
)
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
)
from territorial.routing.rules_models import (
    CAPACITY_PERIODS,
    FORMAT_VERSION,
    POOL_STRATEGIES,
    RECORD_KINDS,
    TIE_BREAKERS,
    NearSpec,
    NodeSpec,
    Operators,
    PolygonSpec,
    PoolSpec,
    RulesFile,
    SettingsSpec,
    clauses_of,
)
from territorial.routing.rules_models import Clause as ClauseSpec

__all__ = [
    "CAPACITY_PERIODS",
    "FORMAT_VERSION",
    "POOL_STRATEGIES",
    "RECORD_KINDS",
    "TIE_BREAKERS",
    "Alert",
    "Exclusion",
    "Override",
    "Pool",
    "PoolMember",
    "RuleOptions",
    "RuleSet",
    "TerritoryRule",
    "load_rules",
    "parse_rules",
]

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

#: Conditions that must all hold (one alternative of a rule).
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


# --------------------------------------------------------------------------- parsing


def _duplicate_ids(data: Any, doc: YamlDocument) -> tuple[list[Problem], set[str]]:
    """Ids used twice anywhere in the hierarchy (read from the raw file, defensively)."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}

    def visit(node: Any, path: str, level: int) -> None:
        if not isinstance(node, dict):
            return
        raw = node.get("id")
        if raw is not None and not isinstance(raw, dict | list) and str(raw).strip():
            nid = str(raw).strip()
            if nid in seen:
                problems.append(
                    Problem(
                        doc.source,
                        doc.line(f"{path}.id"),
                        f"{path}.id",
                        nid,
                        f"id {nid!r} is used twice (first at {seen[nid]})",
                    )
                )
            else:
                seen[nid] = f"line {doc.line(path)}"
        keys = ("segments", "territories") if level == 0 else ("territories",) if level == 1 else ()
        for key in keys:
            children = node.get(key)
            if isinstance(children, list):
                nxt = 2 if key == "territories" else 1
                for i, child in enumerate(children):
                    visit(child, f"{path}.{key}[{i}]", nxt)

    regions = data.get("regions") if isinstance(data, dict) else None
    if isinstance(regions, list):
        for i, region in enumerate(regions):
            visit(region, f"regions[{i}]", 0)
    return problems, set(seen)


def _conditions(clause: ClauseSpec) -> Clause:
    """A validated ``match`` mapping as the engine's conditions, in the file's order."""
    out: list[Condition] = []
    for raw_key, spec in clause.conditions:
        key = FIELD_ALIASES.get(raw_key, raw_key)
        if isinstance(spec, NearSpec):
            out.append(Near("location", spec.center[0], spec.center[1], spec.radius_miles))
        elif isinstance(spec, PolygonSpec):
            out.append(InPolygon("location", spec.geometry, spec.label))
        elif isinstance(spec, Operators):
            if spec.equals is not None:
                out.append(InList(key, frozenset([spec.equals])))
            if spec.in_ is not None:
                out.append(InList(key, spec.in_))
            if spec.not_in is not None:
                out.append(InList(key, spec.not_in, True))
            if spec.prefix is not None:
                out.append(Prefix(key, spec.prefix))
            for kind, value in spec.parts:
                if kind == "text":
                    out.append(TextRange(key, value))
                else:
                    out.append(Band(key, value[0], value[1]))
        elif key == "accounts":
            out.append(NamedAccounts("id", spec))
        elif isinstance(spec, frozenset):
            out.append(InList(key, spec))
        else:
            out.append(InList(key, frozenset([spec])))
    return tuple(out)


def _clauses(match: Any) -> tuple[Clause, ...]:
    return tuple(_conditions(c) for c in clauses_of(match))


def _pool(spec: PoolSpec) -> Pool:
    members = tuple(PoolMember(m.rep, m.weight, m.capacity) for m in spec.members)
    return Pool(spec.strategy, members, spec.capacity_period)


def parse_rules(text: str, *, source: str = "rules.yaml") -> RuleSet:
    """Parse and validate a rules file; every problem is reported with its line number.

    The YAML is read by :func:`territorial.bounded.load_yaml` (no aliases, bounded size
    and depth) and checked by :class:`territorial.routing.rules_models.RulesFile`.
    Raises :class:`~territorial.errors.ValidationError` (HTTP 422, exit code 3).
    """
    doc = load_yaml(text, source=source)
    if doc.data is None:
        raise ValidationError(
            f"{source} is empty", [Problem(source, None, None, None, "the rules file is empty")]
        )
    duplicates, ids = _duplicate_ids(doc.data, doc)
    try:
        spec = RulesFile.model_validate(doc.data)
    except PydanticValidationError as exc:
        problems = pydantic_problems(exc, source=source, line_of=doc.line) + duplicates
        raise ValidationError(f"{source} has {len(problems)} problem(s)", problems) from None
    problems = list(duplicates)
    options = _options(spec.settings)
    territories: list[TerritoryRule] = []
    hierarchy: list[dict[str, Any]] = []

    def walk(
        node: NodeSpec,
        path: str,
        names: tuple[str, ...],
        clauses: tuple[Clause, ...],
        exclusions: tuple[Clause, ...],
        priority: int,
        owner: tuple[str | None, Pool | None],
        ids_: tuple[str | None, ...],
    ) -> dict[str, Any]:
        nid = str(node.id)
        name = node.name or nid
        own = _clauses(node.match) if "match" in node.model_fields_set else ((),)
        excluded = _clauses(node.exclude) if "exclude" in node.model_fields_set else ()
        merged = tuple(tuple(itertools.chain(a, b)) for a, b in itertools.product(clauses, own))
        all_excluded = exclusions + excluded
        prio = node.priority if node.priority is not None else priority
        if node.owner is not None:
            own_owner: tuple[str | None, Pool | None] = (node.owner, None)
        elif node.pool is not None:
            own_owner = (None, _pool(node.pool))
        else:
            own_owner = owner
        info: dict[str, Any] = {"id": nid, "name": name, "line": doc.line(path)}
        kids = node.children
        if kids is None:
            territories.append(
                TerritoryRule(
                    id=nid,
                    name=name,
                    path=(*names, name),
                    priority=prio,
                    clauses=merged,
                    exclusions=all_excluded,
                    owner=own_owner[0],
                    pool=own_owner[1],
                    order=len(territories),
                    line=doc.line(path),
                    region=ids_[0] if ids_ else nid,
                    segment=ids_[1] if len(ids_) > 1 else None,
                )
            )
            return info
        key, children = kids
        info[key] = [
            walk(
                child,
                f"{path}.{key}[{i}]",
                (*names, name),
                merged,
                all_excluded,
                prio,
                own_owner,
                (*ids_, nid),
            )
            for i, child in enumerate(children)
        ]
        return info

    for i, region in enumerate(spec.regions):
        hierarchy.append(
            walk(region, f"regions[{i}]", (), ((),), (), options.default_priority, (None, None), ())
        )
    exclusions = tuple(
        Exclusion(
            e.name or f"exclusion {i + 1}",
            _clauses(e.match),
            e.reason,
            doc.line(f"exclusions[{i}]"),
        )
        for i, e in enumerate(spec.exclusions)
    )
    overrides = []
    for i, o in enumerate(spec.overrides):
        path = f"overrides[{i}]"
        if o.territory is not None and o.territory not in ids:
            problems.append(
                Problem(
                    source,
                    doc.line(f"{path}.territory"),
                    f"{path}.territory",
                    o.territory,
                    f"unknown territory {o.territory!r}",
                )
            )
        assert o.expires is not None
        overrides.append(
            Override(
                account=o.account,
                reason=o.reason,
                expires=o.expires,
                territory=o.territory,
                owner=o.owner,
                line=doc.line(path),
            )
        )
    alerts = []
    for i, a in enumerate(spec.alerts):
        path = f"alerts[{i}]"
        if unknown := sorted(a.territories - ids):
            problems.append(
                Problem(
                    source,
                    doc.line(f"{path}.territories"),
                    f"{path}.territories",
                    None,
                    f"unknown territories {unknown}",
                )
            )
        channel, target = a.channel
        alerts.append(
            Alert(
                name=a.name or f"alert {i + 1}",
                when=_clauses(a.when),
                channel=channel,
                target=target,
                territories=a.territories,
                kinds=a.kinds,
                line=doc.line(path),
            )
        )
    if problems:
        raise ValidationError(f"{source} has {len(problems)} problem(s)", problems)
    return RuleSet(
        name=spec.name or source,
        options=options,
        territories=tuple(territories),
        exclusions=exclusions,
        overrides=tuple(overrides),
        alerts=tuple(alerts),
        digest=hashlib.sha256(text.encode()).hexdigest(),
        hierarchy=tuple(hierarchy),
    )


def _options(spec: SettingsSpec | None) -> RuleOptions:
    if spec is None:
        return RuleOptions()
    return RuleOptions(
        tie_breakers=spec.tie_breakers,
        holdover_days=spec.holdover_days,
        default_priority=spec.default_priority,
        free_mail_domains=spec.free_mail_domains,
        match_threshold=spec.match_threshold,
    )


def load_rules(path: str) -> RuleSet:
    """Read and parse a rules file from disk (at most ``YAML_MAX_CHARS`` bytes)."""
    from pathlib import Path

    from territorial.errors import ConfigError

    file = Path(path)
    try:
        text = read_text_bounded(file, max_bytes=YAML_MAX_CHARS, what="rules file")
    except FileNotFoundError as exc:
        raise ConfigError(f"rules file {path} does not exist") from exc
    return parse_rules(text, source=file.name)


def clause_specificity(clause: Clause) -> int:
    """Sum of the specificity points of a clause's conditions (see ``SPECIFICITY``)."""
    return sum(c.specificity for c in clause)


def clause_is_named(clause: Clause) -> bool:
    return any(isinstance(c, NamedAccounts) for c in clause)


def describe_clause(clause: Clause) -> str:
    return " and ".join(c.describe() for c in clause) if clause else "everything"
